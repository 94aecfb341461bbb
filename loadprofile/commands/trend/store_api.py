"""What the trend store holds and how it is read: the seam between ``trend add`` (which
writes runs into it) and ``trend report`` / ``trend check`` / ``gate --against trend:...``
(which read series out of it). Backends: SQLite (the default file) and PostgreSQL (a URL).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from loadprofile.errors import UsageError

#: The default store: a SQLite file beside the run folders.
DEFAULT_DB = "reports/trend.sqlite"


class StoreError(UsageError):
    """The store cannot be opened or used (one line, exit 2): a bad --db, a password in the
    URL, a server that refuses, a store written by a newer loadprofile."""


@dataclass(frozen=True)
class SeriesInfo:
    """Runs that may be compared: same dataset, load shape and flags, targets and API."""

    key: str  # a stable hash of what makes runs comparable, or the --series NAME given
    description: str  # in words: dataset, shape, users/rate, targets
    runs: int = 0  # complete runs (what trends count)
    partial_runs: int = 0  # runs cut short, stored marked partial


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    time: str  # ISO-8601 UTC, the run's start: the series' order
    series: str
    version: str  # loadprofile's
    labels: dict[str, str] = field(default_factory=dict)  # build, git sha, deployment...
    partial: bool = False
    models: tuple[str, ...] = ()
    run_dir: str | None = None  # the folder it was added from (gate --against trend:...)


@dataclass(frozen=True)
class RunFigures:
    """One run as ``trend add`` records it: its identity and, per model, every summary
    figure under a flat name (``ttft_ms.p99``, ``error_rate``, ``cost.per_transaction.mean``,
    ``phases.<name>.ttft_ms.p99``...)."""

    run: StoredRun
    figures: dict[str, dict[str, float]]  # model -> metric -> value
    series_description: str = ""  # the series' SeriesInfo.description (kept from its first run)


#: (run_id, time, value), in the series' time order.
Point = tuple[str, str, float]


class TrendStore(Protocol):
    def add(self, record: RunFigures) -> bool:
        """Store a run; False (and nothing changed) when the run id is stored already."""
        ...

    def series(self) -> list[SeriesInfo]: ...

    def runs(self, series: str, *, include_partial: bool = False) -> list[StoredRun]:
        """The series' runs, oldest first."""
        ...

    def values(
        self,
        series: str,
        *,
        include_partial: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, dict[str, list[Point]]]:
        """model -> metric -> its points over the series' runs, oldest first (``metrics``:
        only these; one query either way)."""
        ...

    def run(self, run_id: str) -> RunFigures | None:
        """One stored run with every figure (None: not stored)."""
        ...

    def close(self) -> None: ...
