"""A worker's final packet is the last packet it sends (the master takes a packet after it
for the worker running again, waits for a final packet that never comes, and after the
drain's timeout reports the worker lost, although it had everything).

The race, reproduced deterministically: the run's ticker wakes in the same turn of the
event loop as the drain that closes the last interval. ``RunSession.close`` kills the
ticker without waiting (the kill runs at the loop's next turn), then closes the final
interval, whose drain of the closer yields to the loop: the ticker, already woken, closed
one more (non-final) interval behind the final one, and its packet went out last.

The worker imports Locust, which monkey-patches the whole process (gevent's patch_all) and
so breaks later tests that start the mock (its preexec_fn runs a subprocess in the forked
child): the worker's scenarios run in a child interpreter (this file, run as a script).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gevent
import gevent.event
import pytest

from loadprofile.core.collector import Collector
from loadprofile.core.steps import Steps
from loadprofile.engine.interval_closer import IntervalCloser

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "scenario",
    [
        "tick_woken_with_the_drain_sends_nothing_after_the_final_packet",
        "overdue_packet_is_resent_before_the_final_one_not_after",
    ],
)
def test_the_final_packet_is_the_last_a_worker_sends(scenario: str) -> None:
    done = subprocess.run(
        [sys.executable, __file__, scenario],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith(f"{scenario}: ok")


# -- the worker's scenarios (in a child interpreter) --------------------------------------


class _FakeRunner:
    """Locust's WorkerRunner as the link uses it; the 'master' acknowledges every packet
    (unless ``acks`` is False)."""

    client_id = "worker-1"

    def __init__(self) -> None:
        self.acks = True
        self.environment = SimpleNamespace(
            events=SimpleNamespace(test_stopping=SimpleNamespace(add_listener=lambda f: None)),
            stop_timeout=0.0,
        )
        self.handlers: dict[str, Any] = {}
        self.packets: list[dict[str, Any]] = []

    def register_message(self, kind: str, listener: Any, concurrent: bool = False) -> None:
        self.handlers[kind] = listener

    def send_message(self, kind: str, data: Any = None, client_id: str | None = None) -> None:
        from loadprofile.engine.fleet.wire import ACK, PACKET

        if kind != PACKET:
            return
        self.packets.append(data)
        if not self.acks:
            return
        upto = max(p["seq"] for p in self.packets)
        self.handlers[ACK](self.environment, SimpleNamespace(data={"upto": upto}))


def _linked() -> tuple[Any, _FakeRunner]:
    """A worker's link that got its run from the 'master', and its session started (its
    ticker stopped: the scenarios tick themselves)."""
    from loadprofile.config.run_config import LoadConfig, RunConfig
    from loadprofile.config.targets import Target
    from loadprofile.dataset.conversations import Conversation, Turn
    from loadprofile.engine.fleet.wire import CONFIG, config_to_wire, conversations_to_wire
    from loadprofile.engine.fleet.worker import WorkerLink

    runner = _FakeRunner()
    link = WorkerLink(runner)  # type: ignore[arg-type]
    config = RunConfig(
        targets=(Target("m", "m", "http://127.0.0.1:9"),),
        dataset=None,
        out_dir=None,
        load=LoadConfig(users=1, interval_s=1.0, stop_timeout_s=1.0),
    )
    conversations = [Conversation("c1", None, (Turn("hi", "hello", 5),))]
    data = {
        "config": config_to_wire(config),
        "conversations": conversations_to_wire(conversations),
        "meta": {"run_id": "test"},
        "start": {"start_unix": time.time(), "shares": {runner.client_id: [0, 1]}, "count": 1},
    }
    runner.handlers[CONFIG](runner.environment, SimpleNamespace(data=data))
    assert link.session is not None
    link.session.start()
    gc.unfreeze()  # the session's start froze everything alive
    assert link.session._ticker is not None
    link.session._ticker.kill()
    return link, runner


def tick_woken_with_the_drain_sends_nothing_after_the_final_packet() -> None:
    from loadprofile.engine.fleet.wire import DRAIN

    link, runner = _linked()
    session = link.session
    gevent.sleep(0.1)
    session._tick()  # an interval goes out, as any run's first ones do
    woken = gevent.event.Event()

    def ticker() -> None:  # the run's ticker, its timer due in this very turn of the loop
        woken.wait()
        session._tick()

    session._ticker = gevent.spawn(ticker)
    gevent.sleep(0)  # it waits for its timer
    woken.set()  # the timer fires; the master's drain arrives in the same turn
    runner.handlers[DRAIN](runner.environment, SimpleNamespace(data={"timeout_s": 1.0}))
    gevent.sleep(0.05)  # whatever the ticker could still do, it has done

    finals = [p["seq"] for p in runner.packets if p["final"]]
    assert len(finals) == 1
    after = [(p["seq"], p["final"]) for p in runner.packets if p["seq"] > finals[0]]
    assert runner.packets[-1]["final"], f"sent after the final packet: {after}"
    assert after == []
    assert link.finished.is_set() and link.outbox.pending == 0


def overdue_packet_is_resent_before_the_final_one_not_after() -> None:
    from loadprofile.engine.fleet.wire import Outbox

    link, runner = _linked()
    runner.acks = False  # the master's acks are late
    link.outbox = Outbox(resend_after_s=0.3)
    gevent.sleep(0.1)
    link.session._tick()  # interval 0 goes out, not acknowledged
    gevent.sleep(0.5)  # it is overdue when the final packet goes
    link.finish(1.0, wait_acks=False)
    sent = [(p["seq"], p["final"]) for p in runner.packets]
    assert sent == [(0, False), (0, False), (1, True)], sent


# -- the closer ---------------------------------------------------------------------------


class _Sink:
    def __init__(self) -> None:
        self.closes: list[tuple[float, bool]] = []

    def add_request(self, result: Any) -> None:
        pass

    def add_contract_example(self, example: dict[str, Any]) -> None:
        pass

    def interval_steps(
        self, start_s: float, end_s: float, intervals: Steps, users: Any, sample: Any, final=False
    ) -> Steps:
        yield from intervals
        self.closes.append((end_s, final))


def test_the_closer_takes_no_close_after_the_final_one() -> None:
    """Nothing follows the last interval: a close queued meanwhile (here by a greenlet that
    runs while the final close waits for the closer) or after it is dropped."""
    collector = Collector(time.perf_counter_ns())
    closer = IntervalCloser(pause_s=0.001)
    sink = _Sink()
    closer.start()
    late = gevent.event.Event()

    def another_tick() -> None:
        late.wait()
        closed = collector.take(time.perf_counter_ns())
        closer.close(collector, closed, sink, {}, None, final=False)

    ticker = gevent.spawn(another_tick)
    gevent.sleep(0)
    closer.close(collector, collector.take(time.perf_counter_ns()), sink, {}, None, final=False)
    late.set()
    closer.close(collector, collector.take(time.perf_counter_ns()), sink, {}, None, final=True)
    ticker.join()
    closer.close(collector, collector.take(time.perf_counter_ns()), sink, {}, None, final=False)
    closer.drain()
    assert [final for _, final in sink.closes] == [False, True]
    assert closer.pending == 0


def test_a_drain_from_within_a_close_lets_the_closer_finish_the_queue_in_order() -> None:
    """A close that ends the run (its ``then``) drains the closer from the closer's own
    greenlet: that close cannot be finished first, so the closer's loop finishes the queue,
    in order, once it is (before: the running close was started again and the one after it
    dropped)."""
    closer = IntervalCloser(pause_s=0.001)
    log: list[str] = []

    def ends_the_run() -> Steps:
        log.append("a0")
        yield
        closer.drain()
        log.append("a1")
        yield
        log.append("a done")

    def work(name: str) -> Steps:
        log.append(f"{name}0")
        yield
        log.append(f"{name} done")

    closer.start()
    closer.submit(ends_the_run())
    closer.submit(work("b"))
    closer.drain()
    assert log == ["a0", "a1", "a done", "b0", "b done"]
    assert closer.pending == 0


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    print(f"{sys.argv[1]}: ok")
