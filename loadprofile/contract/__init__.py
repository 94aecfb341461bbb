"""The run folder's JSON contract as typed models: ``summary.json`` (``summary.py``) and
``run.json`` (``run_meta.py``), msgspec Structs built by the core and the run folder's writer
and decoded by every reader (gate, compare, report, the CLI's end of run).

Pure: imports nothing but the standard library and msgspec. The keys are those of
docs/run-folder.md and docs/schema/summary.schema.json, unchanged. Two rules keep old and
new files readable alike:

- a field an older file may lack has a default (``None`` where the figure is then unknown,
  never a made-up 0), and unknown keys are ignored (a newer writer may add some);
- a field the writer leaves out when it does not apply (the first-attempt figures of a run
  without retries, ``cost`` of a run without prices) is ``X | UnsetType = UNSET``: left out
  on encoding, so the file keeps its keys exactly.

The layout and who may import whom: docs/architecture.md.
"""
