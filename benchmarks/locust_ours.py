"""Benchmark locustfile: loadprofile's own ``ChatUser``, with per-token client times kept.

Run by ``benchmarks/client_sweep.py`` (not meant to be used by hand)::

    BENCH_DUMP=out.json locust -f benchmarks/locust_ours.py --host URL --headless \
        -u N -r N -t 10s --model bench --dataset prompts.jsonl --think-time 0 --out DIR

Every request's (request_id, sent_ns, content-chunk receive times) is kept by
``bench_probe`` and written to ``$BENCH_DUMP`` when Locust quits. The receive time of
content chunk i is rebuilt from the result as ``sent_ns + ttft + sum(itl[:i])`` (exact to
well under 1 µs): the client is measured exactly as a user's run measures it, through
``ChatUser._send_turn`` and ``send_chat``, run folder and all.
"""

from __future__ import annotations

import contextlib
from itertools import accumulate

import bench_probe
from locust import events

from loadprofile.core.results import RequestResult
from loadprofile.dataset.conversations import Conversation
from loadprofile.engine import locust_plugin
from loadprofile.engine.users import ChatUser

# The plugin builds report.html in a subprocess when Locust quits: seconds of matplotlib
# per benchmark step that measure nothing. The run folder (requests.csv, hlogs) is still
# written during the run, so the generator does all of its normal per-request work.
with contextlib.suppress(ValueError):
    events.quitting.remove_listener(locust_plugin._on_quitting)


class BenchChatUser(ChatUser):
    default_models = ("bench",)

    def _send_turn(
        self, conv: Conversation, index: int, live: list[str] | None, due_ns: int = 0
    ) -> RequestResult:
        result = super()._send_turn(conv, index, live, due_ns)
        recv_ns: list[int] = []
        if result.ttft_ms is not None:
            first = result.sent_ns + result.ttft_ms * 1e6
            recv_ns = [round(first + gap * 1e6) for gap in accumulate(result.itl_ms, initial=0.0)]
        bench_probe.add(
            result.request_id,
            result.sent_ns,
            recv_ns,
            result.ok,
            str(result.error_class or "unknown") if not result.ok else "",
        )
        return result


bench_probe.register("loadprofile")
