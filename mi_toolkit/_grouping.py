"""Grouping samples by identical rows, and the empirical log-probabilities of the groups.

Discrete variables (labels, inputs grouped by unique rows, binned activations) enter
every estimator as integer group labels. Rows are hashed in a numba kernel with open
addressing, which is O(n·d) and avoids ``np.unique(..., axis=0)``'s sort of void views.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _splitmix64(z: np.uint64) -> np.uint64:
    # splitmix64 finaliser: every input bit reaches every output bit, so a linear
    # probe over a power-of-two table stays short even for structured keys.
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _rows_equal(keys: np.ndarray, a: int, b: int) -> bool:
    for k in range(keys.shape[1]):
        if keys[a, k] != keys[b, k]:
            return False
    return True


@njit(cache=True)
def _label_rows(keys: np.ndarray) -> tuple[np.ndarray, int]:
    n, d = keys.shape
    size = 1
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    first_row = np.full(size, -1, dtype=np.int64)
    slot_label = np.empty(size, dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    n_groups = 0
    for i in range(n):
        h = np.uint64(d)
        for k in range(d):
            h = _splitmix64(h ^ keys[i, k])
        slot = h & mask
        while True:
            r = first_row[slot]
            if r == -1:
                first_row[slot] = i
                slot_label[slot] = n_groups
                labels[i] = n_groups
                n_groups += 1
                break
            if _rows_equal(keys, r, i):
                labels[i] = slot_label[slot]
                break
            slot = (slot + np.uint64(1)) & mask
    return labels, n_groups


def group_rows(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Label each row of a 2-D array by its group of identical rows.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, d)`` array of float64 or int64. Floats compare by value (``-0.0 == 0.0``).

    Returns
    -------
    labels : numpy.ndarray
        ``labels[i]`` in ``0 .. n_groups-1``, numbered in order of first appearance.
    n_groups : int
        The number of groups.
    """
    if values.dtype == np.float64:
        # Adding 0.0 turns -0.0 into +0.0, so equal values get equal bit patterns.
        keys = np.ascontiguousarray(values + 0.0).view(np.uint64)
    elif values.dtype == np.int64:
        keys = np.ascontiguousarray(values).view(np.uint64)
    else:
        raise TypeError(f"group_rows takes float64 or int64 arrays, got {values.dtype}")
    return _label_rows(keys.reshape(values.shape[0], -1))


def group_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the joint groups of two arrays of labels (non-negative integers below n)."""
    n = a.shape[0]
    if n < 2**31:
        # One key per pair, a·n + b, is hashed as one column instead of two.
        return group_rows((a.astype(np.int64) * n + b).reshape(-1, 1))
    return group_rows(np.column_stack((a, b)).astype(np.int64, copy=False))


def pair_log_probabilities(
    a: np.ndarray, a_groups: int, b: np.ndarray, b_groups: int
) -> tuple[np.ndarray, int]:
    """Per-sample log p̂ of each sample's pair of labels, and how many pairs occur.

    The same as :func:`log_group_probabilities` of :func:`group_pairs`, without labelling
    the pairs: when the table of all ``a_groups × b_groups`` pairs is small (a layer's
    bins against a few classes) the pairs are counted in it directly, with no hashing.
    """
    n = a.shape[0]
    if a_groups * b_groups > 8 * n:
        labels, n_pairs = group_pairs(a, b)
        return log_group_probabilities(labels, n_pairs), n_pairs
    return _pair_log_probabilities(
        np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), a_groups, b_groups
    )


@njit(cache=True)
def _pair_log_probabilities(
    a: np.ndarray, b: np.ndarray, a_groups: int, b_groups: int
) -> tuple[np.ndarray, int]:
    cells = np.empty(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        if a[i] < 0 or a[i] >= a_groups or b[i] < 0 or b[i] >= b_groups:
            raise ValueError("a group label lies outside 0 .. n_groups - 1")
        cells[i] = a[i] * b_groups + b[i]
    return _log_frequencies(cells, a_groups * b_groups)


def log_group_probabilities(labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-sample log p̂(group of sample i), with p̂ the empirical frequency."""
    return _log_group_probabilities(np.asarray(labels, dtype=np.int64), n_groups)


@njit(cache=True)
def _log_group_probabilities(labels: np.ndarray, n_groups: int) -> np.ndarray:
    # One kernel instead of numpy's bincount, log and gather: a sixth of the time, which
    # counts when the information plane does this for thousands of layers.
    for label in labels:
        if label < 0 or label >= n_groups:
            raise ValueError("a group label lies outside 0 .. n_groups - 1")
    return _log_frequencies(labels, n_groups)[0]


@njit(cache=True)
def _log_frequencies(cells: np.ndarray, n_cells: int) -> tuple[np.ndarray, int]:
    """Per-sample log p̂ of its cell (labels known to lie in 0 .. n_cells - 1), and how many
    cells are occupied."""
    n = cells.shape[0]
    counts = np.zeros(n_cells, dtype=np.int64)
    for cell in cells:
        counts[cell] += 1
    # One log per occupied cell, then a gather: cells are far fewer than samples, and logs
    # cost more than the counting.
    log_n = np.log(n)
    log_p = np.full(n_cells, -np.inf)
    occupied = 0
    for cell in range(n_cells):
        if counts[cell] > 0:
            occupied += 1
            log_p[cell] = np.log(counts[cell]) - log_n
    out = np.empty(n)
    for i in range(n):
        out[i] = log_p[cells[i]]
    return out, occupied
