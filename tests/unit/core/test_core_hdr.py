"""hdr.py gives exactly hdrh's numbers: recording, corrected recording, percentiles, mean."""

from __future__ import annotations

import gc
import random

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram

from loadprofile.core import hdr
from loadprofile.core.collector import new_histogram

PERCENTILES = [0.0, 10.0, 33.3, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0, 150.0]


def _values(seed: int, n: int) -> list[int]:
    """Latencies in µs across every bucket size, with zeros, edges and out-of-range ones."""
    rng = random.Random(seed)
    kinds = [
        lambda: 0,
        lambda: 1,
        lambda: rng.randint(0, 4096),
        lambda: rng.randint(0, 10**7),
        lambda: rng.randint(0, 5 * 10**9),
        lambda: 3_600_000_000,
        lambda: 3_700_000_000,
        lambda: 2**45,
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def _same(a: HdrHistogram, b: HdrHistogram) -> None:
    assert (a.total_count, a.min_value, a.max_value) == (b.total_count, b.min_value, b.max_value)
    assert np.array_equal(hdr.counts_of(a), hdr.counts_of(b))


@pytest.mark.parametrize(("seed", "n"), [(1, 1), (2, 7), (3, 300), (4, 600), (5, 5000)])
def test_record_us_equals_record_value(seed: int, n: int) -> None:
    values = _values(seed, n)
    theirs, ours = new_histogram(), new_histogram()
    missed = sum(0 if theirs.record_value(v) else 1 for v in values)
    assert hdr.record_us(ours, np.array(values, dtype=np.int64)) == missed
    _same(theirs, ours)
    assert ours.encode() == theirs.encode()  # the logs and the wire see the same histogram


@pytest.mark.parametrize("interval_us", [0, 100_000, 2_500_000])
def test_record_corrected_us_equals_record_corrected_value(interval_us: int) -> None:
    values = [v for v in _values(9, 400) if v < 10**8 or v > 4 * 10**9]  # hdrh loops per step
    theirs, ours = new_histogram(), new_histogram()
    missed = sum(0 if theirs.record_corrected_value(v, interval_us) else 1 for v in values)
    assert hdr.record_corrected_us(ours, np.array(values, dtype=np.int64), interval_us) == missed
    _same(theirs, ours)


@pytest.mark.parametrize(("seed", "n"), [(1, 1), (2, 3), (3, 250), (4, 2000)])
def test_percentiles_and_mean_equal_hdrh(seed: int, n: int) -> None:
    hist = new_histogram()
    for v in _values(seed, n):
        hist.record_value(v)
    assert hdr.value_at_percentiles(hist, PERCENTILES) == hist.get_percentile_to_value_dict(
        PERCENTILES
    )
    assert hdr.mean_value(hist) == hist.get_mean_value()


def test_empty_histogram_has_no_percentiles_and_mean_zero() -> None:
    empty = new_histogram()
    assert hdr.value_at_percentiles(empty, [50.0]) == empty.get_percentile_to_value_dict([50.0])
    assert hdr.mean_value(empty) == 0.0


def test_decoded_histograms_work_too() -> None:
    hist = new_histogram()
    for v in _values(7, 500):
        hist.record_value(v)
    decoded = HdrHistogram.decode(hist.encode())
    assert hdr.value_at_percentiles(decoded, PERCENTILES) == hist.get_percentile_to_value_dict(
        PERCENTILES
    )
    assert hdr.mean_value(decoded) == hist.get_mean_value()


@pytest.mark.parametrize(
    ("ms", "us"),
    [
        (0.0, 0),
        (-3.0, 0),
        (1.0005, 1000),
        (1.0015, 1002),
        (2.5e-3, 2),
        (3.5e-3, 4),
        (123.4567, 123457),
    ],
)
def test_to_us_rounds_as_python_does(ms: float, us: int) -> None:
    assert hdr.to_us([ms]).tolist() == [us] == [max(0, round(ms * 1000.0))]


def test_reset_empties_like_hdrh() -> None:
    theirs, ours = new_histogram(), new_histogram()
    for hist in (theirs, ours):
        hist.record_value(12_345)
    theirs.reset()
    hdr.reset(ours)
    _same(theirs, ours)
    assert ours.get_total_count() == 0 and not hdr.counts_of(ours).any()


def test_acyclic_histograms_are_freed_without_the_cyclic_gc() -> None:
    """hdrh's histogram and encoder point at each other; a dropped one must not wait for
    the cyclic collector (whose passes then free many 188 kB arrays at once)."""
    gc.collect()
    gc.disable()
    try:
        before = sum(isinstance(o, HdrHistogram) for o in gc.get_objects())
        for _ in range(20):
            hist = new_histogram()
            hist.record_value(5)
            assert hist.encode()  # the encoder still reaches its histogram
            del hist
        after = sum(isinstance(o, HdrHistogram) for o in gc.get_objects())
    finally:
        gc.enable()
    assert after == before
