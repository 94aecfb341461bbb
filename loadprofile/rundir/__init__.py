"""The run folder, the one place that knows its files: the writer, the reader, the
recorder that feeds the writer, run.json's metadata and the interval histogram logs.

The layout and who may import whom: docs/architecture.md.
"""
