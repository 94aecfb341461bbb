"""Which way a figure gets worse, from its stored name: a change point is a regression only
on a figure that has a better and a worse side (latencies, error and violation rates, costs
up; throughput and valid shares down). Counts and token totals only follow the load: their
changes are shown, never judged."""

from __future__ import annotations

from typing import Literal

Better = Literal["lower", "higher"]

#: Leaf names better when higher (``requests_per_s``, ``phases.peak.goodput_per_s``...).
_HIGHER_LEAVES = frozenset({"json_valid_rate", "exact_match_rate", "max_concurrency_within_slo"})
#: Leaf names better when lower, besides latencies and error rates.
_LOWER_LEAVES = frozenset(
    {
        "contract_violation_rate",
        "flagged_rate",
        "failed_attempt_share",
        "total_usd",
        "per_1k_successful_transactions",
        "recovery_s",
        "edit_distance_mean",
        "edit_distance_p90",
    }
)
#: A distribution's figures that measure it (its count only says how many there were).
_DISTRIBUTION_KEYS = frozenset({"p50", "p90", "p95", "p99", "p99_9", "max", "mean"})
#: Distributions better when lower that are not latencies: costs per request or transaction.
_LOWER_DISTRIBUTIONS = frozenset({"per_request", "per_transaction"})
#: Shares of the drift report, per side (``refusal_rate.candidate``): refusals and empties.
_LOWER_SHARES = frozenset({"refusal_rate", "empty_rate"})


def better_when(metric: str) -> Better | None:
    """ "lower", "higher", or None for a figure whose change is neither good nor bad."""
    parts = metric.split(".")
    leaf, parent = parts[-1], parts[-2] if len(parts) > 1 else ""
    if leaf.endswith("_per_s") or leaf in _HIGHER_LEAVES:
        return "higher"
    if leaf.endswith("error_rate") or leaf in _LOWER_LEAVES or parent in _LOWER_SHARES:
        return "lower"
    if leaf in _DISTRIBUTION_KEYS and (parent.endswith("_ms") or parent in _LOWER_DISTRIBUTIONS):
        return "lower"
    return None


def is_worse(metric: str, before: float, after: float) -> bool | None:
    """Whether going from ``before`` to ``after`` is worse (None: the figure has no side)."""
    better = better_when(metric)
    if better is None or after == before:
        return None if better is None else False
    return (after > before) == (better == "lower")
