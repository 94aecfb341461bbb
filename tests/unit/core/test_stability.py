"""The --until-stable method: the moving-block bootstrap's interval and the drift check."""

from __future__ import annotations

import numpy as np
import pytest

from loadprofile.config.stop_rule import resolve_stop_rule
from loadprofile.core.stability import (
    StabilityTracker,
    binned,
    check_percentile,
    parse_gated,
)
from loadprofile.core.steps import run_steps
from loadprofile.errors import ConfigError

TRUE_P99 = float(np.exp(4.0 + 0.5 * 2.3263478740408408))  # lognormal(4, 0.5)'s p99


def _iid(seed: int, intervals: int, per: int) -> list:
    rng = np.random.default_rng(seed)
    return [binned(rng.lognormal(4.0, 0.5, per)) for _ in range(intervals)]


def test_the_interval_covers_the_true_p99_about_95_percent_of_the_time() -> None:
    hits = 0
    for seed in range(100):
        check = check_percentile(_iid(seed, 30, 150), 99.0, 5.0, seed=seed)
        low, high = check.low_ms, check.high_ms
        assert low is not None and high is not None
        hits += low <= TRUE_P99 <= high
    assert 88 <= hits <= 100


def test_the_interval_narrows_as_data_grows() -> None:
    small = check_percentile(_iid(1, 20, 100), 99.0, 5.0)
    large = check_percentile(_iid(1, 80, 400), 99.0, 5.0)
    assert small.half_width_pct is not None and large.half_width_pct is not None
    assert large.half_width_pct < small.half_width_pct / 2
    assert large.met and not small.met


def test_autocorrelated_latency_gets_a_wider_interval_than_iid() -> None:
    """Slow spells lasting several intervals (a queue): resampling blocks sees them; the
    same values shuffled across intervals (independent) give a narrower interval."""
    rng = np.random.default_rng(7)
    level = np.zeros(60)
    for i in range(1, 60):
        level[i] = 0.8 * level[i - 1] + rng.normal(0, 0.15)
    raw = [rng.lognormal(4.0 + lv, 0.3, 100) for lv in level]
    shuffled = rng.permutation(np.concatenate(raw)).reshape(60, 100)
    correlated = check_percentile([binned(r) for r in raw], 99.0, 5.0)
    independent = check_percentile([binned(r) for r in shuffled], 99.0, 5.0)
    assert correlated.half_width_pct is not None and independent.half_width_pct is not None
    assert correlated.half_width_pct > 1.5 * independent.half_width_pct


def test_a_climbing_latency_is_never_stable_however_much_data() -> None:
    rng = np.random.default_rng(3)
    rising = [binned(rng.lognormal(4.0, 0.1, 2000) * (1 + 0.01 * i)) for i in range(60)]
    check = check_percentile(rising, 99.0, 5.0)
    assert not check.met and check.drift_pct is not None and check.drift_pct > 5.0
    assert check.note is not None and "still moving" in check.note


def test_too_few_values_beyond_the_percentile_is_not_stable() -> None:
    check = check_percentile(_iid(2, 10, 50), 99.0, 50.0)
    assert not check.met and check.note == "too few values (500 of 1000)"


def test_the_check_is_seeded() -> None:
    data = _iid(4, 30, 200)
    assert check_percentile(data, 99.0, 5.0, seed=1) == check_percentile(data, 99.0, 5.0, seed=1)


def test_the_tracker_leaves_out_the_warm_up_and_waits_for_the_minimum_time() -> None:
    tracker = StabilityTracker(
        gated=parse_gated("ttft_ms.p90"),
        bound_pct=5.0,
        warmup_s=2.0,
        min_time_s=8.0,
        models=("m",),
    )
    rng = np.random.default_rng(5)
    for second in range(10):
        values = rng.lognormal(4.0, 0.2, 500) * (5.0 if second < 2 else 1.0)
        tracker.add_interval(second, second + 1, {"m": {"ttft_ms": values}})
        run_steps(tracker.check_steps(second + 1.0))
        assert tracker.stable == (second + 1 >= 8)
    assert len(tracker.series[("m", "ttft_ms")]) == 8
    assert tracker.stable_at_s == 8.0


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"until_stable": True, "stable_metrics": "ttft.p99"}, "bad --stable-metrics"),
        ({"until_stable": True, "stable_metrics": "ttft_ms.p100"}, "bad --stable-metrics"),
        ({"until_stable": True, "stable_ci": 0}, "bad --stable-ci"),
        ({"until_stable": True, "warmup": "30s"}, "leaves nothing"),
        ({"until_stable": True, "shape": "step"}, "steady load"),
        ({"warmup": "5s"}, "--warmup goes with --until-stable"),
    ],
)
def test_bad_stop_rule_settings_are_one_line(values: dict, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        resolve_stop_rule(values, 30.0, lambda text, what: float(str(text).rstrip("s")))


def test_the_stop_rule_defaults() -> None:
    rule = resolve_stop_rule({"until_stable": True}, 300.0, lambda t, w: float(t))
    assert rule == {
        "until_stable": True,
        "stable_metrics": ("ttft_ms.p99", "e2e_ms.p99"),
        "stable_ci_pct": 5.0,
        "warmup_s": 10.0,
        "min_time_s": 30.0,
    }
