"""The timeline of a run: how many users when (stages), and the named phases it splits into.

Pure core. The Locust shape (``shapes.py``) follows ``stages``; the collector files each
closed histogram interval under the phase that holds its midpoint, so per-phase figures
are exact merges of whole intervals (phase edges are rounded to the histogram interval).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from loadprofile.config.run_config import LoadConfig


@dataclass(frozen=True)
class Stage:
    """Hold ``users`` until ``end_s`` (seconds from the start), reaching it at ``spawn_rate``."""

    end_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float
    users: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadPlan:
    shape: str
    stages: tuple[Stage, ...]
    phases: tuple[Phase, ...]

    @property
    def run_time_s(self) -> float:
        return self.stages[-1].end_s

    def stage_at(self, elapsed_s: float) -> Stage | None:
        """The stage in force at ``elapsed_s``; None once the plan is over."""
        for stage in self.stages:
            if elapsed_s < stage.end_s:
                return stage
        return None


def build_plan(load: LoadConfig) -> LoadPlan:
    if load.shape == "step":
        return _step_plan(load)
    if load.shape == "spike":
        return _spike_plan(load)
    if load.shape == "stages":
        return _stages_plan(load)
    stage = Stage(load.run_time_s, load.users, load.spawn_rate)
    steady = Phase("steady", load.warmup_s, load.run_time_s, load.users)
    if load.warmup_s > 0:  # --until-stable: the warm-up, left out of the figures, is shown
        return LoadPlan(
            "steady", (stage,), (Phase("warm-up", 0.0, load.warmup_s, load.users), steady)
        )
    return LoadPlan("steady", (stage,), (steady,))


def _step_plan(load: LoadConfig) -> LoadPlan:
    stages, phases = [], []
    for i, step in enumerate(load.steps):
        users = load.base_users * step
        start, end = i * load.step_time_s, (i + 1) * load.step_time_s
        stages.append(Stage(end, users, load.spawn_rate))
        phases.append(Phase(f"step {i + 1} ({users} users)", start, end, users))
    return LoadPlan("step", tuple(stages), tuple(phases))


def _spike_plan(load: LoadConfig) -> LoadPlan:
    at, end, total = load.spike_at_s, load.spike_at_s + load.spike_for_s, load.run_time_s
    base, spike, rate = load.base_users, load.spike_users, load.spawn_rate
    stages = (Stage(at, base, rate), Stage(end, spike, rate), Stage(total, base, rate))
    phases = (
        Phase("before", 0.0, at, base),
        Phase("burst", at, end, spike),
        Phase("after", end, total, base),
    )
    return LoadPlan("spike", stages, phases)


def _stages_plan(load: LoadConfig) -> LoadPlan:
    stages, phases, start = [], [], 0.0
    for i, spec in enumerate(load.stages):
        end = start + spec.duration_s
        stages.append(Stage(end, spec.users, spec.spawn_rate or load.spawn_rate))
        phases.append(Phase(f"stage {i + 1} ({spec.users} users)", start, end, spec.users))
        start = end
    return LoadPlan("stages", tuple(stages), tuple(phases))
