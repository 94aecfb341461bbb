"""The search of ``loadprofile capacity``: which load to probe next, and when to stop.

Pure: a probe is a function of the load (a real run in the command, a fake in the tests)
and the clock is passed in, so the search is tested exactly. Concurrency mode searches the
integers: 1, 2, 4, ... until a probe does not pass (or the bound), then bisects until the
last pass and the first failure are adjacent. Rate mode does the same over rates, doubling
from ``start`` (halving when ``start`` already fails) and bisecting geometrically until the
failing rate is within ``precision`` of the passing one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["concurrency", "rate"]

#: How the search ended: the answer is bracketed by a failure ("slo"), the bound passed
#: ("bound"), or the budget ran out first ("budget").
Ending = Literal["slo", "bound", "budget"]

#: Rate mode halves a failing start at most this many times before answering 0.
_MAX_HALVINGS = 6


@dataclass(frozen=True)
class SearchSpace:
    """What may be probed: the mode, the bound (--max-users / --max-rate) and, for rates,
    the first rate and the relative precision of the answer."""

    mode: Mode
    bound: float
    start: float = 1.0
    precision: float = 0.05

    def first(self) -> float:
        return min(self.start, self.bound)


@dataclass
class SearchResult:
    """The answer (``passed``: the highest load that passed, 0 when none did), the first
    load above it that failed (None: none did), why the search ended and the loads probed
    in order."""

    passed: float = 0.0
    failed: float | None = None
    ending: Ending = "slo"
    probed: list[float] = field(default_factory=list)

    def interval(self, mode: Mode) -> tuple[float, float]:
        """Where the true capacity lies: for users, from the last pass to one below the
        first failure; for rates, between the two."""
        if self.failed is None:
            return (self.passed, self.passed)
        if mode == "concurrency":
            return (self.passed, max(self.passed, self.failed - 1))
        return (self.passed, self.failed)


def next_load(space: SearchSpace, result: SearchResult) -> float | None:
    """The load to probe next, or None when the answer is as tight as the mode asks."""
    lo, hi = result.passed, result.failed
    if not result.probed:
        return _round(space, space.first())
    if hi is None:  # still growing
        if lo >= space.bound:
            return None
        return _round(space, min(space.bound, max(lo * 2, space.first())))
    if space.mode == "concurrency":
        return None if hi - lo <= 1 else float((int(lo) + int(hi)) // 2)
    if lo == 0:  # even the first rate failed: halve it, a few times at most
        return None if hi <= space.first() / 2**_MAX_HALVINGS else _round(space, hi / 2)
    if hi <= lo * (1 + space.precision):
        return None
    middle = _round(space, math.sqrt(lo * hi))
    return None if middle in (lo, hi) else middle  # rounding left nothing between them


def record(result: SearchResult, load: float, passed: bool) -> None:
    """Take one probe's verdict into the bracket."""
    result.probed.append(load)
    if passed:
        result.passed = max(result.passed, load)
    elif result.failed is None or load < result.failed:
        result.failed = load


def search(
    space: SearchSpace,
    probe: Callable[[float], bool],
    *,
    clock: Callable[[], float],
    budget_s: float | None = None,
    min_probe_s: float = 0.0,
) -> SearchResult:
    """Probe until the answer is tight, the bound passes, or fewer than ``min_probe_s`` of
    ``budget_s`` are left (then the bracket so far is the answer, ending "budget")."""
    began = clock()
    result = SearchResult()
    while True:
        load = next_load(space, result)
        if load is None:
            result.ending = "bound" if result.failed is None else "slo"
            return result
        if budget_s is not None and budget_s - (clock() - began) < min_probe_s:
            result.ending = "budget"
            return result
        record(result, load, probe(load))


def _round(space: SearchSpace, load: float) -> float:
    """Users are whole; rates keep three significant digits (a readable probe name)."""
    if space.mode == "concurrency":
        return float(max(1, round(load)))
    return float(f"{load:.3g}")
