"""Collector + summary: HDR percentiles against numpy, counts, intervals, summary.json keys."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from core_synthetic import MODELS, Recorded
from hdrh.histogram import HdrHistogram

from loadprofile.contract.summary import LoadSettings, TargetInfo
from loadprofile.core.collector import RECORD_SLICE, Collector, ModelInterval, new_histogram
from loadprofile.core.metrics import HISTOGRAM_METRICS, METRICS, PERCENTILES, SUMMARY_KEYS
from loadprofile.core.recent import RecentWindow
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.core.steps import run_steps
from loadprofile.core.summary import SCHEMA, build_summary, histogram_summary
from tests.models import plain

#: HDR at 3 significant digits: relative error <= 2**-10; +1 us for rounding ms -> us -> ms.
REL = 0.001
ABS_MS = 0.001


def _ok(
    model: str = "m",
    ttft: float | None = 100.0,
    itl: list[float] | None = None,
    e2e: float | None = 500.0,
    tpot: float | None = 20.0,
    tokens: int = 10,
) -> RequestResult:
    return RequestResult(
        model=model,
        conversation_id="c",
        turn=1,
        start_unix=0.0,
        ttft_ms=ttft,
        itl_ms=itl or [],
        e2e_ms=e2e,
        tpot_ms=tpot,
        output_tokens=tokens,
        prompt_tokens=50,
        status=200,
    )


def _failed(model: str = "m", cls: ErrorClass = ErrorClass.TIMEOUT) -> RequestResult:
    r = _ok(model, ttft=9999.0, itl=[1.0, 2.0], e2e=99999.0, tpot=5.0)
    r.error_class = cls
    return r


def _merged(hists: list[HdrHistogram]) -> HdrHistogram:
    out = new_histogram()
    for h in hists:
        if h.get_total_count():
            out.add(h)
    return out


# --------------------------------------------------------------------------- percentiles


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("metric", METRICS)
def test_total_percentiles_match_numpy(recorded: Recorded, model: str, metric: str) -> None:
    values = np.asarray(recorded.raw[model][metric])
    assert len(values) >= 1000
    got = histogram_summary(recorded.collector.totals[model].histograms[metric])
    assert got["count"] == len(values)
    for key, p in PERCENTILES:
        lower = float(np.percentile(values, p, method="lower"))
        higher = float(np.percentile(values, p, method="higher"))
        value = got[key]
        assert isinstance(value, float)
        assert lower - ABS_MS <= value <= higher * (1 + REL) + ABS_MS, (key, lower, value, higher)
    exact_max = float(values.max())
    assert isinstance(got["max"], float)
    assert got["max"] == pytest.approx(exact_max, rel=REL, abs=ABS_MS)
    assert got["max"] >= exact_max - ABS_MS
    assert got["mean"] == pytest.approx(float(values.mean()), rel=REL, abs=ABS_MS)


@pytest.mark.parametrize(
    ("values_ms", "expected"),
    [
        # Exact microsecond values below 2048 us are stored exactly.
        ([1.0], {"p50": 1.0, "p90": 1.0, "p99_9": 1.0, "max": 1.0, "mean": 1.0, "count": 1}),
        ([0.5, 1.5], {"p50": 0.5, "p90": 1.5, "max": 1.5, "mean": 1.0, "count": 2}),
        (
            [v / 10 for v in range(1, 11)],
            {"p50": 0.5, "p90": 0.9, "p95": 1.0, "p99": 1.0, "max": 1.0, "mean": 0.55, "count": 10},
        ),
        ([5.0], {"p50": 5.003, "max": 5.003, "count": 1}),  # 5000 us: bucket's top (4 us wide)
        ([0.0, 0.0, 0.001], {"p50": 0.0, "max": 0.001, "count": 3}),
        ([-3.0], {"p50": 0.0, "max": 0.0, "count": 1}),  # a clock hiccup clamps to 0
    ],
)
def test_histogram_summary_small_exact_cases(
    values_ms: list[float], expected: dict[str, float]
) -> None:
    collector = Collector(0)
    collector.record(_ok(ttft=None, e2e=None, tpot=None, itl=values_ms))
    collector.roll(1)
    got = histogram_summary(collector.totals["m"].histograms["itl_ms"])
    assert set(got) == set(SUMMARY_KEYS)
    for key, value in expected.items():
        assert got[key] == value, key


def test_empty_histogram_summary_is_none_with_count_zero() -> None:
    got = histogram_summary(new_histogram())
    assert list(got) == list(SUMMARY_KEYS)
    assert got == {key: None for key in SUMMARY_KEYS} | {"count": 0}


# --------------------------------------------------------------------------- counts


def test_counts_failures_and_errors_add_up(recorded: Recorded) -> None:
    for model in MODELS:
        mine = [r for r in recorded.results if r.model == model]
        failed = [r for r in mine if not r.ok]
        counts = recorded.collector.totals[model].counts
        assert counts.requests == len(mine)
        assert counts.failures == len(failed) > 0
        assert counts.errors == Counter(str(r.error_class) for r in failed)
        assert sum(counts.errors.values()) == counts.failures
        assert set(counts.errors) <= {c.value for c in ErrorClass}
        ok = [r for r in mine if r.ok]
        assert counts.output_tokens == sum(r.output_tokens for r in ok)
        assert counts.prompt_tokens == sum(r.prompt_tokens or 0 for r in ok)
        assert counts.estimated_tokens == sum(r.tokens_estimated for r in ok)
        assert counts.out_of_range == 0
        assert counts.failed_output_tokens == sum(r.output_tokens for r in failed) > 0
        hists = recorded.collector.totals[model].histograms
        # Failed requests carry stale E2E and TPOT in this data set: they stay out; those
        # that failed after their first token bring their TTFT and gaps.
        for metric in ("e2e_ms", "tpot_ms"):
            assert hists[metric].get_total_count() == len(ok)
        felt = ok + [r for r in failed if r.ttft_ms is not None]
        assert len(felt) > len(ok)
        assert hists["ttft_ms"].get_total_count() == len(felt)
        assert hists["itl_ms"].get_total_count() == sum(len(r.itl_ms) for r in felt)


def _bare_summary(collector: Collector, duration_s: float, partial: bool = False) -> dict[str, Any]:
    return plain(
        build_summary(
            run_id="r",
            started_at="",
            duration_s=duration_s,
            target=TargetInfo(),
            load=None,
            models=collector.totals,
            partial=partial,
        )
    )


def test_failed_results_keep_only_what_arrived_before_they_failed() -> None:
    """A failure after its first token (cut off at the stop, a reset) keeps its TTFT and
    gaps: the user saw them. Its E2E and TPOT describe no complete reply and stay out."""
    collector = Collector(0)
    for cls in ErrorClass:
        collector.record(_failed(cls=cls))
    collector.record(_failed(cls=ErrorClass.HTTP_429))
    before_first_token = _failed(cls=ErrorClass.CONNECT)
    before_first_token.ttft_ms, before_first_token.itl_ms = None, []
    before_first_token.output_tokens = 0
    collector.record(before_first_token)
    collector.roll(10)
    totals = collector.totals["m"]
    felt = len(ErrorClass) + 1
    hists = totals.histograms
    assert hists["ttft_ms"].get_total_count() == felt
    assert hists["itl_ms"].get_total_count() == 2 * felt
    assert hists["e2e_ms"].get_total_count() == hists["tpot_ms"].get_total_count() == 0
    assert totals.counts.requests == totals.counts.failures == felt + 1
    assert totals.counts.errors["http_429"] == 2
    assert totals.counts.output_tokens == 0  # output tokens/s counts complete replies
    assert totals.counts.failed_output_tokens == 10 * felt
    summary = _bare_summary(collector, 1.0)
    entry = summary["models"]["m"]
    assert entry["error_rate"] == 1.0
    assert entry["ttft_ms"]["p50"] == pytest.approx(9999.0, rel=REL)
    assert entry["ttft_ms"]["count"] == felt
    assert entry["e2e_ms"]["p99"] is None and entry["e2e_ms"]["count"] == 0
    assert entry["failed_output_tokens"] == 10 * felt
    assert list(entry["errors"]) == sorted(entry["errors"])


def test_none_timings_are_skipped_not_zero() -> None:
    collector = Collector(0)
    collector.record(_ok(ttft=120.0, tpot=None, e2e=130.0, itl=[], tokens=1))
    collector.roll(1)
    hists = collector.totals["m"].histograms
    assert hists["tpot_ms"].get_total_count() == 0
    assert hists["ttft_ms"].get_total_count() == 1
    assert hists["itl_ms"].get_total_count() == 0


@pytest.mark.parametrize(
    "huge_ms",
    [10 * 3600 * 1000.0, 1e12, float(2**53)],
    ids=["10h", "1e12ms", "2^53ms"],
)
def test_out_of_range_values_are_counted(huge_ms: float) -> None:
    collector = Collector(0)
    collector.record(_ok(ttft=huge_ms, itl=[5.0, huge_ms, 6.0], e2e=huge_ms, tpot=3.0))
    collector.record(_ok(ttft=80.0))
    closed = collector.roll(1_000_000_000)
    counts = collector.totals["m"].counts
    assert counts.out_of_range == 3
    assert closed[0].counts.out_of_range == 3
    hists = collector.totals["m"].histograms
    assert hists["ttft_ms"].get_total_count() == 1
    assert hists["itl_ms"].get_total_count() == 2
    assert hists["e2e_ms"].get_total_count() == 1
    assert hists["tpot_ms"].get_total_count() == 2
    summary = _bare_summary(collector, 1.0)
    assert summary["models"]["m"]["out_of_range_values"] == 3


def test_one_hour_is_still_in_range() -> None:
    collector = Collector(0)
    collector.record(_ok(ttft=3600 * 1000.0))
    collector.roll(1)
    assert collector.totals["m"].counts.out_of_range == 0
    got = histogram_summary(collector.totals["m"].histograms["ttft_ms"])
    assert got["max"] == pytest.approx(3_600_000.0, rel=REL)


# --------------------------------------------------------------------------- intervals


def test_intervals_merged_equal_totals(recorded: Recorded) -> None:
    for model in MODELS:
        for metric in METRICS:
            parts = [
                iv.histograms[metric]
                for _, _, closed in recorded.rolls
                for iv in closed
                if iv.model == model
            ]
            assert len(parts) == len(recorded.rolls)
            merged = _merged(parts)
            total = recorded.collector.totals[model].histograms[metric]
            assert merged.encode() == total.encode()
            assert histogram_summary(merged) == histogram_summary(total)


def test_interval_bounds_and_counts(recorded: Recorded) -> None:
    for k, (start_s, end_s, closed) in enumerate(recorded.rolls):
        assert (start_s, end_s) == (float(k), float(k + 1))
        assert {iv.model for iv in closed} == set(MODELS)
        for iv in closed:
            assert (iv.start_s, iv.end_s) == pytest.approx((start_s, end_s))
    for model in MODELS:
        per_interval = sum(
            iv.counts.requests
            for _, _, closed in recorded.rolls
            for iv in closed
            if iv.model == model
        )
        assert per_interval == recorded.collector.totals[model].counts.requests


def test_roll_with_nothing_recorded_returns_nothing() -> None:
    collector = Collector(0)
    assert collector.roll(1_000_000_000) == []
    collector.record(_ok())
    closed = collector.roll(3_000_000_000)
    assert len(closed) == 1
    assert (closed[0].start_s, closed[0].end_s) == (1.0, 3.0)
    assert collector.interval_start_ns == 3_000_000_000


def _interval(
    model: str, start_s: float, end_s: float, requests: int, ttft_values: list[float]
) -> ModelInterval:
    collector = Collector(0)
    collector.record(_ok(model, ttft=ttft_values[0]))
    for v in ttft_values[1:]:
        collector.record(_ok(model, ttft=v))
    iv = collector.roll(1)[0]
    iv.counts.requests = requests
    return ModelInterval(model, start_s, end_s, iv.histograms, iv.counts)


def test_recent_window_rate_and_percentile() -> None:
    window = RecentWindow("ttft_ms", size=3)
    assert window.requests_per_s() == 0.0
    assert window.percentile_ms("a", 99.0) is None
    window.push([_interval("a", 0, 1, 10, [100.0]), _interval("b", 0, 1, 30, [5.0])])
    assert window.requests_per_s() == pytest.approx(40.0)
    window.push([_interval("a", 1, 2, 20, [200.0, 300.0])])
    assert window.requests_per_s() == pytest.approx(30.0)  # 60 requests over 2 s
    assert window.percentile_ms("a", 100.0) == pytest.approx(300.0, rel=REL)
    assert window.percentile_ms("a", 0.0) == pytest.approx(100.0, rel=REL)
    assert window.percentile_ms("b", 50.0) == pytest.approx(5.0, rel=REL)
    assert window.percentile_ms("nobody", 50.0) is None


def test_recent_window_forgets_old_intervals() -> None:
    window = RecentWindow("ttft_ms", size=2)
    window.push([_interval("a", 0, 1, 1000, [9000.0])])
    window.push([_interval("a", 1, 2, 10, [10.0])])
    window.push([_interval("a", 2, 3, 30, [20.0])])
    assert window.requests_per_s() == pytest.approx(20.0)  # only the last two seconds
    assert window.percentile_ms("a", 100.0) == pytest.approx(20.0, rel=REL)


def test_recent_window_on_recorded_run(recorded: Recorded) -> None:
    window = RecentWindow("itl_ms", size=len(recorded.rolls))
    for _, _, closed in recorded.rolls:
        window.push(closed)
    requests = sum(c.counts.requests for c in recorded.collector.totals.values())
    assert window.requests_per_s() == pytest.approx(requests / recorded.end_s)
    for model in MODELS:
        total = recorded.collector.totals[model].histograms["itl_ms"]
        expected = total.get_percentile_to_value_dict([99.0])[99.0] / 1000.0
        assert window.percentile_ms(model, 99.0) == expected


# --------------------------------------------------------------------------- summary.json


CONTRACT_TOP = {"schema", "run_id", "started_at", "duration_s", "target", "load", "models"}
CONTRACT_MODEL = {
    "requests",
    "failures",
    "error_rate",
    "errors",
    "ttft_ms",
    "itl_ms",
    "tpot_ms",
    "e2e_ms",
    "output_tokens_per_s",
    "requests_per_s",
}
#: Additive keys beyond the schema's required keys (pinned so a change is deliberate).
EXTRA_TOP = {"partial", "correctness"}
EXTRA_MODEL = {
    "window_s",
    "failed_output_tokens",
    "successes",
    "output_tokens",
    "prompt_tokens",
    "tokens_estimated_share",
    "out_of_range_values",
    "good_requests",
    "goodput_per_s",
    "ttft_service_ms",
    "e2e_service_ms",
    "cached_prompt_tokens",
    "retries",
    "ttfvt_ms",
}


def _summary(rec: Recorded, partial: bool = False) -> dict[str, Any]:
    return plain(
        build_summary(
            run_id="run-1",
            started_at="2026-01-01T00:00:00Z",
            duration_s=rec.end_s,
            target=TargetInfo(hosts=["http://h"]),
            load=LoadSettings(users=20),
            models=rec.collector.totals,
            partial=partial,
        )
    )


def test_first_attempt_figures_only_for_runs_with_retries(recorded: Recorded) -> None:
    retried = plain(
        build_summary(
            run_id="r",
            started_at="",
            duration_s=1.0,
            target=TargetInfo(),
            load=LoadSettings(retries=2),
            models=recorded.collector.totals,
            partial=False,
        )
    )
    for entry in retried["models"].values():
        assert {"ttft_first_attempt_ms", "e2e_first_attempt_ms"} <= set(entry)
    without = _summary(recorded)  # load without retries: they would copy ttft_ms and e2e_ms
    assert not any("ttft_first_attempt_ms" in e for e in without["models"].values())


def test_build_summary_keys_follow_the_contract(recorded: Recorded) -> None:
    summary = _summary(recorded)
    assert set(summary) == CONTRACT_TOP | EXTRA_TOP
    assert summary["schema"] == SCHEMA == 2
    assert (summary["run_id"], summary["started_at"]) == ("run-1", "2026-01-01T00:00:00Z")
    assert summary["duration_s"] == recorded.end_s
    assert summary["target"] == plain(TargetInfo(hosts=["http://h"]))
    assert summary["load"] == plain(LoadSettings(users=20))
    assert summary["partial"] is False
    assert list(summary["models"]) == sorted(MODELS)
    for entry in summary["models"].values():
        assert set(entry) == CONTRACT_MODEL | EXTRA_MODEL
        for metric in METRICS:
            assert list(entry[metric]) == [
                "p50",
                "p90",
                "p95",
                "p99",
                "p99_9",
                "max",
                "mean",
                "count",
            ]
            stats = entry[metric]
            ordered = [stats[k] for k in ("p50", "p90", "p95", "p99", "p99_9", "max")]
            assert ordered == sorted(ordered)


def test_build_summary_rates_and_counts(recorded: Recorded) -> None:
    summary = _summary(recorded)
    for model, entry in summary["models"].items():
        counts = recorded.collector.totals[model].counts
        assert entry["requests"] == counts.requests
        assert entry["failures"] == counts.failures
        assert entry["successes"] == counts.requests - counts.failures
        assert entry["errors"] == dict(sorted(counts.errors.items()))
        assert entry["error_rate"] == pytest.approx(counts.failures / counts.requests, abs=1e-6)
        # Rates divide by the window that produced the counts: the first request's start
        # to the last one's end, not the run's configured time.
        mine = [r for r in recorded.results if r.model == model]
        first = min(r.start_unix for r in mine)
        last = max(r.start_unix + (r.e2e_service_ms or 0.0) / 1e3 for r in mine)
        assert entry["window_s"] == pytest.approx(last - first, abs=1e-3)
        assert entry["window_s"] != pytest.approx(recorded.end_s, abs=0.5)
        window = counts.window_s
        assert entry["requests_per_s"] == pytest.approx(counts.requests / window, abs=1e-3)
        assert entry["output_tokens_per_s"] == pytest.approx(
            counts.output_tokens / window, abs=1e-3
        )
        assert entry["ttft_ms"] == histogram_summary(
            recorded.collector.totals[model].histograms["ttft_ms"]
        )


def test_build_summary_zero_duration_and_no_requests() -> None:
    collector = Collector(0)
    collector.record(_ok())
    collector.roll(1)
    summary = _bare_summary(collector, 0.0, partial=True)
    entry = summary["models"]["m"]
    assert entry["requests_per_s"] == 0.0 and entry["output_tokens_per_s"] == 0.0
    assert summary["partial"] is True
    empty = build_summary(
        run_id="r",
        started_at="",
        duration_s=5.0,
        target=TargetInfo(),
        load=None,
        models={},
        partial=False,
    )
    assert empty.models == {}


def test_connections_are_counted_per_attempt_and_summarised() -> None:
    collector = Collector(0)
    for kind in ("new", "reused", "reused", "stale"):
        result = _ok()
        result.connection = kind
        collector.record(result)
    retried = _ok()
    retried.connection = "new"
    first = _failed()
    first.connection = "stale"
    retried.earlier = [first]
    collector.record(retried)
    collector.record(_ok())  # never sent (no connection): not counted
    collector.roll(10)
    entry = _bare_summary(collector, 1.0)["models"]["m"]
    assert entry["connections"] == {"new": 2, "reused": 2, "stale": 2}
    quiet = Collector(0)
    quiet.record(_ok())
    quiet.roll(10)
    assert "connections" not in _bare_summary(quiet, 1.0)["models"]["m"]


# --------------------------------------------------------------------------- sliced closes


def _per_value_reference(results: list[RequestResult], pace_us: int) -> dict[str, HdrHistogram]:
    """What recording each value into hdrh one call at a time gives (the old collector)."""
    hists = {m: new_histogram() for m in ("ttft_ms", "e2e_ms", "itl_ms", "tpot_ms")}
    for r in results:
        kept = [("ttft_ms", r.ttft_ms, True)]  # a failure's too: its first token was felt
        if r.ok:
            kept += [("e2e_ms", r.e2e_ms, True), ("tpot_ms", r.tpot_ms, False)]
        for metric, value, paced in kept:
            if value is not None:
                us = max(0, round(value * 1000.0))
                if paced and pace_us:
                    hists[metric].record_corrected_value(us, pace_us)
                else:
                    hists[metric].record_value(us)
        for gap in r.itl_ms:
            hists["itl_ms"].record_value(max(0, round(gap * 1000.0)))
    return hists


@pytest.mark.parametrize("pace_us", [0, 250_000])
def test_close_builds_what_recording_value_by_value_built(recorded: Recorded, pace_us: int) -> None:
    """Values are kept raw and recorded many at a time when the interval closes: the
    histograms are bucket for bucket those of one hdrh call per value."""
    collector = Collector(0, pace_us=pace_us)
    for r in recorded.results:
        collector.record(r)
    closed = collector.roll(1_000_000_000)
    for model in MODELS:
        expected = _per_value_reference([r for r in recorded.results if r.model == model], pace_us)
        got = next(iv for iv in closed if iv.model == model)
        for metric, hist in expected.items():
            assert got.histograms[metric].encode() == hist.encode(), metric


def test_close_steps_are_small_slices_and_match_roll(recorded: Recorded) -> None:
    """A close runs as many slices (each yields back to the event loop), records a big
    metric in pieces of RECORD_SLICE values, and ends where a roll in one go ends."""
    sliced, whole = Collector(0), Collector(0)
    for r in recorded.results:
        sliced.record(r)
        whole.record(r)
        sliced.record(r)  # twice: the gaps then exceed one slice of values
        whole.record(r)
    steps = sliced.close_steps(sliced.take(2_000_000_000))
    slices = 0
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            intervals = stop.value
            break
        slices += 1
    gaps = sum(2 * len(r.itl_ms) for r in recorded.results if r.ok and r.model == "beta")
    assert gaps > RECORD_SLICE
    assert slices >= len(MODELS) * len(HISTOGRAM_METRICS) + gaps // RECORD_SLICE
    expected = whole.roll(2_000_000_000)
    assert [iv.model for iv in intervals] == [iv.model for iv in expected]
    for got, want in zip(intervals, expected, strict=True):
        assert got.counts == want.counts
        for metric in HISTOGRAM_METRICS:
            assert got.histograms[metric].encode() == want.histograms[metric].encode()
    for model in MODELS:
        for metric in HISTOGRAM_METRICS:
            assert (
                sliced.totals[model].histograms[metric].encode()
                == whole.totals[model].histograms[metric].encode()
            )


def test_recorded_while_a_close_runs_goes_to_the_next_interval() -> None:
    collector = Collector(0)
    collector.record(_ok(ttft=10.0))
    steps = collector.close_steps(collector.take(1_000_000_000))
    next(steps)
    collector.record(_ok(ttft=20.0))  # the loop ran between two slices
    first = run_steps(steps)
    second = collector.roll(2_000_000_000)
    assert first[0].counts.requests == second[0].counts.requests == 1
    assert first[0].histograms["ttft_ms"].get_max_value() < 10_100
    assert second[0].histograms["ttft_ms"].get_min_value() > 19_900
    assert collector.totals["m"].counts.requests == 2


def test_recycled_histograms_come_back_empty_and_the_recent_window_keeps_its_copy() -> None:
    collector = Collector(0)
    window = RecentWindow("ttft_ms")
    collector.record(_ok(ttft=300.0))
    first = collector.roll(1_000_000_000)
    window.push(first)
    reused = first[0].histograms["ttft_ms"]
    collector.recycle(first)
    assert first[0].histograms == {}
    collector.record(_ok(ttft=5.0))
    second = collector.roll(2_000_000_000)
    assert any(h is reused for h in second[0].histograms.values())
    assert second[0].histograms["ttft_ms"].get_max_value() < 5_100  # nothing left of 300 ms
    assert window.percentile_ms("m", 100.0) == pytest.approx(300.0, rel=REL)
    assert collector.totals["m"].histograms["ttft_ms"].get_total_count() == 2
