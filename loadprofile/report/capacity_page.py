"""capacity.html from capacity.json and its probes' run folders: the answer in one sentence
at the top, then per model side by side the SLO's latencies (with their 95 % intervals) and
the throughput against load, the SLO line and the knee, the cost per 1,000 transactions at
the answer's load, and every probe in a table. A probe where the load generator, not the
server, set the pace is marked "not trusted". Self-contained like report.html."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loadprofile.contract.capacity import Capacity, ModelCapacity, Probe
from loadprofile.contract.summary import Summary, given
from loadprofile.core.generator_health import bound_banner
from loadprofile.report.capacity_svg import Guide, Point, Series, load_panel_svg
from loadprofile.report.money import fmt_usd
from loadprofile.report.render import environment
from loadprofile.rundir.view import SideError, read_summary

CAPACITY_HTML = "capacity.html"
TEMPLATE = "capacity.html"
P50_COLOR, TAIL_COLOR = "#56B4E9", "#0072B2"
THROUGHPUT_COLOR, GOODPUT_COLOR = "#E69F00", "#009E73"
_NAMES = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "e2e_ms": "end-to-end latency", "itl_ms": "ITL"}


@dataclass(frozen=True)
class ProbeRow:
    """One probe as the table shows it."""

    load: str
    verdict: str
    figures: list[str]  # per SLO metric: "47.4 ms (45.1–49.9)"
    requests_per_s: str
    goodput_per_s: str
    seconds: str
    stopped_because: str
    generator: str  # "kept up", "bottleneck: not trusted" or "" (no summary)
    generator_note: str  # the run's own warning, as the tooltip


@dataclass(frozen=True)
class ProbeData:
    """A probe with what its run folder says (None: no readable run folder)."""

    probe: Probe
    summary: Summary | None
    generator_bound: str | None  # bound_banner's text when the generator set the pace


def write_capacity_page(capacity: Capacity, out_dir: Path) -> Path:
    """``out_dir/capacity.html`` (probe folders relative to ``out_dir``), written whole."""
    html = environment().get_template(TEMPLATE).render(**page_context(capacity, out_dir))
    path = out_dir / CAPACITY_HTML
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def page_context(capacity: Capacity, out_dir: Path) -> dict[str, object]:
    probes = {
        model: [_probe_data(p, out_dir, model) for p in answer.probes]
        for model, answer in capacity.models.items()
    }
    return {
        "answer": answer_sentence(capacity),
        "slo": slo_text(capacity.slo),
        "mode": capacity.mode,
        "slo_metrics": list(capacity.slo),
        "models": [
            _model(model, answer, probes[model], capacity)
            for model, answer in capacity.models.items()
        ],
    }


def answer_sentence(capacity: Capacity) -> str:
    """ "mock-small serves 24 concurrent users within TTFT p99 ≤ 800 ms (between 22 and 26);
    mock-large 9 (8–10)." as the issue words it; an exact answer says so."""
    what = "concurrent users" if capacity.mode == "concurrency" else "requests/s"
    parts = []
    for i, (model, answer) in enumerate(capacity.models.items()):
        value = _answer(answer)
        low, high = answer.interval
        if i == 0:
            between = "exactly" if low == high else f"between {low:g} and {high:g}"
            parts.append(
                f"{model} serves {value:g} {what} within {slo_text(capacity.slo)} ({between})"
            )
        else:
            parts.append(f"{model} {value:g} ({'exact' if low == high else f'{low:g}–{high:g}'})")
    return "; ".join(parts) + "." if parts else "No model was probed."


def slo_text(slo: dict[str, float]) -> str:
    """TTFT p99 ≤ 800 ms and error rate ≤ 1 %."""
    parts = []
    for metric, bound in slo.items():
        if metric == "error_rate":
            parts.append(f"error rate ≤ {bound * 100:g} %")
        else:
            family, pct = metric.split(".", 1)
            parts.append(f"{_NAMES.get(family, family)} {pct} ≤ {bound:g} ms")
    return " and ".join(parts)


def _answer(answer: ModelCapacity) -> float:
    found = given(answer.max_users)
    return float(found if found is not None else given(answer.max_rate) or 0.0)


def _probe_data(probe: Probe, out_dir: Path, model: str) -> ProbeData:
    try:
        summary, _, _ = read_summary(out_dir / probe.dir)
    except SideError:
        return ProbeData(probe, None, None)
    generator = given(summary.generator)
    return ProbeData(probe, summary, bound_banner(generator) if generator else None)


def _model(
    model: str, answer: ModelCapacity, probes: list[ProbeData], capacity: Capacity
) -> dict[str, object]:
    value = _answer(answer)
    unit = "users" if capacity.mode == "concurrency" else "req/s"
    x_title = "concurrent users" if capacity.mode == "concurrency" else "requests/s offered"
    knee = Guide(value, f"answer: {value:g} {unit}") if value > 0 else None
    panels = [
        _latency_panel(model, metric, bound, probes, x_title, knee)
        for metric, bound in capacity.slo.items()
        if metric != "error_rate"
    ]
    panels.append(_throughput_panel(model, probes, x_title, knee))
    at_answer = next((p for p in probes if p.probe.load == value), None)
    return {
        "name": model,
        "answer": f"{value:g} {unit}",
        "interval": f"{answer.interval[0]:g}–{answer.interval[1]:g}",
        "limited_by": answer.limited_by,
        "cost_per_1k": _cost_per_1k(model, at_answer),
        "panels": panels,
        "rows": [_row(model, p, capacity) for p in probes],
        "untrusted": sum(p.generator_bound is not None for p in probes),
    }


def _latency_panel(
    model: str,
    metric: str,
    bound: float,
    probes: list[ProbeData],
    x_title: str,
    knee: Guide | None,
) -> dict[str, object]:
    family, pct = metric.split(".", 1)
    median: list[Point] = []
    tail: list[Point] = []
    for p in probes:
        if p.summary is None:
            continue
        untrusted = p.generator_bound is not None
        estimate = p.probe.p99s.get(metric)
        ci = p.probe.ci.get(metric)
        if estimate is not None:
            tail.append(Point(p.probe.load, estimate, _pair(ci), untrusted))
        figures = p.summary.models.get(model)
        p50 = getattr(getattr(figures, family, None), "p50", None) if figures else None
        if p50 is not None and pct != "p50":
            stability = given(p.summary.stability)
            stable = stability.models.get(model, {}).get(f"{family}.p50") if stability else None
            median.append(
                Point(p.probe.load, p50, _pair(stable.ci_ms if stable else None), untrusted)
            )
    title = f"{_NAMES.get(family, family)} (ms) against load"
    series = [Series("p50", P50_COLOR, median, dashed=True), Series(pct, TAIL_COLOR, tail)]
    svg = load_panel_svg(
        [s for s in series if s.points],
        x_title=x_title,
        slo=Guide(bound, f"SLO {pct} ≤ {bound:g} ms"),
        knee=knee,
        title=title,
    )
    return {"key": metric.replace(".", "-"), "title": title, "svg": str(svg),
            "legend": [(s.name, s.color) for s in series if s.points]}  # fmt: skip


def _throughput_panel(
    model: str, probes: list[ProbeData], x_title: str, knee: Guide | None
) -> dict[str, object]:
    served: list[Point] = []
    good: list[Point] = []
    for p in probes:
        figures = p.summary.models.get(model) if p.summary else None
        if figures is None:
            continue
        untrusted = p.generator_bound is not None
        served.append(Point(p.probe.load, figures.requests_per_s, None, untrusted))
        if figures.goodput_per_s is not None:
            good.append(Point(p.probe.load, figures.goodput_per_s, None, untrusted))
    series = [
        Series("throughput (req/s)", THROUGHPUT_COLOR, served),
        Series("goodput (req/s within the SLO)", GOODPUT_COLOR, good, dashed=True),
    ]
    title = "Throughput and goodput (req/s) against load"
    svg = load_panel_svg([s for s in series if s.points], x_title=x_title, knee=knee, title=title)
    return {"key": "throughput", "title": title, "svg": str(svg),
            "legend": [(s.name, s.color) for s in series if s.points]}  # fmt: skip


def _row(model: str, data: ProbeData, capacity: Capacity) -> ProbeRow:
    probe = data.probe
    figures = data.summary.models.get(model) if data.summary else None
    shown = []
    for metric in capacity.slo:
        if metric == "error_rate":
            shown.append(f"{figures.error_rate * 100:.3g} %" if figures else "")
            continue
        estimate, ci = probe.p99s.get(metric), _pair(probe.ci.get(metric))
        text = "" if estimate is None else f"{estimate:.4g} ms"
        shown.append(text + (f" ({ci[0]:.4g}–{ci[1]:.4g})" if ci and text else ""))
    if data.summary is None:
        generator = ""
    else:
        generator = "bottleneck: not trusted" if data.generator_bound else "kept up"
    good = figures.goodput_per_s if figures else None
    return ProbeRow(
        load=f"{probe.load:g}",
        verdict=probe.verdict,
        figures=shown,
        requests_per_s=f"{figures.requests_per_s:.4g}" if figures else "",
        goodput_per_s="" if good is None else f"{good:.4g}",
        seconds=f"{probe.seconds:g}",
        stopped_because=probe.stopped_because,
        generator=generator,
        generator_note=data.generator_bound or "",
    )


def _cost_per_1k(model: str, data: ProbeData | None) -> str:
    """The cost of 1,000 transactions at the answer's load; "" without prices."""
    costs = given(data.summary.cost) if data is not None and data.summary else None
    cost = costs.get(model) if costs else None
    if cost is None or not cost.priced or cost.per_transaction.mean is None:
        return ""
    return f"{fmt_usd(cost.per_transaction.mean * 1000)} per 1,000 {cost.transaction_unit}s"


def _pair(values: list[float] | None) -> tuple[float, float] | None:
    return (values[0], values[1]) if values and len(values) == 2 else None
