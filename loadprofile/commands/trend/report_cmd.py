"""``loadprofile trend report --out DIR``: ``DIR/trend.json`` (every model's metrics of each
series with their change points) and ``DIR/trend.html`` (the page, from trend.json's models
alone)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from loadprofile.commands.trend.analysis import (
    MetricTrend,
    SeriesTrend,
    analyse_series,
    pick_series,
    unknown_metrics,
)
from loadprofile.contract.trend_report import (
    ChangePointEntry,
    MetricEntry,
    ModelEntry,
    RunEntry,
    SeriesEntry,
    TrendReport,
    encode_trend_report,
)
from loadprofile.core.change_points import MAX_P_VALUE, MIN_SIZE, PERMUTATIONS, WINDOW
from loadprofile.core.metrics import METRICS
from loadprofile.errors import UsageError

TREND_JSON = "trend.json"
#: What a report searches by default: the figures a change in is news (the rest, counts and
#: token totals and every phase's figures, with --metrics all: three times the work).
REPORT_METRICS: tuple[str, ...] = (
    *(f"{m}.{k}" for m in METRICS for k in ("p50", "p90", "p99", "p99_9", "mean")),
    "error_rate",
    "requests_per_s",
    "output_tokens_per_s",
    "goodput_per_s",
    "retries.first_attempt_error_rate",
    "correctness.contract_violation_rate",
    "correctness.json_valid_rate",
    "cost.per_request.mean",
    "cost.per_transaction.mean",
    "cost.per_transaction.p95",
    "cost.per_1k_successful_transactions",
)
METHOD = (
    f"Change points by E-divisive means (Matteson & James 2014), searched in windows of "
    f"{WINDOW} runs and re-tested against their neighbours (Hunter/Apache Otava's split and "
    f"merge), kept when a permutation test ({PERMUTATIONS:,} seeded shuffles) gives "
    f"p ≤ {MAX_P_VALUE:g}, with at least {MIN_SIZE} runs on either side."
)


def run_report(args: argparse.Namespace) -> int:
    from loadprofile.commands.trend.store import open_store
    from loadprofile.report.trend_page import write_trend_page

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; give a folder")
    min_change = args.min_change
    if not min_change >= 0:
        raise UsageError(f"--min-change {min_change}: give a percentage of 0 or more")
    metrics = report_metrics(args.metrics)
    with open_store(args.db, create=False) as store:
        trends = [
            analyse_series(
                store,
                info,
                include_partial=args.include_partial,
                metrics=metrics,
                min_change=min_change,
            )
            for info in pick_series(store, args.series)
        ]
    unknown = unknown_metrics(trends, metrics) if args.metrics and metrics else []
    if unknown:
        raise UsageError(f"--metrics: no model of the series has {', '.join(unknown)}")
    report = trend_report(trends, min_change)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / TREND_JSON, encode_trend_report(report))
        page = write_trend_page(report, out)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
    print(summary_line(trends, page), flush=True)
    return 0


def report_metrics(text: str | None) -> tuple[str, ...] | None:
    """--metrics: the default set, None for "all", or the names and patterns given."""
    if text is None:
        return REPORT_METRICS
    if text.strip() == "all":
        return None
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UsageError(f"--metrics {text!r}: give names, patterns or all")
    return names


def trend_report(trends: list[SeriesTrend], min_change: float) -> TrendReport:
    return TrendReport(
        series={trend.info.key: _series(trend) for trend in trends},
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        method=METHOD,
        max_p_value=MAX_P_VALUE,
        min_change_pct=min_change,
    )


def _series(trend: SeriesTrend) -> SeriesEntry:
    return SeriesEntry(
        models={
            model: ModelEntry(metrics={name: _metric(t) for name, t in per_metric.items()})
            for model, per_metric in trend.metrics.items()
        },
        description=trend.info.description,
        runs=[
            RunEntry(run_id=r.run_id, time=r.time, labels=r.labels, partial=r.partial)
            for r in trend.runs
        ],
    )


def _metric(trend: MetricTrend) -> MetricEntry:
    return MetricEntry(
        values=list(trend.points),
        better=trend.better,
        change_points=[
            ChangePointEntry(
                run_id=c.run.run_id,
                index=c.index,
                before=c.before,
                after=c.after,
                change_pct=c.change_pct,
                p_value=c.p_value,
                time=c.run.time,
                labels=c.run.labels,
                direction=c.direction,
                regression=c.regression,
                improvement=c.improvement,
            )
            for c in trend.changes
        ],
    )


def summary_line(trends: list[SeriesTrend], page: Path) -> str:
    changes = [c for trend in trends for t in trend.trends() for c in t.changes]
    regressions = sum(c.regression for c in changes)
    runs = sum(len(trend.runs) for trend in trends)
    return (
        f"trend report: {len(trends)} series, {runs} run(s), {len(changes)} change point(s) "
        f"({regressions} regression(s)); {page} and {page.with_name(TREND_JSON)}"
    )


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a reader never sees half a file
