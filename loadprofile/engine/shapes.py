"""Locust load shapes that follow a loadprofile ``LoadPlan`` (Locust glue).

Locust asks the shape once a second for (users, spawn rate); the plan is pure data built
from the run's config (``loadplan``). Spikes and steps get a high spawn rate unless -r
says otherwise: Locust's ``start()`` blocks the shape until a ramp completes, so a slow
ramp would swallow a short spike (docs/architecture.md, known traps).
"""

from __future__ import annotations

import gevent
from locust import LoadTestShape

from loadprofile.core.loadplan import LoadPlan
from loadprofile.engine.active import active


class PlanShape(LoadTestShape):
    """Follows ``plan``. Past its end it returns None, which makes Locust stop the run;
    ``hold_at_end`` keeps the last stage instead, for ``loadprofile run``, whose own timer
    stops the run (two stops racing would drain twice)."""

    def __init__(self, plan: LoadPlan | None = None, hold_at_end: bool = False) -> None:
        super().__init__()
        self._plan = plan
        self.hold_at_end = hold_at_end

    @property
    def plan(self) -> LoadPlan | None:
        if self._plan is None:
            session = active()  # plain `locust -f`: the plugin's session holds the plan
            self._plan = session.plan if session is not None else None
        return self._plan

    def _elapsed_s(self) -> float:
        """On the session's clock when there is one: phases and intervals count from it."""
        session = active()
        if session is None:
            return self.get_run_time()
        return session.elapsed_s if session.started else 0.0  # the first tick starts it

    def tick(self) -> tuple[int, float] | None:
        plan = self.plan
        if plan is None:
            return None
        now = self._elapsed_s()
        stage = plan.stage_at(now)
        if stage is not None and stage.end_s - now < 1.0:
            # Locust ticks about once a second, at no particular phase: without this, a
            # stage would change up to a second late. Wait for the edge (it counts as the
            # tick's own work, so Locust's cadence stays one second).
            gevent.sleep(stage.end_s - now + 0.001)
            stage = plan.stage_at(self._elapsed_s())
        if stage is None and self.hold_at_end:
            stage = plan.stages[-1]
        return None if stage is None else (stage.users, stage.spawn_rate)
