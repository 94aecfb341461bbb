"""compare's verdict in one line for the console, and how each figure is written (the
page's tables use the same formatters: compare.html and the console never disagree)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadprofile.commands.compare.figures import counts
from loadprofile.report.money import fmt_usd, usd_formatter
from loadprofile.report.tables import fmt_ms, fmt_rate, fmt_share

COMPARE_HTML = "compare.html"
#: Costs per request or transaction: formatted for both sides together.
_PER_ITEM = ("cost.per_request.", "cost.per_transaction.")


def fmt_of(metric: str, values: tuple[Any, ...] = ()) -> Callable[[Any], str]:
    """The formatter of a figure; for a cost per item, one chosen for the row's ``values``
    together (all per 1,000 when one is tiny)."""
    if metric.endswith("_per_s"):
        return fmt_rate
    if metric.endswith("_rate"):
        return fmt_share
    if metric.startswith(_PER_ITEM):
        return usd_formatter(values)
    if metric.startswith("cost."):
        return fmt_usd
    return fmt_ms


#: How many of the significant regressions the console line names.
NAMED = 3


def verdict_line(data: dict[str, Any], page: Path) -> str:
    """compare.json's verdict in one line: who against whom, how many figures are
    significantly worse (the largest changes named) and better, and where the page is.

    compare: slow vs base: 27 of 32 figures significantly worse (e2e_ms.p99 +33 %,
    ttft_ms.p99 +32 %, ...), 0 better; compare.html at out/compare.html
    """
    pairs = data["pairs"]
    tally = counts(data)
    worse = [
        (pair, row)
        for pair in pairs
        for row in pair["metrics"]
        if row["significant"] and row["direction"] == "worse"
    ]
    worse.sort(key=lambda item: -_change(item[1]))
    named = [_named(pair, row, several=len(pairs) > 1) for pair, row in worse[:NAMED]]
    if len(worse) > NAMED:
        named.append("...")
    which = f" ({', '.join(named)})" if named else ""
    flagged = [p["cache"]["note"] for p in pairs if (p.get("cache") or {}).get("differs")]
    beside = "".join(f"\n{note}" for note in flagged)  # unlike caches: beside the verdict
    return (
        f"compare: {_who(data)}: {tally['regressions']} of {tally['compared']} figures "
        f"significantly worse{which}, {tally['improvements']} better; {COMPARE_HTML} at {page}"
        f"{beside}"
    )


def _who(data: dict[str, Any]) -> str:
    """Candidate vs baseline: their models (@ their runs when two runs were compared), or
    the two runs when several pairs of models were."""
    base, cand = data["baseline"], data["candidate"]
    pairs = data["pairs"]
    two_runs = base["run_dir"] != cand["run_dir"]

    def run(entry: dict[str, Any]) -> str:
        return str(entry["run_id"] or entry["run_dir"])

    if len(pairs) > 1:
        return f"run {run(cand)} vs run {run(base)} ({len(pairs)} pairs of models)"
    a, b = pairs[0]["baseline_model"], pairs[0]["candidate_model"]
    if two_runs:
        return f"{b} @ {run(cand)} vs {a} @ {run(base)}"
    return f"{b} vs {a}"


def _change(row: dict[str, Any]) -> float:
    """How far the figure moved, relative to the baseline (a baseline of 0: infinitely)."""
    return abs(row["ratio"] - 1.0) if row["ratio"] is not None else float("inf")


def _named(pair: dict[str, Any], row: dict[str, Any], *, several: bool) -> str:
    """One regression: 'ttft_ms.p99 +31 %', or 'error_rate 0 % -> 2.00 %' from a baseline
    of 0; prefixed by its candidate model when several pairs were compared."""
    metric = row["metric"]
    if row["ratio"] is not None:
        change = f"{100 * (row['ratio'] - 1):+.0f} %"
    else:
        fmt = fmt_of(metric, (row["baseline"], row["candidate"]))
        change = f"{fmt(row['baseline'])} -> {fmt(row['candidate'])}"
    who = f"{pair['candidate_model']}: " if several else ""
    return f"{who}{metric} {change}"
