"""One-dimensional radius counts by sorting once and binary search.

They serve the marginals of KSG on 1-D pairs. The values are sorted once and each count
is two galloping binary searches around the query's own position, O(N log N) in all.
Exactness: the searches compare *differences* ``|s_j - x_i|`` with the radius
(:func:`within_radius`), exactly as the other engines compare their max-norm distances,
so a sample at exactly the radius is in or out the same way everywhere.

Speed: the queries run in sorted order, so the memory each search touches stays near the
previous one and in cache; below ``PARALLEL_MIN`` samples the serial loop runs, since
waking the thread pool costs more than the counts themselves.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from mi_toolkit.estimators._knn_kernels._shared import PARALLEL_MIN, within_radius


@njit(cache=True)
def _count_one_sorted(sorted_values, q, radius, inclusive):
    # Samples within the radius of sorted_values[q] form a run around position q. Gallop
    # outwards from q (doubling steps) and finish with a binary search: O(log count), and
    # the memory touched stays near q, which keeps the search in cache when the queries
    # come in sorted order. Differences are compared with the radius, as everywhere.
    if not within_radius(0.0, radius, inclusive):
        return 0  # strictly within a radius of 0: nothing, not even a repeat
    q = np.int64(q)  # a prange index may come in unsigned; keep the arithmetic signed
    n = sorted_values.shape[0]
    value = sorted_values[q]
    # Right end: first position whose difference is outside.
    inside_hi, step = q, 1
    while inside_hi + step < n and within_radius(
        sorted_values[inside_hi + step] - value, radius, inclusive
    ):
        inside_hi += step
        step *= 2
    low, high = inside_hi + 1, min(inside_hi + step, n)
    while low < high:
        mid = (low + high) // 2
        if within_radius(sorted_values[mid] - value, radius, inclusive):
            low = mid + 1
        else:
            high = mid
    right = low
    # Left end: first position whose difference is inside.
    inside_lo, step = q, 1
    while inside_lo - step >= 0 and within_radius(
        value - sorted_values[inside_lo - step], radius, inclusive
    ):
        inside_lo -= step
        step *= 2
    low, high = max(inside_lo - step + 1, 0), inside_lo
    while low < high:
        mid = (low + high) // 2
        if within_radius(value - sorted_values[mid], radius, inclusive):
            high = mid
        else:
            low = mid + 1
    return right - low - 1  # less the sample itself


@njit(cache=True, parallel=True)
def _count_sorted_parallel(sorted_values, order, radii, inclusive, counts):
    for q in prange(sorted_values.shape[0]):
        counts[order[q]] = _count_one_sorted(sorted_values, q, radii[order[q]], inclusive)


@njit(cache=True)
def _count_sorted_serial(sorted_values, order, radii, inclusive, counts):
    for q in range(sorted_values.shape[0]):
        counts[order[q]] = _count_one_sorted(sorted_values, q, radii[order[q]], inclusive)


def count_sorted(
    values: np.ndarray, radii: np.ndarray, inclusive: bool, order: np.ndarray | None = None
) -> np.ndarray:
    """The 1-D radius counts by sorting once and galloping binary searches per sample.

    ``order`` may pass ``np.argsort(values, kind="stable")`` when the caller has it.
    """
    counts = np.empty(values.shape[0], dtype=np.int64)
    if order is None:
        order = np.argsort(values, kind="stable")
    # Waking the thread pool costs milliseconds, more than a small count itself: the two
    # kernels differ only by prange for that (2 busy cores: N = 5,000, serial 0.44 ms,
    # parallel 18 ms; N = 100,000, 102 ms against 85 ms).
    run = _count_sorted_parallel if values.shape[0] >= PARALLEL_MIN else _count_sorted_serial
    run(values[order], order, radii, inclusive, counts)
    return counts
