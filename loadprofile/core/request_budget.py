"""``-n/--max-requests``: how many requests this process may still start (pure).

A worker of a distributed run takes every count-th conversation, so it also takes its
share of the budget: the workers together send exactly N. The share is asked for on every
call, since a worker learns it from the master's start message, after it was built.
"""

from __future__ import annotations

from loadprofile.core.open_loop import FleetShare


class RequestBudget:
    def __init__(self, total: int | None) -> None:
        self.total = total
        self.taken = 0

    def limit(self, share: FleetShare) -> int | None:
        """This process's share of the run's requests; None without -n."""
        if self.total is None:
            return None
        index, count = share.index, share.count
        return self.total // count + (1 if index < self.total % count else 0)

    def spent(self, share: FleetShare) -> bool:
        limit = self.limit(share)
        return limit is not None and self.taken >= limit

    def take(self, share: FleetShare) -> bool:
        """May one more request start? False once the budget is spent (a retry is the same
        request: it takes nothing)."""
        if self.spent(share):
            return False
        self.taken += 1
        return True
