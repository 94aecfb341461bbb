"""The server-metrics figures: one server panel above the client's TTFT p99, one time axis.

Same conventions as ``plots``: plain data in, a ``data:`` URI (or None) out. A line whose
``model_name`` label is one of the run's models takes that model's colour; the metrics of
one panel differ by line style (solid, dashed, dotted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from loadprofile.client.server_metrics import labels_of
from loadprofile.report import plots
from loadprofile.report.plots import (
    DPI,
    PALETTE,
    TIME_LABEL,
    WIDTH_IN,
    Timeline,
    mark_timeline,
)
from loadprofile.report.server_panels import Line

#: Beyond this many series a panel draws the first ones only (the caption says so).
MAX_LINES = 12
_STYLES: tuple[Literal["-", "--", ":", "-."], ...] = ("-", "--", ":", "-.")


def _figure() -> tuple[Figure, Any, Any]:
    fig = Figure(figsize=(WIDTH_IN, 4.4), dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, top, bottom


def _color(line: Line, index: int, colors: Mapping[str, str]) -> str:
    """The run's colour of the line's model_name, else one no model of the run has."""
    model = labels_of(line.labels).get("model_name", "")
    if model in colors:
        return colors[model]
    free = [c for c in PALETTE if c not in colors.values()] or list(PALETTE)
    return free[index % len(free)]


def server_panel(
    title: str,
    unit: str,
    lines: list[Line],
    ttft: Mapping[str, pd.DataFrame],
    colors: Mapping[str, str],
    timeline: Timeline,
) -> str | None:
    """``lines`` of one panel on top (gauges as sampled, rates as steps over the time since
    the scrape before); below, each model's TTFT p99 per interval (``ttft``: model ->
    start_s, end_s, p99 ms)."""
    lines = lines[:MAX_LINES]
    if not lines:
        return None
    fig, top, bottom = _figure()
    names = list(dict.fromkeys(line.name for line in lines))
    for i, line in enumerate(lines):
        style = _STYLES[names.index(line.name) % len(_STYLES)]
        color = _color(line, i, colors)
        if line.t_from is not None:  # each rate held over the time since the scrape before
            top.step(
                [*line.t_from, line.t[-1]],
                [*line.v, line.v[-1]],
                where="post",
                color=color,
                linestyle=style,
                linewidth=1.3,
                label=line.label,
            )
        else:
            top.plot(
                line.t,
                line.v,
                color=color,
                linestyle=style,
                linewidth=1.3,
                marker="o",
                markersize=1.8,
                label=line.label,
            )
    top.set_ylim(bottom=0)
    top.set_ylabel(unit, fontsize=8)
    top.set_title(f"{title}: the server's /metrics, each second", fontsize=9)
    handles = list(top.get_legend_handles_labels()[0])
    drawn = []
    for model, frame in ttft.items():
        frame = frame.dropna(subset=["p99"])
        if len(frame):  # each interval's p99 held over the whole interval, the last one too
            x = [*frame["start_s"], float(frame["end_s"].iloc[-1])]
            y = [*frame["p99"], float(frame["p99"].iloc[-1])]
            bottom.step(x, y, where="post", color=colors.get(model), linewidth=1.2)
            drawn.append(model)
    handles += [
        Line2D([], [], color=colors.get(m), linewidth=1.2, label=f"{m} TTFT p99") for m in drawn
    ]
    for ax in (top, bottom):
        marks = mark_timeline(ax, timeline)
    handles += marks
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("client TTFT p99 (ms)", fontsize=8)
    bottom.set_xlabel(TIME_LABEL, fontsize=8)
    if not drawn:
        bottom.text(
            0.5,
            0.5,
            "no TTFT intervals",
            transform=bottom.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="#666",
        )
    # Two columns: labels of server series are long (metric and labels).
    fig.legend(handles=handles, loc="outside lower center", fontsize=7, frameon=False, ncol=2)
    return plots.to_data_uri(fig)
