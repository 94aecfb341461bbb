"""Locust's peer in ``peers.py``: ``FastHttpUser`` with the naive streaming task people write.

    BENCH_OUT=out.json BENCH_WARMUP=3 locust -f benchmarks/locust_peer.py --headless \
        --host URL -u N -r N -t 15s

The task posts the chat body and reads ``client.iter_lines`` (Locust's own helper; it reads
1 KB at a time, so its chunk times are batched: docs/architecture.md, known traps), taking
``perf_counter_ns()`` per ``data:`` line, like the bare aiohttp client. Requests that ended
with ``[DONE]`` and started after ``$BENCH_WARMUP`` seconds are counted; the counts go to
``$BENCH_OUT`` when Locust quits.
"""

from __future__ import annotations

import json
import os
import time

from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

BODY = json.dumps(
    {
        "model": "peer",
        "messages": [{"role": "user", "content": "Say something."}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 16,
    }
)
WARMUP_S = float(os.environ.get("BENCH_WARMUP", "3"))
STATS = {"requests": 0, "failures": 0, "chunks": 0}
MARKS: dict[str, float] = {}


class PeerUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 5.0

    @task
    def chat(self) -> None:
        sent = time.perf_counter()
        times: list[int] = []
        done = False
        try:
            for line in self.client.iter_lines(
                "/v1/chat/completions",
                method="POST",
                data=BODY,
                headers={"Content-Type": "application/json"},
            ):
                if line.startswith("data: "):
                    times.append(time.perf_counter_ns())
                    done = done or line.startswith("data: [DONE]")
        except Exception:  # a naive task: any failure is one failed request
            done = False
        start = MARKS.get("start")
        if start is not None and sent - start >= WARMUP_S:
            STATS["requests" if done else "failures"] += 1
            STATS["chunks"] += len(times)
            MARKS["last"] = time.perf_counter()
            MARKS.setdefault("first", sent)


@events.test_start.add_listener
def _start(**_: object) -> None:
    MARKS["start"] = time.perf_counter()


@events.quitting.add_listener
def _dump(**_: object) -> None:
    path = os.environ.get("BENCH_OUT")
    if path:
        window = MARKS.get("last", 0.0) - MARKS.get("first", 0.0)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({**STATS, "window_s": window}, fh)
