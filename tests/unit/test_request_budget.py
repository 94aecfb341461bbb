"""-n across a fleet: the workers' shares add up to exactly N, and a share learnt late
(a worker hears it from the master's start message) is the one that counts."""

from __future__ import annotations

from loadprofile.core.open_loop import FleetShare
from loadprofile.core.request_budget import RequestBudget


def _drain(budget: RequestBudget, share: FleetShare) -> int:
    started = 0
    while budget.take(share):
        started += 1
        assert started <= 1000
    return started


def test_shares_add_up_to_the_budget() -> None:
    for total in (1, 7, 10, 101):
        for count in (1, 2, 3, 7):
            sent = [_drain(RequestBudget(total), FleetShare(i, count)) for i in range(count)]
            assert sum(sent) == total, (total, count, sent)
            assert max(sent) - min(sent) <= 1


def test_no_budget_never_stops_and_the_share_is_read_on_every_call() -> None:
    unlimited = RequestBudget(None)
    assert all(unlimited.take(FleetShare()) for _ in range(100)) and not unlimited.spent(
        FleetShare()
    )
    budget = RequestBudget(10)
    assert budget.take(FleetShare()) and budget.limit(FleetShare()) == 10
    assert budget.limit(FleetShare(0, 4)) == 3  # the share arrived: 10 = 3 + 3 + 2 + 2
    assert _drain(budget, FleetShare(0, 4)) == 2  # one was already taken
