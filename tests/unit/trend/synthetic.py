"""Nightly series made up with seeded noise, and a small in-memory TrendStore to hold them:
the analysis, the check and trend:LAST_GOOD are tested on these, the commands on a real
SQLite store filled with the same records."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loadprofile.commands.trend.store import open_store
from loadprofile.commands.trend.store_api import (
    Point,
    RunFigures,
    SeriesInfo,
    StoredRun,
    TrendStore,
)

SERIES = "nightly"
#: A model's level of each figure (ms, shares, per second).
LEVELS = {
    "ttft_ms.p50": 80.0,
    "ttft_ms.p99": 120.0,
    "e2e_ms.p99": 400.0,
    "tpot_ms.p99": 20.0,
    "itl_ms.p99": 25.0,
    "error_rate": 0.01,
    "requests_per_s": 12.0,
    "output_tokens_per_s": 300.0,
    "requests": 200.0,
}


@dataclass(frozen=True)
class Step:
    """From run ``at`` (0-based) on, ``metric`` of ``model`` is ``factor`` times its level."""

    at: int
    metric: str
    factor: float
    model: str = "small"
    until: int | None = None  # a fix: back to the level from this run on


def nightly_runs(
    nights: int,
    steps: Collection[Step] = (),
    *,
    models: tuple[str, ...] = ("small", "large"),
    noise: float = 0.03,
    seed: int = 0,
    series: str = SERIES,
    run_dirs: Path | None = None,
    name: str = "run",
) -> list[RunFigures]:
    """One run a night from 2026-01-01, labelled with a made-up git sha; every figure its
    level times 1 + ``noise`` x N(0, 1), times the factors of the steps in force."""
    rng = np.random.default_rng(seed)
    records = []
    for night in range(nights):
        run = StoredRun(
            run_id=f"{name}-{night + 1:02d}",
            time=f"2026-{1 + night // 28:02d}-{1 + night % 28:02d}T02:00:00Z",
            series=series,
            version="test",
            labels={"git": f"{(night + 1) * 2654435761 % 16**7:07x}"},
            models=models,
            run_dir=str(run_dirs / f"{name}-{night + 1:02d}") if run_dirs else None,
        )
        figures = {}
        for model in models:
            figures[model] = {}
            for metric, level in LEVELS.items():
                factor = 1.0
                for s in steps:
                    in_force = s.at <= night < (s.until or nights)
                    if (s.model, s.metric) == (model, metric) and in_force:
                        factor *= s.factor
                figures[model][metric] = level * factor * (1 + noise * rng.standard_normal())
        records.append(RunFigures(run, figures, "synthetic nightly series"))
    return records


@dataclass
class MemoryStore:
    """A TrendStore in memory (what the analysis needs of one)."""

    records: list[RunFigures] = field(default_factory=list)

    def add(self, record: RunFigures) -> bool:
        if any(r.run.run_id == record.run.run_id for r in self.records):
            return False
        self.records.append(record)
        return True

    def series(self) -> list[SeriesInfo]:
        keys = sorted({r.run.series for r in self.records})
        return [
            SeriesInfo(key, "synthetic", sum(r.run.series == key for r in self.records))
            for key in keys
        ]

    def runs(self, series: str, *, include_partial: bool = False) -> list[StoredRun]:
        return [
            r.run
            for r in sorted(self.records, key=lambda r: r.run.time)
            if r.run.series == series and (include_partial or not r.run.partial)
        ]

    def values(
        self,
        series: str,
        *,
        include_partial: bool = False,
        metrics: Collection[str] | None = None,
    ) -> dict[str, dict[str, list[Point]]]:
        out: dict[str, dict[str, list[Point]]] = {}
        for run in self.runs(series, include_partial=include_partial):
            record = next(r for r in self.records if r.run.run_id == run.run_id)
            for model, figures in record.figures.items():
                for metric, value in figures.items():
                    if metrics is None or metric in metrics:
                        point = (run.run_id, run.time, value)
                        out.setdefault(model, {}).setdefault(metric, []).append(point)
        return out

    def run(self, run_id: str) -> RunFigures | None:
        return next((r for r in self.records if r.run.run_id == run_id), None)

    def close(self) -> None:
        pass


def _is_a_store(store: MemoryStore) -> TrendStore:
    return store  # mypy checks that MemoryStore meets the protocol


def sqlite_store(path: Path, records: list[RunFigures]) -> str:
    """A real SQLite store at ``path`` holding ``records``; its --db."""
    with open_store(str(path)) as store:
        for record in records:
            store.add(record)
    return str(path)
