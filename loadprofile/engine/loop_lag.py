"""The generator watching itself: the gevent hub's lag (how late a short sleep wakes up,
sampled all the time) and its CPU, once an interval.

Every timestamp loadprofile takes is taken in a greenlet; when the hub is busy (CPU-bound
parsing, too many streams, a GC pass) each one is late by about this much. Locust
only watches CPU; lag is the direct measure of how much our own client distorts the
latencies.
"""

from __future__ import annotations

import time

import gevent

from loadprofile.core.generator_health import GeneratorSample

#: Short enough to catch a stall of about LOOP_LAG_BOUND_MS (a stall that falls between two
#: wake-ups of a long sleep goes unseen), cheap enough (~200 wake-ups/s, well under 1 % CPU).
PROBE_SLEEP_S = 0.005


class LoopLagProbe:
    def __init__(self, sleep_s: float = PROBE_SLEEP_S) -> None:
        self.sleep_s = sleep_s
        self._max_ms = 0.0
        self._sum_ms = 0.0
        self._count = 0
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _run(self) -> None:
        while True:
            before = time.perf_counter()
            gevent.sleep(self.sleep_s)
            lag_ms = max(0.0, (time.perf_counter() - before - self.sleep_s) * 1000.0)
            self._max_ms = max(self._max_ms, lag_ms)
            self._sum_ms += lag_ms
            self._count += 1

    def take(self) -> tuple[float, float]:
        """(max, mean) lag in ms since the last take."""
        mean = self._sum_ms / self._count if self._count else 0.0
        out = (self._max_ms, mean)
        self._max_ms, self._sum_ms, self._count = 0.0, 0.0, 0
        return out


class SelfMonitor:
    """The generator's own CPU share and hub lag, taken once per interval."""

    def __init__(self) -> None:
        self.lag = LoopLagProbe()
        self._mark = (time.perf_counter(), time.process_time())

    def sample(
        self, start_s: float, end_s: float, users: int, late: int, no_free_user: int, draining: bool
    ) -> GeneratorSample:
        """Since the last sample: CPU %, lag max and mean, with the open loop's counts."""
        wall, cpu = time.perf_counter(), time.process_time()
        last_wall, last_cpu = self._mark
        self._mark = (wall, cpu)
        percent = 100.0 * (cpu - last_cpu) / (wall - last_wall) if wall > last_wall else 0.0
        lag_max, lag_mean = self.lag.take()
        return GeneratorSample(
            start_s, end_s, users, percent, lag_max, lag_mean, late, no_free_user, draining=draining
        )
