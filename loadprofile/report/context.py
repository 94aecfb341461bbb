"""From ReportData to the template's context: which tables, which figures, which words.

This is the one place that decides what the page contains; ``plots``, ``tables`` and ``meta``
each do one kind of work on plain data, and ``render`` only fills the template.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from loadprofile.contract.summary import Latency, Summary, given, latency_of
from loadprofile.core.metrics import DEFINITIONS, E2E, ITL, METRICS, SERVICE_OF, TTFT, TTFVT
from loadprofile.report import (
    burst,
    connections,
    correctness,
    decision,
    details,
    load_meta,
    meta,
    plots,
    request_plots,
    tables,
)
from loadprofile.report.answer import answer, caveat
from loadprofile.report.answer_table import answer_table
from loadprofile.report.data import (
    ReportData,
    interval_percentiles,
    percentile_curve,
    successful_requests,
)
from loadprofile.report.headline import headline
from loadprofile.report.plots import Chart, Timeline
from loadprofile.report.server_section import server_section

OVER_TIME_METRICS = (TTFT, E2E, ITL)
_TITLES = {d.name: d.title for d in DEFINITIONS}


def build_context(data: ReportData) -> dict[str, Any]:
    colors = plots.model_colors(data.models)
    summary = data.summary
    run_id = summary.run_id or data.run.run_id or data.run_dir.name
    timeline = timeline_of(data)
    service = service_differs(summary, data.models)
    stats = data.generator_stats
    gate = decision.gate_section(data.run_dir)
    head = headline(data.models, summary, gate)
    return {
        "run_id": run_id,
        "answer": answer(head),
        "answer_caveat": caveat(head),
        "answer_table": answer_table(head),
        "header": meta.header(data.run, summary, data.run_dir.name),
        "load": load_meta.load_rows(data.load, stats)
        + load_meta.stability_rows(given(summary.stability)),
        "targets": meta.targets(data.run),
        "workers": meta.workers(data.run),
        "dataset": details.dataset_rows(data.run),
        "partial": data.partial,
        "partial_reason": partial_reason(data),
        "warnings": meta.warnings(data.run),
        "models": [{"name": m, "color": colors[m]} for m in data.models],
        "colors": colors,
        "overview": tables.overview_table(data.models, summary),
        "connections": connections.connections_table(data.models, summary, data.requests),
        "goodput_note": load_meta.goodput_text(data.load),
        "has_goodput": any(
            (entry := summary.models.get(m)) is not None and entry.good_requests is not None
            for m in data.models
        ),
        "service": service,
        "timing_notes": load_meta.timing_notes(data.load, service),
        "metric_tables": [
            tables.metric_table(m, _TITLES.get(m, m), data.models, summary, service)
            for m in (*METRICS, *((TTFVT,) if visible_differs(summary, data.models) else ()))
        ],
        "distribution_charts": distribution_charts(data, colors, service),
        "over_time_charts": over_time_charts(data, colors, timeline),
        "throughput_chart": throughput_chart(data, colors, timeline),
        "server": server_section(data, colors, timeline),
        "burst": burst.burst_section(data, colors, timeline, service),
        "ttft_charts": ttft_charts(data, colors),
        "several_turns": several_turns(successful_requests(data.requests)),
        "error_samples": meta.error_samples(data.requests),
        "correctness": correctness.correctness_table(data.models, summary),
        "cost": decision.cost_table(data.models, summary),
        "retries": decision.retry_table(data.models, summary),
        "gate": gate,
        "contract_examples": correctness.contract_examples(data.run_dir),
        "generator": meta.generator_health(data.generator, stats, data.bound),
        "generator_chart": Chart(
            "generator",
            "Load generator CPU and event-loop lag",
            plots.generator_load(data.generator, timeline, *meta.limits(stats)),
            "No generator samples were recorded (generator.csv is empty).",
        ),
        "bound_label": plots.BOUND_LABEL,
        "definitions": DEFINITIONS,
        "environment": meta.environment(data.run),
    }


def timeline_of(data: ReportData) -> Timeline:
    """The phases and the (merged) generator-bound seconds every over-time chart marks."""
    phases = tuple((p.name, p.start_s, p.end_s) for p in data.phases)
    spans = meta.merge_spans([(b.start_s, b.end_s) for b in data.bound])
    return Timeline(phases, tuple(spans))


def service_differs(summary: Summary, models: list[str]) -> bool:
    """True when some model's TTFT or E2E from the scheduled start (or HDR-corrected, when
    paced) differs from its service time: only then are both worth a column."""
    return _differs(summary, models, SERVICE_OF)


def visible_differs(summary: Summary, models: list[str]) -> bool:
    """True when some model's first visible token came after its first token (it reasoned
    or called a tool first): only then is the TTFVT table worth a place."""
    return _differs(summary, models, {TTFT: TTFVT})


def _differs(summary: Summary, models: list[str], pairs: dict[str, str]) -> bool:
    for model in models:
        entry = summary.models.get(model)
        if entry is None:
            continue
        for metric, other in pairs.items():
            main, raw = latency_of(entry, metric) or Latency(), latency_of(entry, other)
            if raw is None or not raw.count:
                continue
            if (main.p50, main.p90, main.p99, main.max, main.count) != (
                raw.p50,
                raw.p90,
                raw.p99,
                raw.max,
                raw.count,
            ):
                return True
    return False


def partial_reason(data: ReportData) -> str:
    """Why the run counts as partial, in the reader's terms."""
    if data.summary_rebuilt:
        return (
            "summary.json was missing (the run was stopped before it finished); the numbers "
            "below were rebuilt from the interval logs and requests.csv."
        )
    lost = meta.unfinished_workers(data.run.workers or [])
    if lost:
        return (
            f"Worker(s) did not finish their share of the load: {'; '.join(lost)}. What "
            "they sent until then is included; the workers table under Load generator "
            "has the details."
        )
    cause = data.run.interrupted_by
    if cause:
        return f"The run was interrupted ({meta.show(cause)}); it shows what was measured."
    return "The run did not finish normally; it shows what was measured until it stopped."


def distribution_charts(data: ReportData, colors: dict[str, str], service: bool) -> list[Chart]:
    """One percentile plot per metric; TTFT and E2E get the service curve dashed when it
    differs from the main one."""
    charts = []
    for metric in METRICS:
        curves = {m: percentile_curve(data.history(m, metric).total) for m in data.models}
        raw = SERVICE_OF.get(metric) if service else None
        dashed = (
            {m: percentile_curve(data.history(m, raw).total) for m in data.models} if raw else None
        )
        charts.append(
            Chart(
                f"dist-{metric}",
                f"{metric}: {_TITLES.get(metric, metric)}",
                plots.percentile_distribution(metric, curves, colors, dashed),
                f"No {metric} values were recorded.",
                "Dashed: service time, from the actual send." if dashed else "",
            )
        )
    return charts


def over_time_charts(data: ReportData, colors: dict[str, str], timeline: Timeline) -> list[Chart]:
    users = burst.active_users(data.timeseries)
    charts = []
    for metric in OVER_TIME_METRICS:
        series = {m: interval_percentiles(data.history(m, metric).intervals) for m in data.models}
        charts.append(
            Chart(
                f"time-{metric}",
                f"{metric} over time",
                plots.percentiles_over_time(metric, series, users, colors, timeline),
                f"No {metric} intervals were recorded.",
            )
        )
    return charts


def throughput_chart(data: ReportData, colors: dict[str, str], timeline: Timeline) -> Chart:
    return Chart(
        "throughput",
        "Throughput over time",
        plots.throughput_over_time(data.timeseries, colors, timeline),
        "No requests were recorded in timeseries.csv.",
        "Per interval: requests / interval length, output tokens / interval length, "
        "failures / interval length.",
    )


def ttft_charts(data: ReportData, colors: dict[str, str]) -> list[Chart]:
    """TTFT by turn (only when successful requests span two turns or more: single-turn
    data has nothing to show along turns) and against prompt length."""
    ok = successful_requests(data.requests)
    empty = "No successful requests with a TTFT in requests.csv."
    charts = []
    if several_turns(ok):
        charts.append(
            Chart(
                "ttft-turn",
                "TTFT by conversation turn",
                request_plots.ttft_by_turn(ok, colors),
                empty,
                "Longer histories mean longer prompts: a model whose TTFT climbs with the turn "
                "pays for prefill (or misses its prefix cache).",
            )
        )
    charts.append(
        Chart(
            "ttft-prompt",
            "TTFT against prompt length",
            request_plots.ttft_by_prompt_length(ok, colors),
            empty,
            "One dot per successful request.",
        )
    )
    return charts


def several_turns(ok: pd.DataFrame) -> bool:
    """True when the successful requests come from at least two different turns."""
    return ok["turn"].dropna().nunique() >= 2
