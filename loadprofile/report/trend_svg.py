"""One panel of trend.html as inline SVG: each model's line over the runs, the change points
marked and numbered, the latest run highlighted.

Drawn by hand rather than with matplotlib: a thousand runs of four models in ten panels are
forty thousand points, which SVG text carries in a fraction of a second and the browser
scales crisply, with a tooltip on every change point; no script, so the page stays static.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 12, 36
KIND_COLORS = {"regression": "#c0392b", "improvement": "#2e7d32", "change": "#5f6b76"}
LATEST_COLOR = "#fff2c6"
#: Up to this many runs every run gets a dot; beyond, the lines alone.
DOTS_UP_TO = 60


@dataclass(frozen=True)
class Line:
    """A model's values: (run position in the series, value)."""

    name: str
    color: str
    points: Sequence[tuple[int, float]]


@dataclass(frozen=True)
class Mark:
    """A change point: its number in the panel's list, where, the level it moved to."""

    number: int
    position: int
    value: float
    color: str  # the model's
    kind: str  # "regression", "improvement" or "change"
    title: str  # the tooltip: model, change, run and labels


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2, 2.5, 5 x 10^k apart) covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def panel_svg(
    lines: Sequence[Line],
    marks: Sequence[Mark],
    *,
    runs: int,
    x_labels: Sequence[tuple[int, str]],
    latest_label: str,
    fmt: Callable[[float], str] = _fmt,
    title: str = "",
) -> Markup:
    """The panel's <svg> (scales with its box; every text escaped)."""
    values = [v for line in lines for _, v in line.points] + [m.value for m in marks]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        low, high = low - (abs(low) * 0.05 or 1.0), high + (abs(high) * 0.05 or 1.0)
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    span_x = max(runs - 1, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(position: float) -> float:
        return LEFT + (position / span_x * plot_w if runs > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    out = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    band = max(plot_w / span_x, 6.0)
    out.append(
        f'<rect x="{x(runs - 1) - band / 2:.1f}" y="{TOP}" width="{band:.1f}" height="{plot_h}" '
        f'fill="{LATEST_COLOR}"><title>{escape(latest_label)}</title></rect>'
    )
    for tick in ticks:
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#e6e9ed"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(fmt(tick))}</text>'
        )
    for position, label in x_labels:
        anchor = "start" if position == 0 else ("end" if position == runs - 1 else "middle")
        out.append(
            f'<text x="{x(position):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}" '
            f'class="tick">{escape(label)}</text>'
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#c9ced4"/>'
    )
    for mark in marks:
        color = KIND_COLORS.get(mark.kind, KIND_COLORS["change"])
        out.append(
            f'<line x1="{x(mark.position):.1f}" x2="{x(mark.position):.1f}" y1="{TOP}" '
            f'y2="{TOP + plot_h}" stroke="{color}" stroke-dasharray="4 3"/>'
        )
    for line in lines:
        coords = " ".join(f"{x(p):.1f},{y(v):.1f}" for p, v in line.points)
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{line.color}" '
            'stroke-width="1.6" stroke-linejoin="round"/>'
        )
        if len(line.points) <= DOTS_UP_TO:
            out.extend(
                f'<circle cx="{x(p):.1f}" cy="{y(v):.1f}" r="2.2" fill="{line.color}"/>'
                for p, v in line.points
            )
        if line.points:
            p, v = line.points[-1]
            out.append(
                f'<circle cx="{x(p):.1f}" cy="{y(v):.1f}" r="4.5" fill="{line.color}" '
                f'stroke="#000" stroke-width="1"><title>{escape(line.name)}: {escape(fmt(v))} '
                f"({escape(latest_label)})</title></circle>"
            )
    for mark in marks:
        color = KIND_COLORS.get(mark.kind, KIND_COLORS["change"])
        cx, cy = x(mark.position), y(mark.value)
        out.append(
            f'<g class="cp"><title>{escape(mark.title)}</title>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="#fff" stroke="{color}" '
            'stroke-width="2"/>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{mark.color}"/>'
            f'<text x="{cx:.1f}" y="{TOP + 11}" text-anchor="middle" class="cpn" '
            f'fill="{color}">{mark.number}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))
