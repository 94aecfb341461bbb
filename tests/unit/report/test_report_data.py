"""Loading the run folder: histograms, percentile curves, defensive CSV reading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import SyntheticRun

from loadprofile.core.metrics import METRICS
from loadprofile.report.data import (
    interval_percentiles,
    load_report_data,
    model_order,
    percentile_curve,
    read_table,
)
from loadprofile.rundir import writer as rundir
from tests.models import run_of, summary_of

MakeRun = Callable[..., SyntheticRun]


def hdr_rank_values(raw: list[float], percentiles: np.ndarray) -> np.ndarray:
    """numpy order statistics at HdrHistogram's rank (round(p * n / 100), at least 1)."""
    ordered = np.sort(np.round(np.asarray(raw) * 1000.0) / 1000.0)  # recorded as whole us
    ranks = np.maximum(1, (percentiles * len(ordered) / 100.0 + 0.5).astype(int))
    return ordered[np.minimum(ranks, len(ordered)) - 1]


@pytest.mark.parametrize("metric", METRICS)
def test_percentile_curve_matches_numpy_within_hdr_precision(
    make_run: MakeRun, metric: str
) -> None:
    run = make_run(requests=400, intervals=4)
    data = load_report_data(run.run_dir)
    for model in run.models:
        percentiles, values = percentile_curve(data.history(model, metric).total)
        assert len(percentiles) > 150 and percentiles[0] == 0.0
        assert np.all(np.diff(values) >= 0)
        expected = hdr_rank_values(run.raw[model][metric], percentiles)
        assert np.allclose(values, expected, rtol=1e-3, atol=1e-3)
        plain = np.percentile(run.raw[model][metric], [50, 90, 99])
        from_curve = np.interp([50, 90, 99], percentiles, values)
        assert np.allclose(from_curve, plain, rtol=0.05)


def test_whole_run_histogram_equals_summary(make_run: MakeRun) -> None:
    run = make_run(requests=200, intervals=4)
    data = load_report_data(run.run_dir)
    assert run.summary is not None
    for model in run.models:
        for metric in METRICS:
            total = data.history(model, metric).total
            assert total.get_total_count() == run.summary["models"][model][metric]["count"]
            assert total.get_max_value() / 1000 == run.summary["models"][model][metric]["max"]


def test_interval_percentiles_one_row_per_interval(make_run: MakeRun) -> None:
    run = make_run(requests=200, intervals=5)
    data = load_report_data(run.run_dir)
    frame = interval_percentiles(data.history("mock-small", "ttft_ms").intervals)
    assert list(frame.columns) == ["start_s", "end_s", "p50", "p99"]
    assert list(frame["start_s"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (frame["p50"] <= frame["p99"]).all() and (frame["p50"] > 0).all()


def test_empty_histogram_gives_empty_curve_and_frame() -> None:
    from loadprofile.core.collector import new_histogram

    percentiles, values = percentile_curve(new_histogram())
    assert len(percentiles) == len(values) == 0
    assert interval_percentiles([]).empty


def test_read_table_missing_file_and_torn_rows(tmp_path: Path) -> None:
    missing = read_table(tmp_path / "nope.csv", rundir.TIMESERIES_COLUMNS)
    assert list(missing.columns) == list(rundir.TIMESERIES_COLUMNS) and missing.empty
    path = tmp_path / "timeseries.csv"
    path.write_text(
        "start_s,end_s,model,users,requests,failures,output_tokens\n"
        "0.000,1.000,a,3,10,1,100\n"
        "1.000,2.000,a,3,x,0,\n"
        "2.000,3.0"
    )
    frame = read_table(path, rundir.TIMESERIES_COLUMNS)
    assert len(frame) == 2
    assert frame["requests"].iloc[0] == 10 and np.isnan(frame["requests"].iloc[1])


def test_read_table_reads_only_the_wanted_columns_numbers_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "requests.csv"
    path.write_text(
        "model,request_id,ttft_ms,error_class,error,turn,extra\n"
        "m,r1,12.5,,,1,zzz\n"
        "m,r2,,timeout,cut off,2,zzz\n"
    )
    frame = read_table(path, ("model", "ttft_ms", "error_class", "turn", "prompt_tokens"))
    assert list(frame.columns) == ["model", "ttft_ms", "error_class", "turn", "prompt_tokens"]
    assert frame["ttft_ms"].dtype == np.float64 and frame["ttft_ms"].iloc[0] == 12.5
    assert np.isnan(frame["ttft_ms"].iloc[1]) and np.isnan(frame["prompt_tokens"]).all()
    assert frame["error_class"].tolist() == ["", "timeout"]
    assert frame["turn"].tolist() == [1.0, 2.0]


def test_model_order_keeps_run_order_then_adds_found_models() -> None:
    import pandas as pd

    requests = pd.DataFrame({"model": ["z", "b", "a"]})
    series = pd.DataFrame({"model": ["y"]})
    run = run_of({"models": ["b", "a"]})
    assert model_order(run, summary_of({"models": {"x": {}}}), {}, requests, series) == [
        "b",
        "a",
        "x",
        "y",
        "z",
    ]


def test_logs_found_by_file_name_map_back_to_model_names(make_run: MakeRun) -> None:
    run = make_run(requests=40, intervals=2, models=("org/model-a", "b"))
    run_json = rundir.read_json(run.run_dir / rundir.RUN)
    del run_json["histograms"]  # an older runner, or run.json rewritten by hand
    rundir.write_json(run.run_dir / rundir.RUN, run_json)
    data = load_report_data(run.run_dir)
    assert data.models == ["org/model-a", "b"]
    assert data.history("org/model-a", "e2e_ms").total.get_total_count() > 0
