"""The per-request figures: TTFT against the conversation turn and against the prompt's
length, one point (or one turn's percentiles) per request of requests.csv.

The other figures draw the run's histograms and time series (``plots``); these draw the
request rows themselves, so they sample a large run and show only successful requests.
Drawn with ``plots``' figure helpers, colours and encoding.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from loadprofile.report import plots
from loadprofile.report.plots import add_legend, new_figure, ordered_models


def ttft_by_turn(ok: pd.DataFrame, colors: Mapping[str, str]) -> str | None:
    """TTFT p50 (solid) and p90 (dashed) per conversation turn: does history length hurt?"""
    frame = ok.dropna(subset=["turn", "ttft_ms"])
    if frame.empty:
        return None
    fig, (ax,) = new_figure()
    models = ordered_models(frame["model"], colors)
    for model in models:
        rows = frame.loc[frame["model"] == model]
        stats = rows.groupby("turn")["ttft_ms"].quantile([0.5, 0.9]).unstack()
        color = colors.get(model)
        ax.plot(stats.index, stats[0.5], color=color, marker="o", markersize=3, linewidth=1.4)
        ax.plot(
            stats.index,
            stats[0.9],
            color=color,
            marker="o",
            markersize=2,
            linewidth=1.0,
            linestyle="--",
        )
    handles = [Line2D([], [], color=colors.get(m), label=m) for m in models]
    handles += [
        Line2D([], [], color="#333", linewidth=1.4, label="p50"),
        Line2D([], [], color="#333", linewidth=1.0, linestyle="--", label="p90"),
    ]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("turn in conversation", fontsize=8)
    ax.set_ylabel("ttft_ms (ms)", fontsize=8)
    ax.set_title("TTFT by conversation turn", fontsize=9)
    add_legend(ax, handles)
    return plots.to_data_uri(fig)


def ttft_by_prompt_length(
    ok: pd.DataFrame, colors: Mapping[str, str], max_points: int = 20_000
) -> str | None:
    """Scatter of prompt length against TTFT per model; log y when the range is wide."""
    column = "prompt_tokens" if ok["prompt_tokens"].notna().any() else "prompt_chars"
    frame = ok.dropna(subset=[column, "ttft_ms"])
    if frame.empty:
        return None
    if len(frame) > max_points:  # beyond this the cloud looks the same and the PNG grows
        frame = frame.sample(max_points, random_state=0)
    fig, (ax,) = new_figure()
    for model in ordered_models(frame["model"], colors):
        rows = frame.loc[frame["model"] == model]
        ax.scatter(
            rows[column],
            rows["ttft_ms"],
            s=5,
            alpha=0.3,
            linewidths=0,
            color=colors.get(model),
            label=model,
            rasterized=True,
        )
    low, high = frame["ttft_ms"].min(), frame["ttft_ms"].max()
    if low > 0 and high / low > 30:
        ax.set_yscale("log")
    ax.set_xlabel(column.replace("_", " "), fontsize=8)
    ax.set_ylabel("ttft_ms (ms)", fontsize=8)
    ax.set_title(f"TTFT against prompt length ({column})", fontsize=9)
    handles = [
        Line2D([], [], color=colors.get(m), marker="o", linestyle="", label=m)
        for m in ordered_models(frame["model"], colors)
    ]
    add_legend(ax, handles)
    return plots.to_data_uri(fig)
