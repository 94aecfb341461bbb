"""Closing intervals beside the hot loop, in slices (gevent glue, no Locust).

Once a second every interval is closed: its histograms built from the raw values, folded
into the totals, encoded into the logs or a packet for the master, the files flushed. Done
in one go, that held the gevent hub for several milliseconds (ten histograms per model,
~0.1-0.5 ms each), and every token that arrived meanwhile was timestamped that much late.
Here the work is a generator of slices (``collector.Steps``: one histogram, one log line,
...) run by one greenlet that lets the hub poll its sockets between two slices, so no
slice holds it for more than a fraction of a millisecond. Intervals are closed in order;
``drain`` finishes them all at once when the run ends (nothing measured is left behind).
The final close is the last: one asked for after it is dropped (see ``close``).
"""

from __future__ import annotations

import gc
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import gevent
from gevent.event import Event

from loadprofile.core.collector import ClosedInterval, Collector, ModelInterval
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.results import RequestResult
from loadprofile.core.steps import Steps, run_steps

log = logging.getLogger("loadprofile")

#: Between two slices the closer waits for the loop to be idle, at most this long. A zero
#: sleep would not do: gevent runs callbacks before it polls sockets, so the next slice
#: would follow at once (measured: 1 ms slices with sleep(0) kept a 5 ms timer waiting
#: 46 ms; with 1 ms sleeps, 1 ms).
PAUSE_S = 0.02


class IntervalSink(Protocol):
    """Where a session's measurements go: the run folder, or the master."""

    def add_request(self, result: RequestResult) -> None: ...

    def add_contract_example(self, example: dict[str, Any]) -> None: ...

    def interval_steps(
        self,
        start_s: float,
        end_s: float,
        intervals: Steps,
        users: dict[str, int],
        sample: GeneratorSample | None,
        final: bool = False,
    ) -> Steps:
        """Called as the interval closes; returns the work of taking it in, in slices, run
        beside the hot loop (``intervals``: the slices that build its histograms, which
        return its ``list[ModelInterval]``). What the sink must take at the close itself
        (a worker's rows) it takes when called."""
        ...


class IntervalCloser:
    def __init__(self, pause_s: float = PAUSE_S) -> None:
        self.pause_s = pause_s
        self._queue: deque[Steps] = deque()
        self._wake = Event()
        self._draining = False
        self._closed_final = False
        self._greenlet: gevent.Greenlet | None = None
        self._running_in: object = None  # the greenlet running a close, while it does

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def submit(self, steps: Steps) -> None:
        """Queue the work of one interval close (started at once if the closer is idle)."""
        self._queue.append(steps)
        self._wake.set()

    def close(
        self,
        collector: Collector,
        closed: ClosedInterval,
        sink: IntervalSink,
        users: dict[str, int],
        sample: GeneratorSample | None,
        final: bool,
        then: Callable[[float], None] | None = None,
    ) -> None:
        """Queue the close of an interval just taken off ``collector``: its histograms
        built and folded, handed to ``sink``, recycled; then ``then(end_s)`` (the console).
        The ``final`` one runs at once, with everything still queued before it; a close
        asked for after it is dropped: nothing may follow the run's last interval. (The
        session's ticker, killed without waiting as the final close is made, can still
        tick once while that close waits for the closer: a worker then sent a packet after
        its final one, and its master, taking it to be running again, waited in vain.)"""
        if self._closed_final:
            log.debug("loadprofile: an interval closed after the final one is dropped")
            return
        self._closed_final = final
        built: list[ModelInterval] = []
        taken = sink.interval_steps(
            closed.start_s, closed.end_s, _build(collector, closed, built), users, sample, final
        )
        self.submit(_after(taken, collector, built, closed.end_s, then, gc_first=not final))
        if final:
            self.drain()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def drain(self) -> None:
        """Finish every queued close now, without pauses, and stop the closer (idempotent).

        Called from within a close (a ``then``), it cannot finish that one first: whoever
        runs it finishes the queue, in order, once it is done."""
        self._draining = True
        if self._running_in is gevent.getcurrent():
            return
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None:
            self._wake.set()
            greenlet.join()
        while self._queue:
            self._run_one()

    def _run(self) -> None:
        while True:
            while not self._queue:
                if self._draining:
                    return
                self._wake.clear()
                self._wake.wait()
            self._run_one()

    def _run_one(self) -> None:
        self._pause()  # not right behind the tick that queued it: let the loop run first
        self._running_in = gevent.getcurrent()
        try:
            run_steps(self._queue[0], self._pause)
        except Exception:  # boundary: one broken close must not stop the ones after it
            log.exception("loadprofile: closing an interval failed (its data may be missing)")
        finally:
            self._running_in = None
            self._queue.popleft()

    def _pause(self) -> None:
        """Until the loop has nothing else to do (a slice then delays only what arrives
        while it runs), but no longer than ``pause_s``: a busy loop still gets the closes
        done, a slice at a time."""
        if self._draining:
            return
        with gevent.Timeout(self.pause_s, False):
            gevent.idle()


def freeze_survivors() -> None:
    """Once an interval: free the young garbage, then move what survives into the GC's
    permanent generation. At 300 streams every stream holds a few dozen live objects, and
    the older generations' passes walked them all (gen 1: 5-9 ms, gen 2: 16 ms, measured),
    holding the hub that timestamps every token; frozen, they are still freed by reference
    counting when done. Young cycles are collected first (and the interval's own encoding
    garbage comes after this, young until the next pass), so what is frozen is what is
    alive: a cycle alive now and dropped later would wait for the end of the run."""
    gc.collect(0)
    gc.freeze()


def _build(collector: Collector, closed: ClosedInterval, built: list[ModelInterval]) -> Steps:
    built += yield from collector.close_steps(closed)
    return built


def _after(
    steps: Steps,
    collector: Collector,
    built: list[ModelInterval],
    end_s: float,
    then: Callable[[float], None] | None,
    *,
    gc_first: bool,
) -> Steps:
    if gc_first:  # a slice of its own (~1 ms at 100 streams), before this close's garbage
        freeze_survivors()
        yield
    yield from steps
    collector.recycle(built)  # the sink is done with the interval's histograms
    if then is not None:
        then(end_s)
