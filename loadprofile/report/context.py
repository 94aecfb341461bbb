"""From ReportData to the template's context: which tables, which figures, which words.

This is the one place that decides what the page contains; ``plots``, ``tables`` and ``meta``
each do one kind of work on plain data, and ``render`` only fills the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from loadprofile.metrics import DEFINITIONS, E2E, ITL, METRICS, TTFT
from loadprofile.report import meta, plots, tables
from loadprofile.report.data import (
    ReportData,
    interval_percentiles,
    percentile_curve,
    successful_requests,
)

OVER_TIME_METRICS = (TTFT, E2E, ITL)
_TITLES = {d.name: d.title for d in DEFINITIONS}


@dataclass(frozen=True)
class Chart:
    """A figure, or the sentence that stands in for it when there is nothing to draw."""

    key: str
    title: str
    src: str | None
    empty: str
    caption: str = ""


def build_context(data: ReportData) -> dict[str, Any]:
    colors = plots.model_colors(data.models)
    summary = data.summary
    run_id = str(summary.get("run_id") or data.run.get("run_id") or data.run_dir.name)
    return {
        "run_id": run_id,
        "header": meta.header(data.run, summary, data.run_dir.name),
        "load": meta.key_values(data.run.get("load") or summary.get("load")),
        "targets": meta.targets(data.run),
        "dataset": meta.dataset(data.run),
        "partial": data.partial,
        "partial_reason": partial_reason(data),
        "warnings": meta.warnings(data.run),
        "models": [{"name": m, "color": colors[m]} for m in data.models],
        "colors": colors,
        "overview": tables.overview_table(data.models, summary),
        "metric_tables": [
            tables.metric_table(m, _TITLES.get(m, m), data.models, summary) for m in METRICS
        ],
        "distribution_charts": distribution_charts(data, colors),
        "over_time_charts": over_time_charts(data, colors),
        "throughput_chart": throughput_chart(data, colors),
        "ttft_charts": ttft_charts(data, colors),
        "error_samples": meta.error_samples(data.requests),
        "generator": meta.generator_health(data.generator, data.run),
        "generator_chart": Chart("generator", "Load generator CPU",
                                 plots.generator_cpu(data.generator),
                                 "No generator samples were recorded (generator.csv is empty)."),
        "suspect_cpu": plots.SUSPECT_CPU_PERCENT,
        "definitions": DEFINITIONS,
        "environment": meta.environment(data.run),
    }  # fmt: skip


def partial_reason(data: ReportData) -> str:
    """Why the run counts as partial, in the reader's terms."""
    if data.summary_rebuilt:
        return (
            "summary.json was missing (the run was stopped before it finished); the numbers "
            "below were rebuilt from the interval logs and requests.csv."
        )
    cause = data.run.get("interrupted_by")
    if cause:
        return f"The run was interrupted ({meta.show(cause)}); it shows what was measured."
    return "The run did not finish normally; it shows what was measured until it stopped."


def distribution_charts(data: ReportData, colors: dict[str, str]) -> list[Chart]:
    charts = []
    for metric in METRICS:
        curves = {m: percentile_curve(data.history(m, metric).total) for m in data.models}
        charts.append(Chart(
            f"dist-{metric}", f"{metric}: {_TITLES.get(metric, metric)}",
            plots.percentile_distribution(metric, curves, colors),
            f"No {metric} values were recorded.",
        ))  # fmt: skip
    return charts


def over_time_charts(data: ReportData, colors: dict[str, str]) -> list[Chart]:
    users = active_users(data.timeseries)
    charts = []
    for metric in OVER_TIME_METRICS:
        series = {m: interval_percentiles(data.history(m, metric).intervals) for m in data.models}
        charts.append(Chart(
            f"time-{metric}", f"{metric} over time",
            plots.percentiles_over_time(metric, series, users, colors),
            f"No {metric} intervals were recorded.",
        ))  # fmt: skip
    return charts


def active_users(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Users per interval summed over models (each model row counts its own users)."""
    frame = timeseries.dropna(subset=["start_s"])
    if frame.empty:
        return pd.DataFrame({"start_s": [], "users": []})
    summed = frame.groupby("start_s", as_index=False)["users"].sum()
    return summed.sort_values("start_s")


def throughput_chart(data: ReportData, colors: dict[str, str]) -> Chart:
    return Chart(
        "throughput", "Throughput over time",
        plots.throughput_over_time(data.timeseries, colors),
        "No requests were recorded in timeseries.csv.",
        "Per interval: requests / interval length, output tokens / interval length, "
        "failures / interval length.",
    )  # fmt: skip


def ttft_charts(data: ReportData, colors: dict[str, str]) -> list[Chart]:
    ok = successful_requests(data.requests)
    empty = "No successful requests with a TTFT in requests.csv."
    return [
        Chart("ttft-turn", "TTFT by conversation turn", plots.ttft_by_turn(ok, colors), empty,
              "Longer histories mean longer prompts: a model whose TTFT climbs with the turn "
              "pays for prefill (or misses its prefix cache)."),
        Chart("ttft-prompt", "TTFT against prompt length",
              plots.ttft_by_prompt_length(ok, colors), empty,
              "One dot per successful request."),
    ]  # fmt: skip
