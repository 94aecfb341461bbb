"""One panel of capacity.html as inline SVG: figures against load (one point per probe, with
its 95 % interval as a whisker), the SLO bound as a horizontal line and the answer (the knee)
as a vertical one.

Drawn by hand like trend.html's panels (report/trend_svg.py, whose axis ticks it shares): a
search has a dozen probes, which a few lines of SVG carry crisply with a tooltip on every
point; no script, no matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from loadprofile.report.trend_svg import nice_ticks

WIDTH, HEIGHT = 560, 250
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 12, 40
SLO_COLOR = "#c0392b"
KNEE_COLOR = "#2e7d32"
UNTRUSTED_COLOR = "#e69f00"


@dataclass(frozen=True)
class Point:
    """One probe's value: its load, the figure, its 95 % interval when the probe gated it,
    and whether the generator (not the server) set the pace then (drawn hollow)."""

    load: float
    value: float
    ci: tuple[float, float] | None = None
    untrusted: bool = False


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    points: Sequence[Point]
    dashed: bool = False


@dataclass(frozen=True)
class Guide:
    """A straight line across the panel: the SLO bound (y) or the answer (x)."""

    at: float
    label: str


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def load_panel_svg(
    series: Sequence[Series],
    *,
    x_title: str,
    slo: Guide | None = None,
    knee: Guide | None = None,
    fmt: Callable[[float], str] = _fmt,
    title: str = "",
) -> Markup:
    """The panel's <svg> (scales with its box; every text escaped). The y axis starts at 0:
    figures against load are read as proportions."""
    points = [p for s in series for p in s.points]
    ys = [p.value for p in points] + [hi for p in points if p.ci for hi in p.ci[1:]]
    ys += [slo.at] if slo else []
    xs = [p.load for p in points] + ([knee.at] if knee else [])
    y_ticks = nice_ticks(0.0, max(ys) * 1.05 if ys and max(ys) > 0 else 1.0)
    x_ticks = nice_ticks(0.0, max(xs) if xs and max(xs) > 0 else 1.0)
    y_high, x_high = y_ticks[-1], x_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(load: float) -> float:
        return LEFT + load / x_high * plot_w

    def y(value: float) -> float:
        return TOP + (y_high - min(value, y_high)) / y_high * plot_h

    out = [
        f'<svg class="capacity" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for tick in y_ticks:
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#e6e9ed"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(fmt(tick))}</text>'
        )
    for tick in x_ticks:
        out.append(
            f'<text x="{x(tick):.1f}" y="{HEIGHT - BOTTOM + 15}" text-anchor="middle" '
            f'class="tick">{escape(_fmt(tick))}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'class="axis">{escape(x_title)}</text>'
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#c9ced4"/>'
    )
    if slo is not None:
        out.append(
            f'<g class="slo"><title>{escape(slo.label)}</title><line x1="{LEFT}" '
            f'x2="{WIDTH - RIGHT}" y1="{y(slo.at):.1f}" y2="{y(slo.at):.1f}" '
            f'stroke="{SLO_COLOR}" stroke-width="1.5" stroke-dasharray="6 3"/>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{y(slo.at) - 4:.1f}" text-anchor="end" '
            f'fill="{SLO_COLOR}">{escape(slo.label)}</text></g>'
        )
    if knee is not None:
        out.append(
            f'<g class="knee"><title>{escape(knee.label)}</title><line x1="{x(knee.at):.1f}" '
            f'x2="{x(knee.at):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{KNEE_COLOR}" '
            f'stroke-width="1.5"/><text x="{x(knee.at) + 4:.1f}" y="{TOP + 12}" '
            f'fill="{KNEE_COLOR}">{escape(knee.label)}</text></g>'
        )
    for s in series:
        ordered = sorted(s.points, key=lambda p: p.load)
        coords = " ".join(f"{x(p.load):.1f},{y(p.value):.1f}" for p in ordered)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{s.color}" stroke-width="1.6"'
            f'{dash} stroke-linejoin="round"/>'
        )
        for p in ordered:
            out.append(_point(s, p, x(p.load), y, fmt))
    out.append("</svg>")
    return Markup("".join(out))


def _point(
    s: Series, p: Point, cx: float, y: Callable[[float], float], fmt: Callable[[float], str]
) -> str:
    tip = f"{s.name} at {_fmt(p.load)}: {fmt(p.value)}"
    parts = []
    if p.ci is not None:
        tip += f" (95 % interval {fmt(p.ci[0])} to {fmt(p.ci[1])})"
        parts.append(
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(p.ci[0]):.1f}" y2="{y(p.ci[1]):.1f}" '
            f'stroke="{s.color}" stroke-width="1.2"/>'
            f'<line x1="{cx - 3:.1f}" x2="{cx + 3:.1f}" y1="{y(p.ci[0]):.1f}" '
            f'y2="{y(p.ci[0]):.1f}" stroke="{s.color}"/>'
            f'<line x1="{cx - 3:.1f}" x2="{cx + 3:.1f}" y1="{y(p.ci[1]):.1f}" '
            f'y2="{y(p.ci[1]):.1f}" stroke="{s.color}"/>'
        )
    if p.untrusted:
        tip += "; the generator was the bottleneck: not trusted"
        fill = f'fill="#fff" stroke="{UNTRUSTED_COLOR}" stroke-width="2"'
    else:
        fill = f'fill="{s.color}"'
    parts.append(f'<circle cx="{cx:.1f}" cy="{y(p.value):.1f}" r="3" {fill}/>')
    return f'<g class="pt"><title>{escape(tip)}</title>{"".join(parts)}</g>'
