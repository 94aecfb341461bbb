"""Figures of the burst section: how latency, errors and throughput follow the load shape.

Shown for step, spike and staged runs and for open-loop runs: latency per second with the
users and the request rate overlaid and the phases shaded, errors per second, and for step
runs the capacity curve (tail latency and throughput against concurrency). Same conventions
as ``plots``: plain data in, a data: URI (or None when there is nothing to draw) out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from loadprofile.report.plots import (
    BOUND_COLOR,
    TIME_LABEL,
    WIDTH_IN,
    Timeline,
    add_legend,
    mark_timeline,
    new_figure,
    ordered_models,
    to_data_uri,
    users_axis,
)

RATE_COLOR = "#3d4650"
#: p99 solid and thick, p95 dash-dot, p50 dashed: the tail is what a burst hurts first.
PERCENTILE_STYLES: tuple[tuple[str, Literal["-", "-.", "--"], float], ...] = (
    ("p99", "-", 1.6),
    ("p95", "-.", 1.0),
    ("p50", "--", 1.0),
)


def burst_latency(
    series: Mapping[str, pd.DataFrame],
    users: pd.DataFrame,
    rate: pd.DataFrame,
    colors: Mapping[str, str],
    timeline: Timeline,
) -> str | None:
    """TTFT p50/p95/p99 per second and model, phases shaded and named; active users and the
    request rate on secondary axes, so a reader sees the load that caused each bump.

    ``series``: model -> start_s, p50, p95, p99 (ms); ``users``: start_s, users;
    ``rate``: start_s, rate (completed requests/s, all models)."""
    series = {m: s for m, s in series.items() if len(s) and s["p99"].notna().any()}
    if not series:
        return None
    fig, (ax,) = new_figure(height=3.8, width=1.6 * WIDTH_IN)
    for model, frame in series.items():
        for column, style, width in PERCENTILE_STYLES:
            ax.plot(
                frame["start_s"],
                frame[column],
                color=colors.get(model),
                linestyle=style,
                linewidth=width,
            )
    handles: list[Any] = [
        Line2D([], [], color=colors.get(m), linewidth=1.6, label=m) for m in series
    ]
    handles += [
        Line2D([], [], color="#333", linestyle=style, linewidth=width, label=column)
        for column, style, width in PERCENTILE_STYLES
    ]
    handles += mark_timeline(ax, timeline, label_phases=True)
    if len(users):
        handles.append(users_axis(ax, users))
    if len(rate):
        handles.append(_rate_axis(ax, rate))
    ax.set_ylim(bottom=0, top=_top(series) * 1.18)  # head room for the phase names
    ax.set_xlabel(f"{TIME_LABEL} (interval start)", fontsize=8)
    ax.set_ylabel("ttft_ms per second (ms)", fontsize=8)
    ax.set_title("TTFT per second through the load shape", fontsize=9)
    add_legend(ax, handles)
    return to_data_uri(fig)


def _top(series: Mapping[str, pd.DataFrame]) -> float:
    return max(float(frame["p99"].max()) for frame in series.values())


def _rate_axis(ax: Axes, rate: pd.DataFrame) -> Line2D:
    """Requests/s on a second right-hand axis, set off from the users axis."""
    twin = ax.twinx()
    twin.spines["right"].set_position(("axes", 1.09))
    twin.step(
        rate["start_s"],
        rate["rate"],
        where="post",
        color=RATE_COLOR,
        linewidth=1.0,
        linestyle=(0, (1, 1.5)),
    )
    twin.set_ylabel("requests/s (completed, all models)", fontsize=8, color=RATE_COLOR)
    twin.tick_params(labelsize=8, colors=RATE_COLOR)
    twin.set_ylim(bottom=0, top=max(1.0, float(rate["rate"].max()) * 1.15))
    twin.spines[["top"]].set_visible(False)
    return Line2D(
        [], [], color=RATE_COLOR, linewidth=1.0, linestyle=(0, (1, 1.5)), label="requests/s"
    )


def errors_over_time(
    timeseries: pd.DataFrame, colors: Mapping[str, str], timeline: Timeline
) -> str | None:
    """Failed requests per second and model (timeseries.csv), phases shaded: did the burst
    turn into errors (429s, timeouts) rather than latency?"""
    frame = timeseries.dropna(subset=["start_s", "end_s"])
    if frame.empty or not frame["failures"].fillna(0).any():
        return None
    fig, (ax,) = new_figure(height=2.8, width=1.6 * WIDTH_IN)
    models = ordered_models(frame["model"], colors)
    for model in models:
        rows = frame.loc[frame["model"] == model].sort_values("start_s")
        per_s = rows["failures"].fillna(0) / (rows["end_s"] - rows["start_s"]).clip(lower=1e-3)
        ax.step(rows["start_s"], per_s, where="post", color=colors.get(model), linewidth=1.3)
    handles: list[Any] = [Line2D([], [], color=colors.get(m), label=m) for m in models]
    handles += mark_timeline(ax, timeline, label_phases=True)
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.15)
    ax.set_xlabel(f"{TIME_LABEL} (interval start)", fontsize=8)
    ax.set_ylabel("failed requests/s", fontsize=8)
    ax.set_title("errors per second", fontsize=9)
    add_legend(ax, handles)
    return to_data_uri(fig)


def capacity_curve(
    points: Mapping[str, pd.DataFrame],
    colors: Mapping[str, str],
    slo_ttft_p99_ms: float | None,
    within_slo: Mapping[str, int],
) -> str | None:
    """The classic capacity curve of a step run: TTFT p99, requests/s and output tokens/s
    against the users each model had in each step; the SLO line where one was set.

    ``points``: model -> users, ttft_p99, requests_per_s, output_tokens_per_s (one row/step).
    """
    points = {m: p for m, p in points.items() if len(p)}
    if not points:
        return None
    fig, axes = new_figure(cols=3, height=3.0, width=2 * WIDTH_IN)
    panels = (
        ("ttft_p99", "TTFT p99 (ms)"),
        ("requests_per_s", "requests/s"),
        ("output_tokens_per_s", "output tokens/s"),
    )
    for model, frame in points.items():
        for ax, (column, _) in zip(axes, panels, strict=True):
            ax.plot(
                frame["users"],
                frame[column],
                color=colors.get(model),
                marker="o",
                markersize=4,
                linewidth=1.4,
            )
    for ax, (_, label) in zip(axes, panels, strict=True):
        ax.set_title(f"{label} against users", fontsize=9)
        ax.set_ylabel(label, fontsize=8)
        ax.set_xlabel("concurrent users of the model (per step)", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles: list[Any] = [Line2D([], [], color=colors.get(m), marker="o", label=m) for m in points]
    handles += _slo_marks(axes[0], points, colors, slo_ttft_p99_ms, within_slo)
    add_legend(axes[0], handles)
    return to_data_uri(fig)


def _slo_marks(
    ax: Axes,
    points: Mapping[str, pd.DataFrame],
    colors: Mapping[str, str],
    slo_ms: float | None,
    within_slo: Mapping[str, int],
) -> list[Any]:
    """The SLO as a red line, and each model's highest user count within it as a dotted
    vertical line in the model's colour."""
    if not slo_ms:
        return []
    ax.axhline(slo_ms, color=BOUND_COLOR, linestyle="--", linewidth=1.0)
    ax.set_ylim(top=max(ax.get_ylim()[1], slo_ms * 1.15))
    handles: list[Any] = [
        Line2D([], [], color=BOUND_COLOR, linestyle="--", label=f"SLO: TTFT p99 ≤ {slo_ms:g} ms")
    ]
    marked = False
    for model in points:
        users = within_slo.get(model)
        if users:
            ax.axvline(users, color=colors.get(model), linestyle=":", linewidth=1.2)
            marked = True
    if marked:
        handles.append(
            Line2D([], [], color="#333", linestyle=":", label="most users within the SLO")
        )
    return handles
