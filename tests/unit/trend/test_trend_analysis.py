"""A series read as change points: where, by how much, how sure, and whether it is a
regression (the figure's worse side, past the minimum change); directions by name."""

from __future__ import annotations

import pytest

from loadprofile.commands.trend.analysis import (
    analyse_metric,
    analyse_series,
    change_pct,
    pick_series,
)
from loadprofile.commands.trend.direction import better_when, is_worse
from loadprofile.commands.trend.store_api import SeriesInfo
from loadprofile.errors import UsageError
from tests.unit.trend.synthetic import SERIES, MemoryStore, Step, nightly_runs


def _store(*records_lists: object) -> MemoryStore:
    store = MemoryStore()
    for records in records_lists:
        for record in records:  # type: ignore[attr-defined]
            store.add(record)
    return store


def test_ttft_raised_30_percent_from_run_12_is_one_regression_at_run_12() -> None:
    store = _store(nightly_runs(20, [Step(11, "ttft_ms.p99", 1.3), Step(11, "ttft_ms.p50", 1.3)]))
    trend = analyse_series(store, store.series()[0])
    for metric in ("ttft_ms.p99", "ttft_ms.p50"):
        (change,) = trend.metrics["small"][metric].changes
        assert change.run.run_id == "run-12" and change.index == 11
        assert change.run.labels["git"]  # the run's labels come along
        assert change.change_pct == pytest.approx(30, abs=4)
        assert change.p_value <= 0.001
        assert change.worse and change.regression and not change.improvement
    quiet = [t for t in trend.trends() if t.changes and not t.metric.startswith("ttft_ms")]
    assert quiet == [] and trend.metrics["large"]["ttft_ms.p99"].changes == []


def test_twenty_runs_with_no_change_have_no_change_point() -> None:
    for seed in range(5):
        store = _store(nightly_runs(20, seed=seed, noise=0.05))
        assert [t for t in analyse_series(store, store.series()[0]).trends() if t.changes] == []


def test_throughput_down_is_a_regression_and_latency_down_an_improvement() -> None:
    store = _store(nightly_runs(24, [Step(10, "requests_per_s", 0.8), Step(10, "e2e_ms.p99", 0.7)]))
    trend = analyse_series(store, store.series()[0])
    (slower,) = trend.metrics["small"]["requests_per_s"].changes
    (faster,) = trend.metrics["small"]["e2e_ms.p99"].changes
    assert slower.regression and slower.direction == "worse"
    assert faster.improvement and not faster.regression and faster.direction == "better"


def test_a_change_smaller_than_min_change_is_no_regression() -> None:
    store = _store(nightly_runs(30, [Step(15, "ttft_ms.p99", 1.04)], noise=0.002))
    trend = analyse_series(store, store.series()[0], min_change=5.0)
    (change,) = trend.metrics["small"]["ttft_ms.p99"].changes
    assert change.worse and not change.regression
    strict = analyse_series(store, store.series()[0], min_change=2.0)
    assert strict.metrics["small"]["ttft_ms.p99"].changes[0].regression


def test_counts_change_without_a_verdict() -> None:
    store = _store(nightly_runs(20, [Step(8, "requests", 1.5)]))
    (change,) = analyse_series(store, store.series()[0]).metrics["small"]["requests"].changes
    assert change.worse is None and change.direction == "changed"
    assert not change.regression and not change.improvement


def test_errors_from_none_have_no_percentage_and_are_a_regression() -> None:
    points = [(f"r{i}", f"2026-01-{i + 1:02d}T00:00Z", 0.0 if i < 10 else 0.05) for i in range(20)]
    (change,) = analyse_metric("m", "error_rate", points, {}).changes
    assert change.change_pct is None and change.regression
    assert change.run.run_id == "r10"


def test_only_the_metrics_asked_for_are_read() -> None:
    store = _store(nightly_runs(8))
    trend = analyse_series(store, store.series()[0], metrics=["error_rate"])
    assert {m for t in trend.trends() for m in [t.metric]} == {"error_rate"}


def test_series_are_picked_by_key_and_bad_names_are_one_line_errors() -> None:
    store = _store(nightly_runs(4), nightly_runs(3, series="other", name="other"))
    assert [s.key for s in pick_series(store, None)] == [SERIES, "other"]
    assert [s.key for s in pick_series(store, "other")] == ["other"]
    with pytest.raises(UsageError, match=f"--series nope: not in the store .*{SERIES}, other"):
        pick_series(store, "nope")
    with pytest.raises(UsageError, match="holds no runs"):
        pick_series(MemoryStore(), None)


def test_change_pct_is_of_the_level_before() -> None:
    assert change_pct(80, 104) == pytest.approx(30)
    assert change_pct(10, 5) == pytest.approx(-50)
    assert change_pct(0, 0) == 0 and change_pct(0, 1) is None
    assert change_pct(-10, -5) == pytest.approx(50)


@pytest.mark.parametrize(
    ("metric", "better"),
    [
        ("ttft_ms.p99", "lower"),
        ("e2e_ms.mean", "lower"),
        ("phases.peak.itl_ms.p99_9", "lower"),
        ("ttft_ms.count", None),
        ("error_rate", "lower"),
        ("retries.first_attempt_error_rate", "lower"),
        ("correctness.contract_violation_rate", "lower"),
        ("correctness.drift.refusal_rate.candidate", "lower"),
        ("correctness.json_valid_rate", "higher"),
        ("cost.per_transaction.mean", "lower"),
        ("cost.per_1k_successful_transactions", "lower"),
        ("cost.transactions", None),
        ("requests_per_s", "higher"),
        ("phases.base.goodput_per_s", "higher"),
        ("output_tokens", None),
        ("connections.new", None),
    ],
)
def test_which_way_each_figure_gets_worse(metric: str, better: str | None) -> None:
    assert better_when(metric) == better


def test_is_worse_follows_the_side() -> None:
    assert is_worse("ttft_ms.p99", 80, 100) is True
    assert is_worse("requests_per_s", 10, 12) is False
    assert is_worse("ttft_ms.p99", 80, 80) is False
    assert is_worse("requests", 1, 2) is None


def test_a_memory_store_is_what_the_analysis_reads() -> None:
    store = _store(nightly_runs(3))
    assert store.series() == [SeriesInfo(SERIES, "synthetic", 3)]
    assert not store.add(nightly_runs(1)[0])
