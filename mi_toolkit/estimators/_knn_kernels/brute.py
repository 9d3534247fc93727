"""Pruned brute force in numba: k-NN searches, max-norm radius counts, and KL's fused search.

Numba kernels over all pairs in principle, parallel over tiles of ``_TILE_QUERIES`` query
samples (``prange``). The samples are put in kd-tree order (median splits on the widest
coordinate, leaves of at most ``_TILE_POINTS``), each leaf is a block of references with
its bounding box, and a block is skipped for a query when its box lies beyond the
query's current k-th distance (or its radius, when counting).

Exactness: the box gap is a lower bound on every *computed* distance in the block (for
lo <= p, fl(p - q) >= fl(lo - q) since rounding is monotone), so skipping changes no
neighbour and no count. Squared Euclidean gaps are summed in another order than the
distances and may round up by a few ulps, so they are compared with a relative margin
(``_GAP_MARGIN``). Neighbours are merged so that ties at equal distance keep the lower
index first, whatever order the blocks come in: the same k neighbours as a scan in index
order.

Speed: the coordinates are stored transposed so that the distances from one query to a
block are computed one coordinate at a time over contiguous memory and vectorised; each
block is read once per tile of queries. Counting in each marginal of KSG in that
marginal's own kd order (:func:`count_brute` lays out the points it is given) gives
tighter boxes than the joint order: on 10+10-D Gaussian pairs at N = 50,000, 37% of the
blocks are left to scan against 62%. KL finds its three searches (x, y, joint) in one
pass (:func:`knn_fused_euclidean`). 20-D KSG at N = 100,000 takes about 13 s on 2 cores.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit, prange

from mi_toolkit._progress import progress_reporter
from mi_toolkit.estimators._knn_kernels._shared import within_radius

# Tiles of the brute-force kernels: each block of references (a kd leaf of at most
# _TILE_POINTS samples) is read once per _TILE_QUERIES queries. Leaves of at most 256 and
# 512 measured alike, 128 a third slower, 1,024 a tenth (KSG, 20-D, N = 50,000).
_TILE_QUERIES = 64
_TILE_POINTS = 256
# From this many samples a brute-force search takes long enough (several seconds in
# 20-D) to print progress on a terminal.
_PROGRESS_MIN = 50_000


# -- distances from one query to a block of references --------------------------------
#
# Coordinates are stored transposed, (d, n), so that the distances from one query to a
# block of references are computed one coordinate at a time over contiguous memory,
# which LLVM vectorises (indexing rows by slices, not transposed[c, start + j], is what
# lets it: 0.2 ns per pair and coordinate against 0.4). Early exit per pair was tried and
# is slower in 10+ dimensions: the k-th neighbour radius is so large there that few pairs
# can be dropped early; whole blocks can (bounding boxes, below).


# fastmath lets LLVM vectorise max() (no NaN can reach a kernel: inputs are validated).
@njit(cache=True, fastmath=True)
def _block_distances(transposed, query, start, stop, max_norm, out):
    # out[j - start] = ||p_j - query|| (max-norm), or its square (Euclidean). Four
    # coordinates per sweep over the block: a quarter of the loads and stores of `out`.
    # Row slices (not transposed[c, start + j]) let LLVM prove unit stride and vectorise.
    width = stop - start
    d = transposed.shape[0]
    for j in range(width):
        out[j] = 0.0
    c = 0
    while c + 4 <= d:
        r0, r1 = transposed[c, start:stop], transposed[c + 1, start:stop]
        r2, r3 = transposed[c + 2, start:stop], transposed[c + 3, start:stop]
        v0, v1, v2, v3 = query[c], query[c + 1], query[c + 2], query[c + 3]
        if max_norm:
            for j in range(width):
                near = max(abs(r0[j] - v0), abs(r1[j] - v1))
                far = max(abs(r2[j] - v2), abs(r3[j] - v3))
                out[j] = max(out[j], max(near, far))
        else:
            for j in range(width):
                e0, e1, e2, e3 = r0[j] - v0, r1[j] - v1, r2[j] - v2, r3[j] - v3
                out[j] += (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)
        c += 4
    while c < d:
        row, value = transposed[c, start:stop], query[c]
        if max_norm:
            for j in range(width):
                out[j] = max(out[j], abs(row[j] - value))
        else:
            for j in range(width):
                diff = row[j] - value
                out[j] += diff * diff
        c += 1


def _query_ranges(n: int, progress: bool | None, label: str):
    """Yield (first, last) query ranges: one, or about 50 with a progress line after each."""
    show = progress if progress is not None else (n >= _PROGRESS_MIN and sys.stderr.isatty())
    if not show:
        yield 0, n
        return
    report = progress_reporter(label, n, True)
    step = _TILE_QUERIES * max(1, -(-n // (50 * _TILE_QUERIES)))
    for first in range(0, n, step):
        last = min(first + step, n)
        yield first, last
        report(last)


@njit(cache=True, fastmath=True)
def _count_below(values, width, radius, inclusive):
    found = 0
    if inclusive:
        for j in range(width):
            found += values[j] <= radius
    else:
        for j in range(width):
            found += values[j] < radius
    return found


@njit(cache=True)
def _exclude_self(block, start, stop, query_index):
    if start <= query_index < stop:
        block[query_index - start] = np.inf


def kd_blocks(points: np.ndarray, leaf: int) -> tuple[np.ndarray, np.ndarray]:
    """A kd-tree order of the samples and the starts of its leaves (plus n at the end).

    Each node is split at its median along its widest coordinate until at most ``leaf``
    samples remain, so consecutive samples in the order are close together and each
    leaf has a small bounding box. Loops over the nodes only (about 2 n / leaf of them).
    """
    n = points.shape[0]
    order = np.arange(n)
    starts = []
    stack = [(0, n)]
    while stack:
        a, b = stack.pop()
        if b - a <= leaf:
            starts.append(a)
            continue
        members = order[a:b]
        values = points[members]
        axis = int(np.argmax(values.max(axis=0) - values.min(axis=0)))
        half = (b - a) // 2
        order[a:b] = members[np.argpartition(values[:, axis], half)]
        stack.append((a + half, b))
        stack.append((a, a + half))
    return order, np.append(np.sort(np.array(starts, dtype=np.int64)), n)


def _boxes(points: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block of consecutive rows, the lower and upper corners of its bounding box."""
    return np.minimum.reduceat(points, starts[:-1]), np.maximum.reduceat(points, starts[:-1])


def _kd_layout(points: np.ndarray) -> tuple[np.ndarray, ...]:
    """(order, leaf starts, points in that order, the same transposed, box lows, highs)."""
    order, starts = kd_blocks(points, _TILE_POINTS)
    ordered = np.ascontiguousarray(points[order])
    lo, hi = _boxes(ordered, starts)
    return order, starts, ordered, np.ascontiguousarray(ordered.T), lo, hi


@njit(cache=True)
def _tile(first, last, t):
    # Queries of tile t of the range first..last-1.
    q_start = first + t * _TILE_QUERIES
    return q_start, min(q_start + _TILE_QUERIES, last)


@njit(cache=True)
def _n_tiles(first, last):
    return (last - first + _TILE_QUERIES - 1) // _TILE_QUERIES


@njit(cache=True)
def _box_gap(lo, hi, b, query, c0, c1):
    # A lower bound on the max-norm distance over coordinates c0..c1-1 from query to any
    # point of box b: for lo <= p, fl(p - q) >= fl(lo - q) since rounding is monotone,
    # so no computed |p - q| is below it.
    gap = 0.0
    for c in range(c0, c1):
        gap = max(gap, lo[b, c] - query[c - c0], query[c - c0] - hi[b, c])
    return gap


@njit(cache=True)
def _box_gap_squared(lo, hi, b, query, c0, c1):
    # A lower bound on the squared Euclidean distance over coordinates c0..c1-1 from query
    # to box b (compare it with a margin: it is summed in another order than the
    # distances themselves, so it may round up by a few ulps).
    total = 0.0
    for c in range(c0, c1):
        gap = max(0.0, lo[b, c] - query[c - c0], query[c - c0] - hi[b, c])
        total += gap * gap
    return total


# Relative margin on the squared gaps above: far above their rounding (1e-15), far below
# any gap that matters.
_GAP_MARGIN = 1.0 - 1e-9


@njit(cache=True)
def _ranked_merge(block, start, width, labels, best_d, best_i):
    # Keep the k smallest (distance, label) pairs, best_i holding labels: the same k
    # neighbours as a scan in label order that keeps the first of equal distances,
    # whatever order the blocks come in. `block` holds +inf at the query itself.
    k = best_d.shape[0]
    found = 0
    bound = best_d[k - 1]
    for j in range(width):
        found += block[j] <= bound
    if found == 0:
        return
    for j in range(width):
        d = block[j]
        label = labels[start + j]
        if d < best_d[k - 1] or (d == best_d[k - 1] and label < best_i[k - 1]):
            pos = k - 1
            while pos > 0 and (
                best_d[pos - 1] > d or (best_d[pos - 1] == d and best_i[pos - 1] > label)
            ):
                best_d[pos] = best_d[pos - 1]
                best_i[pos] = best_i[pos - 1]
                pos -= 1
            best_d[pos] = d
            best_i[pos] = label


@njit(cache=True)
def _tile_visit_order(lo, hi, first_x, first_y):
    # Blocks nearest the tile's first query (its x and y parts, or all of it and an empty
    # y) first, so that the k-th distances shrink early and later blocks are pruned.
    d_x = first_x.shape[0]
    gaps = np.empty(lo.shape[0])
    for b in range(lo.shape[0]):
        gaps[b] = max(
            _box_gap(lo, hi, b, first_x, 0, d_x),
            _box_gap(lo, hi, b, first_y, d_x, d_x + first_y.shape[0]),
        )
    return np.argsort(gaps)


@njit(cache=True)
def _knn_tile(points, transposed, labels, starts, lo, hi, max_norm, q_start, q_stop, out):
    # The k nearest other samples of queries q_start..q_stop-1 (kd order, so close
    # together). Queries are innermost, so a block of references is read from memory once
    # per tile; a block whose bounding box is farther from a query than its current k-th
    # distance is skipped for that query.
    dist, index = out
    d = points.shape[1]
    k = dist.shape[1]
    block = np.empty(_TILE_POINTS)
    for b in _tile_visit_order(lo, hi, points[q_start], points[q_start, :0]):
        r_start, r_stop = starts[b], starts[b + 1]
        for i in range(q_start, q_stop):
            if max_norm:
                gap = _box_gap(lo, hi, b, points[i], 0, d)
            else:
                gap = _box_gap_squared(lo, hi, b, points[i], 0, d) * _GAP_MARGIN
            if gap > dist[i, k - 1]:
                continue
            _block_distances(transposed, points[i], r_start, r_stop, max_norm, block)
            _exclude_self(block, r_start, r_stop, i)
            _ranked_merge(block, r_start, r_stop - r_start, labels, dist[i], index[i])


@njit(cache=True, parallel=True)
def _knn_pruned(points, transposed, labels, starts, lo, hi, max_norm, first, last, out):
    for t in prange(_n_tiles(first, last)):
        q_start, q_stop = _tile(first, last, t)
        _knn_tile(points, transposed, labels, starts, lo, hi, max_norm, q_start, q_stop, out)


def knn_brute(
    points: np.ndarray,
    k: int,
    max_norm: bool,
    progress: bool | None = None,
    label: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (ascending) and indices of the k nearest other samples, all pairs.

    All pairs in principle; the samples are put in kd-tree order and blocks whose
    bounding box lies beyond a query's current k-th distance are skipped, which changes
    no neighbour (ties at equal distance keep the lower index first).
    """
    n = points.shape[0]
    order, starts, ordered, transposed, lo, hi = _kd_layout(points)
    out = (np.full((n, k), np.inf), np.full((n, k), -1, dtype=np.int64))
    for first, last in _query_ranges(n, progress, label or f"{k}-NN search"):
        _knn_pruned(ordered, transposed, order, starts, lo, hi, max_norm, first, last, out)
    dist, index = _unpermute(out, order)
    return (dist if max_norm else np.sqrt(dist)), index


@njit(cache=True)
def _count_tile(points, transposed, starts, lo, hi, radii, inclusive, q_start, q_stop, counts):
    # Radius counts for queries q_start..q_stop-1 (kd order), skipping each block whose
    # bounding box lies beyond the query's radius.
    d = points.shape[1]
    buffer = np.empty(_TILE_POINTS)
    for i in range(q_start, q_stop):
        counts[i] = 0
    for b in range(starts.shape[0] - 1):
        r_start, r_stop = starts[b], starts[b + 1]
        for i in range(q_start, q_stop):
            if within_radius(_box_gap(lo, hi, b, points[i], 0, d), radii[i], inclusive):
                _block_distances(transposed, points[i], r_start, r_stop, True, buffer)
                counts[i] += _count_below(buffer, r_stop - r_start, radii[i], inclusive)
    # Less the sample itself (distance 0): inside unless the radius is 0 and strict.
    for i in range(q_start, q_stop):
        counts[i] -= 1 if (inclusive or radii[i] > 0.0) else 0


@njit(cache=True, parallel=True)
def _count_pruned(points, transposed, starts, lo, hi, radii, inclusive, first, last, counts):
    for t in prange(_n_tiles(first, last)):
        q_start, q_stop = _tile(first, last, t)
        _count_tile(points, transposed, starts, lo, hi, radii, inclusive, q_start, q_stop, counts)


def count_brute(
    points: np.ndarray,
    radii: np.ndarray,
    inclusive: bool,
    progress: bool | None = None,
    label: str | None = None,
) -> np.ndarray:
    """Per sample, how many other samples lie within radii[i] in the max-norm.

    All pairs in principle; the samples are put in kd-tree order and blocks whose
    bounding box lies beyond a query's radius are skipped, which changes no count.
    """
    n = points.shape[0]
    order, starts, ordered, transposed, lo, hi = _kd_layout(points)
    counts = np.empty(n, dtype=np.int64)
    for first, last in _query_ranges(n, progress, label or "radius counts"):
        _count_pruned(
            ordered, transposed, starts, lo, hi, radii[order], inclusive, first, last, counts
        )
    return _unpermute((counts,), order)[0]


def _unpermute(values: tuple[np.ndarray, ...], order: np.ndarray) -> tuple[np.ndarray, ...]:
    restored = tuple(np.empty_like(v) for v in values)
    for r, v in zip(restored, values, strict=True):
        r[order] = v
    return restored


@njit(cache=True)
def _kl_tile(x, y, xt, yt, labels, starts, lo, hi, q_start, q_stop, best, index):
    # The nearest neighbours of queries q_start..q_stop-1 (kd order) in x, in y and
    # jointly (squared Euclidean) from one pass, tiled and pruned as in _knn_tile: a
    # block's x (y) distances are computed only if its box may hold an x (y) or joint
    # neighbour; the joint squared distance is the sum of the marginal ones.
    d_x = x.shape[1]
    d_joint = lo.shape[1]
    best_x, best_y, best_xy = best
    block_x = np.empty(_TILE_POINTS)
    block_y = np.empty(_TILE_POINTS)
    joint = np.empty(_TILE_POINTS)
    for b in _tile_visit_order(lo, hi, x[q_start], y[q_start]):
        r_start, r_stop = starts[b], starts[b + 1]
        width = r_stop - r_start
        for i in range(q_start, q_stop):
            gap_x = _box_gap_squared(lo, hi, b, x[i], 0, d_x) * _GAP_MARGIN
            gap_y = _box_gap_squared(lo, hi, b, y[i], d_x, d_joint) * _GAP_MARGIN
            need_joint = gap_x + gap_y <= best_xy[i, -1]
            if need_joint or gap_x <= best_x[i, -1]:
                _block_distances(xt, x[i], r_start, r_stop, False, block_x)
                _exclude_self(block_x, r_start, r_stop, i)
                _ranked_merge(block_x, r_start, width, labels, best_x[i], index[0][i])
            if need_joint or gap_y <= best_y[i, -1]:
                _block_distances(yt, y[i], r_start, r_stop, False, block_y)
                _exclude_self(block_y, r_start, r_stop, i)
                _ranked_merge(block_y, r_start, width, labels, best_y[i], index[1][i])
            if need_joint:
                _sum_of(block_x, block_y, width, joint)
                _ranked_merge(joint, r_start, width, labels, best_xy[i], index[2][i])


@njit(cache=True, fastmath=True)
def _sum_of(a, b, width, out):
    for j in range(width):
        out[j] = a[j] + b[j]


@njit(cache=True, parallel=True)
def _kl_fused(x, y, xt, yt, labels, starts, lo, hi, first, last, best, index):
    for t in prange(_n_tiles(first, last)):
        q_start, q_stop = _tile(first, last, t)
        _kl_tile(x, y, xt, yt, labels, starts, lo, hi, q_start, q_stop, best, index)


def knn_fused_euclidean(
    x: np.ndarray, y: np.ndarray, k_x: int, k_y: int, k_xy: int, progress: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean k-NN distances in x (k_x), in y (k_y) and in (x, y) (k_xy), one pass.

    The samples are put in kd-tree order, and blocks whose bounding box lies beyond a
    query's current k-th distances are skipped, which changes no distance.
    """
    n = x.shape[0]
    order, starts = kd_blocks(np.hstack((x, y)), _TILE_POINTS)
    x, y = np.ascontiguousarray(x[order]), np.ascontiguousarray(y[order])
    lo, hi = _boxes(np.hstack((x, y)), starts)
    ks = (k_x, k_y, k_xy)
    best = tuple(np.full((n, k), np.inf) for k in ks)
    index = tuple(np.full((n, k), -1, dtype=np.int64) for k in ks)
    xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)
    for first, last in _query_ranges(n, progress, "kNN search in x, y and (x, y)"):
        _kl_fused(x, y, xt, yt, order, starts, lo, hi, first, last, best, index)
    return _unpermute(tuple(np.sqrt(squared) for squared in best), order)
