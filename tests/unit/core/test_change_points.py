"""E-divisive change points: a step found where it is, with its p-value; noise, constant and
short series give none; two steps; determinism; a 1,000-run series in well under a second.
Every series is seeded, so nothing flakes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from loadprofile.core.change_points import MAX_P_VALUE, ChangePoint, change_points


def noisy(n: int, seed: int, level: float = 80.0, noise: float = 0.04) -> np.ndarray:
    return level * (1 + noise * np.random.default_rng(seed).standard_normal(n))


@pytest.mark.parametrize("seed", range(8))
def test_a_30_percent_step_at_run_12_of_20_is_found_there(seed: int) -> None:
    values = noisy(20, seed)
    values[11:] *= 1.3  # run 12 on (index 11)
    found = change_points(values)
    assert [c.index for c in found] == [11]
    (step,) = found
    assert step.p_value <= MAX_P_VALUE
    assert step.after_mean / step.before_mean == pytest.approx(1.3, rel=0.05)
    assert step.before_mean == pytest.approx(float(values[:11].mean()))
    assert step.after_mean == pytest.approx(float(values[11:].mean()))


@pytest.mark.parametrize("seed", range(8))
def test_twenty_runs_of_noise_have_no_change_point(seed: int) -> None:
    assert change_points(noisy(20, 100 + seed, noise=0.08)) == []


def test_heavy_tailed_noise_over_a_long_series_has_none() -> None:
    rng = np.random.default_rng(5)
    assert change_points(80 * np.exp(0.15 * rng.standard_normal(400))) == []


def test_two_steps_are_both_found_with_the_levels_between_them() -> None:
    values = noisy(40, 3)
    values[15:] *= 1.25
    values[30:] /= 1.25
    found = change_points(values)
    assert [c.index for c in found] == [15, 30]
    assert found[0].after_mean == found[1].before_mean  # the middle piece, shared
    assert found[1].after_mean < found[1].before_mean


def test_a_step_down_is_a_change_too() -> None:
    values = noisy(20, 4)
    values[8:] *= 0.7
    assert [c.index for c in change_points(values)] == [8]


@pytest.mark.parametrize("values", [[], [1.0], [5.0] * 30, [1.0, 9.0] * 3])
def test_constant_and_short_series_have_none(values: list[float]) -> None:
    assert change_points(values) == []


def test_the_fewest_runs_a_side_is_min_size() -> None:
    values = noisy(60, 6)
    values[-2:] *= 2  # two odd runs at the end: not (yet) a change
    assert change_points(values) == []
    values = noisy(60, 6)
    values[-3:] *= 2
    assert [c.index for c in change_points(values)] == [57]


def test_the_same_values_always_give_the_same_change_points() -> None:
    values = noisy(20, 7, noise=0.1)
    values[11:] *= 1.2
    first = change_points(values)
    assert all(change_points(values) == first for _ in range(3))
    assert change_points(values, seed=1) is not None  # another seed is allowed to differ


def test_long_series_are_searched_in_windows_and_stay_fast() -> None:
    values = noisy(1000, 8)
    values[300:] *= 1.1
    values[700:] *= 0.8
    started = time.perf_counter()
    found = change_points(values)
    elapsed = time.perf_counter() - started
    assert [c.index for c in found] == [300, 700]
    assert found[0].after_mean / found[0].before_mean == pytest.approx(1.1, rel=0.02)
    assert elapsed < 1.0, elapsed  # about 0.1 s here; 0.015 s for a steady series


def test_a_change_near_the_end_of_a_long_series_is_found() -> None:
    values = noisy(500, 9)
    values[-4:] *= 1.3
    assert [c.index for c in change_points(values)] == [496]


def test_a_change_point_is_a_plain_record() -> None:
    values = [10.0] * 10 + [20.0] * 10
    (step,) = change_points(values)
    assert step == ChangePoint(index=10, p_value=step.p_value, before_mean=10.0, after_mean=20.0)
    assert step.p_value <= 0.001  # no shuffle of the first thousand or so as extreme


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_size": 1}, "min_size"),
        ({"window": 5}, "window"),
        ({"permutations": 99}, "999"),
        ({"max_p_value": 0}, "level"),
    ],
)
def test_parameters_that_could_never_find_a_change_are_refused(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        change_points([1.0] * 20, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[1.0, float("nan"), 2.0], [[1.0, 2.0]]])
def test_values_that_are_not_a_flat_finite_series_are_refused(bad: list[object]) -> None:
    with pytest.raises(ValueError, match="finite"):
        change_points(bad)  # type: ignore[arg-type]
