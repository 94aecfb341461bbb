"""The capacity search on fake probes whose capacity is known, and the probe verdicts."""

from __future__ import annotations

import pytest

from loadprofile.core.capacity_search import SearchSpace, search
from loadprofile.core.capacity_verdict import Figure, ProbeFigures, bound_state, verdict


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_probe(capacity: float, clock: FakeClock, seconds: float = 30.0):
    def probe(load: float) -> bool:
        clock.now += seconds
        return load <= capacity

    return probe


def test_concurrency_finds_the_capacity_exactly_with_the_fewest_probes() -> None:
    clock = FakeClock()
    result = search(SearchSpace("concurrency", 256), fake_probe(8, clock), clock=clock)
    assert result.passed == 8 and result.failed == 9 and result.ending == "slo"
    assert result.interval("concurrency") == (8, 8)
    assert result.probed == [1, 2, 4, 8, 16, 12, 10, 9]  # doubling, then bisection


@pytest.mark.parametrize("capacity", [1, 3, 5, 7, 13, 100])
def test_concurrency_is_exact_for_any_capacity(capacity: int) -> None:
    clock = FakeClock()
    result = search(SearchSpace("concurrency", 256), fake_probe(capacity, clock), clock=clock)
    assert (result.passed, result.failed) == (capacity, capacity + 1)


def test_nothing_passes_and_everything_passes() -> None:
    clock = FakeClock()
    none = search(SearchSpace("concurrency", 64), fake_probe(0, clock), clock=clock)
    assert (none.passed, none.failed, none.probed) == (0, 1, [1])
    every = search(SearchSpace("concurrency", 20), fake_probe(1000, clock), clock=clock)
    assert every.ending == "bound" and every.passed == 20 and every.probed[-1] == 20
    assert every.interval("concurrency") == (20, 20)


def test_the_budget_ends_the_search_with_the_bracket_so_far() -> None:
    clock = FakeClock()
    space = SearchSpace("concurrency", 256)
    result = search(space, fake_probe(8, clock), clock=clock, budget_s=150, min_probe_s=30)
    assert result.ending == "budget" and len(result.probed) == 5  # 5 x 30 s = 150 s
    assert (result.passed, result.failed) == (8, 16)
    assert result.interval("concurrency") == (8, 15)


@pytest.mark.parametrize("capacity", [0.3, 3.7, 37.3, 640.0])
def test_rate_mode_lands_within_the_precision(capacity: float) -> None:
    clock = FakeClock()
    space = SearchSpace("rate", 1000.0, start=1.0, precision=0.05)
    result = search(space, fake_probe(capacity, clock), clock=clock)
    assert result.failed is not None and result.passed <= capacity < result.failed
    assert result.failed <= result.passed * 1.05
    assert len(result.probed) <= 16


def test_rate_mode_gives_up_below_the_lowest_halving() -> None:
    clock = FakeClock()
    result = search(SearchSpace("rate", 100.0), fake_probe(0.0, clock), clock=clock)
    assert result.passed == 0 and result.failed is not None and result.failed < 0.02


def test_uncertainty_rule() -> None:
    assert bound_state(Figure(50, (45, 55)), 60) == "met"
    assert bound_state(Figure(70, (65, 75)), 60) == "broken"
    assert bound_state(Figure(58, (52, 64)), 60) == "uncertain"  # the interval straddles it
    assert bound_state(Figure(58), 60) == "met"  # not gated: the estimate alone
    assert bound_state(Figure(None), 60) == "uncertain"


def test_verdicts() -> None:
    slo = {"ttft_ms.p99": 60.0}

    def figures(est: float, ci=None, successes=100, errors=0.0, trend=None) -> ProbeFigures:
        return ProbeFigures({"ttft_ms.p99": Figure(est, ci)}, successes, errors, trend)

    assert verdict(figures(50), slo, None) == ("pass", None)
    assert verdict(figures(58, (52, 64)), slo, None) == ("uncertain", "ttft_ms.p99")
    assert verdict(figures(90), slo, None) == ("fail", "ttft_ms.p99")
    assert verdict(figures(90, trend=(70, 400)), slo, None) == ("over-saturated", "ttft_ms.p99")
    assert verdict(figures(50, errors=0.2), slo, 0.01) == ("fail", "error_rate")
    assert verdict(figures(50, successes=0), slo, None) == ("failed", "no successes")
