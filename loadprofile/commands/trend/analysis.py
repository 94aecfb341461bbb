"""A series of the trend store read as change points, per model and metric, each with what
it means: the levels before and after, the change in percent, its p-value, and whether it is
a regression (worse by more than ``min_change`` percent). ``trend report`` draws them,
``trend check`` gates on the recent ones, ``gate --against trend:LAST_GOOD`` avoids them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from loadprofile.commands.trend.direction import Better, better_when, is_worse
from loadprofile.commands.trend.store_api import (
    Point,
    SeriesInfo,
    StoredRun,
    TrendStore,
)
from loadprofile.core.change_points import change_points
from loadprofile.errors import UsageError

#: A change smaller than this (percent of the level before) is no regression.
MIN_CHANGE_PCT = 5.0


@dataclass(frozen=True)
class Change:
    """A change point: the metric's level moved at ``run`` (the first run of the new level)."""

    run: StoredRun
    index: int  # among the metric's points
    before: float  # the mean since the previous change point (or the first run)
    after: float  # the mean up to the next one (or the latest run)
    change_pct: float | None  # None: from 0 (errors where there were none)
    p_value: float
    worse: bool | None  # None: a figure with no better side (a count)
    regression: bool  # worse by more than the minimum change
    improvement: bool  # better by more than the minimum change

    @property
    def direction(self) -> str:
        """Which way it moved: worse, better, or changed (a figure with no better side)."""
        return "changed" if self.worse is None else ("worse" if self.worse else "better")


@dataclass(frozen=True)
class MetricTrend:
    model: str
    metric: str
    points: list[Point]  # (run_id, time, value), oldest first
    better: Better | None
    changes: list[Change]


@dataclass(frozen=True)
class SeriesTrend:
    info: SeriesInfo
    runs: list[StoredRun]  # oldest first
    metrics: dict[str, dict[str, MetricTrend]]  # model -> metric -> its trend

    def trends(self) -> Iterator[MetricTrend]:
        for per_metric in self.metrics.values():
            yield from per_metric.values()


def describe_run(run: StoredRun) -> str:
    """``ID (TIME, key=value, ...)``: a run as the user finds it in a CI log."""
    labels = ", ".join(f"{k}={v}" for k, v in sorted(run.labels.items()))
    return f"{run.run_id} ({run.time}{', ' + labels if labels else ''})"


def fmt_change(change: Change) -> str:
    pct = "from 0" if change.change_pct is None else f"{change.change_pct:+.1f} %"
    return f"{change.before:.4g} -> {change.after:.4g} ({pct}, p {change.p_value:.2g})"


def change_pct(before: float, after: float) -> float | None:
    """The change in percent of the level before; None from 0 to anything else."""
    if before == 0:
        return 0.0 if after == 0 else None
    return (after - before) / abs(before) * 100.0


def analyse_metric(
    model: str,
    metric: str,
    points: list[Point],
    runs: Mapping[str, StoredRun],
    *,
    min_change: float = MIN_CHANGE_PCT,
) -> MetricTrend:
    """One metric's change points, judged."""
    changes = []
    for found in change_points([value for _, _, value in points]):
        run_id, time, _ = points[found.index]
        pct = change_pct(found.before_mean, found.after_mean)
        worse = is_worse(metric, found.before_mean, found.after_mean)
        big = pct is None or abs(pct) > min_change
        changes.append(
            Change(
                run=runs.get(run_id) or StoredRun(run_id, time, "", ""),
                index=found.index,
                before=found.before_mean,
                after=found.after_mean,
                change_pct=pct,
                p_value=found.p_value,
                worse=worse,
                regression=worse is True and big,
                improvement=worse is False and big,
            )
        )
    return MetricTrend(model, metric, points, better_when(metric), changes)


def analyse_series(
    store: TrendStore,
    info: SeriesInfo,
    *,
    include_partial: bool = False,
    metrics: Collection[str] | None = None,
    min_change: float = MIN_CHANGE_PCT,
) -> SeriesTrend:
    """Every model's metrics (or only ``metrics``) of one series, with their change points."""
    runs = store.runs(info.key, include_partial=include_partial)
    by_id = {run.run_id: run for run in runs}
    patterns = metrics is not None and any(is_pattern(m) for m in metrics)
    values = store.values(
        info.key, include_partial=include_partial, metrics=None if patterns else metrics
    )
    if patterns:
        values = {
            model: {m: p for m, p in per_metric.items() if matches(m, metrics or ())}
            for model, per_metric in values.items()
        }
    return SeriesTrend(
        info,
        runs,
        {
            model: {
                metric: analyse_metric(model, metric, points, by_id, min_change=min_change)
                for metric, points in sorted(per_metric.items())
            }
            for model, per_metric in values.items()
        },
    )


def is_pattern(name: str) -> bool:
    return any(c in name for c in "*?[")


def matches(metric: str, names: Collection[str]) -> bool:
    """Whether ``metric`` is one of ``names`` or matches one of their patterns."""
    return any(fnmatchcase(metric, name) for name in names)


def unknown_metrics(trends: Collection[SeriesTrend], names: Collection[str]) -> list[str]:
    """The names (or patterns) no model of any of ``trends`` has a figure for."""
    known = {t.metric for trend in trends for t in trend.trends()}
    return [name for name in names if not any(fnmatchcase(m, name) for m in known)]


def pick_series(store: TrendStore, name: str | None) -> list[SeriesInfo]:
    """The series asked for (``--series``; default every one that has runs); UsageError
    for an empty store or a series it does not hold, naming those it does."""
    known = [info for info in store.series() if info.runs or info.partial_runs]
    if not known:
        raise UsageError(
            "the store holds no runs yet: add some with `loadprofile trend add RUN_DIR`"
        )
    if name is None:
        return known
    found = [info for info in known if info.key == name]
    if not found:
        names = ", ".join(info.key for info in known[:10]) + (", ..." if len(known) > 10 else "")
        raise UsageError(f"--series {name}: not in the store (series: {names})")
    return found
