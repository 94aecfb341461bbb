"""Exact per-model latency distributions: HdrHistograms per (model, metric), per interval.

Pure core: no Locust, no I/O. The Locust glue calls ``record`` for every finished request and
closes an interval once per interval (``take``, then ``close_steps``, sliced so that the
event loop timing every stream is never held for long); what the close returns is written
to the run folder by ``rundir``.
Percentiles are always computed from (merged) histograms, never averaged.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from loadprofile.core.counts import Counts, count_attempts, count_usage, widen_window
from loadprofile.core.hdr import acyclic, record_corrected_us, reset, to_us
from loadprofile.core.metrics import (
    CONNECT_MS,
    E2E,
    E2E_FIRST,
    E2E_SERVICE,
    HIST_HIGHEST_US,
    HIST_LOWEST_US,
    HIST_SIGNIFICANT_DIGITS,
    HISTOGRAM_METRICS,
    ITL,
    TLS_MS,
    TPOT,
    TTFT,
    TTFT_FIRST,
    TTFT_SERVICE,
    TTFVT,
)
from loadprofile.core.results import RequestResult
from loadprofile.core.steps import Steps, run_steps


def new_histogram() -> HdrHistogram:
    return acyclic(HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_SIGNIFICANT_DIGITS))


@dataclass
class ModelTotals:
    """A model's whole-run histograms (microseconds) and counts."""

    histograms: dict[str, HdrHistogram] = field(
        default_factory=lambda: {m: new_histogram() for m in HISTOGRAM_METRICS}
    )
    counts: Counts = field(default_factory=Counts)

    def add(self, other: ModelTotals) -> None:
        """Fold ``other`` in: an exact merge of the histograms, a sum of the counts."""
        for metric, hist in other.histograms.items():
            if hist.get_total_count():
                self.histograms[metric].add(hist)
        self.counts.add(other.counts)


@dataclass(frozen=True)
class RequestSlo:
    """Per-request SLOs for goodput (vLLM's --goodput): a success counts as good when each
    given bound holds. TTFT is the felt one (from the scheduled start in open loop)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None

    def met(self, result: RequestResult) -> bool:
        return self.met_by(result.ok, result.ttft_ms, result.tpot_ms)

    def met_by(self, ok: bool, ttft_ms: float | None, tpot_ms: float | None) -> bool:
        """A reply of one token has no TPOT: only its TTFT is judged."""
        if not ok:
            return False
        if self.ttft_ms is not None and (ttft_ms is None or ttft_ms > self.ttft_ms):
            return False
        return self.tpot_ms is None or tpot_ms is None or tpot_ms <= self.tpot_ms


@dataclass
class ModelInterval:
    """One closed interval of one model."""

    model: str
    start_s: float
    end_s: float
    histograms: dict[str, HdrHistogram]
    counts: Counts


PhaseOf = Callable[[float], int | None]
#: Metrics recorded with the expected-interval correction in a paced run (their service
#: twins, TPOT and the gaps keep raw values).
_CORRECTED = frozenset({TTFT, E2E, TTFVT, TTFT_FIRST, E2E_FIRST})
#: Values recorded per slice of an interval close (~0.1 ms each; a second of gaps between
#: tokens at 300 streams is ~40,000 values).
RECORD_SLICE = 4096
#: Emptied interval histograms kept for reuse (enough for a few models' closes).
_MAX_SPARE = 4 * len(HISTOGRAM_METRICS)
#: Metrics whose out-of-range values are counted (the first-attempt copies are not).
_COUNTED = frozenset(HISTOGRAM_METRICS) - {TTFT_FIRST, E2E_FIRST}


@dataclass
class OpenInterval:
    """One model's interval while it is open: its counts, and its latencies as raw
    milliseconds per metric. Appending to an array costs ~50 ns where recording into an
    hdrh histogram costs 1-2 µs a value (~50 values per streamed request), so the
    histograms are built when the interval closes, many values per numpy call."""

    counts: Counts = field(default_factory=Counts)
    values: dict[str, array[float]] = field(
        default_factory=lambda: {m: array("d") for m in HISTOGRAM_METRICS}
    )


@dataclass
class ClosedInterval:
    """An interval taken off the collector, its histograms not built yet."""

    start_s: float
    end_s: float
    models: dict[str, OpenInterval]


class Collector:
    """Records requests into the open interval and folds closed intervals into totals, and
    into per-phase totals when the run has phases.

    ``record`` only counts and appends raw values: it runs on the event loop that times
    every stream. ``take`` closes the interval at once; ``close_steps`` builds its
    histograms and folds them in one metric per slice, so that the caller can let the
    loop run between slices. ``roll`` does both in one go.

    ``pace_us``: a closed-loop paced run (each user starts a request every pace seconds)
    records TTFT and E2E with HdrHistogram's expected-interval correction, which adds the
    requests a late reply kept from being sent (coordinated omission); the service-time
    histograms keep the raw values.
    """

    def __init__(
        self,
        start_ns: int,
        *,
        slo: RequestSlo | None = None,
        pace_us: int = 0,
        phase_of: PhaseOf | None = None,
        interval_start_ns: int | None = None,
        first_attempts: bool = False,
        totals_from_s: float = 0.0,
    ) -> None:
        """``first_attempts``: keep the first-attempt histograms apart (a run with
        --retries; without retries they would be copies of TTFT and E2E).
        ``totals_from_s``: intervals whose midpoint is earlier (a warm-up) are folded into
        their phase only, not into the whole run's totals."""
        self._start_ns = start_ns
        self._interval_start_ns = start_ns if interval_start_ns is None else interval_start_ns
        self._current: dict[str, OpenInterval] = {}
        self._spare: list[HdrHistogram] = []  # emptied interval histograms, for reuse
        self.totals: dict[str, ModelTotals] = {}
        self.phase_totals: dict[int, dict[str, ModelTotals]] = {}
        self.slo = slo or RequestSlo()
        self.pace_us = pace_us
        self.phase_of = phase_of
        self.first_attempts = first_attempts
        self.totals_from_s = totals_from_s

    @property
    def interval_start_ns(self) -> int:
        return self._interval_start_ns

    def record(self, result: RequestResult) -> None:
        current = self._current.get(result.model)
        if current is None:
            current = self._current[result.model] = OpenInterval()
        counts = current.counts
        counts.requests += 1
        widen_window(counts, result.start_unix, result.e2e_service_ms)
        count_attempts(counts, result)
        if result.contract_notes:
            counts.notes.update(result.contract_notes)
        if result.json_valid is not None:
            counts.json_checked += 1
            counts.json_valid += result.json_valid
        if result.ungrounded is not None:
            counts.grounding_checked += 1
            counts.grounding_flagged += bool(result.ungrounded)
        values = current.values
        if result.connect_ms is not None:  # a new connection, whatever came of the request
            values[CONNECT_MS].append(result.connect_ms)
            if result.tls_ms is not None:
                values[TLS_MS].append(result.tls_ms)
        if not result.ok:
            counts.failures += 1
            counts.errors[str(result.error_class)] += 1
            # What arrived before it failed was felt: its first token and the gaps after
            # it (E2E and TPOT describe complete replies only).
            counts.failed_output_tokens += result.output_tokens
            for metric, value in (
                (TTFT, result.ttft_ms),
                (TTFVT, result.ttfvt_ms),
                (TTFT_SERVICE, result.ttft_service_ms),
            ):
                if value is not None:
                    values[metric].append(value)
            values[ITL].extend(result.itl_ms)
            return
        counts.output_tokens += result.output_tokens
        counts.prompt_tokens += result.prompt_tokens or 0
        counts.estimated_tokens += int(result.tokens_estimated)
        if not result.tokens_estimated:
            count_usage(
                counts,
                result.prompt_tokens,
                result.output_tokens,
                result.prompt_chars,
                len(result.content),
            )
        counts.good += self.slo.met(result)
        if result.cached_tokens is not None:
            counts.cached_requests += 1
            counts.cached_tokens += result.cached_tokens
        if self.first_attempts and not result.earlier:  # a first attempt that succeeded
            if result.ttft_ms is not None:
                values[TTFT_FIRST].append(result.ttft_ms)
            if result.e2e_ms is not None:
                values[E2E_FIRST].append(result.e2e_ms)
        for metric, value in (
            (TTFT, result.ttft_ms),
            (E2E, result.e2e_ms),
            (TTFVT, result.ttfvt_ms),
            (TPOT, result.tpot_ms),
            (TTFT_SERVICE, result.ttft_service_ms),
            (E2E_SERVICE, result.e2e_service_ms),
        ):
            if value is not None:
                values[metric].append(value)
        values[ITL].extend(result.itl_ms)

    def take(self, now_ns: int) -> ClosedInterval:
        """Close the open interval at ``now_ns``; O(1): what was recorded is handed over
        raw, to be built and folded by ``close_steps``."""
        start_s = (self._interval_start_ns - self._start_ns) / 1e9
        end_s = (now_ns - self._start_ns) / 1e9
        self._interval_start_ns = now_ns
        closed, self._current = self._current, {}
        return ClosedInterval(start_s, end_s, closed)

    def close_steps(self, closed: ClosedInterval) -> Steps:
        """Build each model's histograms from its raw values and fold them into the totals
        (and its phase's, by the interval's midpoint), one metric per slice; returns the
        closed intervals as ``list[ModelInterval]``."""
        out: list[ModelInterval] = []
        midpoint_s = (closed.start_s + closed.end_s) / 2.0
        phase = self.phase_of(midpoint_s) if self.phase_of else None
        for model, interval in closed.models.items():
            counts = interval.counts
            built = ModelInterval(model, closed.start_s, closed.end_s, {}, counts)
            totals = []
            if midpoint_s >= self.totals_from_s:
                totals.append(self.totals.setdefault(model, ModelTotals()))
            if phase is not None:
                totals.append(
                    self.phase_totals.setdefault(phase, {}).setdefault(model, ModelTotals())
                )
            for metric in HISTOGRAM_METRICS:
                hist = built.histograms[metric] = (
                    self._spare.pop() if self._spare else new_histogram()
                )
                values = to_us(interval.values[metric])
                pace = self.pace_us if metric in _CORRECTED else 0
                for at in range(0, len(values), RECORD_SLICE):
                    if at:
                        yield
                    missed = record_corrected_us(hist, values[at : at + RECORD_SLICE], pace)
                    if metric in _COUNTED:
                        counts.out_of_range += missed
                if len(values):
                    for total in totals:
                        total.histograms[metric].add(hist)
                yield  # a slice: ~0.1-0.3 ms
            for total in totals:
                total.counts.add(counts)
            out.append(built)
        return out

    def recycle(self, intervals: list[ModelInterval]) -> None:
        """Take back the histograms of intervals nobody reads any more, emptied, for the
        next closes (a new one is a 188 kB allocation and ~0.1 ms of hdrh set-up)."""
        for iv in intervals:
            for hist in iv.histograms.values():
                if len(self._spare) < _MAX_SPARE:
                    self._spare.append(reset(hist))
            iv.histograms = {}

    def roll(self, now_ns: int) -> list[ModelInterval]:
        """Close the current interval, fold it into the totals and hand it out (in one go)."""
        intervals: list[ModelInterval] = run_steps(self.close_steps(self.take(now_ns)))
        return intervals

    def fold(self, intervals: list[ModelInterval]) -> None:
        """Add closed intervals to the totals, and to the phase holding their midpoint (the
        master of a distributed run folds its workers' merged intervals this way)."""
        for iv in intervals:
            phase = self.phase_of((iv.start_s + iv.end_s) / 2.0) if self.phase_of else None
            interval = ModelTotals(iv.histograms, iv.counts)
            self.totals.setdefault(iv.model, ModelTotals()).add(interval)
            if phase is not None:
                self.phase_totals.setdefault(phase, {}).setdefault(iv.model, ModelTotals()).add(
                    interval
                )
