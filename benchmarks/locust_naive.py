"""Benchmark locustfile: the naive baseline, a plain ``HttpUser`` streaming with requests.

What most people write first: ``self.client.post(..., stream=True)`` and a loop over the
body, splitting SSE lines and ``json.loads`` on every ``data:`` line, stamping each content
chunk with ``time.perf_counter_ns()`` as soon as the loop sees it. Two read loops
(``$BENCH_NAIVE_MODE``):

* ``iter_content`` — ``response.iter_content(chunk_size=None)``: yields each HTTP chunk as it
  arrives (chunked responses only); lines are split by hand.
* ``iter_lines`` — ``response.iter_lines()`` (requests' default ``chunk_size=512``).
* ``iter_content_1`` — ``response.iter_content()`` as written without arguments: requests'
  default ``chunk_size=1`` reads the body one byte at a time (timing stays right, the CPU
  cost per chunk does not).

Same request as loadprofile's: ``stream: true``, ``stream_options.include_usage``, same
model, messages and ``max_tokens``, header ``X-Request-Id``. Prompts are read from
``$BENCH_DATASET`` (one ``{"messages": [...]}`` per line) and walked in order, as
``ChatUser`` walks them. Per-request client times are kept by ``bench_probe`` (the same
instrumentation as ``locust_ours.py``) and go to ``$BENCH_DUMP`` when Locust quits.
"""

from __future__ import annotations

import os
import time
from typing import Any

import bench_probe
from locust import HttpUser, constant, task

MODE = os.environ.get("BENCH_NAIVE_MODE", "iter_content")


class NaiveUser(HttpUser):
    wait_time = constant(0)

    @task
    def chat(self) -> None:
        body, request_id = bench_probe.next_request()
        recv_ns: list[int] = []
        ok, error_class = False, ""
        sent_ns = time.perf_counter_ns()
        try:
            with self.client.post(
                "/v1/chat/completions",
                json=body,
                headers={"X-Request-Id": request_id},
                stream=True,
                catch_response=True,
                timeout=(5, 60),
            ) as response:
                try:
                    done = self._read(response, recv_ns)
                except Exception as exc:  # report it, never lose the request
                    response.failure(f"{type(exc).__name__}: {exc}")
                    error_class = type(exc).__name__
                else:
                    if response.status_code != 200 or not done:
                        response.failure(f"status {response.status_code}, done={done}")
                        error_class = f"status_{response.status_code}_done_{done}"
                    else:
                        ok = True
        finally:
            # Also when Locust kills the user mid-stream (GreenletExit) at the end of a step.
            bench_probe.add(request_id, sent_ns, recv_ns, ok, error_class)

    @staticmethod
    def _read(response: Any, recv_ns: list[int]) -> bool:
        done = False
        if MODE == "iter_lines":
            for line in response.iter_lines():
                t_ns = time.perf_counter_ns()
                if line.startswith(b"data: "):
                    data = line[6:]
                    if data == b"[DONE]":
                        done = True
                    elif bench_probe.content_in(data):
                        recv_ns.append(t_ns)
            return done
        buf = b""
        chunks = (
            response.iter_content()
            if MODE == "iter_content_1"
            else response.iter_content(chunk_size=None)
        )
        for chunk in chunks:
            t_ns = time.perf_counter_ns()
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                if line.startswith(b"data: "):
                    data = line[6:].rstrip(b"\r")
                    if data == b"[DONE]":
                        done = True
                    elif bench_probe.content_in(data):
                        recv_ns.append(t_ns)
        return done


bench_probe.register(f"naive-{MODE}")
