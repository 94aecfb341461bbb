"""What the burst section shows, decided from the run folder: the load shape's timeline.

Shown for every non-steady run (step, spike, stages) and for open-loop runs; a steady
closed-loop run has one phase and nothing to follow through time beyond the charts above.
Per-phase figures come from summary.json's "phases" (what the gate reads); the per-second
curves from timeseries.csv; recovery and the step capacity from summary.json as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median_high
from typing import Any

import pandas as pd

from loadprofile.contract.summary import LoadSettings, PhaseFigures, given
from loadprofile.core.phases import phase_index, phases_from_json
from loadprofile.report import burst_plots, load_meta
from loadprofile.report.data import ReportData, ttft_over_time
from loadprofile.report.plots import Chart, Timeline, full_intervals
from loadprofile.report.tables import Table, phase_table


@dataclass(frozen=True)
class BurstSection:
    intro: str
    latency_chart: Chart
    errors_chart: Chart
    phase_tables: list[Table]
    recovery: list[load_meta.Recovery] = field(default_factory=list)
    recovery_rule: str = ""
    capacity_chart: Chart | None = None
    capacity_lines: list[str] = field(default_factory=list)


def shows_burst(load: LoadSettings | None) -> bool:
    return load_meta.shape_of(load) != "steady" or load_meta.is_open_loop(load)


def burst_section(
    data: ReportData, colors: dict[str, str], timeline: Timeline, service: bool
) -> BurstSection | None:
    """The section for a shaped or open-loop run; None for a steady closed-loop one."""
    if not shows_burst(data.load):
        return None
    phases = data.phases
    users = {m: phase_users(data.timeseries, phases, m) for m in data.models}
    spike = load_meta.shape_of(data.load) == "spike"
    with_figures = any(p.models for p in phases)
    tables = [phase_table(m, phases, users[m], service) for m in data.models]
    return BurstSection(
        intro=intro(data.load),
        latency_chart=latency_chart(data, colors, timeline),
        errors_chart=errors_chart(data, colors, timeline),
        phase_tables=tables if with_figures else [],
        recovery=load_meta.recovery(data.models, data.summary, phases) if spike else [],
        recovery_rule=load_meta.RECOVERY_RULE if spike else "",
        **capacity(data, colors, users),
    )


def errors_chart(data: ReportData, colors: dict[str, str], timeline: Timeline) -> Chart:
    return Chart(
        "burst-errors",
        "Errors per second",
        burst_plots.errors_over_time(data.timeseries, colors, timeline),
        "No request failed in any interval.",
    )


def intro(load: LoadSettings | None) -> str:
    """The load shape in one sentence, from run.json's settings."""
    load = load or LoadSettings()
    shape, show = load_meta.shape_of(load), load_meta.show
    if shape == "spike":
        text = (
            f"Spike: {show(load.base_users)} users, {show(load.spike_users)} "
            f"from {show(load.spike_at_s)} s for {show(load.spike_for_s)} s, "
            "then back."
        )
    elif shape == "step":
        base = load.base_users or 1
        counts = ", ".join(show(base * s) for s in load.steps or [])
        text = f"Step: {counts} users, {show(load.step_time_s)} s each."
    elif shape == "stages":
        text = "Stages: the user counts and durations given with --stages."
    else:
        text = ""
    if load_meta.is_open_loop(load):
        unit = load.rate_unit or "requests"
        text += (
            f" Open loop: {show(load.rate)} {unit}/s, "
            f"{load_meta.arrival_text(load)} arrivals, a pool of "
            f"{show(load.users)} users."
        )
    return text.strip()


def latency_chart(data: ReportData, colors: dict[str, str], timeline: Timeline) -> Chart:
    series = {m: ttft_over_time(data, m) for m in data.models}
    return Chart(
        "burst-latency",
        "TTFT per second",
        burst_plots.burst_latency(
            series, active_users(data.timeseries), request_rate(data.timeseries), colors, timeline
        ),
        "No TTFT was recorded per interval.",
        "Per model and second: p99 solid, p95 dash-dot, p50 dashed (ms, left axis). Grey: "
        "active users; dotted: completed requests per second (right axes). Phases are shaded "
        "and named at the top.",
    )


def active_users(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Users per interval summed over models (each model row counts its own users)."""
    frame = timeseries.dropna(subset=["start_s"])
    if frame.empty:
        return pd.DataFrame({"start_s": [], "users": []})
    summed = frame.groupby("start_s", as_index=False)["users"].sum()
    return summed.sort_values("start_s")


def request_rate(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Completed requests per second over all models (start_s, rate), full intervals only."""
    frame = full_intervals(timeseries)
    if frame.empty:
        return pd.DataFrame({"start_s": [], "rate": []})
    grouped = frame.groupby("start_s", as_index=False).agg(
        requests=("requests", "sum"), end_s=("end_s", "max")
    )
    grouped["rate"] = grouped["requests"] / (grouped["end_s"] - grouped["start_s"])
    return grouped.loc[:, ["start_s", "rate"]].sort_values("start_s")


def phase_users(
    timeseries: pd.DataFrame, phases: list[PhaseFigures], model: str
) -> list[int | None]:
    """The model's users in each phase: summary.json's figure (the median of the phase's
    intervals, the one max_concurrency_within_slo uses), else that median from the time series
    (a run.json plan without figures)."""
    plan = phases_from_json(phases)
    rows = timeseries.loc[timeseries["model"] == model].dropna(subset=["start_s", "end_s"])
    seen: dict[int, list[int]] = {}
    for start, end, users in zip(rows["start_s"], rows["end_s"], rows["users"], strict=True):
        index = phase_index(plan, (start + end) / 2.0)
        if index is not None and users == users:
            seen.setdefault(index, []).append(int(users))
    out: list[int | None] = []
    for i, phase in enumerate(phases):
        figures = phase.models.get(model)
        if figures is not None:
            out.append(figures.users)
        else:
            out.append(median_high(seen[i]) if seen.get(i) else None)
    return out


def capacity(
    data: ReportData, colors: dict[str, str], users: dict[str, list[int | None]]
) -> dict[str, Any]:
    """Step runs only: the capacity curve per model and the concurrency within the SLO."""
    if load_meta.shape_of(data.load) != "step" or not data.phases:
        return {}
    points = {m: capacity_points(data.phases, m, users[m]) for m in data.models}
    within = given(data.summary.max_concurrency_within_slo) or {}
    slo = data.load.slo_ttft_p99_ms if data.load is not None else None
    top = {m: int(p["users"].max()) for m, p in points.items() if len(p)}
    chart = Chart(
        "capacity",
        "Capacity curve",
        burst_plots.capacity_curve(points, colors, slo, within),
        "No step recorded any request.",
        "One point per step: the model's users in that step against its TTFT p99 and "
        "throughput in that step (from summary.json's phases).",
    )
    lines = load_meta.capacity_text(data.summary, data.load, data.models, top)
    return {"capacity_chart": chart, "capacity_lines": lines}


def capacity_points(
    phases: list[PhaseFigures], model: str, users: list[int | None]
) -> pd.DataFrame:
    """One row per step with users of the model: users, ttft_p99, requests_per_s,
    output_tokens_per_s."""
    rows = []
    for phase, count in zip(phases, users, strict=True):
        entry = phase.models.get(model)
        if not count or entry is None or not entry.requests:
            continue
        rows.append(
            {
                "users": count,
                "ttft_p99": entry.ttft_ms.p99,
                "requests_per_s": entry.requests_per_s,
                "output_tokens_per_s": entry.output_tokens_per_s,
            }
        )
    columns = ["users", "ttft_p99", "requests_per_s", "output_tokens_per_s"]
    frame = pd.DataFrame(rows, columns=columns).astype(float)
    return frame.sort_values("users", kind="stable").reset_index(drop=True)
