"""Benchmark locustfile: the other naive baseline, ``FastHttpUser`` and its ``iter_lines``.

Locust's own helper for streaming responses, ``FastHttpSession.iter_lines``, reads the body
with ``iter_content(chunk_size=1024)``, which waits until 1 KB is buffered
(docs/architecture.md, known traps): SSE events of ~200 bytes then arrive in batches of
about five, and every event of a batch gets the batch's time. Opt-in generator of
``client_sweep.py`` (``--generators loadprofile,naive-fasthttp``) that shows what that does
to TTFT and ITL.
Same request, prompts and instrumentation as ``locust_naive.py``.
"""

from __future__ import annotations

import json
import time

import bench_probe
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class FastNaiveUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 5.0

    @task
    def chat(self) -> None:
        body, request_id = bench_probe.next_request()
        recv_ns: list[int] = []
        ok, error_class = False, ""
        sent_ns = time.perf_counter_ns()
        try:
            done = False
            lines = self.client.iter_lines(
                "/v1/chat/completions",
                method="POST",
                data=json.dumps(body),
                headers={"X-Request-Id": request_id, "Content-Type": "application/json"},
            )
            for line in lines:
                t_ns = time.perf_counter_ns()
                if line.startswith("data: "):
                    data = line[6:].rstrip("\r")
                    if data == "[DONE]":
                        done = True
                    elif bench_probe.content_in(data):
                        recv_ns.append(t_ns)
            ok = done
            error_class = "" if done else "no_done"
        except Exception as exc:  # report it, never lose the request
            error_class = type(exc).__name__
        finally:
            bench_probe.add(request_id, sent_ns, recv_ns, ok, error_class)


bench_probe.register("naive-fasthttp")
