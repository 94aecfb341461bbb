"""Open-loop arrival schedules: when each request (or conversation) is due, come what may.

Pure core. Inter-arrival gaps are drawn from a seeded generator, as vLLM's benchmark does:
Poisson (exponential gaps), gamma with shape k (gap CV^2 = 1/k; k < 1 is burstier than
Poisson) or constant. The schedule is fixed in advance by the seed, so a slow server cannot
slow the arrivals down: the defence against coordinated omission.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field


def gap_sampler(
    rate: float, kind: str, gamma_shape: float, rng: random.Random
) -> Callable[[], float]:
    """A function returning the next inter-arrival gap in seconds (mean 1/rate)."""
    mean = 1.0 / rate
    if kind == "constant":
        return lambda: mean
    if kind == "gamma":
        return lambda: rng.gammavariate(gamma_shape, mean / gamma_shape)
    return lambda: rng.expovariate(rate)


@dataclass
class ArrivalSchedule:
    """Due times (ns on the perf_counter clock) for one target, handed out in order.

    ``take`` is called by whichever user is free next; a due time already in the past means
    every user was busy, and the request is sent late but still timed from its due time.
    """

    rate: float
    kind: str
    gamma_shape: float
    seed: int
    start_ns: int
    duration_s: float
    stride: int = 1  # a worker of n takes every n-th due time ...
    offset: int = 0  # ... starting with this one: together they send the whole schedule
    _next_ns: float = field(init=False)
    _gap: Callable[[], float] = field(init=False, repr=False)
    taken: int = 0

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._gap = gap_sampler(self.rate, self.kind, self.gamma_shape, rng)
        # The first arrival is one gap after the start, like every later one.
        self._next_ns = self.start_ns + self._draw_ns()
        for _ in range(self.offset):
            self._next_ns += self._draw_ns()

    def _draw_ns(self) -> float:
        return self._gap() * 1e9

    def take(self) -> int | None:
        """The next due time, or None once due times pass the end of the run."""
        due = self._next_ns
        if due - self.start_ns >= self.duration_s * 1e9:
            return None
        for _ in range(self.stride):
            self._next_ns += self._draw_ns()
        self.taken += 1
        return int(due)


def target_seed(seed: int, target_name: str) -> int:
    """A per-target seed, stable across processes and Python runs (no str hash salt)."""
    return seed * 1_000_003 + zlib.crc32(target_name.encode("utf-8"))
