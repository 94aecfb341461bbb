"""Exact per-model latency distributions: HdrHistograms per (model, metric), per interval.

Pure core: no Locust, no I/O. The Locust glue calls ``record`` for every finished request and
``roll`` once per interval; what ``roll`` returns is written to the run folder by ``rundir``.
Percentiles are always computed from (merged) histograms, never averaged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadprofile.metrics import (
    E2E,
    HIST_HIGHEST_US,
    HIST_LOWEST_US,
    HIST_SIGNIFICANT_DIGITS,
    METRICS,
    TPOT,
    TTFT,
)
from loadprofile.results import RequestResult


def new_histogram() -> HdrHistogram:
    return HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_SIGNIFICANT_DIGITS)


@dataclass
class Counts:
    """What is counted rather than timed, per model (whole run or one interval)."""

    requests: int = 0
    failures: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    output_tokens: int = 0
    prompt_tokens: int = 0
    estimated_tokens: int = 0
    out_of_range: int = 0

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.errors.update(other.errors)
        self.output_tokens += other.output_tokens
        self.prompt_tokens += other.prompt_tokens
        self.estimated_tokens += other.estimated_tokens
        self.out_of_range += other.out_of_range


@dataclass
class ModelTotals:
    """A model's whole-run histograms (microseconds) and counts."""

    histograms: dict[str, HdrHistogram] = field(
        default_factory=lambda: {m: new_histogram() for m in METRICS}
    )
    counts: Counts = field(default_factory=Counts)


@dataclass
class ModelInterval:
    """One closed interval of one model."""

    model: str
    start_s: float
    end_s: float
    histograms: dict[str, HdrHistogram]
    counts: Counts


class Collector:
    """Records requests into interval histograms and folds closed intervals into totals."""

    def __init__(self, start_ns: int) -> None:
        self._start_ns = start_ns
        self._interval_start_ns = start_ns
        self._current: dict[str, ModelTotals] = {}
        self.totals: dict[str, ModelTotals] = {}

    @property
    def interval_start_ns(self) -> int:
        return self._interval_start_ns

    def record(self, result: RequestResult) -> None:
        current = self._current.get(result.model)
        if current is None:
            current = self._current[result.model] = ModelTotals()
        counts = current.counts
        counts.requests += 1
        if not result.ok:
            counts.failures += 1
            counts.errors[str(result.error_class)] += 1
            return
        counts.output_tokens += result.output_tokens
        counts.prompt_tokens += result.prompt_tokens or 0
        counts.estimated_tokens += int(result.tokens_estimated)
        hists = current.histograms
        for metric, value in ((TTFT, result.ttft_ms), (TPOT, result.tpot_ms), (E2E, result.e2e_ms)):
            if value is not None:
                counts.out_of_range += _record(hists[metric], value)
        itl = hists["itl_ms"]
        for value in result.itl_ms:
            counts.out_of_range += _record(itl, value)

    def roll(self, now_ns: int) -> list[ModelInterval]:
        """Close the current interval: fold it into the totals and hand it out."""
        start_s = (self._interval_start_ns - self._start_ns) / 1e9
        end_s = (now_ns - self._start_ns) / 1e9
        self._interval_start_ns = now_ns
        closed, self._current = self._current, {}
        out: list[ModelInterval] = []
        for model, interval in closed.items():
            total = self.totals.setdefault(model, ModelTotals())
            for metric, hist in interval.histograms.items():
                if hist.get_total_count():
                    total.histograms[metric].add(hist)
            total.counts.add(interval.counts)
            out.append(ModelInterval(model, start_s, end_s, interval.histograms, interval.counts))
        return out


def _record(hist: HdrHistogram, value_ms: float) -> int:
    """Record milliseconds as integer microseconds; returns 1 if the value was out of range."""
    value_us = max(0, round(value_ms * 1000.0))
    return 0 if hist.record_value(value_us) else 1


class RecentWindow:
    """The last few closed intervals of one metric per model, for live console figures."""

    def __init__(self, metric: str, size: int = 10) -> None:
        self.metric = metric
        self.size = size
        self._intervals: list[list[ModelInterval]] = []

    def push(self, closed: list[ModelInterval]) -> None:
        self._intervals.append(closed)
        del self._intervals[: -self.size]

    def requests_per_s(self) -> float:
        flat = [iv for group in self._intervals for iv in group]
        if not flat:
            return 0.0
        span = max(iv.end_s for iv in flat) - min(iv.start_s for iv in flat)
        return sum(iv.counts.requests for iv in flat) / span if span > 0 else 0.0

    def percentile_ms(self, model: str, percentile: float) -> float | None:
        merged = new_histogram()
        for group in self._intervals:
            for iv in group:
                if iv.model == model and iv.histograms[self.metric].get_total_count():
                    merged.add(iv.histograms[self.metric])
        if not merged.get_total_count():
            return None
        value: int = merged.get_percentile_to_value_dict([percentile])[percentile]
        return value / 1000.0
