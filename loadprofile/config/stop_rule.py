"""``--until-stable`` and its settings: when a run may end before ``-t`` (pure).

The rule itself (the confidence intervals) is ``core/stability.py``; here only the flags
are read and checked, so that a bad value is one line and exit 2 before anything starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from loadprofile.core.stability import parse_gated
from loadprofile.errors import ConfigError

DEFAULT_STABLE_METRICS = "ttft_ms.p99,e2e_ms.p99"
DEFAULT_STABLE_CI_PCT = 5.0
DEFAULT_WARMUP_S = 10.0
DEFAULT_MIN_TIME_S = 30.0

_SETTINGS = ("stable_metrics", "stable_ci", "warmup", "min_time")


def resolve_stop_rule(
    values: dict[str, Any], run_time_s: float, parse_duration: Callable[[Any, str], float]
) -> dict[str, Any]:
    """LoadConfig's stop-rule fields from the merged flags and [load] values."""
    until = values.get("until_stable")
    if until is not None and not isinstance(until, bool):
        raise ConfigError(f"until_stable must be true or false, got {until!r}")
    if not until:
        given = [name for name in _SETTINGS if values.get(name) is not None]
        if given:
            raise ConfigError(f"--{given[0].replace('_', '-')} goes with --until-stable")
        return {}
    if values.get("shape") not in (None, "steady"):
        raise ConfigError("--until-stable needs a steady load (a shaped run changes by design)")
    metrics = values.get("stable_metrics") or DEFAULT_STABLE_METRICS
    gated = parse_gated(str(metrics))
    ci = values.get("stable_ci")
    try:
        ci_pct = DEFAULT_STABLE_CI_PCT if ci is None else float(ci)
    except (TypeError, ValueError):
        ci_pct = math.nan
    if not 0 < ci_pct < 100:
        raise ConfigError(f"bad --stable-ci {ci!r} (a percentage above 0 and below 100, e.g. 5)")
    warmup = values.get("warmup")
    min_time = values.get("min_time")
    warmup_s = DEFAULT_WARMUP_S if warmup is None else parse_duration(warmup, "warm-up")
    min_time_s = DEFAULT_MIN_TIME_S if min_time is None else parse_duration(min_time, "min time")
    if warmup_s < 0 or min_time_s < 0:
        raise ConfigError("--warmup and --min-time must not be negative")
    if warmup_s >= run_time_s:
        raise ConfigError(
            f"--warmup {warmup_s:g}s leaves nothing of the run time ({run_time_s:g}s)"
        )
    return {
        "until_stable": True,
        "stable_metrics": tuple(g.key for g in gated),
        "stable_ci_pct": ci_pct,
        "warmup_s": warmup_s,
        "min_time_s": max(min_time_s, warmup_s),
    }
