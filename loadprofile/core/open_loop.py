"""The open-loop side of a run: arrival schedules per target and what became of each arrival.

Pure core. ``dispatch`` hands the due times to users; every arrival ends up sent on time,
sent late (a user was free but the generator fell behind, or no user was free), or never
sent before the load ended: each counted here, none forgotten.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from loadprofile.config.run_config import LoadConfig, Target
from loadprofile.core.arrivals import ArrivalSchedule, target_seed
from loadprofile.core.generator_health import START_DELAY_BOUND_MS
from loadprofile.dataset.turns import Conversation


def pool_warmup_s(load: LoadConfig) -> float:
    """Arrivals begin once the pool has spawned (Locust spawns -r users per second): a due
    time with no user yet would be a late start of our own making."""
    return min(load.users / load.spawn_rate, load.run_time_s / 4)


@dataclass(frozen=True)
class FleetShare:
    """Which share of a run a process runs: worker ``index`` of ``count`` takes the
    index-th, (index + count)-th, ... conversation and arrival, so the workers together
    replay exactly what one process would."""

    index: int = 0
    count: int = 1


class OpenLoop:
    def __init__(
        self, load: LoadConfig, targets: tuple[Target, ...], conversations: list[Conversation]
    ) -> None:
        self.load = load
        self.targets = targets
        self.turns = [(conv, i) for conv in conversations for i in range(len(conv.turns))]
        self.turn_cursor: Counter[str] = Counter()
        self.schedules: dict[str, ArrivalSchedule] = {}
        self.late_starts = 0
        self.starts_without_free_user = 0
        self.not_sent = 0
        self.share = FleetShare()

    def start(self, start_ns: int, share: FleetShare | None = None) -> float:
        """Lay out each target's schedule (its rate: the target's weight share; a worker
        takes its share of it); returns the offset in seconds at which arrivals begin."""
        share = self.share = share or FleetShare()
        load = self.load
        if load.rate is None:
            return 0.0
        warmup_s = pool_warmup_s(load)
        first_ns = start_ns + round(warmup_s * 1e9)
        # A worker that joined a running run has no share of the schedule (it gets users).
        duration_s = load.run_time_s - warmup_s if share.index < share.count else 0.0
        total = sum(t.weight for t in self.targets)
        self.schedules = {
            t.name: ArrivalSchedule(
                load.rate * t.weight / total,
                load.arrival,
                load.gamma_shape,
                target_seed(load.seed, t.name),
                first_ns,
                duration_s,
                stride=share.count,
                offset=share.index,
            )
            for t in self.targets
        }
        return warmup_s

    def next_turn(self, target: Target) -> tuple[Conversation, int]:
        """By requests: the next (conversation, turn index), each turn its own arrival with
        its recorded history; every target walks the turns in the same order."""
        index = self.turn_cursor[target.name] * self.share.count + self.share.index
        self.turn_cursor[target.name] += 1
        return self.turns[index % len(self.turns)]

    def note_start(self, *, delay_ms: float, no_free_user: bool) -> None:
        """How late a request went out, and whether that was for want of a user."""
        if no_free_user:
            self.starts_without_free_user += 1
        elif delay_ms > START_DELAY_BOUND_MS:
            self.late_starts += 1

    def take_interval_counts(self) -> tuple[int, int]:
        """(late starts, starts without a free user) since the last call."""
        counts = (self.late_starts, self.starts_without_free_user)
        self.late_starts = self.starts_without_free_user = 0
        return counts

    def note_unsent(self, due_ns: int, load_end_ns: int | None) -> None:
        """An arrival taken but not sent because the load ended: counted if it was due
        before the end (every user was busy until then)."""
        if load_end_ns is None or due_ns < load_end_ns:
            self.not_sent += 1
