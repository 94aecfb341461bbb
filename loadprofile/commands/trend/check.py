"""``loadprofile trend check``: exit 1 when a regression change point (worse by more than
``--min-change``) arrived within the last ``--recent`` runs of a series, naming the run that
brought it and its labels; improvements are reported and never fail. Exit 2 for bad input
(an unknown series or metric, an empty store)."""

from __future__ import annotations

import argparse

from loadprofile.commands.trend.analysis import (
    SeriesTrend,
    analyse_series,
    pick_series,
    unknown_metrics,
)
from loadprofile.commands.trend.check_result import CheckResult, Finding
from loadprofile.core.change_points import MIN_SIZE
from loadprofile.errors import UsageError

#: What a nightly check holds by default: the tails users feel, and errors.
CHECKED_METRICS: tuple[str, ...] = ("ttft_ms.p99", "e2e_ms.p99", "tpot_ms.p99", "error_rate")


def parse_metrics(text: str | None) -> tuple[str, ...]:
    if text is None:
        return CHECKED_METRICS
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UsageError(f"--metrics {text!r}: give metric names, e.g. ttft_ms.p99,error_rate")
    return names


def check_options(args: argparse.Namespace) -> tuple[tuple[str, ...], int, float]:
    """(metrics, recent, min_change), checked; UsageError (one line) otherwise."""
    if args.recent < MIN_SIZE:
        raise UsageError(
            f"--recent {args.recent}: a change point shows once {MIN_SIZE} runs carry it, so "
            f"give {MIN_SIZE} or more"
        )
    if not args.min_change >= 0:
        raise UsageError(f"--min-change {args.min_change}: give a percentage of 0 or more")
    for path in (args.junit, args.markdown):
        if path is not None and path.is_dir():
            raise UsageError(f"{path}: is a directory; give a file name")
    return parse_metrics(args.metrics), args.recent, args.min_change


def check(
    trends: list[SeriesTrend], metrics: tuple[str, ...], recent: int, min_change: float
) -> CheckResult:
    """The regressions and improvements among each series' last ``recent`` runs;
    UsageError for a metric no model of any series has."""
    unknown = unknown_metrics(trends, metrics)
    if unknown:
        raise UsageError(
            f"--metrics: no model of the series checked has {', '.join(unknown)} "
            f"(e.g. {', '.join(CHECKED_METRICS)})"
        )
    regressions, improvements = [], []
    for trend in trends:
        latest = {run.run_id for run in trend.runs[-recent:]}
        for t in trend.trends():
            for change in t.changes:
                if change.run.run_id not in latest:
                    continue
                finding = Finding(trend.info.key, t, change)
                if change.regression:
                    regressions.append(finding)
                elif change.improvement:
                    improvements.append(finding)
    return CheckResult(trends, metrics, recent, min_change, regressions, improvements)


def run_check(args: argparse.Namespace) -> int:
    from loadprofile.commands.trend import check_output
    from loadprofile.commands.trend.store import open_store

    metrics, recent, min_change = check_options(args)
    with open_store(args.db, create=False) as store:
        trends = [  # complete runs only: a run cut short is no evidence of a regression
            analyse_series(store, info, metrics=metrics, min_change=min_change)
            for info in pick_series(store, args.series)
        ]
    result = check(trends, metrics, recent, min_change)
    print(check_output.console(result), flush=True)
    for path, text in ((args.junit, check_output.junit), (args.markdown, check_output.markdown)):
        if path is not None:
            check_output.write(path, text(result))
    return 0 if result.passed else 1
