"""The open-loop side of a run: arrival schedules per target and what became of each arrival.

Pure core. ``dispatch`` hands the due times to users; every arrival ends up sent on time,
sent late (a user was free but the generator fell behind, or no user was free), or never
sent before the load ended: each counted here, none forgotten.
"""

from __future__ import annotations

from collections import Counter

from loadprofile.arrivals import ArrivalSchedule, target_seed
from loadprofile.config import LoadConfig, Target
from loadprofile.dataset import Conversation
from loadprofile.generator_health import START_DELAY_BOUND_MS


def pool_warmup_s(load: LoadConfig) -> float:
    """Arrivals begin once the pool has spawned (Locust spawns -r users per second): a due
    time with no user yet would be a late start of our own making."""
    return min(load.users / load.spawn_rate, load.run_time_s / 4)


class OpenLoop:
    def __init__(self, load: LoadConfig, targets: tuple[Target, ...],
                 conversations: list[Conversation]) -> None:  # fmt: skip
        self.load = load
        self.targets = targets
        self.turns = [(conv, i) for conv in conversations for i in range(len(conv.turns))]
        self.turn_cursor: Counter[str] = Counter()
        self.schedules: dict[str, ArrivalSchedule] = {}
        self.late_starts = 0
        self.starts_without_free_user = 0
        self.not_sent = 0

    def start(self, start_ns: int) -> float:
        """Lay out each target's schedule (its rate: the target's weight share); returns the
        offset in seconds at which arrivals begin."""
        load = self.load
        if load.rate is None:
            return 0.0
        warmup_s = pool_warmup_s(load)
        first_ns = start_ns + round(warmup_s * 1e9)
        total = sum(t.weight for t in self.targets)
        self.schedules = {
            t.name: ArrivalSchedule(load.rate * t.weight / total, load.arrival, load.gamma_shape,
                                    target_seed(load.seed, t.name), first_ns,
                                    load.run_time_s - warmup_s)
            for t in self.targets
        }  # fmt: skip
        return warmup_s

    def next_turn(self, target: Target) -> tuple[Conversation, int]:
        """By requests: the next (conversation, turn index), each turn its own arrival with
        its recorded history; every target walks the turns in the same order."""
        index = self.turn_cursor[target.name]
        self.turn_cursor[target.name] += 1
        return self.turns[index % len(self.turns)]

    def passes(self) -> dict[str, float]:
        """How many times each target walked the dataset's turns."""
        return {name: round(n / len(self.turns), 2) for name, n in self.turn_cursor.items()}

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
