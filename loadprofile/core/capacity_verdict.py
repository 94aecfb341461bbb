"""One capacity probe's verdict: within the SLO, beyond it, uncertain, over-saturated or
failed.

The uncertainty rule: a bound is **met** when the 95 % interval's upper end is within it
(the estimate alone when the percentile was not gated, so it has no interval), **broken**
when the interval's lower end is beyond it (the estimate beyond it, without an interval),
and **uncertain** otherwise. A probe passes only when every bound is met: the answer is a
load shown to be within the SLO, never one that merely may be. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["pass", "fail", "uncertain", "over-saturated", "failed"]

#: A probe is over-saturated when the TTFT of its last third is this many times that of its
#: first third (after the warm-up) and beyond the SLO: a queue growing without bound.
RISING_FACTOR = 1.5


@dataclass(frozen=True)
class Figure:
    """One SLO metric of one probe (ms): the estimate and its 95 % interval, if gated."""

    estimate_ms: float | None
    ci_ms: tuple[float, float] | None = None


@dataclass(frozen=True)
class ProbeFigures:
    """What the verdict needs from a probe's summary."""

    figures: dict[str, Figure]  # by SLO metric, e.g. "ttft_ms.p99"
    successes: int
    error_rate: float
    ttft_trend: tuple[float, float] | None = None  # TTFT of the first and last thirds


def bound_state(figure: Figure, bound_ms: float) -> Literal["met", "broken", "uncertain"]:
    """The uncertainty rule for one bound (module docstring)."""
    if figure.estimate_ms is None:
        return "uncertain"
    low, high = figure.ci_ms if figure.ci_ms is not None else (figure.estimate_ms,) * 2
    if high <= bound_ms:
        return "met"
    if low > bound_ms:
        return "broken"
    return "uncertain"


def verdict(
    probe: ProbeFigures, slo_ms: dict[str, float], max_error_rate: float | None
) -> tuple[Verdict, str | None]:
    """The verdict and what limited the probe (an SLO metric, "error_rate", or None)."""
    if probe.successes == 0:
        return "failed", "no successes"
    if max_error_rate is not None and probe.error_rate > max_error_rate:
        return "fail", "error_rate"
    states = {m: bound_state(probe.figures.get(m, Figure(None)), b) for m, b in slo_ms.items()}
    broken = [m for m, s in states.items() if s == "broken"]
    uncertain = [m for m, s in states.items() if s == "uncertain"]
    if broken:
        if rising(probe.ttft_trend) and any(m.startswith("ttft") for m in broken):
            return "over-saturated", broken[0]
        return "fail", broken[0]
    if uncertain:
        return "uncertain", uncertain[0]
    return "pass", None


def rising(trend: tuple[float, float] | None) -> bool:
    """TTFT kept climbing through the probe (its last third well above its first)."""
    return trend is not None and trend[0] > 0 and trend[1] >= trend[0] * RISING_FACTOR


def thirds(values: list[float]) -> tuple[float, float] | None:
    """The mean of the first and the last third of a series (None: under 3 values)."""
    if len(values) < 3:
        return None
    third = len(values) // 3
    first, last = values[:third], values[-third:]
    return (sum(first) / len(first), sum(last) / len(last))
