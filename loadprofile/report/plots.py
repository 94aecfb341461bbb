"""The report's figures, each from plain data to an embeddable ``data:image/png`` URI.

Figures are built on ``matplotlib.figure.Figure`` directly: no pyplot, so no global figure
registry, no backend switching and nothing that leaks between reports built in one process.
Every function returns None when it has nothing to draw; the page then says so in words.
A model keeps one colour in every figure (``model_colors``), so the eye can follow it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter
from matplotlib.transforms import blended_transform_factory

DPI = 90
WIDTH_IN = 7.0
HEIGHT_IN = 3.3
#: Okabe-Ito (colour-blind safe) first, then the tab10 colours for runs with many models.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#8C6D00",
    "#000000",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
)
USERS_COLOR = "#9a9a9a"
BOUND_COLOR = "#c0392b"
BOUND_LABEL = "generator-bound, measurements suspect"
PHASE_SHADE = "#6b7785"
TIME_LABEL = "seconds since start"

Curve = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Chart:
    """A figure, or the sentence that stands in for it when there is nothing to draw."""

    key: str
    title: str
    src: str | None
    empty: str
    caption: str = ""


@dataclass(frozen=True)
class Timeline:
    """What every over-time chart marks: the run's phases (name, start_s, end_s) and the
    seconds the generator judged itself bound (its latencies there are suspect)."""

    phases: tuple[tuple[str, float, float], ...] = ()
    bound: tuple[tuple[float, float], ...] = ()


def model_colors(models: list[str]) -> dict[str, str]:
    """One fixed colour per model, in the order the models are listed."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def new_figure(
    cols: int = 1, height: float = HEIGHT_IN, width: float = WIDTH_IN
) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, cols, sharex=True, squeeze=False)[0, :]
    for ax in axes:
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


def to_data_uri(fig: Figure) -> str:
    """PNG bytes inline, so the report opens offline and as a single file."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def add_legend(ax: Axes, handles: list[Any] | None = None) -> None:
    """Below the plot, never on top of the lines (the tails are what matter)."""
    if handles is None:
        handles = ax.get_legend_handles_labels()[0]
    fig = ax.get_figure()
    if handles and isinstance(fig, Figure):
        per_row = max(2, int(fig.get_figwidth() // 1.6))  # long labels must not run off the sides
        fig.legend(
            handles=handles,
            loc="outside lower center",
            fontsize=7,
            frameon=False,
            ncol=min(len(handles), per_row),
        )


def _nines_label(k: int) -> str:
    """1/(1-p) = 10**k as a percentile: 0 -> 0%, 1 -> 90%, 2 -> 99%, 3 -> 99.9% ..."""
    return "0%" if k == 0 else f"{100.0 * (1.0 - 10.0**-k):.{max(0, k - 2)}f}%"


def percentile_distribution(
    metric: str,
    curves: Mapping[str, Curve],
    colors: Mapping[str, str],
    service: Mapping[str, Curve] | None = None,
) -> str | None:
    """HdrHistogram-style plot: latency against percentile on a log(1/(1-p)) axis.

    ``service``: the same metric from the actual send, drawn dashed in the model's colour
    (open-loop and paced runs, where the main curve runs from the scheduled start)."""
    curves = {m: c for m, c in curves.items() if len(c[0])}
    if not curves:
        return None
    dashed = {m: c for m, c in (service or {}).items() if len(c[0])}
    fig, (ax,) = new_figure()
    top = 1.0
    for style, group in (("-", curves), ("--", dashed)):
        for model, (percentiles, values) in group.items():
            x = 1.0 / (1.0 - np.minimum(percentiles, 99.9999) / 100.0)
            top = max(top, float(x[-1]))
            ax.plot(
                x,
                values,
                color=colors.get(model),
                linewidth=1.5 if style == "-" else 1.1,
                linestyle=style,
            )
    nines = max(2, int(np.ceil(np.log10(top) - 1e-9)))
    ax.set_xscale("log")
    ax.set_xlim(1.0, 10.0**nines)
    ax.xaxis.set_major_locator(FixedLocator([10.0**k for k in range(nines + 1)]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _nines_label(round(np.log10(v)))))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(bottom=0)
    ax.set_xlabel("percentile", fontsize=8)
    ax.set_ylabel(f"{metric} (ms)", fontsize=8)
    ax.set_title(f"{metric}: latency by percentile", fontsize=9)
    handles = [Line2D([], [], color=colors.get(m), linewidth=1.5, label=m) for m in curves]
    if dashed:
        handles += [
            Line2D([], [], color="#333", linewidth=1.5, label="from the scheduled start"),
            Line2D(
                [],
                [],
                color="#333",
                linewidth=1.1,
                linestyle="--",
                label="service time (from the send)",
            ),
        ]
    add_legend(ax, handles)
    return to_data_uri(fig)


def mark_timeline(ax: Axes, timeline: Timeline, label_phases: bool = False) -> list[Any]:
    """Shade the generator-bound seconds (and, with several phases, every other phase, with
    its edges); returns legend handles for what was drawn."""
    handles: list[Any] = []
    phases = timeline.phases if len(timeline.phases) > 1 else ()
    on_top = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (name, start, end) in enumerate(phases):
        if i % 2:
            ax.axvspan(start, end, color=PHASE_SHADE, alpha=0.08, linewidth=0, zorder=0)
        if i:
            ax.axvline(start, color=PHASE_SHADE, linewidth=0.8, linestyle=":", zorder=1)
        if label_phases:
            ax.text(
                (start + end) / 2.0,
                0.98,
                name,
                transform=on_top,
                ha="center",
                va="top",
                fontsize=7,
                color="#3d4650",
                clip_on=True,
            )
    for start, end in timeline.bound:
        ax.axvspan(start, end, color=BOUND_COLOR, alpha=0.16, linewidth=0, zorder=0)
    if timeline.bound:
        handles.append(Patch(color=BOUND_COLOR, alpha=0.3, label=BOUND_LABEL))
    return handles


def percentiles_over_time(
    metric: str,
    series: Mapping[str, pd.DataFrame],
    users: pd.DataFrame,
    colors: Mapping[str, str],
    timeline: Timeline | None = None,
) -> str | None:
    """p50 (dashed) and p99 (solid) per interval and model; active users on a second axis.

    ``series``: model -> frame with start_s, p50, p99 (ms). ``users``: start_s, users.
    """
    series = {m: s for m, s in series.items() if len(s)}
    if not series:
        return None
    fig, (ax,) = new_figure()
    for model, frame in series.items():
        color = colors.get(model)
        ax.plot(frame["start_s"], frame["p99"], color=color, linewidth=1.5)
        ax.plot(frame["start_s"], frame["p50"], color=color, linewidth=1.0, linestyle="--")
    handles = [Line2D([], [], color=colors.get(m), linewidth=1.5, label=m) for m in series]
    handles += [
        Line2D([], [], color="#333", linewidth=1.5, label="p99"),
        Line2D([], [], color="#333", linewidth=1.0, linestyle="--", label="p50"),
    ]
    handles += mark_timeline(ax, timeline or Timeline())
    if len(users):
        handles.append(users_axis(ax, users))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{TIME_LABEL} (interval start)", fontsize=8)
    ax.set_ylabel(f"{metric} (ms)", fontsize=8)
    ax.set_title(f"{metric}: p50 and p99 per interval", fontsize=9)
    add_legend(ax, handles)
    return to_data_uri(fig)


def users_axis(ax: Axes, users: pd.DataFrame) -> Line2D:
    """Active users as a grey step line on a secondary y axis; returns its legend handle."""
    twin = ax.twinx()
    twin.step(users["start_s"], users["users"], where="post", color=USERS_COLOR, linewidth=1.0)
    twin.set_ylabel("active users", fontsize=8, color=USERS_COLOR)
    twin.tick_params(labelsize=8, colors=USERS_COLOR)
    twin.set_ylim(bottom=0, top=max(1.0, float(users["users"].max()) * 1.15))
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    twin.spines[["top"]].set_visible(False)
    return Line2D([], [], color=USERS_COLOR, linewidth=1.0, label="active users")


def full_intervals(timeseries: pd.DataFrame) -> pd.DataFrame:
    """timeseries rows without the run's last, cut-short interval: one request in 0.1 s is
    not 10/s."""
    frame = timeseries.dropna(subset=["start_s", "end_s"])
    lengths = frame["end_s"] - frame["start_s"]
    return frame.loc[lengths >= 0.5 * lengths.median()] if len(frame) else frame


def throughput_over_time(
    timeseries: pd.DataFrame, colors: Mapping[str, str], timeline: Timeline | None = None
) -> str | None:
    """Requests/s, output tokens/s and failures/s per model and interval (timeseries.csv)."""
    frame = full_intervals(timeseries)
    if frame.empty or not frame["requests"].fillna(0).any():
        return None
    fig, axes = new_figure(cols=3, height=3.0, width=2 * WIDTH_IN)
    panels = (
        ("requests", "requests/s"),
        ("output_tokens", "output tokens/s"),
        ("failures", "failures/s"),
    )
    for model in ordered_models(frame["model"], colors):
        rows = frame.loc[frame["model"] == model].sort_values("start_s")
        seconds = rows["end_s"] - rows["start_s"]
        for ax, (column, _) in zip(axes, panels, strict=True):
            rate = rows[column].fillna(0) / seconds
            ax.plot(rows["start_s"], rate, color=colors.get(model), linewidth=1.3, label=model)
    marks: list[Any] = []
    for ax, (_, label) in zip(axes, panels, strict=True):
        marks = mark_timeline(ax, timeline or Timeline())
        ax.set_title(label, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(f"{TIME_LABEL} (interval start)", fontsize=8)
    add_legend(axes[0], axes[0].get_legend_handles_labels()[0] + marks)
    return to_data_uri(fig)


def ordered_models(models: pd.Series, colors: Mapping[str, str]) -> list[str]:
    """The models present, in report order (the colour map's order), then any others."""
    present = {str(m) for m in models.dropna().unique()}
    return [m for m in colors if m in present] + sorted(present - set(colors))


def generator_load(
    generator: pd.DataFrame, timeline: Timeline, cpu_limit: float, lag_limit_ms: float
) -> str | None:
    """The load generator's own CPU and event-loop lag (max per interval), each with the
    limit past which the run marks the second generator-bound."""
    frame = generator.dropna(subset=["start_s", "cpu_percent"]).sort_values("start_s")
    if frame.empty:
        return None
    fig, axes = new_figure(cols=2, height=2.8, width=2 * WIDTH_IN)
    panels = (
        ("cpu_percent", "CPU %", cpu_limit, "generator CPU (% of one core)"),
        ("loop_lag_ms_max", "ms", lag_limit_ms, "event-loop lag, max per interval"),
    )
    marks: list[Any] = []
    for ax, (column, unit, limit, title) in zip(axes, panels, strict=True):
        values = frame[column]
        if values.notna().any():
            ax.step(frame["start_s"], values, where="post", color="#333", linewidth=1.2)
        ax.axhline(limit, color=BOUND_COLOR, linestyle="--", linewidth=0.9)
        top = float(np.nanmax(values)) if values.notna().any() else 0.0
        ax.set_ylim(0, max(limit * 1.15, top * 1.1, 1.0 if column != "cpu_percent" else 100.0))
        marks = mark_timeline(ax, timeline)
        ax.set_xlabel(TIME_LABEL, fontsize=8)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_title(f"{title} (limit {limit:g} {unit.replace('CPU ', '')})", fontsize=9)
    handles = [
        Line2D([], [], color="#333", linewidth=1.2, label="measured"),
        Line2D(
            [],
            [],
            color=BOUND_COLOR,
            linestyle="--",
            linewidth=0.9,
            label="limit: above it the second is generator-bound",
        ),
        *marks,
    ]
    add_legend(axes[0], handles)
    return to_data_uri(fig)
