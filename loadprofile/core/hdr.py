"""HdrHistogram arithmetic on the counts array with numpy: the same numbers as hdrh, in C.

hdrh (the Python port) records one value per Python call (~1-2 µs each, ~50 per streamed
request) and walks every bucket in Python for a percentile (~1.5 ms) or the mean (~30 ms
per histogram), which is what made interval closes stall the event loop and summaries of
big runs slow. These functions work on the histogram's own counts (a view, no copy), so
the histogram stays hdrh's: its encoding, merging and logs are unchanged.

Each function gives exactly what its hdrh counterpart gives (``record_value``,
``record_corrected_value``, ``get_percentile_to_value_dict``, ``get_mean_value``); the unit
tests compare them value by value. Pure: numpy and hdrh only.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Iterable, Sequence

import numpy as np
from hdrh.histogram import HdrHistogram

Layout = tuple[int, int, int, int, int]
#: From this many values on, counting them into a full-size array beats adding one by one.
_BINCOUNT_FROM = 500


def acyclic(hist: HdrHistogram) -> HdrHistogram:
    """``hist`` with its encoder's back-reference made weak. hdrh's histogram and its
    encoder point at each other, so every dropped histogram (one per metric, model and
    interval) waited for the cyclic garbage collector, whose passes then freed dozens of
    188 kB counts arrays at once: 1-2 ms pauses of the event loop every few seconds.
    Without the cycle, reference counting frees each one as it is dropped."""
    hist.encoder.histogram = weakref.proxy(hist)
    return hist


def reset(hist: HdrHistogram) -> HdrHistogram:
    """``hist`` emptied for reuse (hdrh's own ``reset`` loops over every count in Python)."""
    _view(hist)[:] = 0
    hist.total_count = 0
    hist.min_value = sys.maxsize
    hist.max_value = 0
    hist.start_time_stamp_msec = sys.maxsize
    hist.end_time_stamp_msec = 0
    return hist


def _layout(hist: HdrHistogram) -> Layout:
    return (
        hist.unit_magnitude,
        hist.sub_bucket_half_count_magnitude,
        hist.sub_bucket_half_count,
        hist.sub_bucket_mask,
        hist.counts_len,
    )


def counts_of(hist: HdrHistogram) -> np.ndarray:
    """The histogram's counts as a numpy view (writes go into the histogram). A decoded
    histogram may hold fewer counts than its layout: the rest are zero."""
    payload_len = hist.encoder.payload.counts_len
    return _view(hist)[: min(hist.counts_len, payload_len)]


def _view(hist: HdrHistogram) -> np.ndarray:
    # frombuffer: 0.4 µs, where np.ctypeslib.as_array takes 3 µs and makes a ctypes type.
    return np.frombuffer(hist.counts, dtype=np.dtype(hist.counts._type_))


def counts_index(values: np.ndarray, layout: Layout) -> np.ndarray:
    """hdrh's ``_counts_index_for`` for many non-negative integer values at once."""
    unit, half_mag, half_count, mask, _ = layout
    # bit_length(v | mask): frexp's exponent, exact for integers below 2**53 (anything
    # larger lands out of range either way).
    _, bits = np.frexp((values | mask).astype(np.float64))
    bucket = bits.astype(np.int64) - unit - (half_mag + 1)
    sub = values >> (bucket + unit)
    return ((bucket + 1) << half_mag) + sub - half_count


def record_us(hist: HdrHistogram, values: np.ndarray) -> int:
    """``record_value`` for each integer value (microseconds); returns how many were out of
    range (hdrh records nothing for those and says False)."""
    if not len(values):
        return 0
    layout = _layout(hist)
    index = counts_index(values, layout)
    inside = (values >= 0) & (index >= 0) & (index < layout[4])
    kept = values[inside]
    missed = len(values) - len(kept)
    if len(kept):
        counts = _view(hist)
        if len(kept) < _BINCOUNT_FROM:
            np.add.at(counts, index[inside], 1)
        else:  # one pass up to the highest index pays off for many values
            found = np.bincount(index[inside])
            counts[: len(found)] += found.astype(counts.dtype)
        hist.total_count += len(kept)
        hist.min_value = min(hist.min_value, int(kept.min()))
        hist.max_value = max(hist.max_value, int(kept.max()))
    return missed


def to_us(values_ms: Iterable[float] | np.ndarray) -> np.ndarray:
    """Milliseconds to the integer microseconds histograms hold: ``max(0, round(ms * 1000))``
    with Python's rounding (half to even, as numpy's)."""
    arr = np.asarray(values_ms, dtype=np.float64)
    return np.maximum(np.rint(arr * 1000.0), 0.0).astype(np.int64)


def record_corrected_us(hist: HdrHistogram, values: np.ndarray, interval_us: int) -> int:
    """``record_corrected_value(v, interval)`` for each value: v, v - interval, ... down to
    the first value at or below the interval (coordinated omission). A value out of range
    records nothing, as in hdrh; returns how many were."""
    if interval_us <= 0:
        return record_us(hist, values)
    layout = _layout(hist)
    index = counts_index(values, layout)
    inside = (values >= 0) & (index >= 0) & (index < layout[4])
    kept = values[inside]
    repeats = np.maximum(-(-kept // interval_us) - 1, 0) + 1  # ceil(v / interval), at least 1
    starts = np.repeat(np.cumsum(repeats) - repeats, repeats)
    steps = np.arange(int(repeats.sum()), dtype=np.int64) - starts
    record_us(hist, np.repeat(kept, repeats) - steps * interval_us)
    return len(values) - len(kept)


def value_at_percentiles(hist: HdrHistogram, percentiles: Sequence[float]) -> dict[float, int]:
    """``get_percentile_to_value_dict``: percentiles (0-100) to values; a percentile the
    counts never reach (an empty histogram) is left out, as in hdrh."""
    cumulative = np.cumsum(counts_of(hist))
    reached = int(cumulative[-1]) if len(cumulative) else 0
    out: dict[float, int] = {}
    for percentile in sorted(set(percentiles)):
        if percentile > 100:
            break
        target = max(int((min(percentile, 100.0) * hist.total_count / 100) + 0.5), 1)
        if target > reached:
            break
        index = int(np.searchsorted(cumulative, target, side="left"))
        value = hist.get_value_from_index(index)
        out[percentile] = (
            hist.get_highest_equivalent_value(value)
            if percentile
            else hist.get_lowest_equivalent_value(value)
        )
    return out


def mean_value(hist: HdrHistogram) -> float:
    """``get_mean_value``: each bucket counts at the middle of its equivalent range."""
    if not hist.total_count:
        return 0.0
    counts = counts_of(hist)
    nonzero = np.flatnonzero(counts)
    key = (hist.lowest_trackable_value, hist.highest_trackable_value, hist.significant_figures)
    middles = _middles(*key)[nonzero]
    total = sum(
        int(c) * int(m) for c, m in zip(counts[nonzero].tolist(), middles.tolist(), strict=True)
    )
    return float(total) / hist.total_count


@functools.cache
def _middles(lowest: int, highest: int, digits: int) -> np.ndarray:
    """Per counts index, hdrh's ``_hdr_median_equiv_value`` of the value its iterator
    reports there (the highest equivalent value of the index's value); once per layout."""
    probe = HdrHistogram(lowest, highest, digits)
    out = np.empty(probe.counts_len, dtype=np.int64)
    for index in range(probe.counts_len):
        value = probe.get_highest_equivalent_value(probe.get_value_from_index(index))
        out[index] = probe._hdr_median_equiv_value(value)
    return out
