"""``gate --against trend:LAST_GOOD``: the baseline a nightly gate should hold tonight's run
against is not last night's run (it may carry the very regression being chased) but the
newest run of the same series with no regression still in force. A regression is in force
at a run when it arrived at or before it and the level there is still worse than the level
before it by more than the minimum change (a fix that brought the level back closes it)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from loadprofile.commands.trend.analysis import (
    MIN_CHANGE_PCT,
    Change,
    MetricTrend,
    SeriesTrend,
    analyse_series,
    change_pct,
    describe_run,
    fmt_change,
)
from loadprofile.commands.trend.check import CHECKED_METRICS
from loadprofile.commands.trend.direction import is_worse
from loadprofile.commands.trend.store_api import StoredRun, TrendStore
from loadprofile.errors import ConfigError, LoadprofileError

PREFIX = "trend:"
LAST_GOOD = "LAST_GOOD"
NAMES = (LAST_GOOD,)


def is_trend_ref(against: object) -> bool:
    """Whether an --against value names a run of the store rather than a folder."""
    return str(against).startswith(PREFIX)


def check_ref(against: object) -> str:
    """The name after ``trend:``; ConfigError for one this version does not know."""
    name = str(against)[len(PREFIX) :]
    if name not in NAMES:
        raise ConfigError(
            f"--against {against}: give a run folder or trend:{LAST_GOOD} (the newest run "
            "of the same series with no open regression)"
        )
    return name


def level_at(trend: MetricTrend, index: int) -> float | None:
    """The metric's level (its segment's mean) at its point ``index``."""
    level = trend.changes[0].before if trend.changes else None
    for change in trend.changes:
        if change.index <= index:
            level = change.after
    return level


def open_regressions(trend: MetricTrend, index: int, min_change: float) -> list[Change]:
    """The regressions of one metric still in force at its point ``index``."""
    level = level_at(trend, index)
    if level is None:
        return []
    found = []
    for change in trend.changes:
        if not change.regression or change.index > index:
            continue
        pct = change_pct(change.before, level)
        if is_worse(trend.metric, change.before, level) and (pct is None or abs(pct) > min_change):
            found.append(change)
    return found


#: A run passed over, the regression in force there and its metric.
Blocked = tuple[StoredRun, Change, MetricTrend]


@dataclass(frozen=True)
class LastGood:
    run: StoredRun
    why: str  # one line: which run was chosen and why


def last_good(
    trend: SeriesTrend, *, skip: str | None = None, min_change: float = MIN_CHANGE_PCT
) -> LastGood | None:
    """The newest run (other than ``skip``, the run being gated) with no regression in
    force in any model and metric of ``trend``; None when every run carries one."""
    indexes = {
        id(t): {run_id: i for i, (run_id, _, _) in enumerate(t.points)} for t in trend.trends()
    }
    newer: list[Blocked] = []
    for run in reversed(trend.runs):
        if run.run_id == skip:
            continue
        blocking = [
            (change, t)
            for t in trend.trends()
            if run.run_id in indexes[id(t)]
            for change in open_regressions(t, indexes[id(t)][run.run_id], min_change)
        ]
        if not blocking:
            return LastGood(run, _why(run, trend, newer))
        newer.append((run, *blocking[0]))
    return None


def _why(run: StoredRun, trend: SeriesTrend, newer: list[Blocked]) -> str:
    chosen = f"trend:{LAST_GOOD} is run {describe_run(run)}"
    if not newer:
        return f"{chosen}: the newest run of series {trend.info.key}, with no open regression"
    _, change, metric = newer[-1]
    return (
        f"{chosen}: the newest of series {trend.info.key} with no open regression; the "
        f"{len(newer)} run(s) after it carry {metric.model} {metric.metric} "
        f"{fmt_change(change)} since run {describe_run(change.run)}"
    )


Say = Callable[[str], None]


def resolve(run_dir: Path, name: str, db: str, say: Say, gated: Collection[str] = ()) -> Path:
    """The folder of the run ``trend:NAME`` names for gating ``run_dir``, said in one line;
    ConfigError (one line) when there is none or its folder is gone. A regression is looked
    for in the nightly check's metrics and in ``gated`` (those the SLO's bounds name: a run
    that regressed in what is gated is no good baseline for it)."""
    from loadprofile.commands.trend.store import open_store

    metrics = tuple(dict.fromkeys((*CHECKED_METRICS, *gated)))
    gated_run = _gated_run(run_dir)
    try:
        with open_store(db, create=False) as store:
            series = _series_of(store, gated_run)
            info = next((s for s in store.series() if s.key == series), None)
            if info is None:
                raise ConfigError(
                    f"--against trend:{name}: series {series} of {run_dir} has no run in {db}"
                )
            trend = analyse_series(store, info, metrics=metrics)
    except LoadprofileError as exc:  # the store: a missing file, a server that refuses
        raise ConfigError(f"--against trend:{name}: {exc}") from None
    found = last_good(trend, skip=gated_run.run_id)
    if found is None:
        raise ConfigError(
            f"--against trend:{name}: every run of series {series} in {db} carries a "
            "regression (see `loadprofile trend check`)"
        )
    folder = _folder_of(found.run, run_dir)
    say(f"{found.why}; gating against {folder}")
    return folder


def _gated_run(run_dir: Path) -> StoredRun:
    from loadprofile.commands.trend.figures import read_run
    from loadprofile.errors import UsageError
    from loadprofile.rundir.trend_file import read_trend_entry

    try:
        return read_run(run_dir, series=read_trend_entry(run_dir).series).run
    except (UsageError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def _series_of(store: TrendStore, gated: StoredRun) -> str:
    """The gated run's series: the store's word when the run is in it, else the one its
    folder makes (the key ``trend add`` would give it)."""
    stored = store.run(gated.run_id)
    return stored.run.series if stored is not None else gated.series


def _folder_of(run: StoredRun, gated_dir: Path) -> Path:
    """The run's folder: where it was added from, else beside the gated run's folder."""
    candidates = [Path(run.run_dir)] if run.run_dir else []
    candidates.append(gated_dir.parent / run.run_id)
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise ConfigError(
        f"--against trend:{LAST_GOOD} is run {describe_run(run)}, but its folder is gone "
        f"({' nor '.join(str(c) for c in candidates)}): give --against its folder"
    )
