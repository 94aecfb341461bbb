"""What the benchmark locustfiles keep in the load generator: client times and GC pauses.

Shared by ``locust_ours.py`` and ``locust_naive.py`` (Locust puts the locustfile's folder on
``sys.path``), so both generators carry the same instrumentation cost. Per request it keeps
one tuple of atomic values (receive times in an ``array``), which the garbage collector
stops tracking, so the instrumentation itself does not make collections longer. Every GC
pause is timed through ``gc.callbacks``: a long collection stalls every stream at once.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import time
import uuid
from array import array
from typing import Any

_RECORDS: list[tuple[str, int, array[int], bool, str]] = []
_GC: list[tuple[int, int, int]] = []  # (start_ns, duration_ns, generation)
_MARKS: dict[str, int] = {}
_gc_start = 0


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _gc_start
    if phase == "start":
        _gc_start = time.perf_counter_ns()
    else:
        _GC.append((_gc_start, time.perf_counter_ns() - _gc_start, info["generation"]))


gc.callbacks.append(_on_gc)


MODEL = os.environ.get("BENCH_MODEL", "bench")
MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "256"))


def load_prompts() -> list[list[dict[str, str]]]:
    """The sweep's prompts ($BENCH_DATASET: one {"messages": [...]} per line), in order."""
    path = os.environ.get("BENCH_DATASET")
    if not path:
        return [[{"role": "user", "content": "Say something."}]]
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["messages"] for line in fh if line.strip()]


_PROMPTS: list[list[dict[str, str]]] = []
_NEXT = itertools.count()


def next_request() -> tuple[dict[str, Any], str]:
    """The next chat body in the sweep's order, and a fresh request id."""
    if not _PROMPTS:
        _PROMPTS.extend(load_prompts())
    messages = _PROMPTS[next(_NEXT) % len(_PROMPTS)]
    body = {
        "model": MODEL,
        "messages": messages,
        "max_tokens": MAX_TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return body, uuid.uuid4().hex


def add(request_id: str, sent_ns: int, recv_ns: list[int], ok: bool, error_class: str) -> None:
    """One request: content-chunk receive times (perf_counter_ns); error class if it failed
    ("" and not ok: Locust stopped the user mid-stream)."""
    _RECORDS.append((request_id, sent_ns, array("q", recv_ns), ok, error_class))


def mark(name: str) -> None:
    _MARKS.setdefault(name, time.perf_counter_ns())


def dump(generator: str) -> None:
    """Write everything to ``$BENCH_DUMP`` (called when Locust quits)."""
    path = os.environ.get("BENCH_DUMP")
    if not path:
        return
    records = [
        {"request_id": rid, "sent_ns": sent, "recv_ns": recv.tolist(), "ok": ok, "error_class": err}
        for rid, sent, recv, ok, err in _RECORDS
    ]
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"generator": generator, "marks": _MARKS, "records": records, "gc": _GC}, fh)


def content_in(data: bytes | str) -> bool:
    """True when an SSE data payload is a chunk carrying generated content (naive clients)."""
    obj = json.loads(data)
    return any((choice.get("delta") or {}).get("content") for choice in obj.get("choices") or ())


def register(generator: str) -> None:
    """Mark the test start and dump the records when Locust quits (every locustfile)."""
    from locust import events

    events.test_start.add_listener(lambda **_: mark("test_start_ns"))
    events.quitting.add_listener(lambda **_: dump(generator))
