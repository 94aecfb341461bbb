"""What the run's drivers need of a session, whichever kind runs in this process.

A local run and a worker run a ``RunSession`` (users send requests through it); the master
of a distributed run runs a ``MasterSession`` (no users: it merges what the workers send).
The driver (``runner``), the signals and drain (``run_control``), the load shape and the
Locust plugin's event hooks talk to either through this ``Protocol`` only, so neither
kind can grow a method the other lacks without the type checker saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from loadprofile.config.run_config import RunConfig
from loadprofile.contract.summary import Summary
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.loadplan import LoadPlan
from loadprofile.core.recent import RecentWindow
from loadprofile.rundir.recorder import RunRecorder


class Session(Protocol):
    """One process's view of a run: its plan, its clock, its lifecycle."""

    config: RunConfig
    plan: LoadPlan
    meta: dict[str, Any]  # run.json as it is being built (written by the recorder)
    started: bool
    stopping: bool  # the run time is over: no new requests, the ones in flight drain
    finished: bool
    force_stop: bool  # a second Ctrl-C: stop waiting for requests in flight
    interrupted_by: str | None  # "SIGINT" / "SIGTERM" once a signal stopped the run

    @property
    def users(self) -> Mapping[str, int]:
        """Users per model right now (the fleet's, on a master)."""
        ...

    @property
    def recorder(self) -> RunRecorder | None:
        """None on a worker: its master writes the run folder."""
        ...

    @property
    def run_dir(self) -> Path | None: ...

    @property
    def recent(self) -> RecentWindow | None:
        """The last seconds' figures for the progress line (None on a worker)."""
        ...

    @property
    def last_generator_sample(self) -> GeneratorSample | None: ...

    @property
    def elapsed_s(self) -> float:
        """Seconds on the run's clock (it starts when the load starts)."""
        ...

    @property
    def in_flight(self) -> int: ...

    @property
    def budget_spent(self) -> bool:
        """-n: the run's request budget is used up."""
        ...

    @property
    def stable(self) -> bool:
        """--until-stable: every model's gated percentiles are settled."""
        ...

    def start(self) -> None: ...

    def drain(self, timeout_s: float) -> int:
        """Stop starting requests, wait for the ones in flight; how many were cut off."""
        ...

    def finish(self, *, partial: bool = False) -> Summary:
        """Close the last interval, write summary.json and run.json; the summary."""
        ...


#: Called once per interval with the session and its elapsed seconds (the progress line).
TickCallback = Callable[[Session, float], None]
