"""``loadprofile compare``: compare.json and a self-contained compare.html.

The page follows the run report's conventions (the same Jinja2 environment with autoescape,
the same CSS, figures drawn without pyplot and embedded as data: URIs), so it opens offline
as one file. The numbers come from compare.py; here they are only put into words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from loadprofile.commands import significance
from loadprofile.commands.compare.figures import FEW_INTERVALS, Comparison, compare_runs, counts
from loadprofile.commands.compare.verdict_line import COMPARE_HTML, fmt_of, verdict_line
from loadprofile.commands.significance import Side
from loadprofile.contract.summary import LoadSettings, ModelFigures
from loadprofile.core.metrics import METRICS
from loadprofile.report import plots
from loadprofile.report.load_meta import shape_of
from loadprofile.report.meta import fmt_duration, show
from loadprofile.report.money import fmt_usd, usd_formatter
from loadprofile.report.plots import PALETTE, Chart
from loadprofile.report.render import environment
from loadprofile.report.tables import EMPTY, fmt_int, fmt_share
from loadprofile.rundir.writer import model_slug

COMPARE_JSON = "compare.json"
TEMPLATE = "compare.html"
#: (label, key, formatter); None: a cost per item, formatted for both sides together.
_COST_ROWS: tuple[tuple[str, str, Callable[[Any], str] | None], ...] = (
    ("total spent", "total_usd", fmt_usd),
    ("per request, mean", "per_request.mean", None),
    ("per transaction, mean", "per_transaction.mean", None),
    ("per transaction, p95", "per_transaction.p95", None),
    ("per transaction, p99", "per_transaction.p99", None),
    ("per 1,000 successful transactions", "per_1k_successful_transactions", fmt_usd),
    ("transactions (finished)", "transactions", fmt_int),
    ("successful transactions", "successful_transactions", fmt_int),
    ("spent on failed attempts", "failed_attempt_share", fmt_share),
)
_TITLES = {
    "ttft_ms": "Time to first token",
    "itl_ms": "Inter-token latency",
    "tpot_ms": "Time per output token",
    "e2e_ms": "End-to-end latency",
}


def write_compare(
    baseline: Path,
    candidate: Path | None,
    out_dir: Path,
    *,
    models: tuple[str, str] | None,
    alpha: float = 0.05,
    resamples: int = 2000,
) -> tuple[Path, str]:
    """Write ``out_dir/compare.json`` and ``out_dir/compare.html``; return the page's path
    and the verdict in one line for the console (``verdict_line``).
    significance.SideError (one line) for anything that cannot be compared."""
    result = compare_runs(baseline, candidate, models=models, alpha=alpha, resamples=resamples)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / COMPARE_JSON, json.dumps(result.data, indent=2, ensure_ascii=False) + "\n")
    html = environment().get_template(TEMPLATE).render(**build_context(result))
    page = _write(out_dir / COMPARE_HTML, html)
    return page, verdict_line(result.data, page)


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def build_context(result: Comparison) -> dict[str, Any]:
    """Everything the template shows, already in words and formatted numbers."""
    data = result.data
    base, cand = result.pairs[0]
    one_run = base.run_dir == cand.run_dir
    tally = counts(data)
    alpha = data["significance"]
    return {
        "title": " → ".join(_short(s, one_run) for s in (base, cand)),
        "sides": [
            _side_rows(s, [p[i].model for p in result.pairs]) for i, s in enumerate((base, cand))
        ],
        "partial": [
            f"{role} run {s.summary.run_id or s.run_dir} is partial (interrupted, "
            "or a worker was lost): it holds fewer measurements than planned."
            for role, s in (("The baseline", base), ("The candidate", cand))
            if s.summary.partial or s.rebuilt
        ][: 1 if one_run else 2],
        "load_note": "" if one_run else _load_note(base, cand),
        # prefix caches of unlike warmth: said beside the verdict, as the gate says it
        "cache_notes": [p["cache"]["note"] for p in data["pairs"] if p["cache"]["differs"]],
        "few_note": _few_note(data),
        "one_run": one_run,
        "headline": _headline(tally, alpha),
        "tone": _tone(tally, alpha),
        "confidence": f"{100 * (1 - alpha):g} %",
        "method": _method(alpha, data["resamples"], base),
        "pairs": [
            _pair(i, a, b, entry, one_run)
            for i, ((a, b), entry) in enumerate(zip(result.pairs, data["pairs"], strict=True))
        ],
    }


def _short(side: Side, one_run: bool) -> str:
    return side.model if one_run else f"{side.model} @ {side.summary.run_id or side.run_dir}"


def _side_rows(side: Side, models: list[str]) -> list[tuple[str, str]]:
    s, load = side.summary, side.summary.load or side.run.load
    rows = [
        ("folder", str(side.run_dir)),
        ("run id", show(s.run_id or None)),
        ("started at", show(s.started_at or None)),
        ("duration", fmt_duration(s.duration_s)),
        ("model(s)", ", ".join(models)),
        ("load", f"{shape_of(load)}, {show(load.users)} users" if load else EMPTY),
        (
            "rate",
            f"{show(load.rate)} {load.rate_unit or 'requests'}/s"
            if load is not None and load.rate
            else "closed loop",
        ),
        ("partial", "yes" if s.partial or side.rebuilt else "no"),
    ]
    return rows


def _load_note(base: Side, cand: Side) -> str:
    """Different loads explain differences that are not the model's."""
    a, b = (s.summary.load or LoadSettings() for s in (base, cand))
    settings: tuple[tuple[str, object, object], ...] = (
        ("shape", a.shape, b.shape),
        ("users", a.users, b.users),
        ("rate", a.rate, b.rate),
        ("run_time_s", a.run_time_s, b.run_time_s),
        ("think_time_s", a.think_time_s, b.think_time_s),
        ("max_tokens", a.max_tokens, b.max_tokens),
        ("pace_s", a.pace_s, b.pace_s),
    )
    differ = [f"{k} {show(x)} vs {show(y)}" for k, x, y in settings if x != y]
    return f"The runs were made under different loads: {'; '.join(differ)}." if differ else ""


def _few_note(data: dict[str, Any]) -> str:
    """Short runs give the bootstrap too few seconds to see their own variability."""
    fewest = min(min(p["baseline_intervals"], p["candidate_intervals"]) for p in data["pairs"])
    if fewest >= FEW_INTERVALS:
        return ""
    return (
        f"Only {fewest} histogram intervals in a side: with fewer than {FEW_INTERVALS} the "
        "intervals below come out too narrow. Treat verdicts near the edge with care, or "
        "compare longer runs (or runs with a shorter --interval)."
    )


def _chance(tally: dict[str, int], alpha: float) -> float:
    """How many of the figures with an interval chance alone would flag at ``alpha``."""
    return alpha * (tally["compared"] - tally["without_interval"])


def _tone(tally: dict[str, int], alpha: float) -> str:
    """The headline's colour: red for regressions beyond chance, amber within it."""
    if not tally["regressions"]:
        return "ok"
    within = tally["regressions"] + tally["improvements"] <= 2 * _chance(tally, alpha)
    return "warn" if within else "partial"


def _headline(tally: dict[str, int], alpha: float) -> str:
    worse, better, compared = tally["regressions"], tally["improvements"], tally["compared"]
    if not worse and not better:
        return (
            f"No significant regression or improvement at {alpha:g}: every difference of the "
            f"{compared} figures is within the noise the runs show (or under 1 %)."
        )
    text = (
        f"{worse} significant regression(s) and {better} significant improvement(s) at "
        f"{alpha:g}, of {compared} figures compared."
    )
    chance = _chance(tally, alpha)
    if worse + better <= 2 * chance:  # as many as chance alone would flag
        text += (
            f" Chance alone flags about {chance:.1f} of that many figures at {alpha:g}: "
            "trust a change that related figures (neighbouring percentiles) agree on."
        )
    return text


def _method(alpha: float, resamples: int, side: Side) -> str:
    load = side.summary.load
    interval = (load.interval_s if load is not None else None) or 1
    return (
        f"Each interval is the {100 * (1 - alpha):g} % percentile interval of candidate / "
        f"baseline over {resamples:,} block-bootstrap resamples: whole {interval:g}-s "
        "histogram intervals are drawn with replacement (per-interval counts for rates, "
        "whole transactions for costs), so requests that shared a second stay together. "
        "A change is significant when its interval excludes 1 (no change): noise of the "
        f"size seen within the runs would produce it less than {alpha:g} of the time."
    )


#: Costs per item (not totals, nor per 1,000 already): shown per 1,000 when tiny.


def _verdict(row: dict[str, Any]) -> tuple[str, str]:
    """(words, CSS class) for a row's significance marker."""
    if row["method"] == "none":
        return "no interval", "none"
    if not row["significant"]:
        return "not significant", "ns"
    return {
        "worse": ("▲ regression", "regression"),
        "better": ("▼ improvement", "improvement"),
    }.get(row["direction"], ("changed", "changed"))


def _row(row: dict[str, Any], label: str) -> dict[str, str]:
    fmt = fmt_of(row["metric"], (row["baseline"], row["candidate"]))
    words, kind = _verdict(row)
    if row["ci_low"] is not None:
        ci = f"{row['ci_low']:.3f}× – {row['ci_high']:.3f}×"
    elif row["diff_low"] is not None:
        ci = f"Δ {_signed(row['diff_low'], fmt)} – {_signed(row['diff_high'], fmt)}"
    else:
        ci = EMPTY
    delta = row["delta"]
    return {
        "label": label,
        "metric": row["metric"],
        "base": fmt(row["baseline"]),
        "cand": fmt(row["candidate"]),
        "delta": EMPTY if delta is None else _signed(delta, fmt),
        "pct": EMPTY if row["ratio"] is None else f"{100 * (row['ratio'] - 1):+.1f} %",
        "ci": ci,
        "verdict": words,
        "kind": kind,
    }


def _signed(value: float, fmt: Callable[[Any], str]) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "±") + fmt(abs(value))


def _tables(entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = {r["metric"]: r for r in entry["metrics"]}
    tables = [
        {
            "key": f"t-{m}",
            "title": f"{m}: {_TITLES[m]} (ms)",
            "rows": [
                _row(rows[f"{m}.{k}"], k) for k in ("p50", "p90", "p95", "p99", "p99_9", "mean")
            ],
        }
        for m in METRICS
    ]
    other = [
        _row(r, r["metric"])
        for r in entry["metrics"]
        if r["metric"].split(".")[0] not in METRICS and not r["metric"].startswith("cost.")
    ]
    tables.append({"key": "t-rates", "title": "Throughput, errors and correctness", "rows": other})
    cost = [
        _row(r, r["metric"].removeprefix("cost."))
        for r in entry["metrics"]
        if r["metric"].startswith("cost.")
    ]
    if cost:
        tables.append({"key": "t-cost", "title": "Cost (USD)", "rows": cost})
    return tables


def _pair(
    index: int, base: Side, cand: Side, entry: dict[str, Any], one_run: bool
) -> dict[str, Any]:
    labels = (f"baseline: {_short(base, one_run)}", f"candidate: {_short(cand, one_run)}")
    colors = dict(zip(labels, PALETTE[:2], strict=True))
    key = f"pair{index}-{model_slug(base.model)}-{model_slug(cand.model)}"
    sides = dict(zip(labels, (base, cand), strict=True))
    return {
        "title": f"{labels[0]} → {labels[1]}",
        "key": key,
        "tables": (tables := _tables(entry))[: len(METRICS)],
        "more_tables": tables[len(METRICS) :],
        "errors": _errors(base, cand),
        "cost": _cost(base, cand),
        "charts": [_chart(f"{key}-dist-{m}", m, sides, colors) for m in METRICS],
    }


def _errors(base: Side, cand: Side) -> list[tuple[str, str, str]]:
    """(class, baseline, candidate): failures by class, each with its share of requests."""
    views = [s.view().figures for s in (base, cand)]
    known = [v or ModelFigures() for v in views]
    classes = sorted(set(known[0].errors) | set(known[1].errors))

    def cell(view: ModelFigures, n: int) -> str:
        total = view.requests
        return f"{fmt_int(n)} ({fmt_share(n / total)})" if total and n else fmt_int(n)

    base_n, cand_n = (fmt_int(v.requests if v is not None else None) for v in views)
    rows = [("requests", base_n, cand_n)]
    for name, key in [*((c, c) for c in classes), ("all failures", None)]:
        a, b = (v.errors.get(name, 0) if key else v.failures for v in known)
        rows.append((name, cell(known[0], a), cell(known[1], b)))
    return rows


def _cost(base: Side, cand: Side) -> list[tuple[str, str, str]]:
    """The cost figures side by side ([] when neither model was priced)."""
    costs = [s.view().cost for s in (base, cand)]
    if not any(costs):
        return []
    rows = []
    for label, path, fmt in _COST_ROWS:
        values = [
            significance.point(s, f"cost.{path}") if c else None
            for s, c in zip((base, cand), costs, strict=True)
        ]
        show_usd = fmt or usd_formatter(values)
        a, b = (show_usd(v) if c else "not priced" for v, c in zip(values, costs, strict=True))
        rows.append((label, a, b))
    return rows


def _chart(key: str, metric: str, sides: dict[str, Side], colors: dict[str, str]) -> Chart:
    curves = {label: _curve(side, metric) for label, side in sides.items()}
    return Chart(
        key,
        f"{metric}: {_TITLES[metric]}",
        plots.percentile_distribution(metric, curves, colors),
        f"No {metric} values were recorded.",
        "Whole-run histograms (every interval merged), baseline and candidate overlaid.",
    )


def _curve(side: Side, metric: str, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(percentiles, ms) spaced evenly in log(1/(1-p)), out to where the data runs out."""
    table = significance.interval_counts(side, metric)
    count = float(table.counts.sum()) if table is not None else 0.0
    if not count:
        return np.empty(0), np.empty(0)
    nines = max(2.0, float(np.ceil(np.log10(count))))
    percentiles = np.unique(np.round(100.0 * (1.0 - 10.0 ** -np.linspace(0.0, nines, points)), 9))
    values = significance.whole_run_values(side, metric, percentiles)
    return (percentiles, values) if values is not None else (np.empty(0), np.empty(0))
