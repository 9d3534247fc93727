"""Nearest-neighbour searches and radius counts for the kNN estimators ("kl", "ksg").

Every routine here takes clean float64 ``(n, d)`` arrays and answers for each sample i
about the *other* samples j != i:

- ``nearest_neighbors(points, k, metric)``: the distances to the k nearest other samples,
  ascending, and their indices (ties at equal distance keep the lower index first in the
  brute-force kernels);
- ``count_within(points, radii, inclusive)``: the number of other samples j with
  ``||p_j - p_i||_max < radii[i]`` (``inclusive=False``) or ``<= radii[i]``
  (``inclusive=True``).

Four engines give the same numbers (``algorithm="auto"`` picks by dimension):

``"grid"`` ("auto" for a 2-D space such as a pair of 1-D variables; the tree elsewhere)
    a numba cell grid with edges at the quantiles of each coordinate, scanned ring by
    ring around each query, parallel over queries.
``"tree"`` ("auto" for k-NN searches in 1-D, and in 3 to 5 dimensions from N = 20,000 on)
    scipy's ``cKDTree``, fast in low dimension but degrading towards N^2 and worse in 10
    or more dimensions (measured on 2 cores at N = 10,000, k = 3: 0.03 s at d = 4, 0.17 s
    at d = 8, 1.5 s at d = 20).
``"brute"`` ("auto" elsewhere, and for every radius count in 2 or more dimensions)
    numba kernels over all pairs in principle, parallel over tiles of 64 query samples
    (``prange``). The samples are put in kd-tree order (median splits on the widest
    coordinate, leaves of at most 256), each leaf is a block of references with its
    bounding box, and a block is skipped for a query when its box lies beyond the
    query's current k-th distance (or its radius, when counting): the box gap is a lower
    bound on every computed distance in the block, so no neighbour or count changes. The
    coordinates are stored transposed so that the distances from one query to a block
    are computed one coordinate at a time over contiguous memory and vectorised; each
    block is read once per tile of queries. KSG finds the joint neighbours, then counts
    in each marginal in that marginal's own kd order (tighter boxes). KL finds its three
    searches (x, y, joint) in one pass. 20-D KSG at N = 100,000 takes about 13 s.
``torch`` (``device=``)
    the same brute force in float64 torch on a device (``"cpu"``, ``"cuda"``, ...), in
    blocks of query rows so that no N x N matrix is held.

One-dimensional radius counts (the marginals of KSG on 1-D pairs) use none of these: the
values are sorted once and each count is two binary searches, O(N log N) in all. The
binary searches compare *differences* ``|s_j - x_i|`` with the radius, exactly as the
other engines do, so a sample at exactly the radius is in or out the same way
everywhere.

Distances are exact for the max-norm (a maximum of absolute differences), so every engine
finds the same neighbours and counts; Euclidean distances agree to rounding (about 1e-15
relative), the engines summing the squares in different orders.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numba import njit, prange

from mi_toolkit._progress import progress_reporter

METRICS = ("euclidean", "max")
ALGORITHMS = ("auto", "grid", "tree", "brute")

# Where the kd-tree beats the pruned brute force for a k-NN search (measured on 2 cores,
# k = 3, Gaussian data): in 1-D, and from 20,000 samples on up to 5 dimensions (at
# N = 100,000 in 4-D tree 0.32 s against brute 0.45 s, max-norm; in 6-D 0.80 s against
# 0.80 s, Euclidean 1.00 s against 1.15 s; in 8-D 1.9 s against 1.0 s). Below 20,000
# samples brute force wins from 3-D on (N = 10,000, 3-D: 0.019 s against 0.013 s; 10-D:
# 0.28 s against 0.04 s). Radius counts are faster by brute force in every dimension
# from 2 on (N = 100,000, 4-D: tree 0.95 s, brute 0.23 s), so "auto" never counts with
# the tree.
_TREE_MAX_DIM = 1
_TREE_MAX_DIM_LARGE_N = 5
_LARGE_N = 20_000
# Tiles of the brute-force kernels: each block of references (a kd leaf of at most
# _TILE_POINTS samples) is read once per _TILE_QUERIES queries. Leaves of at most 256 and
# 512 measured alike, 128 a third slower, 1,024 a tenth (KSG, 20-D, N = 50,000).
_TILE_QUERIES = 64
_TILE_POINTS = 256
# From this many samples a brute-force search takes long enough (several seconds in
# 20-D) to print progress on a terminal.
_PROGRESS_MIN = 50_000
# Below this many samples the serial kernels and single-threaded trees are faster.
_PARALLEL_MIN = 20_000
# Elements of one torch distance block.
_TORCH_BLOCK_ELEMENTS = 2**24


# -- brute force (numba) ---------------------------------------------------------------
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
            if _may_count(_box_gap(lo, hi, b, points[i], 0, d), radii[i], inclusive):
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
    label: str = "radius counts",
) -> np.ndarray:
    """Per sample, how many other samples lie within radii[i] in the max-norm.

    All pairs in principle; the samples are put in kd-tree order and blocks whose
    bounding box lies beyond a query's radius are skipped, which changes no count.
    """
    n = points.shape[0]
    order, starts, ordered, transposed, lo, hi = _kd_layout(points)
    counts = np.empty(n, dtype=np.int64)
    for first, last in _query_ranges(n, progress, label):
        _count_pruned(
            ordered, transposed, starts, lo, hi, radii[order], inclusive, first, last, counts
        )
    return _unpermute((counts,), order)[0]


@njit(cache=True)
def _may_count(gap, radius, inclusive):
    return gap <= radius if inclusive else gap < radius


def ksg_brute(
    x: np.ndarray, y: np.ndarray, k: int, variant: int, progress: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KSG radii and marginal counts by brute force over all pairs (max-norm).

    Returns the joint k-th neighbour distance ε_i and, for ``variant=1``, the numbers of
    other samples strictly within ε_i in x and in y; for ``variant=2``, the numbers
    within (<=) the x- and y-extents of the k neighbours (ties at the k-th distance
    keep the lowest indices).
    """
    dist, index = knn_brute(np.hstack((x, y)), k, True, progress, "KSG joint neighbours")
    if variant == 1:
        radius_x = radius_y = dist[:, -1]
    else:
        radius_x, radius_y = neighbour_extent(x, index), neighbour_extent(y, index)
    # The marginal counts, each in a kd order of its own: boxes in x alone are tighter
    # in x than boxes of the joint order (10+10-D Gaussian pairs, N = 50,000: 37% of the
    # blocks left to scan against 62%).
    inclusive = variant == 2
    count_x = count_brute(x, radius_x, inclusive, progress, "KSG counts in x")
    count_y = count_brute(y, radius_y, inclusive, progress, "KSG counts in y")
    return dist[:, -1], count_x, count_y


def neighbour_extent(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per sample, the largest max-norm distance to the neighbours listed in ``index``."""
    return np.abs(values[index] - values[:, None, :]).max(axis=(1, 2))


def _unpermute(values: tuple[np.ndarray, ...], order: np.ndarray) -> tuple[np.ndarray, ...]:
    restored = tuple(np.empty_like(v) for v in values)
    for r, v in zip(restored, values, strict=True):
        r[order] = v
    return restored


@njit(cache=True)
def _kl_tile(x, y, xt, yt, labels, starts, lo, hi, q_start, q_stop, best, index):
    # The nearest neighbours of queries q_start..q_stop-1 (kd order) in x, in y and
    # jointly (squared Euclidean) from one pass, tiled and pruned as in _ksg_tile: a
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


# -- one dimension: sorting and binary search ------------------------------------------


@njit(cache=True)
def _inside(gap, radius, inclusive):
    return gap <= radius if inclusive else gap < radius


@njit(cache=True)
def _count_one_sorted(sorted_values, q, radius, inclusive):
    # Samples within the radius of sorted_values[q] form a run around position q. Gallop
    # outwards from q (doubling steps) and finish with a binary search: O(log count), and
    # the memory touched stays near q, which keeps the search in cache when the queries
    # come in sorted order. Differences are compared with the radius, as everywhere.
    if not _inside(0.0, radius, inclusive):
        return 0  # strictly within a radius of 0: nothing, not even a repeat
    q = np.int64(q)  # a prange index may come in unsigned; keep the arithmetic signed
    n = sorted_values.shape[0]
    value = sorted_values[q]
    # Right end: first position whose difference is outside.
    inside_hi, step = q, 1
    while inside_hi + step < n and _inside(
        sorted_values[inside_hi + step] - value, radius, inclusive
    ):
        inside_hi += step
        step *= 2
    low, high = inside_hi + 1, min(inside_hi + step, n)
    while low < high:
        mid = (low + high) // 2
        if _inside(sorted_values[mid] - value, radius, inclusive):
            low = mid + 1
        else:
            high = mid
    right = low
    # Left end: first position whose difference is inside.
    inside_lo, step = q, 1
    while inside_lo - step >= 0 and _inside(
        value - sorted_values[inside_lo - step], radius, inclusive
    ):
        inside_lo -= step
        step *= 2
    low, high = max(inside_lo - step + 1, 0), inside_lo
    while low < high:
        mid = (low + high) // 2
        if _inside(value - sorted_values[mid], radius, inclusive):
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
    # Waking the thread pool costs milliseconds, more than a small count itself.
    run = _count_sorted_parallel if values.shape[0] >= _PARALLEL_MIN else _count_sorted_serial
    run(values[order], order, radii, inclusive, counts)
    return counts


# -- two dimensions: a cell grid --------------------------------------------------------
#
# For the joint space of two 1-D variables (the commonest case) a grid beats the kd-tree.
# Cell edges sit at the quantiles of each coordinate, so every column and row of cells
# holds the same number of points whatever the marginals look like. Each query scans
# rings of cells around its own until its k-th best distance is no larger than the
# distance from the query to the edge of the square scanned so far: every point outside
# is at least that far away (fl(x - x') >= fl(x - edge) for x' < edge, since rounding is
# monotone), so the k-th distance is final.


def _grid_axis(
    values: np.ndarray, order: np.ndarray, per_axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cell of each value by rank, and the per_axis + 1 edges (-inf, quantiles, +inf).

    Edge c is the value of rank ⌊c n / per_axis⌋: no value in a cell below c exceeds it and
    no value in cell c or above falls below it, which is all the search's reach needs.
    """
    n = values.shape[0]
    cells = np.empty(n, dtype=np.int64)
    cells[order] = np.arange(n, dtype=np.int64) * per_axis // n
    edges = np.empty(per_axis + 1)
    edges[0], edges[-1] = -np.inf, np.inf
    edges[1:-1] = values[order[(np.arange(1, per_axis) * n) // per_axis]]
    return edges, cells


@njit(cache=True)
def _cell_order(cell, n_cells):
    # Counting sort: the samples by cell, and where each cell's run starts.
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(cell.shape[0]):
        start[cell[i] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    filled = start[:-1].copy()
    order = np.empty(cell.shape[0], dtype=np.int64)
    for i in range(cell.shape[0]):
        order[filled[cell[i]]] = i
        filled[cell[i]] += 1
    return order, start


@njit(cache=True)
def _grid_scan_cell(points, start, cell, i, max_norm, dist, index):
    # Rows of dist/index are passed whole with i, not as views: a view per cell costs more
    # than scanning the cell's few points.
    k = dist.shape[1]
    px, py = points[i, 0], points[i, 1]
    for j in range(start[cell], start[cell + 1]):
        if j == i:
            continue
        dx = abs(points[j, 0] - px)
        dy = abs(points[j, 1] - py)
        d = max(dx, dy) if max_norm else dx * dx + dy * dy
        if d < dist[i, k - 1]:
            pos = k - 1
            while pos > 0 and dist[i, pos - 1] > d:
                dist[i, pos] = dist[i, pos - 1]
                index[i, pos] = index[i, pos - 1]
                pos -= 1
            dist[i, pos] = d
            index[i, pos] = j


@njit(cache=True)
def _grid_reach(x, y, edges_x, edges_y, cx, cy, ring, per_axis):
    # Distance from (x, y) to the edge of the square of cells within `ring` of its own.
    reach = np.inf
    if cx - ring > 0:
        reach = min(reach, x - edges_x[cx - ring])
    if cx + ring + 1 < per_axis:
        reach = min(reach, edges_x[cx + ring + 1] - x)
    if cy - ring > 0:
        reach = min(reach, y - edges_y[cy - ring])
    if cy + ring + 1 < per_axis:
        reach = min(reach, edges_y[cy + ring + 1] - y)
    return reach


@njit(cache=True, parallel=True)
def _knn_grid(points, k, max_norm, edges_x, edges_y, cell_x, cell_y, start):
    # points, cell_x and cell_y are sorted by cell; cell c holds rows start[c]:start[c+1].
    # Scanning contiguous rows, queries in cell order, keeps the search in cache.
    n = points.shape[0]
    per_axis = edges_x.shape[0] - 1
    dist = np.full((n, k), np.inf)
    index = np.full((n, k), -1, dtype=np.int64)
    for i in prange(n):
        cx, cy = cell_x[i], cell_y[i]
        ring = 0
        while True:
            for gy in range(max(cy - ring, 0), min(cy + ring, per_axis - 1) + 1):
                edge_row = gy == cy - ring or gy == cy + ring
                step = 1 if edge_row or ring == 0 else 2 * ring
                for gx in range(cx - ring, cx + ring + 1, step):
                    if 0 <= gx < per_axis:
                        _grid_scan_cell(points, start, gy * per_axis + gx, i, max_norm, dist, index)
            reach = _grid_reach(
                points[i, 0], points[i, 1], edges_x, edges_y, cx, cy, ring, per_axis
            )
            if dist[i, k - 1] <= (reach if max_norm else reach * reach):
                break
            ring += 1
    if not max_norm:
        for i in prange(n):
            for m in range(k):
                dist[i, m] = math.sqrt(dist[i, m])
    return dist, index


def knn_grid(
    points: np.ndarray,
    k: int,
    max_norm: bool,
    axis_orders: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other samples of 2-D points, by a quantile cell grid.

    ``axis_orders`` may pass the stable argsorts of the two columns when the caller has
    them already (KSG sorts the marginals for its counts).
    """
    n = points.shape[0]
    if axis_orders is None:
        axis_orders = tuple(np.argsort(points[:, axis], kind="stable") for axis in (0, 1))
    per_axis = max(1, int(math.sqrt(n / 2.0)))  # about two samples per cell on average
    edges_x, cells_x = _grid_axis(points[:, 0], axis_orders[0], per_axis)
    edges_y, cells_y = _grid_axis(points[:, 1], axis_orders[1], per_axis)
    order, start = _cell_order(cells_y * per_axis + cells_x, per_axis * per_axis)
    dist, index = _knn_grid(
        np.ascontiguousarray(points[order]),
        k,
        max_norm,
        edges_x,
        edges_y,
        cells_x[order],
        cells_y[order],
        start,
    )
    # Back from cell order to the caller's order, rows and neighbour labels alike.
    rows = np.empty_like(order)
    rows[order] = np.arange(n)
    return dist[rows], order[index[rows]]


# -- kd-tree (scipy) ---------------------------------------------------------------------


def _workers(n: int) -> int:
    return -1 if n >= _PARALLEL_MIN else 1


def _knn_tree(points: np.ndarray, k: int, max_norm: bool) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    p = np.inf if max_norm else 2.0
    dist, index = tree.query(points, k=k + 1, p=p, workers=_workers(points.shape[0]))
    dist = np.asarray(dist, dtype=np.float64).reshape(points.shape[0], k + 1)
    index = np.asarray(index, dtype=np.int64).reshape(points.shape[0], k + 1)
    return _drop_self(dist, index)


def _drop_self(dist: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query's own row from a (n, k+1) neighbour list that includes it."""
    n, width = index.shape
    own = index == np.arange(n)[:, None]
    # With duplicates the sample itself may not come first; if it is missing altogether
    # (more than k duplicates), drop the last column instead.
    missing = ~own.any(axis=1)
    own[missing, width - 1] = True
    keep = ~own
    return (
        dist[keep].reshape(n, width - 1),
        index[keep].reshape(n, width - 1),
    )


def _count_tree(points: np.ndarray, radii: np.ndarray, inclusive: bool) -> np.ndarray:
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    # cKDTree counts distance <= r; the float just below r turns that into < r.
    r = radii if inclusive else np.nextafter(radii, 0.0)
    found = tree.query_ball_point(
        points, r, p=np.inf, return_length=True, workers=_workers(points.shape[0])
    )
    counts = np.asarray(found, dtype=np.int64) - 1  # every sample finds itself
    if not inclusive:
        counts[radii <= 0.0] = 0  # nothing is strictly closer than 0
    return counts


# -- torch ---------------------------------------------------------------------------------


def _torch_rows(n: int) -> int:
    return max(1, min(n, _TORCH_BLOCK_ELEMENTS // max(n, 1)))


def _torch_distances(torch, block, points, max_norm):
    if max_norm:
        return torch.cdist(block, points, p=float("inf"))
    # The direct (a - b)^2 sum, not the ||a||^2 + ||b||^2 - 2ab shortcut, to match numba.
    return torch.cdist(block, points, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")


def _torch_blocks(points: np.ndarray, max_norm: bool, device: str):
    """Yield (start, stop, distances from rows start:stop to all rows), self at +inf."""
    import torch

    t = torch.as_tensor(points, dtype=torch.float64, device=torch.device(device))
    n = t.shape[0]
    rows = _torch_rows(n)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = _torch_distances(torch, t[start:stop], t, max_norm)
        own = torch.arange(start, stop, device=t.device)
        block[own - start, own] = math.inf
        yield start, stop, block


def knn_torch(
    points: np.ndarray, k: int, max_norm: bool, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other samples by brute force in float64 torch on ``device``."""
    import torch

    n = points.shape[0]
    dist = np.empty((n, k))
    index = np.empty((n, k), dtype=np.int64)
    for start, stop, block in _torch_blocks(points, max_norm, device):
        values, found = torch.topk(block, k, dim=1, largest=False, sorted=True)
        dist[start:stop] = values.cpu().numpy()
        index[start:stop] = found.cpu().numpy()
    return dist, index


def count_torch(points: np.ndarray, radii: np.ndarray, inclusive: bool, device: str) -> np.ndarray:
    """The max-norm radius counts by brute force in float64 torch on ``device``."""
    import torch

    counts = np.empty(points.shape[0], dtype=np.int64)
    for start, stop, block in _torch_blocks(points, True, device):
        bound = torch.as_tensor(radii[start:stop, None], device=block.device)
        inside = block <= bound if inclusive else block < bound
        counts[start:stop] = inside.sum(dim=1).cpu().numpy()
    return counts


# -- dispatch ------------------------------------------------------------------------------


def resolve_algorithm(algorithm: str, dim: int, n: int) -> str:
    """``"grid"``, ``"tree"`` or ``"brute"`` for a search among n points in ``dim`` dimensions.

    ``"grid"`` applies to 2-D spaces only; asked for elsewhere, the kd-tree stands in.
    """
    if algorithm == "auto":
        if dim == 2:
            return "grid"
        if dim <= _TREE_MAX_DIM or (dim <= _TREE_MAX_DIM_LARGE_N and n >= _LARGE_N):
            return "tree"
        return "brute"
    if algorithm == "grid" and dim != 2:
        return "tree"
    return algorithm


def nearest_neighbors(
    points: np.ndarray,
    k: int,
    metric: str,
    algorithm: str = "auto",
    device: str | None = None,
    axis_orders: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Distances and indices of the k nearest other samples, and the engine used.

    Parameters
    ----------
    points:
        ``(n, d)`` C-contiguous float64, n > k.
    k:
        Number of neighbours, >= 1.
    metric:
        ``"euclidean"`` or ``"max"`` (Chebyshev).
    algorithm:
        ``"auto"``, ``"grid"`` (2-D only), ``"tree"`` or ``"brute"``; ignored when
        ``device`` is a torch device.
    device:
        A torch device name, or None for numba/scipy.
    axis_orders:
        Stable argsorts of the two columns of 2-D points, if at hand (grid only).
    progress:
        Progress lines on stderr for a brute-force search; None: on a terminal from
        50,000 samples on.
    """
    max_norm = metric == "max"
    if device is not None:
        dist, index = knn_torch(points, k, max_norm, device)
        return dist, index, f"torch:{device}"
    engine = resolve_algorithm(algorithm, points.shape[1], points.shape[0])
    if engine == "grid":
        dist, index = knn_grid(points, k, max_norm, axis_orders)
    elif engine == "tree":
        dist, index = _knn_tree(points, k, max_norm)
    else:
        dist, index = knn_brute(points, k, max_norm, progress)
    return dist, index, engine


def count_within(
    points: np.ndarray,
    radii: np.ndarray,
    inclusive: bool,
    algorithm: str = "auto",
    device: str | None = None,
    order: np.ndarray | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Per sample i, the number of other samples j with ``||p_j - p_i||_max`` < (or <=) r_i.

    ``order`` may pass the stable argsort of 1-D points, if at hand; ``progress`` is as
    for :func:`nearest_neighbors`.
    """
    if device is not None:
        return count_torch(points, radii, inclusive, device)
    if points.shape[1] == 1:
        return count_sorted(np.ascontiguousarray(points[:, 0]), radii, inclusive, order)
    if algorithm in ("grid", "tree"):
        return _count_tree(points, radii, inclusive)
    return count_brute(points, radii, inclusive, progress)
