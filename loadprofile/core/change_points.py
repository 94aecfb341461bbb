"""Change points of a series of runs: E-divisive means with a permutation test (pure).

E-divisive means (Matteson & James 2014) splits a series where the energy distance between
the points before and after is largest, and keeps the split when a permutation test says it
is significant; it then looks for more splits inside the pieces. It assumes no distribution
(the tail percentiles of short runs are skewed and jumpy), finds several changes, and says
how sure it is. Long series are searched in overlapping windows and the changes found are
then re-tested against their neighbours, dropping the weakest first: the split and merge
steps of Hunter (Fleming et al. 2023, now Apache Otava), with the permutation test kept for
significance where Hunter uses Student's t-test.

Deterministic: every permutation comes from a generator seeded by ``seed`` and the place it
tests, so the same values always give the same change points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import pairwise

import numpy as np

#: A change must beat all but this share of the shuffled series (1,999 shuffles: all but one,
#: so one shuffle that happens to split the same two sets does not hide a clear change).
MAX_P_VALUE = 0.001
PERMUTATIONS = 1999
#: The fewest runs on either side of a change: a single odd run is an outlier, not a change.
MIN_SIZE = 3
#: Longer series are searched in windows of this many runs, half overlapping (Otava's 50).
WINDOW = 50
_FIRST_BATCH = 4  # shuffles drawn before the first look (most windows stop there)
_MAX_BATCH = 256  # bounds the (batch, n, n) distance arrays: 256 x 50 x 50 floats
_TIE = 1e-4  # a shuffle this close to the observed statistic ties it (float32 sums)


@dataclass(frozen=True)
class ChangePoint:
    """The series changes at ``index``: the first point of the new level."""

    index: int
    p_value: float
    before_mean: float  # of the points from the previous change point (or the start)
    after_mean: float  # of the points up to the next change point (or the end)


def change_points(
    values: Sequence[float],
    *,
    max_p_value: float = MAX_P_VALUE,
    permutations: int = PERMUTATIONS,
    min_size: int = MIN_SIZE,
    window: int = WINDOW,
    seed: int = 0,
) -> list[ChangePoint]:
    """The significant change points of ``values`` (finite numbers in time order), in order.
    Each p-value is the permutation test's of the split against the points between its
    neighbouring change points. ValueError for parameters that could never find one."""
    if min_size < 2:
        raise ValueError(f"min_size {min_size}: at least 2 points a side")
    if window < 2 * min_size:
        raise ValueError(f"window {window}: at least twice min_size ({min_size})")
    if not 0 < max_p_value < 1:
        raise ValueError(f"max_p_value {max_p_value}: give a level in (0, 1)")
    if permutations * max_p_value < 1 - max_p_value:
        raise ValueError(
            f"{permutations} permutations cannot show p <= {max_p_value}: "
            f"give at least {math.ceil(1 / max_p_value) - 1}"
        )
    series = np.asarray(values, dtype=float)
    if series.ndim != 1 or not np.isfinite(series).all():
        raise ValueError("change points need a flat series of finite numbers")
    if len(series) < 2 * min_size or np.ptp(series) == 0:
        return []  # too short to split, or nothing ever changed
    test = _Test(max_p_value, permutations, min_size, seed)
    scaled = (series - np.median(series)) / np.ptp(series)  # the same splits, any unit
    kept = _merge(scaled, _split(scaled, window, test), test)
    edges = [0, *kept, len(series)]
    return [
        ChangePoint(
            index=index,
            p_value=p_value,
            before_mean=float(series[edges[i] : index].mean()),
            after_mean=float(series[index : edges[i + 2]].mean()),
        )
        for i, (index, p_value) in enumerate(kept.items())
    ]


@dataclass(frozen=True)
class _Test:
    max_p_value: float
    permutations: int
    min_size: int
    seed: int

    def rng(self, purpose: int, *where: int) -> np.random.Generator:
        """The shuffles of one test, whatever else was tested before it. The constant last
        word keeps trailing zeros meaningful (a seed sequence ignores them)."""
        return np.random.default_rng([self.seed, purpose, *where, 0x7E57])

    def p_value(self, observed: float, shuffled: Callable[[int], np.ndarray]) -> float:
        """(1 + shuffles at least as extreme) / (1 + shuffles), drawn in growing batches
        and stopped once the answer is known: when it can no longer reach ``max_p_value``
        (most windows of a steady series stop after a few shuffles), or when none has been
        as extreme in enough shuffles to reach it (about 1,000 for 0.001; one that is
        draws on to all ``permutations``)."""
        allowed = math.floor(self.max_p_value * (self.permutations + 1) + 1e-9) - 1
        floor = observed - _TIE * abs(observed)
        extreme = drawn = 0
        batch = _FIRST_BATCH
        while drawn < self.permutations:
            size = min(batch, self.permutations - drawn)
            extreme += int(np.count_nonzero(shuffled(size) >= floor))
            drawn += size
            if extreme > allowed or (extreme == 0 and 1 / (1 + drawn) <= self.max_p_value):
                break
            batch = min(2 * batch, _MAX_BATCH)
        return (1 + extreme) / (1 + drawn)


def _split_statistics(batch: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The best split of each row and its statistic: the largest Q(tau, kappa) of
    E-divisive (alpha 1), (m k / (m + k)) * (2 E|X-Y| - E|X-X'| - E|Y-Y'|) with X the m
    points before tau and Y the k points from tau to kappa. Searching kappa too (as
    Matteson & James do) finds a level that came and went (a regression fixed a week later),
    which X against everything after tau blurs. Two-dimensional prefix sums of the pair
    distances make every (tau, kappa) cost one n x n pass."""
    rows, n = batch.shape
    batch = batch.astype(np.float32)  # twice as fast; the series is scaled to [-1, 1]
    prefix = np.zeros((rows, n + 1, n + 1), dtype=np.float32)
    distances = np.subtract(batch[:, :, None], batch[:, None, :])
    np.abs(distances, out=distances)  # in place: a fresh array per step costs more than the sum
    np.cumsum(distances, axis=2, out=distances)
    np.cumsum(distances, axis=1, out=prefix[:, 1:, 1:])
    diagonal = np.diagonal(prefix, axis1=1, axis2=2)  # twice the pair sum within [0, i)
    on_corner, on_tau, on_kappa, unusable = _coefficients(n, min_size)
    last_tau, first_kappa = n - min_size, 2 * min_size
    corner = prefix[:, min_size : last_tau + 1, first_kappa:]  # sum over a < tau, b < kappa
    q = corner * on_corner
    q -= diagonal[:, min_size : last_tau + 1, None] * on_tau
    q -= diagonal[:, None, first_kappa:] * on_kappa
    q += unusable
    flat = q.reshape(rows, -1)
    best = flat.argmax(axis=1)
    return min_size + best // (n + 1 - first_kappa), flat[np.arange(rows), best]


@lru_cache(maxsize=64)
def _coefficients(n: int, min_size: int) -> tuple[np.ndarray, ...]:
    """Q(tau, kappa) = a * P[tau, kappa] - b * P[tau, tau] - c * P[kappa, kappa] with P the
    prefix sums: the weights a, b, c over the (tau, kappa) grid, and -inf where kappa is
    too close to tau. With m = tau, k = kappa - tau, since the pair sums within X and Y and
    across are P[tau, tau] / 2, (P[kappa, kappa] - 2 P[tau, kappa] + P[tau, tau]) / 2 and
    P[tau, kappa] - P[tau, tau]."""
    m = np.arange(min_size, n - min_size + 1, dtype=float)[:, None]
    k = np.arange(2 * min_size, n + 1, dtype=float)[None, :] - m
    usable = k >= min_size
    k = np.where(usable, k, 2.0)
    x_weight, y_weight = k / (m - 1), m / (k - 1)
    on_corner = (2 + 2 * y_weight) / (m + k)
    on_tau = (2 + x_weight + y_weight) / (m + k)
    on_kappa = y_weight / (m + k)
    unusable = np.where(usable, 0.0, -np.inf).astype(np.float32)
    weights = (np.where(usable, w, 0.0).astype(np.float32) for w in (on_corner, on_tau, on_kappa))
    return (*weights, unusable)


def _best_split(segment: np.ndarray, min_size: int) -> tuple[int, float]:
    taus, q = _split_statistics(segment[None, :], min_size)
    return int(taus[0]), float(q[0])


def _edivisive(values: np.ndarray, test: _Test, offset: int) -> dict[int, float]:
    """E-divisive on one window: split where Q is largest over every piece while the
    split beats the same search over shuffles of each piece (change index -> p-value)."""
    found: dict[int, float] = {}
    while True:
        edges = [0, *sorted(found), len(values)]
        pieces = [(a, b) for a, b in pairwise(edges) if b - a >= 2 * test.min_size]
        if not pieces:
            return found
        start, tau, observed = max(
            ((a, *_best_split(values[a:b], test.min_size)) for a, b in pieces),
            key=lambda split: split[2],
        )
        shuffles = partial(
            _best_of_shuffled, values, pieces, test.rng(1, offset, len(found)), test.min_size
        )
        p_value = test.p_value(observed, shuffles)
        if p_value > test.max_p_value:
            return found
        found[start + tau] = p_value


def _best_of_shuffled(
    values: np.ndarray,
    pieces: list[tuple[int, int]],
    rng: np.random.Generator,
    min_size: int,
    size: int,
) -> np.ndarray:
    """The largest Q over the pieces, each shuffled within itself, ``size`` times."""
    most = np.full(size, -np.inf)
    for a, b in pieces:
        rows = rng.permuted(np.tile(values[a:b], (size, 1)), axis=1)
        most = np.maximum(most, _split_statistics(rows, min_size)[1])
    return most


def _split(series: np.ndarray, window: int, test: _Test) -> list[int]:
    """Candidate change points: E-divisive over windows half overlapping, each window
    starting no earlier than the last change found (Hunter's split step)."""
    n = len(series)
    if n <= window:
        return sorted(_edivisive(series, test, 0))
    found: set[int] = set()
    start = 0
    while True:
        end = min(start + window, n)
        found.update(start + i for i in _edivisive(series[start:end], test, start))
        if end == n:
            return sorted(found)
        last = max(found, default=0)
        start = max(start + window // 2, last)
        if start + window > n:  # the last window is a whole one, for changes near the end
            start = max(n - window, last)


def _pair_sums(sorted_rows: np.ndarray) -> np.ndarray:
    """sum over i < j of |x_i - x_j| for each sorted row: sum of x_(i) * (2i - m + 1)."""
    m = sorted_rows.shape[1]
    return sorted_rows @ (2.0 * np.arange(m) - m + 1)


def _fixed_split_statistic(rows: np.ndarray, tau: int) -> np.ndarray:
    """Q(tau) for each row at one split, by sorting: no n x n array for long pieces."""
    n = rows.shape[1]
    m, k = float(tau), float(n - tau)
    within_x = _pair_sums(np.sort(rows[:, :tau], axis=1))
    within_y = _pair_sums(np.sort(rows[:, tau:], axis=1))
    across = _pair_sums(np.sort(rows, axis=1)) - within_x - within_y
    return (2 * across - 2 * k * within_x / (m - 1) - 2 * m * within_y / (k - 1)) / n


def _merge_p_value(series: np.ndarray, a: int, index: int, b: int, test: _Test) -> float:
    """The permutation test of the split at ``index`` of ``series[a:b]`` (its neighbours'
    span): does it still separate two levels, given the other change points?"""
    piece = series[a:b]
    tau = index - a
    observed = float(_fixed_split_statistic(piece[None, :], tau)[0])
    rng = test.rng(2, a, index, b)

    def shuffled(size: int) -> np.ndarray:
        return _fixed_split_statistic(rng.permuted(np.tile(piece, (size, 1)), axis=1), tau)

    return test.p_value(observed, shuffled)


def _merge(series: np.ndarray, candidates: list[int], test: _Test) -> dict[int, float]:
    """Hunter's merge step: test each candidate against the span between its neighbours,
    drop the weakest one that fails and re-test its neighbours, until all pass."""
    kept = sorted(candidates)
    n = len(series)

    def p_of(i: int) -> float:
        a = kept[i - 1] if i > 0 else 0
        b = kept[i + 1] if i + 1 < len(kept) else n
        return _merge_p_value(series, a, kept[i], b, test)

    p_values = [p_of(i) for i in range(len(kept))]
    while kept:
        weakest = int(np.argmax(p_values))
        if p_values[weakest] <= test.max_p_value:
            break
        del kept[weakest], p_values[weakest]
        for i in (weakest - 1, weakest):
            if 0 <= i < len(kept):
                p_values[i] = p_of(i)
    return dict(zip(kept, p_values, strict=True))
