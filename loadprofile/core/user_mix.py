"""Which model each user loads, how many users each model had over time, and how often
the dataset was replayed (pure; the session's bookkeeping about its users)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadprofile.config.run_config import Target


class UserSeconds:
    """Users per model over time: a ramp that lands a millisecond before a tick must not
    make the whole interval look like it had the new count, so intervals report the
    time-weighted mean."""

    def __init__(self) -> None:
        self._area: dict[str, float] = {}
        self._mark = time.perf_counter()
        self.now: Counter[str] = Counter()

    def change(self, model: str, delta: int) -> None:
        self._accrue()
        self.now[model] += delta

    def _accrue(self) -> None:
        mark, self._mark = self._mark, time.perf_counter()
        for model, users in self.now.items():
            self._area[model] = self._area.get(model, 0.0) + users * (self._mark - mark)

    def interval_means(self, length_s: float) -> dict[str, int]:
        """Mean users per model since the last call (models that had any), rounded."""
        self._accrue()
        area, self._area = self._area, {}
        if length_s <= 0:
            return {m: n for m, n in self.now.items() if n > 0}
        return {m: round(a / length_s) for m, a in area.items() if a > 0}


@dataclass
class TargetPicker:
    """Smooth weighted round-robin: deterministic, and even at small user counts."""

    targets: tuple[Target, ...]
    _current: dict[str, float] = field(default_factory=dict)

    def skip(self, n: int) -> None:
        """Advance by ``n`` picks: worker i of a fleet starts i picks in, so small per-worker
        user counts still add up to the weights across workers."""
        for _ in range(n):
            self.pick()

    def pick(self) -> Target:
        total = sum(t.weight for t in self.targets)
        for t in self.targets:
            self._current[t.name] = self._current.get(t.name, 0.0) + t.weight
        best = max(self.targets, key=lambda t: self._current[t.name])
        self._current[best.name] -= total
        return best


def note_dataset_passes(
    meta: dict[str, Any], size: int, walked: dict[str, int]
) -> dict[str, float]:
    """How many times each target replayed the dataset; more than once flatters servers
    with a prefix cache, which run.json's warnings say."""
    passes = {name: round(n / size, 2) for name, n in walked.items()} if size else {}
    for name, n in passes.items():
        if n > 1:
            meta.setdefault("warnings", []).append(
                f"{name}: the dataset's {size} conversations were replayed {n:g} times; "
                "a server with a prefix cache answers repeats faster"
            )
    return passes
