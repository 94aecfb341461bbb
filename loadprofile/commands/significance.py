"""Confidence intervals for a run's figures: a block bootstrap over the run folder (pure).

Requests that finish in the same second share the same server queue and the same
generator hiccup, so they are not independent draws: resampling single requests would make
intervals too narrow and a nightly gate flap. The unit of resampling is therefore a whole
histogram interval (a *slot*, 1 s by default): latency figures merge resampled interval
histograms (``.hlog``), rates resample timeseries.csv rows, costs resample whole
transactions from requests.csv.

Both sides of a comparison draw with the same seed, and a side's slot positions depend only
on the seed and the number of slots: two models of one run (same slots) are then resampled
second for second, which keeps what they share (load, generator) paired. Everything is
vectorised; 2,000 resamples of a 600-slot run take well under a second per metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loadprofile.config.slo import SloError
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import Summary
from loadprofile.core.collector import new_histogram
from loadprofile.core.cost import transactions_of
from loadprofile.core.metrics import HISTOGRAM_METRICS, PERCENTILES
from loadprofile.rundir import reader as rundir_read
from loadprofile.rundir.hlog import read_hlog
from loadprofile.rundir.view import ModelView, SideError, figure, model_view, read_summary
from loadprofile.rundir.writer import REQUESTS, model_slug

#: Histogram keys the bootstrap draws (percentile 0-100, or None for the mean).
HISTOGRAM_KEYS: dict[str, float | None] = {**dict(PERCENTILES), "mean": None}
SERIES_METRICS = ("error_rate", "requests_per_s", "output_tokens_per_s", "goodput_per_s")
_PER_TRANSACTION = tuple(f"per_transaction.{k}" for k in ("mean", "p50", "p95", "p99"))
COST_KEYS = (*_PER_TRANSACTION, "per_1k_successful_transactions")
_US_PER_MS = 1000.0
_CHUNK_CELLS = 4_000_000  # rows x columns handled at once: bounds memory, keeps BLAS busy
#: Beyond this many slots, neighbouring slots are resampled together as one block (time
#: and memory stay bounded on hour-long runs; longer blocks only keep more correlation).
MAX_BLOCKS = 1000


@dataclass(frozen=True)
class IntervalCounts:
    """One metric's interval histograms as a dense matrix: slots x the HDR buckets any slot
    uses, with each bucket's highest- and median-equivalent value (HdrHistogram's own
    percentile and mean conventions)."""

    counts: np.ndarray  # (units, buckets) float64, exact integer counts
    highest_us: np.ndarray  # (buckets,)
    median_us: np.ndarray  # (buckets,)


@dataclass(frozen=True)
class Side:
    """One model of one run folder, its data loaded once (histograms when first asked)."""

    run_dir: Path
    model: str
    summary: Summary = field(repr=False, compare=False)
    run: RunMeta = field(repr=False, compare=False)
    rebuilt: bool  # summary.json was missing and was rebuilt from the logs
    #: slot start time (s) -> its resampling unit (a row of ``series``)
    units: dict[float, int] = field(repr=False, compare=False)
    #: per unit: requests, failures, output_tokens, good, length (s)
    series: np.ndarray = field(repr=False, compare=False)
    #: per finished transaction: cost, successful (1/0); None without cost columns
    transactions: np.ndarray | None = field(repr=False, compare=False)
    hlogs: dict[str, Path] = field(repr=False, compare=False)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def view(self) -> ModelView:
        if "view" not in self._cache:
            self._cache["view"] = model_view(self.summary, self.model)
        found: ModelView = self._cache["view"]
        return found


def load_side(run_dir: Path, model: str) -> Side:
    """Read what the bootstrap needs of ``model`` in ``run_dir``."""
    return side_of(Path(run_dir), model, *read_summary(Path(run_dir)))


def side_of(run_dir: Path, model: str, summary: Summary, run: RunMeta, rebuilt: bool) -> Side:
    """load_side with the folder's summary already read (several models of one run)."""
    models = sorted(summary.models)
    if model not in models:
        raise SideError(f"no model {model!r} in {run_dir} (models: {', '.join(models) or 'none'})")
    hlogs = {
        metric: path
        for name, metric, path in rundir_read.histogram_files(run_dir)
        if name in (model, model_slug(model))
    }
    points = [p for p in rundir_read.read_series(run_dir) if p.model == model]
    starts = {round(p.start_s, 3): p for p in points}
    lengths: dict[float, float] = {}
    for path in hlogs.values():
        lengths.update(_hlog_slots(path))
    slots = sorted(set(starts) | set(lengths))
    per_block = -(-len(slots) // MAX_BLOCKS) if slots else 1
    units = {start: i // per_block for i, start in enumerate(slots)}
    series = np.zeros((-(-len(slots) // per_block), 5))
    for start, row in units.items():
        p = starts.get(start)
        if p is None:
            series[row, 4] += lengths[start]
        else:
            series[row] += (p.requests, p.failures, p.output_tokens, p.good, p.end_s - p.start_s)
    return Side(
        run_dir, model, summary, run, rebuilt, units, series, _transactions(run_dir, model), hlogs
    )


def _hlog_slots(path: Path) -> dict[float, float]:
    """{start_s: length_s} of a log's intervals, read without decoding the histograms."""
    out: dict[float, float] = {}
    with path.open(encoding="ascii", errors="replace") as fh:
        for line in fh:
            fields = line.split(",", 3)
            if line.startswith("Tag="):
                fields = fields[1:]
            try:
                out[round(float(fields[0]), 3)] = float(fields[1])
            except (ValueError, IndexError):
                continue  # header, legend, or a line torn by a crash
    return out


def _transactions(run_dir: Path, model: str) -> np.ndarray | None:
    """(cost, successful) per finished transaction, as cost.py counts them; None when
    requests.csv has no cost columns or the model was not priced."""
    path = run_dir / REQUESTS
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().split(",")
    if "transaction" not in header or "cost_usd" not in header:
        return None
    rows = [r for r in rundir_read.iter_request_rows(run_dir) if r.get("model") == model]
    if not any(r.get("cost_usd") for r in rows):
        return None
    marks_end = "transaction_end" in header  # without it, every transaction counts as done
    done = [t for t in transactions_of(rows).get(model, {}).values() if t.ended or not marks_end]
    return np.array([(t.cost, float(t.ok)) for t in done], dtype=float).reshape(-1, 2)


def point(side: Side, metric: str) -> float | None:
    """The figure at a dotted path of the model's summary view; None when absent or null."""
    try:
        return figure(side.view(), metric, side.model)
    except SloError:
        return None


def bootstrap(
    side: Side, metric: str, *, resamples: int = 2000, seed: int = 0
) -> np.ndarray | None:
    """``resamples`` draws of the metric under the block bootstrap; None when the metric is
    not one the bootstrap knows, or has fewer than two resampling units."""
    name, _, key = metric.partition(".")
    if name in HISTOGRAM_METRICS and key in HISTOGRAM_KEYS:
        draws = _histogram_draws(side, name, resamples, seed)
        return None if draws is None else draws[key]
    if metric in SERIES_METRICS:
        return _series_draws(side, metric, resamples, seed)
    if name == "cost" and key in COST_KEYS:
        return _cost_draws(side, key, resamples, seed)
    return None


def ratio_interval(base: np.ndarray, cand: np.ndarray, alpha: float) -> tuple[float, float] | None:
    """The (1 - alpha) percentile interval of cand / base over paired draws; None when a
    base draw is ~0 (the ratio is undefined there)."""
    base, cand = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    scale = max(float(np.max(np.abs(base))), float(np.max(np.abs(cand))), 1e-300)
    if np.any(np.abs(base) <= 1e-12 * scale):
        return None
    return _interval(cand / base, alpha)


def difference_interval(base: np.ndarray, cand: np.ndarray, alpha: float) -> tuple[float, float]:
    """The (1 - alpha) percentile interval of cand - base over paired draws."""
    return _interval(np.asarray(cand, dtype=float) - np.asarray(base, dtype=float), alpha)


def _interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


# --------------------------------------------------------------------------- resampling


def weight_chunks(units: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """(rows, units) blocks of the (resamples, units) matrix of how often each unit is drawn
    in each resample (rows sum to ``units``). Depends only on its arguments, so sides with
    as many units are paired."""
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_CELLS // units)
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        flat = rng.integers(0, units, size=(rows, units)) + units * np.arange(rows)[:, None]
        yield np.bincount(flat.ravel(), minlength=rows * units).reshape(rows, units) * 1.0


def slot_weights(units: int, resamples: int, seed: int) -> np.ndarray:
    """The whole weight matrix (for a few thousand units at most)."""
    return np.vstack(list(weight_chunks(units, resamples, seed)))


def _weights_for(has_data: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Weights over every unit; if a resample drew only units without data (``has_data``
    False), resample just the units with data instead (a figure of nothing is no draw)."""
    weights = slot_weights(len(has_data), resamples, seed)
    if np.all(weights @ has_data.astype(float) > 0):
        return weights
    full = np.zeros_like(weights)
    full[:, has_data] = slot_weights(int(has_data.sum()), resamples, seed)
    return full


def interval_counts(side: Side, metric: str) -> IntervalCounts | None:
    """The metric's interval histograms of the side, aligned to its slots (cached)."""
    key = ("counts", metric)
    if key not in side._cache:
        side._cache[key] = _read_counts(side, metric)
    found: IntervalCounts | None = side._cache[key]
    return found


def _read_counts(side: Side, metric: str) -> IntervalCounts | None:
    path = side.hlogs.get(metric)
    if path is None:
        return None
    layout = new_histogram()
    found: list[tuple[int, np.ndarray, np.ndarray]] = []  # (unit, bucket indices, counts)
    for iv in read_hlog(path)[1]:
        hist, row = iv.histogram, side.units.get(round(iv.start_s, 3))
        if row is None or not hist.get_total_count():
            continue
        if hist.counts_len != layout.counts_len:  # another configuration: re-record it
            other = new_histogram()
            for i in np.flatnonzero(np.ctypeslib.as_array(hist.counts)):
                other.record_value(hist.get_value_from_index(int(i)), int(hist.counts[i]))
            hist = other
        counts = np.ctypeslib.as_array(hist.counts)[: layout.counts_len]
        index = np.flatnonzero(counts)
        found.append((row, index, counts[index].astype(float)))
    if not found:
        return None
    used = np.unique(np.concatenate([index for _, index, _ in found]))
    dense = np.zeros((len(side.series), used.size))  # only the buckets some slot uses
    for row, index, counts in found:
        dense[row, np.searchsorted(used, index)] += counts
    half_mag, unit = layout.sub_bucket_half_count_magnitude, layout.unit_magnitude
    half = layout.sub_bucket_half_count
    bucket = (used >> half_mag) - 1
    sub = (used & (half - 1)) + half
    sub = np.where(bucket < 0, sub - half, sub)
    bucket = np.maximum(bucket, 0)
    lowest = sub.astype(np.int64) << (bucket + unit)
    size = np.left_shift(1, bucket + unit).astype(np.int64)
    return IntervalCounts(
        dense, (lowest + size - 1).astype(float), (lowest + (size >> 1)).astype(float)
    )


def histogram_values(counts: np.ndarray, table: IntervalCounts) -> dict[str, np.ndarray]:
    """HdrHistogram's percentiles and mean (ms) of each row of merged bucket counts."""
    totals = counts.sum(axis=1)
    safe = np.where(totals > 0, totals, 1.0)
    cumulative = np.cumsum(counts, axis=1)
    out: dict[str, np.ndarray] = {}
    for key, pct in HISTOGRAM_KEYS.items():
        if pct is None:
            out[key] = (counts @ table.median_us) / safe / _US_PER_MS
            continue
        target = np.maximum(np.floor(pct * totals / 100.0 + 0.5), 1.0)
        index = np.minimum((cumulative < target[:, None]).sum(axis=1), counts.shape[1] - 1)
        out[key] = table.highest_us[index] / _US_PER_MS
    return out


def _histogram_draws(
    side: Side, metric: str, resamples: int, seed: int
) -> dict[str, np.ndarray] | None:
    key = ("draws", metric, resamples, seed)
    if key in side._cache:
        cached: dict[str, np.ndarray] | None = side._cache[key]
        return cached
    table = interval_counts(side, metric)
    result: dict[str, np.ndarray] | None = None
    if table is not None:
        units = table.counts.sum(axis=1) > 0
        if units.sum() >= 2:
            weights = _weights_for(units, resamples, seed)
            step = max(1, _CHUNK_CELLS // table.counts.shape[1])
            parts = [
                histogram_values(weights[i : i + step] @ table.counts, table)
                for i in range(0, resamples, step)
            ]
            result = {k: np.concatenate([p[k] for p in parts]) for k in HISTOGRAM_KEYS}
    side._cache[key] = result
    return result


def whole_run_values(side: Side, metric: str, percentiles: np.ndarray) -> np.ndarray | None:
    """The merged (whole-run) histogram's values (ms) at ``percentiles`` (0-100)."""
    table = interval_counts(side, metric)
    if table is None:
        return None
    merged = table.counts.sum(axis=0)
    cumulative = np.cumsum(merged)
    target = np.maximum(np.floor(np.asarray(percentiles) * merged.sum() / 100.0 + 0.5), 1.0)
    index = np.minimum(np.searchsorted(cumulative, target, side="left"), merged.size - 1)
    values: np.ndarray = table.highest_us[index] / _US_PER_MS
    return values


def _series_draws(side: Side, metric: str, resamples: int, seed: int) -> np.ndarray | None:
    requests, failures, length = side.series[:, 0], side.series[:, 1], side.series[:, 4]
    if metric == "error_rate":
        units = requests > 0
        if units.sum() < 2:
            return None
        weights = _weights_for(units, resamples, seed)
        draws: np.ndarray = (weights @ failures) / (weights @ requests)
        return draws
    if len(length) < 2 or length.sum() <= 0:
        return None
    numerator = side.series[:, {"requests_per_s": 0, "output_tokens_per_s": 2}.get(metric, 3)]
    weights = slot_weights(len(length), resamples, seed)
    draws = (weights @ numerator) / (weights @ length)
    # summary.json divides by the load's duration, the slots also cover the drain at the
    # end: rescale so the draws centre on the summary's own figure.
    whole, reported = numerator.sum() / length.sum(), point(side, metric)
    if whole > 0 and reported:
        draws *= reported / whole
    return draws


def _cost_draws(side: Side, key: str, resamples: int, seed: int) -> np.ndarray | None:
    """Whole transactions resampled; percentiles as cost.py takes them (numpy's linear)."""
    table = side.transactions
    if table is None or len(table) < 2:
        return None
    cost, ok, n = table[:, 0], table[:, 1], len(table)
    order = np.argsort(cost, kind="stable")  # units are drawn in time order, ranked here
    rank = (n - 1) * {"p50": 50.0, "p95": 95.0, "p99": 99.0}.get(key[-3:], 0.0) / 100.0
    low = int(np.floor(rank))
    high, frac = min(low + 1, n - 1), rank - low
    parts = []
    for weights in weight_chunks(n, resamples, seed):
        if key == "per_1k_successful_transactions":
            successful = weights @ ok
            if np.any(successful == 0):
                return None  # too few successes for the figure to exist in every resample
            parts.append(1000.0 * (weights @ cost) / successful)
        elif key == "per_transaction.mean":
            parts.append((weights @ cost) / n)
        else:  # row r holds ranked[j] weights[r, order[j]] times
            ranked, cumulative = cost[order], np.cumsum(weights[:, order], axis=1)
            lo = ranked[np.minimum((cumulative <= low).sum(axis=1), n - 1)]
            hi = ranked[np.minimum((cumulative <= high).sum(axis=1), n - 1)]
            parts.append(lo + (hi - lo) * frac)
    return np.concatenate(parts)
