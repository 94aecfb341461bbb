"""The last few closed intervals of one metric per model: the live console's figures (pure)."""

from __future__ import annotations

from typing import NamedTuple

from hdrh.histogram import HdrHistogram

from loadprofile.core.collector import ModelInterval, new_histogram
from loadprofile.core.hdr import value_at_percentiles


def _copy(hist: HdrHistogram) -> HdrHistogram:
    out = new_histogram()
    if hist.get_total_count():
        out.add(hist)
    return out


class _Recent(NamedTuple):
    model: str
    start_s: float
    end_s: float
    requests: int
    histogram: HdrHistogram  # a copy: the interval's own is reused once written


class RecentWindow:
    """The last few closed intervals of one metric per model, for live console figures
    (only that metric's histograms are kept, not the intervals)."""

    def __init__(self, metric: str, size: int = 10) -> None:
        self.metric = metric
        self.size = size
        self._intervals: list[list[_Recent]] = []

    def push(self, closed: list[ModelInterval]) -> None:
        self._intervals.append(
            [
                _Recent(
                    iv.model,
                    iv.start_s,
                    iv.end_s,
                    iv.counts.requests,
                    _copy(iv.histograms[self.metric]),
                )
                for iv in closed
            ]
        )
        del self._intervals[: -self.size]

    def requests_per_s(self) -> float:
        flat = [iv for group in self._intervals for iv in group]
        if not flat:
            return 0.0
        span = max(iv.end_s for iv in flat) - min(iv.start_s for iv in flat)
        return sum(iv.requests for iv in flat) / span if span > 0 else 0.0

    def percentile_ms(self, model: str, percentile: float) -> float | None:
        hists = [
            iv.histogram
            for group in self._intervals
            for iv in group
            if iv.model == model and iv.histogram.get_total_count()
        ]
        if not hists:
            return None
        merged = new_histogram()
        for hist in hists:
            merged.add(hist)  # hdrh adds the counts arrays in C
        value = value_at_percentiles(merged, [percentile])[percentile]
        return value / 1000.0
