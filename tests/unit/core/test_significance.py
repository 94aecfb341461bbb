"""The block bootstrap: HDR's own percentile definition, shifts found, noise not, rates and
costs resampled, and determinism. Run folders are synthetic (seeded), so nothing flakes."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from core_synthetic import MODELS, START_UNIX, Recorded
from hdrh.histogram import HdrHistogram

from loadprofile.commands import significance
from loadprofile.commands.compare.figures import compare_runs, direction, pair_models
from loadprofile.commands.significance import Side, SideError
from loadprofile.core.collector import new_histogram
from loadprofile.core.metrics import PERCENTILES
from loadprofile.core.summary import histogram_summary
from loadprofile.rundir import writer as rundir
from loadprofile.rundir.hlog import HlogWriter

Sampler = Callable[[np.random.Generator, int], np.ndarray]
KEYS = [k for k, _ in PERCENTILES] + ["mean"]


def lognormal(median_ms: float, sigma: float = 0.5) -> Sampler:
    return lambda rng, n: rng.lognormal(np.log(median_ms), sigma, n)


def write_run(
    run_dir: Path,
    models: dict[str, Sampler],
    *,
    intervals: int = 60,
    per_interval: float = 40,
    fail: dict[str, float] | None = None,
    seed: int = 1,
) -> Path:
    """A run folder of ttft_ms logs, timeseries.csv and a summary computed like the real one:
    each model gets ``per_interval`` requests (Poisson) in each 1-s interval."""
    rng = np.random.default_rng(seed)
    (run_dir / rundir.HISTOGRAMS).mkdir(parents=True)
    fail = fail or {}
    rows, summary, files = [], {}, {}
    for model, sample in models.items():
        rel = f"{rundir.HISTOGRAMS}/{model}.ttft_ms.hlog"
        files[model] = {"ttft_ms": rel}
        merged, requests, failures = new_histogram(), 0, 0
        with (run_dir / rel).open("w", encoding="ascii") as fh:
            writer = HlogWriter(fh, START_UNIX, "ttft_ms")
            for i in range(intervals):
                n = int(rng.poisson(per_interval))
                bad = int(rng.binomial(n, fail.get(model, 0.0)))
                hist = new_histogram()
                for value in sample(rng, n - bad):
                    hist.record_value(int(value * 1000))
                    merged.record_value(int(value * 1000))
                if hist.get_total_count():
                    writer.write(float(i), float(i + 1), hist)
                rows.append(
                    [
                        f"{i:.3f}",
                        f"{i + 1:.3f}",
                        model,
                        4,
                        n,
                        bad,
                        10 * (n - bad),
                        n - bad,
                        "",
                        "",
                        "",
                    ]
                )
                requests, failures = requests + n, failures + bad
        summary[model] = {
            "requests": requests,
            "failures": failures,
            "error_rate": failures / max(requests, 1),
            "ttft_ms": histogram_summary(merged),
            "requests_per_s": requests / intervals,
            "output_tokens_per_s": 10 * (requests - failures) / intervals,
            "goodput_per_s": (requests - failures) / intervals,
            "errors": {},
        }
    with (run_dir / rundir.TIMESERIES).open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([rundir.TIMESERIES_COLUMNS, *rows])
    rundir.write_json(
        run_dir / rundir.RUN, {"run_id": run_dir.name, "models": list(models), "histograms": files}
    )
    rundir.write_json(
        run_dir / rundir.SUMMARY,
        {
            "schema": 1,
            "run_id": run_dir.name,
            "models": summary,
            "correctness": {
                m: {"contract_violation_rate": 0.0, "json_valid_rate": None} for m in models
            },
        },
    )
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base and same: one profile; slow: the same shape 30 % slower; 60 s of 40 req/s."""
    return write_run(
        tmp_path_factory.mktemp("sig") / "run",
        {
            "base": lognormal(200.0),
            "same": lognormal(200.0),
            "slow": lognormal(260.0),
        },
        fail={"base": 0.02, "same": 0.02, "slow": 0.06},
    )


def sides(run: Path, *models: str) -> list[Side]:
    return [significance.load_side(run, m) for m in models]


def ratio_ci(run: Path, metric: str, a: str, b: str, alpha: float = 0.05) -> tuple[float, float]:
    base, cand = sides(run, a, b)
    da, db = significance.bootstrap(base, metric), significance.bootstrap(cand, metric)
    assert da is not None and db is not None
    ci = significance.ratio_interval(da, db, alpha)
    assert ci is not None
    return ci


# --------------------------------------------------------------------------- definitions


def test_full_sample_reproduces_hdrs_percentiles_and_the_summary_exactly(run: Path) -> None:
    side = significance.load_side(run, "base")
    table = significance.interval_counts(side, "ttft_ms")
    assert table is not None
    values = significance.histogram_values(table.counts.sum(axis=0)[None, :], table)
    for key in KEYS:
        assert round(float(values[key][0]), 3) == significance.point(side, f"ttft_ms.{key}")
    merged = new_histogram()
    for value in np.linspace(1000, 900_000, 777).astype(int):
        merged.record_value(int(value))
    wanted = [0.1, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0]
    expected = merged.get_percentile_to_value_dict(wanted)
    single = significance.IntervalCounts(*_dense(merged))
    got = significance.histogram_values(single.counts, single)
    assert got["p99"][0] * 1000 == expected[99.0]
    assert got["p50"][0] * 1000 == expected[50.0]


def _dense(hist: HdrHistogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One histogram as a one-row IntervalCounts, bucket values taken from hdrh itself."""
    counts = np.ctypeslib.as_array(hist.counts).astype(float)
    used = np.flatnonzero(counts)
    highest = [hist.get_highest_equivalent_value(hist.get_value_from_index(int(i))) for i in used]
    return counts[used][None, :], np.array(highest, dtype=float), np.zeros(used.size)


def test_bootstrap_centre_agrees_with_the_point_value(run: Path) -> None:
    side = significance.load_side(run, "base")
    for key in KEYS:
        draws = significance.bootstrap(side, f"ttft_ms.{key}")
        value = significance.point(side, f"ttft_ms.{key}")
        assert draws is not None and draws.shape == (2000,) and value is not None
        assert abs(float(np.median(draws)) / value - 1) < 0.02, key


def test_whole_run_values_equal_the_summary(run: Path) -> None:
    side = significance.load_side(run, "slow")
    got = significance.whole_run_values(side, "ttft_ms", np.array([50.0, 99.0]))
    assert got is not None
    assert [round(float(v), 3) for v in got] == [
        significance.point(side, "ttft_ms.p50"),
        significance.point(side, "ttft_ms.p99"),
    ]


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("key", ["p50", "p90", "p99", "mean"])
def test_a_30_percent_shift_is_significant(run: Path, key: str) -> None:
    low, high = ratio_ci(run, f"ttft_ms.{key}", "base", "slow")
    assert 1.0 < low < 1.3 < high < 1.6


@pytest.mark.parametrize("key", ["p50", "p90", "p99", "mean"])
def test_the_same_profile_is_not_significant(run: Path, key: str) -> None:
    low, high = ratio_ci(run, f"ttft_ms.{key}", "base", "same")
    assert low < 1.0 < high
    assert high - low < 0.25  # and the interval is tight enough to see 30 %


def test_a_side_against_itself_gives_exactly_one(run: Path) -> None:
    a, b = sides(run, "base", "base")
    da, db = significance.bootstrap(a, "ttft_ms.p99"), significance.bootstrap(b, "ttft_ms.p99")
    assert da is not None and db is not None
    assert significance.ratio_interval(da, db, 0.05) == (1.0, 1.0)
    assert significance.difference_interval(da, db, 0.05) == (0.0, 0.0)


def test_error_rates_and_throughput_come_from_the_time_series(run: Path) -> None:
    low, high = ratio_ci(run, "error_rate", "base", "slow")
    assert low > 1.5  # 2 % -> 6 %
    base = significance.load_side(run, "base")
    for metric in ("requests_per_s", "output_tokens_per_s", "goodput_per_s", "error_rate"):
        draws = significance.bootstrap(base, metric)
        value = significance.point(base, metric)
        assert draws is not None and value is not None
        assert abs(float(np.median(draws)) - value) <= 0.02 * value, metric
    low, high = ratio_ci(run, "requests_per_s", "base", "same")
    assert low < 1.0 < high


def test_ratio_interval_is_none_when_the_baseline_is_zero() -> None:
    zero, some = np.zeros(50), np.linspace(0.01, 0.02, 50)
    assert significance.ratio_interval(zero, some, 0.05) is None
    low, high = significance.difference_interval(zero, some, 0.1)
    assert 0.01 < low < high < 0.02


# --------------------------------------------------------------------------- costs


def _with_costs(run_dir: Path, *, columns: bool = True) -> Path:
    """requests.csv: 'cheap' transactions of 3 requests at $0.001, 'dear' at $0.0015; every
    10th transaction fails; one unfinished transaction must be left out."""
    rng = np.random.default_rng(5)
    header = [
        "model",
        "error_class",
        *(("transaction", "cost_usd", "transaction_end") if columns else ()),
    ]
    rows = []
    for model, price in (("cheap", 0.001), ("dear", 0.0015)):
        for t in range(300):
            for turn in range(3):
                error = "http_5xx" if t % 10 == 0 and turn == 2 else ""
                cost = price * float(rng.uniform(0.5, 1.5))
                rows.append([model, error, f"u{t}", f"{cost:.9g}", str(int(turn == 2))])
        rows.append([model, "", "unfinished", "5.0", "0"])
    run_dir.mkdir()
    with (run_dir / rundir.REQUESTS).open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *(r[: len(header)] for r in rows)])
    rundir.write_json(
        run_dir / rundir.SUMMARY,
        {"models": {"cheap": {}, "dear": {}}, "cost": {"cheap": {"priced": True}}},
    )
    return run_dir


def test_transactions_are_resampled_whole(tmp_path: Path) -> None:
    cheap, dear = sides(_with_costs(tmp_path / "run"), "cheap", "dear")
    assert cheap.transactions is not None and len(cheap.transactions) == 300  # unfinished out
    expected_mean = float(cheap.transactions[:, 0].mean())
    draws = significance.bootstrap(cheap, "cost.per_transaction.mean")
    assert draws is not None and abs(float(np.median(draws)) / expected_mean - 1) < 0.01
    per_1k = significance.bootstrap(cheap, "cost.per_1k_successful_transactions")
    expected = 1000 * cheap.transactions[:, 0].sum() / cheap.transactions[:, 1].sum()
    assert per_1k is not None and abs(float(np.median(per_1k)) / expected - 1) < 0.02
    p95 = significance.bootstrap(cheap, "cost.per_transaction.p95")
    assert p95 is not None
    assert abs(float(np.median(p95)) / np.percentile(cheap.transactions[:, 0], 95) - 1) < 0.02
    for metric in ("cost.per_transaction.mean", "cost.per_transaction.p50"):
        a, b = significance.bootstrap(cheap, metric), significance.bootstrap(dear, metric)
        assert a is not None and b is not None
        ci = significance.ratio_interval(a, b, 0.05)
        assert ci is not None and 1.3 < ci[0] < 1.5 < ci[1] < 1.7


def test_without_cost_columns_costs_have_no_draws(tmp_path: Path) -> None:
    (side,) = sides(_with_costs(tmp_path / "run", columns=False), "cheap")
    assert side.transactions is None
    assert significance.bootstrap(side, "cost.per_transaction.mean") is None


# --------------------------------------------------------------------------- edges


@pytest.mark.parametrize(
    "metric",
    [
        "ttft_ms.max",
        "ttft_ms.count",
        "itl_ms.p99",
        "nonsense",
        "correctness.contract_violation_rate",
        "cost.total_usd",
    ],
)
def test_metrics_the_bootstrap_cannot_draw_give_none(run: Path, metric: str) -> None:
    assert significance.bootstrap(significance.load_side(run, "base"), metric) is None


def test_fewer_than_two_intervals_give_none(tmp_path: Path) -> None:
    one = write_run(tmp_path / "one", {"m": lognormal(100.0)}, intervals=1)
    side = significance.load_side(one, "m")
    assert significance.bootstrap(side, "ttft_ms.p99") is None
    assert significance.bootstrap(side, "requests_per_s") is None


def test_sparse_intervals_never_give_an_empty_draw(tmp_path: Path) -> None:
    """2 of 12 slots hold requests: a plain resample misses both about one time in nine;
    those resamples fall back to the slots with data instead of giving nothing."""
    sparse = write_run(
        tmp_path / "sparse", {"m": lognormal(100.0)}, intervals=12, per_interval=0.2, seed=5
    )
    side = significance.load_side(sparse, "m")
    table = significance.interval_counts(side, "ttft_ms")
    assert table is not None
    has_data = table.counts.sum(axis=1) > 0
    assert has_data.sum() == 2 and np.any(significance.slot_weights(12, 2000, 0) @ has_data == 0)
    draws = significance.bootstrap(side, "ttft_ms.p50")
    assert draws is not None and np.all(draws > 0)


def test_draws_are_reproducible_with_a_seed(run: Path) -> None:
    a, b = sides(run, "base", "base")
    first = significance.bootstrap(a, "ttft_ms.p99", seed=7)
    assert first is not None
    assert np.array_equal(first, significance.bootstrap(b, "ttft_ms.p99", seed=7))
    assert not np.array_equal(first, significance.bootstrap(b, "ttft_ms.p99", seed=8))
    assert significance.bootstrap(a, "ttft_ms.p99", resamples=300).shape == (300,)


def test_point_reads_dotted_paths_and_unknown_models_are_refused(run: Path) -> None:
    side = significance.load_side(run, "base")
    assert side.units and len(side.series) == 60
    assert significance.point(side, "correctness.contract_violation_rate") == 0.0
    for missing in (
        "correctness.json_valid_rate",
        "cost.per_transaction.mean",
        "ttft_ms",
        "nope.p99",
    ):
        assert significance.point(side, missing) is None
    with pytest.raises(SideError, match=r"no model 'ghost'.*base"):
        significance.load_side(run, "ghost")
    with pytest.raises(SideError, match="no such run folder"):
        significance.load_side(run / "absent", "base")


def test_a_real_run_folder_without_summary_is_rebuilt_and_aligned(
    tmp_path: Path, make_recording: Callable[..., Recorded]
) -> None:
    """RunWriter's logs and time series share their slots; summary.json is rebuilt."""
    rec = make_recording(intervals=8, requests=1600)
    writer = rundir.RunWriter(tmp_path, START_UNIX)
    for start_s, end_s, closed in rec.rolls:
        writer.add_intervals(start_s, end_s, closed, {m: 4 for m in MODELS})
    for r in rec.results:
        writer.add_request(r)
    writer.close()
    rundir.write_json(
        tmp_path / rundir.RUN,
        {"run_id": "x", "models": list(MODELS), "histograms": writer.histogram_files},
    )
    side = significance.load_side(tmp_path, "beta")
    assert side.rebuilt and len(side.series) == 8
    for metric in ("ttft_ms.p50", "itl_ms.p99", "e2e_ms.mean", "error_rate"):
        draws, value = significance.bootstrap(side, metric), significance.point(side, metric)
        assert draws is not None and value is not None
        assert abs(float(np.median(draws)) - value) <= 0.05 * value, metric


# --------------------------------------------------------------------------- compare helpers


def test_models_pair_by_name_else_the_only_ones() -> None:
    assert pair_models(["a", "b"], ["b", "a", "c"], None) == [("a", "a"), ("b", "b")]
    assert pair_models(["x"], ["y"], None) == [("x", "y")]
    assert pair_models(["x", "z"], ["y"], ("z", "y")) == [("z", "y")]
    with pytest.raises(SideError, match="nothing to pair"):
        pair_models(["x", "z"], ["y"], None)
    with pytest.raises(SideError, match="no candidate model 'q'"):
        pair_models(["x"], ["y"], ("x", "q"))


def test_direction_knows_which_way_is_better() -> None:
    assert direction("ttft_ms.p99", 100.0, 130.0) == "worse"
    assert direction("requests_per_s", 100.0, 130.0) == "better"
    assert direction("error_rate", 0.0, 0.01) == "worse"
    assert direction("e2e_ms.p50", 100.0, 100.05) == "same"
    assert json.dumps(direction("x", None, 1.0)) == '"same"'


def test_compare_runs_builds_compare_json(run: Path) -> None:
    data = compare_runs(run, None, models=("base", "slow"), resamples=500).data
    assert data["schema"] == 1 and data["significance"] == 0.05
    assert (data["baseline"]["model"], data["candidate"]["model"]) == ("base", "slow")
    (pair,) = data["pairs"]
    assert pair["baseline_intervals"] == pair["candidate_intervals"] == 60
    rows = {r["metric"]: r for r in pair["metrics"]}
    assert "cost.per_transaction.mean" not in rows  # neither side priced
    p99 = rows["ttft_ms.p99"]
    assert p99["significant"] and p99["direction"] == "worse" and p99["method"] == "intervals"
    assert p99["delta"] == pytest.approx(p99["candidate"] - p99["baseline"], rel=1e-5)
    assert rows["error_rate"]["significant"] and rows["error_rate"]["method"] == "series"
    assert rows["correctness.contract_violation_rate"]["method"] == "none"
    json.dumps(data)  # JSON-able as it is
    with pytest.raises(SideError, match="--models"):
        compare_runs(run, None, models=None)
    with pytest.raises(SideError, match="--significance"):
        compare_runs(run, None, models=("base", "slow"), alpha=1.0)
