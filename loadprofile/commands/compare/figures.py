"""Two runs, or two models of one run, side by side: figures, deltas and confidence
intervals, as the JSON-able dict that becomes compare.json (pure: no plotting, no HTML).

Every delta carries the interval of the ratio candidate / baseline from paired block-bootstrap
draws (``significance``); a change is *significant* when that interval excludes 1, so a
nightly job can tell a regression from the noise a rerun of the same profile shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadprofile.commands import significance
from loadprofile.commands.cache_warmth import CacheSide, cache_warmth
from loadprofile.commands.significance import Side, SideError
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import Summary
from loadprofile.core.metrics import METRICS

SCHEMA = 1
KEYS = ("p50", "p90", "p95", "p99", "p99_9", "mean")
RATES = ("error_rate", "requests_per_s", "output_tokens_per_s", "goodput_per_s")
CORRECTNESS = ("correctness.contract_violation_rate",)
COSTS = (
    "cost.per_transaction.mean",
    "cost.per_transaction.p95",
    "cost.per_1k_successful_transactions",
)
HIGHER_IS_BETTER = frozenset({"requests_per_s", "output_tokens_per_s", "goodput_per_s"})
#: Below this relative change the direction is "same": too small to matter, whatever its
#: significance (two runs of a deterministic target can differ "significantly" by 0.1 %).
SAME_WITHIN = 0.01
#: With fewer resampling units than this, bootstrap intervals come out too narrow.
FEW_INTERVALS = 20


@dataclass(frozen=True)
class Comparison:
    """compare.json's content, and the loaded sides (baseline, candidate) of each pair."""

    data: dict[str, Any]
    pairs: tuple[tuple[Side, Side], ...]


def parse_models(text: str) -> tuple[str, str]:
    """'A,B' -> (A, B): the baseline model, then the candidate."""
    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names):
        raise SideError(f"--models {text!r}: give two models, BASELINE,CANDIDATE")
    return names[0], names[1]


def metric_paths(base: Side, cand: Side) -> list[str]:
    """The figures compared: latency percentiles, rates, contract violations, and the cost
    figures when both sides were priced."""
    paths = [f"{m}.{k}" for m in METRICS for k in KEYS] + [*RATES, *CORRECTNESS]
    if base.view().cost and cand.view().cost:
        paths += COSTS
    return paths


def lower_is_better(metric: str) -> bool:
    return metric not in HIGHER_IS_BETTER


def method_of(metric: str) -> str:
    """What the bootstrap resamples for this figure."""
    if metric in significance.SERIES_METRICS:
        return "series"
    if metric.startswith("cost."):
        return "transactions"
    return "intervals"


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def compare_metric(
    base: Side, cand: Side, metric: str, alpha: float, resamples: int, seed: int = 0
) -> dict[str, Any]:
    """One row of compare.json. ``ci_low``/``ci_high`` bound the ratio; when the ratio has
    no interval (a baseline of 0, e.g. no errors) the difference's interval decides."""
    x, y = significance.point(base, metric), significance.point(cand, metric)
    row: dict[str, Any] = {
        "metric": metric,
        "baseline": x,
        "candidate": y,
        "delta": _round(y - x) if x is not None and y is not None else None,
        "ratio": _round(y / x) if x and y is not None else None,
        "ci_low": None,
        "ci_high": None,
        "diff_low": None,
        "diff_high": None,
        "significant": False,
        "direction": direction(metric, x, y),
        "method": "none",
    }
    if x is None or y is None:
        return row
    a = significance.bootstrap(base, metric, resamples=resamples, seed=seed)
    b = significance.bootstrap(cand, metric, resamples=resamples, seed=seed)
    if a is None or b is None:
        return row
    row["method"] = method_of(metric)
    # Judged on the bounds as written, so compare.json never shows "1.0" and significant.
    low, high = _bounds(significance.difference_interval(a, b, alpha))
    row["diff_low"], row["diff_high"] = low, high
    ratio = significance.ratio_interval(a, b, alpha)
    if ratio is not None:
        low, high = _bounds(ratio)
        row["ci_low"], row["ci_high"] = low, high
        row["significant"] = low > 1.0 or high < 1.0
    else:
        row["significant"] = low > 0.0 or high < 0.0
    return row


def _bounds(interval: tuple[float, float]) -> tuple[float, float]:
    return float(f"{interval[0]:.6g}"), float(f"{interval[1]:.6g}")


def direction(metric: str, x: float | None, y: float | None) -> str:
    """'worse', 'better' or 'same', from the point values (significance is separate)."""
    if x is None or y is None or y == x:
        return "same"
    if x and abs(y / x - 1.0) < SAME_WITHIN:
        return "same"
    up = y > x
    return "worse" if up == lower_is_better(metric) else "better"


def compare_pair(base: Side, cand: Side, alpha: float, resamples: int) -> dict[str, Any]:
    cache = cache_warmth(
        CacheSide(base.model, base.model, base.summary.models.get(base.model), base.run),
        CacheSide(cand.model, cand.model, cand.summary.models.get(cand.model), cand.run),
    )
    return {
        "baseline_model": base.model,
        "candidate_model": cand.model,
        # how warm each side's prefix cache was: a gap moves every latency figure
        "cache": {**cache.to_json(), "note": cache.line()},
        "baseline_intervals": len(base.series),  # resampling units of each side
        "candidate_intervals": len(cand.series),
        "metrics": [
            compare_metric(base, cand, m, alpha, resamples) for m in metric_paths(base, cand)
        ],
    }


def pair_models(
    base_models: Sequence[str], cand_models: Sequence[str], models: tuple[str, str] | None
) -> list[tuple[str, str]]:
    """Which baseline model meets which candidate: as named, else the models both runs
    have (by name), else the only model of each."""
    if models is not None:
        for role, name, known in (
            ("baseline", models[0], base_models),
            ("candidate", models[1], cand_models),
        ):
            if name not in known:
                raise SideError(
                    f"--models: no {role} model {name!r} (models: {', '.join(known) or 'none'})"
                )
        return [models]
    shared = [m for m in base_models if m in cand_models]
    if shared:
        return [(m, m) for m in shared]
    if len(base_models) == 1 and len(cand_models) == 1:
        return [(base_models[0], cand_models[0])]
    raise SideError(
        f"nothing to pair: baseline models {', '.join(base_models) or 'none'}, "
        f"candidate models {', '.join(cand_models) or 'none'}; "
        "name two with --models BASELINE,CANDIDATE"
    )


def _ordered(summary: Summary, run: RunMeta) -> list[str]:
    """The run's models in its own order (run.json's, the baseline first), then the rest."""
    found = sorted(summary.models)
    listed = [m for m in run.models if m in found]
    return listed + [m for m in found if m not in listed]


def compare_runs(
    baseline: Path,
    candidate: Path | None,
    *,
    models: tuple[str, str] | None,
    alpha: float = 0.05,
    resamples: int = 2000,
) -> Comparison:
    """Compare ``baseline`` with ``candidate`` (None: two models of the baseline run).
    SideError (one line) for anything that cannot be compared."""
    if not 0.0 < alpha < 1.0:
        raise SideError(f"--significance {alpha:g}: give a level between 0 and 1")
    if resamples < 100:
        raise SideError(f"--resamples {resamples}: give at least 100")
    base_read = significance.read_summary(baseline)
    if candidate is None:
        if models is None:
            raise SideError("one run folder: name the two models with --models BASELINE,CANDIDATE")
        if models[0] == models[1]:
            raise SideError(f"--models {models[0]},{models[1]}: name two different models")
        cand_read = base_read
    else:
        cand_read = significance.read_summary(candidate)
    cand_dir = baseline if candidate is None else candidate
    names = pair_models(_ordered(*base_read[:2]), _ordered(*cand_read[:2]), models)
    loaded: dict[tuple[Path, str], Side] = {}

    def side(folder: Path, read: tuple[Summary, RunMeta, bool], model: str) -> Side:
        if (folder, model) not in loaded:
            loaded[(folder, model)] = significance.side_of(folder, model, *read)
        return loaded[(folder, model)]

    pairs = tuple((side(baseline, base_read, a), side(cand_dir, cand_read, b)) for a, b in names)
    data = {
        "schema": SCHEMA,
        "baseline": _run_entry(baseline, base_read[0], [a for a, _ in names]),
        "candidate": _run_entry(cand_dir, cand_read[0], [b for _, b in names]),
        "significance": alpha,
        "resamples": resamples,
        "pairs": [compare_pair(a, b, alpha, resamples) for a, b in pairs],
    }
    return Comparison(data, pairs)


def _run_entry(folder: Path, summary: Summary, models: list[str]) -> dict[str, Any]:
    return {
        "run_dir": str(folder),
        "run_id": summary.run_id,
        "model": models[0] if len(models) == 1 else None,
        "models": models,
        "partial": summary.partial,
    }


def counts(data: dict[str, Any]) -> dict[str, int]:
    """How many rows of every pair are significant regressions / improvements, or have no
    interval: the page's headline."""
    rows = [r for p in data["pairs"] for r in p["metrics"]]
    return {
        "regressions": sum(r["significant"] and r["direction"] == "worse" for r in rows),
        "improvements": sum(r["significant"] and r["direction"] == "better" for r in rows),
        "without_interval": sum(r["method"] == "none" for r in rows),
        "compared": len(rows),
    }
