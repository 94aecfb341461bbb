"""trend.html from trend.json (``contract.trend_report``): per series, one panel per metric
with the models side by side over the runs, every change point marked, numbered and listed
with the run it arrived with (and that run's labels: the git sha...), the latest run
highlighted. Self-contained like report.html: inline CSS and SVG, no script, no link out."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadprofile.contract.trend_report import (
    ChangePointEntry,
    MetricEntry,
    RunEntry,
    SeriesEntry,
    TrendReport,
)
from loadprofile.report.money import fmt_usd
from loadprofile.report.render import environment
from loadprofile.report.trend_svg import Line, Mark, panel_svg

TREND_HTML = "trend.html"
TEMPLATE = "trend.html"
#: Okabe-Ito (colour-blind safe), as report.html's figures colour their models.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D00", "#000")
#: The panels every series gets (those its runs have): the tails, errors, throughput, cost.
PANELS: tuple[tuple[str, str], ...] = (
    ("ttft_ms.p50", "Time to first token p50 (ms)"),
    ("ttft_ms.p99", "Time to first token p99 (ms)"),
    ("e2e_ms.p99", "End-to-end latency p99 (ms)"),
    ("tpot_ms.p99", "Time per output token p99 (ms)"),
    ("itl_ms.p99", "Inter-token latency p99 (ms)"),
    ("error_rate", "Error rate"),
    ("requests_per_s", "Requests per second"),
    ("output_tokens_per_s", "Output tokens per second"),
    ("cost.per_transaction.mean", "Cost per transaction, mean"),
)
#: Change points of the other metrics listed below the panels, at most this many per series.
MAX_OTHER_ROWS = 200


@dataclass(frozen=True)
class Listed:
    """A change point as the page lists it."""

    number: int
    model: str
    metric: str
    kind: str  # "regression", "improvement", "change"
    change: str  # "80.2 -> 104 (+30.1 %)"
    p_value: str
    run: str
    labels: str
    time: str


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    svg: str
    changes: list[Listed]


def write_trend_page(report: TrendReport, out_dir: Path) -> Path:
    """``out_dir/trend.html``, written whole (a reader never sees half a page)."""
    html = environment().get_template(TEMPLATE).render(**page_context(report))
    path = out_dir / TREND_HTML
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def page_context(report: TrendReport) -> dict[str, object]:
    return {
        "series": [_series(key, entry, report) for key, entry in report.series.items()],
        "generated_at": report.generated_at,
        "method": report.method,
        "min_change": f"{report.min_change_pct:g}",
    }


def _series(key: str, entry: SeriesEntry, report: TrendReport) -> dict[str, object]:
    positions = {run.run_id: i for i, run in enumerate(entry.runs)}
    colors = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(entry.models)}
    latest = entry.runs[-1] if entry.runs else None
    panels = [
        _panel(metric, title, entry, positions, colors)
        for metric, title in PANELS
        if any(metric in m.metrics and m.metrics[metric].values for m in entry.models.values())
    ]
    shown = {metric for metric, _ in PANELS}
    others = [
        _listed(i + 1, model, metric, cp, _formatter(metric))
        for i, (model, metric, cp) in enumerate(
            sorted(
                (
                    (model, metric, cp)
                    for model, m in entry.models.items()
                    for metric, values in m.metrics.items()
                    if metric not in shown
                    for cp in values.change_points
                ),
                key=lambda row: (not row[2].regression, not row[2].improvement, row[2].time),
            )
        )
    ]
    regressions = sum(
        cp.regression
        for m in entry.models.values()
        for values in m.metrics.values()
        for cp in values.change_points
    )
    return {
        "key": key,
        "description": entry.description,
        "runs": len(entry.runs),
        "first": entry.runs[0].time if entry.runs else "",
        "latest": _describe(latest) if latest else "",
        "models": list(colors.items()),
        "panels": panels,
        "others": others[:MAX_OTHER_ROWS],
        "others_left_out": max(len(others) - MAX_OTHER_ROWS, 0),
        "regressions": regressions,
    }


def _panel(
    metric: str,
    title: str,
    entry: SeriesEntry,
    positions: dict[str, int],
    colors: dict[str, str],
) -> Panel:
    fmt = _formatter(metric)
    lines: list[Line] = []
    marks: list[Mark] = []
    listed: list[Listed] = []
    for model, m in entry.models.items():
        values: MetricEntry | None = m.metrics.get(metric)
        if values is None or not values.values:
            continue
        lines.append(
            Line(
                model,
                colors[model],
                [(positions[run_id], v) for run_id, _, v in values.values if run_id in positions],
            )
        )
        for cp in values.change_points:
            item = _listed(len(listed) + 1, model, metric, cp, fmt)
            listed.append(item)
            if cp.run_id in positions:
                marks.append(
                    Mark(
                        item.number,
                        positions[cp.run_id],
                        cp.after,
                        colors[model],
                        item.kind,
                        f"{item.number}. {model}: {item.change}, p {item.p_value}; "
                        f"since run {item.run} ({item.time}{', ' if item.labels else ''}"
                        f"{item.labels})",
                    )
                )
    latest = entry.runs[-1] if entry.runs else None
    svg = panel_svg(
        lines,
        marks,
        runs=len(entry.runs),
        x_labels=_x_labels(entry.runs),
        latest_label=f"latest run {_describe(latest)}" if latest else "",
        fmt=fmt,
        title=title,
    )
    return Panel(metric.replace(".", "-"), title, str(svg), listed)


def _kind(cp: ChangePointEntry) -> str:
    if cp.regression:
        return "regression"
    return "improvement" if cp.improvement else "change"


def _listed(
    number: int, model: str, metric: str, cp: ChangePointEntry, fmt: Callable[[float], str]
) -> Listed:
    pct = "from 0" if cp.change_pct is None else f"{cp.change_pct:+.1f} %"
    return Listed(
        number=number,
        model=model,
        metric=metric,
        kind=_kind(cp),
        change=f"{fmt(cp.before)} → {fmt(cp.after)} ({pct})",
        p_value=f"{cp.p_value:.2g}",
        run=cp.run_id,
        labels=", ".join(f"{k}={v}" for k, v in sorted(cp.labels.items())),
        time=cp.time,
    )


def _describe(run: RunEntry) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(run.labels.items()))
    return f"{run.run_id} ({run.time}{', ' + labels if labels else ''})"


def _formatter(metric: str) -> Callable[[float], str]:
    if metric.startswith("cost."):
        return fmt_usd
    if metric.endswith("_rate") or metric.endswith("_share"):
        return lambda v: f"{v * 100:.3g} %"
    return lambda v: f"{v:.4g}"


def _x_labels(runs: list[RunEntry], count: int = 6) -> list[tuple[int, str]]:
    """About ``count`` runs along the axis, by date (and time when the runs span a day)."""
    if not runs:
        return []
    short = runs[0].time[:10] == runs[-1].time[:10]
    step = max((len(runs) - 1) / max(count - 1, 1), 1.0)
    picked = sorted({round(i * step) for i in range(count) if round(i * step) < len(runs)})
    return [(i, runs[i].time[11:16] if short else runs[i].time[:10]) for i in picked]
