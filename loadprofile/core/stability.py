"""``--until-stable``: are the gated percentiles pinned down yet? (pure: numpy only)

The method is a moving-block bootstrap over the run's intervals after the warm-up. Latency
is autocorrelated (a queue that builds up makes a few seconds slow together), so
resampling single requests (an i.i.d. bootstrap, or an order-statistic interval) would
give a confidence interval far too narrow. Instead whole blocks of consecutive intervals
are drawn with replacement, enough blocks to make a series as long as the real one; the
percentile of each resampled series is taken exactly over its raw values, and the 2.5 %
and 97.5 % quantiles of those estimates are the 95 % interval. The block length is the
cube root of the number of intervals (at least 2), the usual choice for the variance of a
mean-like statistic; the random draws are seeded, so a run's verdicts are reproducible.

A percentile is settled when its interval lies within +-bound % of the estimate, it rests
on at least ``MIN_TAIL_VALUES`` values beyond it, and the first and second half of the
window agree within the bound: a latency that keeps climbing never settles, however
narrow its interval looks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from loadprofile.core.metrics import E2E, E2E_SERVICE, ITL, TPOT, TTFT, TTFT_SERVICE, TTFVT
from loadprofile.core.steps import Steps
from loadprofile.errors import ConfigError

#: Metrics a stop rule may gate (the latency distributions every run has).
GATEABLE = (TTFT, E2E, ITL, TPOT, TTFVT, TTFT_SERVICE, E2E_SERVICE)
#: Bootstrap resamples per check: enough for the 2.5/97.5 % quantiles to move by well
#: under the bound between checks, few enough to keep a check to a few milliseconds.
RESAMPLES = 200
#: A percentile needs this many values beyond it (p99: 1,000 values) before its interval
#: is trusted: with fewer, every resample picks from the same handful of tail values.
MIN_TAIL_VALUES = 10
#: ... and this many intervals after the warm-up (blocks need a series to draw from).
MIN_INTERVALS = 4
METHOD = (
    f"moving-block bootstrap over the intervals after the warm-up ({RESAMPLES} seeded "
    "resamples, block length the cube root of the intervals, at least 2; the 95 % interval "
    "is the estimate +- the farther of the resamples' 2.5/97.5 % quantiles), and the "
    "window's halves within the bound"
)


@dataclass(frozen=True)
class GatedPercentile:
    """One percentile the stop rule waits for, e.g. ``ttft_ms.p99``."""

    metric: str
    percentile: float

    @property
    def key(self) -> str:
        return f"{self.metric}.p{self.percentile:g}".replace(".p99.9", ".p99_9")


def parse_gated(text: str) -> tuple[GatedPercentile, ...]:
    """``ttft_ms.p99,e2e_ms.p99`` -> the gated percentiles; ConfigError (one line) if bad."""
    out: list[GatedPercentile] = []
    for part in (p.strip() for p in text.split(",")):
        metric, _, pct = part.partition(".p")
        try:
            percentile = float(pct.replace("_", "."))
        except ValueError:
            percentile = math.nan
        if metric not in GATEABLE or not 0 < percentile < 100:
            raise ConfigError(
                f"bad --stable-metrics entry {part!r} (use METRIC.pNN, e.g. ttft_ms.p99; "
                f"metrics: {', '.join(GATEABLE)})"
            )
        out.append(GatedPercentile(metric, percentile))
    return tuple(dict.fromkeys(out))


def in_warmup(start_s: float, end_s: float, warmup_s: float) -> bool:
    """An interval belongs to the warm-up when its midpoint does (as it does to a phase)."""
    return (start_s + end_s) / 2.0 < warmup_s


#: Values are binned on a log scale, 0.2 % wide (finer than the bound by 25 times): an
#: interval is then a short list of (bin, count), whatever its request rate, so a check
#: costs the same at 3,000 requests a second as at 30.
BIN_WIDTH = 0.002
_LOG_STEP = math.log1p(BIN_WIDTH)
_FLOOR_MS = 1e-3


@dataclass(frozen=True)
class BinnedInterval:
    """One interval's values of one metric: the bins that hold any, and how many."""

    bins: np.ndarray  # int64, ascending
    counts: np.ndarray  # int64
    size: int  # values in all


def binned(values_ms: Sequence[float] | np.ndarray) -> BinnedInterval:
    raw = np.asarray(values_ms, dtype=np.float64)
    index = np.floor(np.log(np.maximum(raw, _FLOOR_MS) / _FLOOR_MS) / _LOG_STEP)
    bins, counts = np.unique(index.astype(np.int64), return_counts=True)
    return BinnedInterval(bins, counts.astype(np.int64), len(raw))


def value_of(bins: np.ndarray | int) -> np.ndarray:
    """A bin's value: the geometric middle of its edges (at most 0.1 % off any value in it)."""
    return np.asarray(_FLOOR_MS * np.exp((np.asarray(bins) + 0.5) * _LOG_STEP))


def quantile_of(intervals: Sequence[BinnedInterval], percentile: float) -> float:
    """HdrHistogram's percentile (the smallest value with at least p % of values at or
    below it) of the intervals together."""
    bins = np.concatenate([iv.bins for iv in intervals])
    counts = np.concatenate([iv.counts for iv in intervals])
    dense = np.bincount(bins, weights=counts)
    total = dense.sum()
    rank = max(1.0, math.ceil(percentile / 100.0 * total))
    return float(value_of(int(np.searchsorted(np.cumsum(dense), rank))))


def block_length(intervals: int) -> int:
    return max(2, math.ceil(intervals ** (1.0 / 3.0)))


def block_weights(intervals: int, resamples: int, seed: int) -> np.ndarray:
    """resamples x intervals: how many of a resample's drawn blocks cover each interval
    (blocks of ``block_length`` consecutive intervals, drawn with replacement until the
    resample is as long as the series)."""
    length = min(block_length(intervals), intervals)
    blocks = math.ceil(intervals / length)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, intervals - length + 1, size=(resamples, blocks)).ravel()
    marks = np.zeros((resamples, intervals + 1))
    rows = np.repeat(np.arange(resamples), blocks)
    np.add.at(marks, (rows, starts), 1.0)
    np.add.at(marks, (rows, starts + length), -1.0)
    return np.cumsum(marks[:, :intervals], axis=1)


def block_bootstrap(
    intervals: Sequence[BinnedInterval],
    percentile: float,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """The percentile of each of ``resamples`` moving-block resamples of ``intervals``.
    A resample's percentile lies among the largest values (a p99 in the top 1 %), so only
    the top bins are looked at: counts per interval and bin, summed from the top, times
    the block weights give every resample's count at or above each bin in one product."""
    n = len(intervals)
    weights = block_weights(n, resamples, seed)
    sizes = np.array([iv.size for iv in intervals], dtype=np.float64)
    totals = weights @ sizes
    need = np.maximum(totals - np.ceil(percentile / 100.0 * totals) + 1, 1)  # from the top
    bins = np.concatenate([iv.bins for iv in intervals])
    counts = np.concatenate([iv.counts for iv in intervals]).astype(np.float64)
    owner = np.repeat(np.arange(n), [len(iv.bins) for iv in intervals])
    dense = np.bincount(bins, weights=counts)
    from_top = np.cumsum(dense[::-1])
    out = np.empty(resamples)
    rows = np.arange(resamples)
    wanted = 1.5 * need.max() + 16
    while len(rows):
        # the lowest bin with ``wanted`` values at or above it, then every bin above it
        floor_bin = len(dense) - 1 - int(np.searchsorted(from_top, min(wanted, from_top[-1])))
        keep = bins >= floor_bin
        levels, level_of = np.unique(-bins[keep], return_inverse=True)  # highest first
        cells = owner[keep] * len(levels) + level_of.ravel()
        table = np.bincount(cells, weights=counts[keep], minlength=n * len(levels))
        table = np.cumsum(table.reshape(n, len(levels)), axis=1)  # at or above each level
        reached = weights[rows] @ table
        enough = reached[:, -1] >= need[rows]
        at = np.argmax(reached >= need[rows, None], axis=1)
        out[rows[enough]] = value_of(-levels[at[enough]])
        rows = rows[~enough]
        wanted *= 2  # a resample whose percentile lies deeper: look further down
    return out


@dataclass(frozen=True)
class PercentileCheck:
    """One gated percentile of one model at a check."""

    estimate_ms: float | None
    low_ms: float | None
    high_ms: float | None
    half_width_pct: float | None  # the interval's farther end from the estimate, in %
    drift_pct: float | None  # the window's second half against its first, in %
    values: int
    met: bool
    note: str | None = None  # why it is not settled yet


def check_percentile(
    intervals: Sequence[BinnedInterval], percentile: float, bound_pct: float, seed: int = 0
) -> PercentileCheck:
    """Is ``percentile`` of the values in ``intervals`` (consecutive, oldest first) known
    to within +-``bound_pct`` %?"""
    count = sum(iv.size for iv in intervals)
    tail = count * (1.0 - percentile / 100.0)
    if len(intervals) < MIN_INTERVALS or tail < MIN_TAIL_VALUES:
        need = math.ceil(MIN_TAIL_VALUES / (1.0 - percentile / 100.0))
        return PercentileCheck(
            None, None, None, None, None, count, False, f"too few values ({count} of {need})"
        )
    estimate = quantile_of(intervals, percentile)
    estimates = block_bootstrap(intervals, percentile, seed=seed)
    low, high = (float(v) for v in np.quantile(estimates, [0.025, 0.975]))
    # The farther end taken both ways: a p99's bootstrap distribution is lopsided and
    # lumpy, and the plain 2.5/97.5 % ends cover the true value too seldom (86 % of
    # trials, tests/unit/core/test_stability.py; symmetric: ~95 %).
    spread = max(estimate - low, high - estimate)
    low, high = estimate - spread, estimate + spread
    half = spread / estimate * 100.0
    middle = len(intervals) // 2
    first, second = intervals[:middle], intervals[middle:]
    drift = math.inf
    if sum(iv.size for iv in first) and sum(iv.size for iv in second):
        p_first = quantile_of([iv for iv in first if iv.size], percentile)
        p_second = quantile_of([iv for iv in second if iv.size], percentile)
        drift = (p_second - p_first) / estimate * 100.0
    note = None
    if abs(drift) > bound_pct:
        note = f"second half {drift:+.1f} % from the first (still moving)"
    elif half > bound_pct:
        note = f"interval +-{half:.1f} % wider than +-{bound_pct:g} %"
    return PercentileCheck(
        round(estimate, 3),
        round(low, 3),
        round(high, 3),
        round(half, 2),
        round(drift, 2) if math.isfinite(drift) else None,
        count,
        note is None,
        note,
    )


@dataclass
class StabilityTracker:
    """The post-warm-up values of the gated metrics per model and interval, and the last
    check's verdicts. ``add_interval`` runs once an interval (a copy of its raw values);
    ``check_steps`` checks one (model, percentile) per slice."""

    gated: tuple[GatedPercentile, ...]
    bound_pct: float
    warmup_s: float
    min_time_s: float
    models: tuple[str, ...]
    seed: int = 0
    series: dict[tuple[str, str], list[BinnedInterval]] = field(default_factory=dict)
    pending: list[tuple[str, str, np.ndarray]] = field(default_factory=list)
    checks: dict[str, dict[str, PercentileCheck]] = field(default_factory=dict)
    stable: bool = False
    stable_at_s: float | None = None
    check_ms_max: float = 0.0  # the slowest check of one percentile: a slice of the loop

    def __post_init__(self) -> None:
        """One check on made-up data: numpy's first calls are slow (~20 ms, measured), and
        the first real check would stall the event loop with them."""
        made_up = [binned(np.full(MIN_TAIL_VALUES * 100, 1.0 + i)) for i in range(MIN_INTERVALS)]
        check_percentile(made_up, 99.0, self.bound_pct)

    def add_interval(
        self, start_s: float, end_s: float, values: Mapping[str, Mapping[str, Sequence[float]]]
    ) -> None:
        """One closed interval's raw values (model -> metric -> ms), kept until the next
        check bins them; warm-up ones are left out, and a model without requests in it
        gets an empty interval."""
        if in_warmup(start_s, end_s, self.warmup_s):
            return
        for model in self.models:
            of_model = values.get(model, {})
            for metric in dict.fromkeys(g.metric for g in self.gated):
                raw = np.array(of_model.get(metric, ()), dtype=np.float64)
                self.pending.append((model, metric, raw))

    def check_steps(self, elapsed_s: float) -> Steps:
        """Check every model's gated percentiles, one per slice; sets ``stable`` (and
        ``stable_at_s``) once all are settled and the minimum time is over."""
        pending, self.pending = self.pending, []
        for model, metric, raw in pending:  # binned in order: the series stays in time order
            self.series.setdefault((model, metric), []).append(binned(raw))
        yield
        checks: dict[str, dict[str, PercentileCheck]] = {}
        for model in self.models:
            for gated in self.gated:
                series = self.series.get((model, gated.metric), [])
                began = time.perf_counter()
                checks.setdefault(model, {})[gated.key] = check_percentile(
                    series, gated.percentile, self.bound_pct, self.seed
                )
                took_ms = (time.perf_counter() - began) * 1e3
                self.check_ms_max = max(self.check_ms_max, took_ms)
                yield
        self.checks = checks
        settled = all(c.met for per_model in checks.values() for c in per_model.values())
        if settled and elapsed_s >= self.min_time_s and not self.stable:
            self.stable, self.stable_at_s = True, elapsed_s
        return self.stable

    def describe(self) -> str:
        """'TTFT p99 and E2E p99' for the console."""
        names = [
            f"{g.metric.removesuffix('_ms').replace('_', ' ').upper()} p{g.percentile:g}"
            for g in self.gated
        ]
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def stable_line(tracker: StabilityTracker) -> str:
    """The console's line when the rule ends the run."""
    at = tracker.stable_at_s or 0.0
    return (
        f"stable after {at:.0f} s: every model's {tracker.describe()} within "
        f"±{tracker.bound_pct:g} % (95 % interval); ending the run"
    )


class StopRuleSettings(Protocol):
    """What the tracker takes of the run's load settings (config.run_config.LoadConfig,
    which imports this module for its checks: named by shape, not by import)."""

    @property
    def stable_metrics(self) -> tuple[str, ...]: ...
    @property
    def stable_ci_pct(self) -> float: ...
    @property
    def warmup_s(self) -> float: ...
    @property
    def min_time_s(self) -> float: ...
    @property
    def seed(self) -> int: ...


def tracker_for(load: StopRuleSettings, models: tuple[str, ...]) -> StabilityTracker:
    """--until-stable's tracker for a run's load settings and its models."""
    return StabilityTracker(
        gated=parse_gated(",".join(load.stable_metrics)),
        bound_pct=load.stable_ci_pct,
        warmup_s=load.warmup_s,
        min_time_s=load.min_time_s,
        models=models,
        seed=load.seed,
    )
