"""IntervalCloser: closes run in order, in slices the event loop runs between, and drain
finishes everything still queued."""

from __future__ import annotations

import gc
import time
import weakref

import gevent

from loadprofile.core.steps import Steps
from loadprofile.engine.interval_closer import IntervalCloser, freeze_survivors


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _work(log: list[str], name: str, slices: int, busy_s: float = 0.0) -> Steps:
    for i in range(slices):
        _busy(busy_s)
        log.append(f"{name}{i}")
        yield
    log.append(f"{name} done")
    return name


def test_closes_run_in_order_and_drain_finishes_them() -> None:
    closer = IntervalCloser()
    log: list[str] = []
    closer.start()
    closer.submit(_work(log, "a", 3))
    closer.submit(_work(log, "b", 2))
    gevent.sleep(0)  # the closer starts, then pauses between slices
    closer.drain()
    assert log == ["a0", "a1", "a2", "a done", "b0", "b1", "b done"]
    assert closer.pending == 0


def test_the_event_loop_runs_between_slices() -> None:
    """Other greenlets (every stream's reads, the lag probe) get the loop between two
    slices: a probe sleeping 1 ms wakes again and again while one close runs."""
    closer = IntervalCloser(pause_s=0.001)
    log: list[str] = []
    wakes: list[int] = []

    def probe() -> None:
        while True:
            gevent.sleep(0.001)
            wakes.append(len(log))

    prober = gevent.spawn(probe)
    closer.start()
    closer.submit(_work(log, "a", 20, busy_s=0.002))
    gevent.sleep(0)
    while closer.pending:
        gevent.sleep(0.005)
    prober.kill()
    during = {n for n in wakes if 0 < n < 20}  # the probe woke between slices ...
    assert len(during) >= 5  # ... many times, not once the whole close was over


def test_a_broken_close_does_not_stop_the_next() -> None:
    closer = IntervalCloser()
    log: list[str] = []

    def broken() -> Steps:
        yield
        raise ValueError("a bug")

    closer.start()
    closer.submit(broken())
    closer.submit(_work(log, "b", 1))
    closer.drain()
    assert log == ["b0", "b done"]


def test_drain_without_a_running_closer_runs_everything_here() -> None:
    closer = IntervalCloser()
    log: list[str] = []
    closer.submit(_work(log, "a", 2))
    closer.drain()
    assert log == ["a0", "a1", "a done"]
    closer.drain()  # idempotent


def test_freeze_survivors_frees_young_cycles_and_freezes_the_living() -> None:
    class Node:
        other: object = None

    gc.collect()
    before = gc.get_freeze_count()
    dead = Node()
    dead.other = dead  # a young cycle nobody holds: garbage for the cyclic GC only
    gone = weakref.ref(dead)
    del dead
    alive = [Node() for _ in range(10)]
    try:
        freeze_survivors()
        assert gone() is None  # collected, not frozen for the rest of the run
        assert gc.get_freeze_count() >= before + len(alive)
    finally:
        gc.unfreeze()
