"""Kernel sums for the pairwise-distance KDE bounds.

For points t_1..t_N and a scale c, these return, per point i,

    log S_i      = log sum_j         exp(-c ||t_i - t_j||^2)
    log S_i^same = log sum_{j: g_j = g_i} exp(-c ||t_i - t_j||^2)

Up to _GRID_MAX_FEATURES features (the information plane's layers) the points fall into
rows of a grid in their second and third principal coordinates, sorted along the first,
and each pair that may lie within the cutoff radius gets its distance from the
differences (see _grid_rows): each point's neighbours form a few contiguous runs, whose
terms are computed a run at a time in loops that LLVM vectorises (coordinates stored
feature-major, selects instead of branches, and a polynomial exp, _exp_of_negative,
since math.exp is a call that stops vectorisation). Those loops add in another order
(fastmath reassociation) and the polynomial is within 2 ulp of libm's exp: the sums
agree with a scalar loop over pairs to about 1e-13 relative (6.5e-14 at most over every
27th epoch of the 12-bit tanh run). Beyond, squared distances come from BLAS matrix
products, ||a||^2 + ||b||^2 - 2 a.b, one panel of rows at a time. Either way only pairs
j > i are met (the kernel is symmetric), so that no N x N matrix is held and each exp is
computed once. The self term (j = i) is exactly 1, the largest term, so the sums need no
max-shift to be stable and are never below 1; terms too small to change such a sum are
skipped.

Two numerical guards keep this right at any scale. The points are centred and divided by
a power of two (exact) so that their largest magnitude lies in [1/2, 1): ||a||^2 can then
neither overflow (values near 1e160 and beyond made it inf, and inf - inf gave NaN) nor
underflow, and the scale c absorbs the factor (c s^2, which may itself be 0 or inf: all
points within one kernel width, or every distinct pair infinitely far apart). And the
panels' formula ||a||^2 + ||b||^2 - 2 a.b loses up to (2d + 4) u (||a||^2 + ||b||^2) to
rounding (u = 2^-53); where that error, times c, could move a kernel argument by more
than _TRUSTED_ARGUMENT_ERROR, the distance of that pair is computed directly from the
differences instead.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import get_num_threads, get_thread_id, njit, prange, types
from numba.extending import intrinsic
from threadpoolctl import threadpool_limits

# Elements of one block of the Gram matrix: 16 MiB of float64 stays in cache-friendly reach.
_BLOCK_ELEMENTS = 2**21
# torch blocks: large ones keep a GPU busy; on a CPU they fall out of cache (2**24 took
# 2.6x longer than 2**20 at N = 10,000).
_TORCH_BLOCK_ELEMENTS = {"cuda": 2**24, "cpu": 2**20}
# Largest rounding error in a kernel argument accepted from the Gram formula: a relative
# error of 1e-9 in one kernel term, far below the estimator's sampling error.
_TRUSTED_ARGUMENT_ERROR = 1e-9
_UNIT_ROUNDOFF = 2.0**-53
# Up to this many features the kernel sums come from a cell grid with distances taken
# from the differences; beyond, from BLAS panels of the Gram matrix swept along one axis.
_GRID_MAX_FEATURES = 12


def rounding_tolerance(n_features: int) -> float:
    """Bound on |error| of ||a||^2 + ||b||^2 - 2 a.b, relative to ||a||^2 + ||b||^2."""
    return (2 * n_features + 4) * _UNIT_ROUNDOFF


def prepared_points(points: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Centred points divided by a power of two, and the kernel scale in those units.

    Both divisions by 2^e are exact, so the kernel arguments c ||t_i - t_j||^2 are the
    same numbers as before, but no squared norm overflows or underflows. The returned
    scale may be inf (distinct points are infinitely many kernel widths apart) or 0.
    """
    exponent = int(np.frexp(np.abs(points).max())[1])
    # Scale before centring too: the mean of values near 1e308 overflows.
    shifted = np.ldexp(points, -exponent)
    centred = shifted - shifted.mean(axis=0)
    spread = np.abs(centred).max()
    extra = int(np.frexp(spread)[1]) if spread > 0 else 0
    centred = np.ascontiguousarray(np.ldexp(centred, -extra))
    with np.errstate(over="ignore", under="ignore"):
        unit_scale = float(np.ldexp(scale, 2 * (exponent + extra)))
    return centred, unit_scale


def needs_exact_distances(squared_norms: np.ndarray, tolerance: float, scale: float) -> bool:
    """Whether any pair's Gram-formula rounding, times the scale, could pass the trusted
    error; when none can (ordinary data), the kernels skip the per-pair guard."""
    with np.errstate(over="ignore", invalid="ignore"):
        worst = 2.0 * float(squared_norms.max()) * tolerance * scale
    return not (worst <= _TRUSTED_ARGUMENT_ERROR)  # NaN (0 * inf) counts as careful


@njit(cache=True)
def _squared_distance(points, i, j):
    total = 0.0
    for k in range(points.shape[1]):
        difference = points[i, k] - points[j, k]
        total += difference * difference
    return total


@njit(cache=True, parallel=True)
def _panel_kernel_sums(
    gram,
    sq_panel,
    sq_rest,
    points,
    first_row,
    ends,
    scale,
    cutoff,
    tolerance,
    careful,
    groupings,
    total,
    same,
    col_total,
    col_same,
):
    # gram[r, c] = <t_i, t_j> for i = first_row + r and j = first_row + c, so the panel
    # covers the pairs j >= i. Each pair's exp is computed once and credited to row i
    # here and to row j through this thread's column accumulator, halving the work.
    # ends[i] bounds j: the points are sorted along one direction, and points farther than
    # the cutoff radius along it are farther in full, so their terms are negligible.
    # Each grouping g (several label arrays over the same points) gets its own same-group
    # sums from the same exp, so I(X;T) and I(T;Y) share one pass over the pairs.
    # At most two groupings; their same-group sums stay in registers (writing them to
    # memory for every pair made the dense case 2-3x slower).
    n_rows = gram.shape[0]
    two = groupings.shape[0] == 2
    last = groupings.shape[0] - 1
    for r in prange(n_rows):
        thread = get_thread_id()
        i = first_row + r
        sum_all = 1.0  # the self term, exp(0)
        same_first = 1.0
        same_second = 1.0
        label_first = groupings[0, i]
        label_second = groupings[last, i]
        for c in range(r + 1, ends[i] - first_row):
            j = first_row + c
            norms = sq_panel[r] + sq_rest[c]
            distance = norms - 2.0 * gram[r, c]
            if careful:
                slack = tolerance * norms  # the most rounding can have moved distance
                # Negligible even at the smallest distance rounding allows (with scale =
                # inf this keeps only pairs that may be identical; NaN compares False).
                if (distance - slack) * scale > cutoff:
                    continue
                if slack * scale > _TRUSTED_ARGUMENT_ERROR:
                    distance = _squared_distance(points, i, j)
            # A zero (or rounded-negative) distance is a zero argument, even at scale inf.
            arg = distance * scale if distance > 0.0 else 0.0
            if arg > cutoff:
                continue
            term = math.exp(-arg)
            sum_all += term
            col_total[thread, j] += term
            if groupings[0, j] == label_first:
                same_first += term
                col_same[thread, 0, j] += term
            if two and groupings[1, j] == label_second:
                same_second += term
                col_same[thread, 1, j] += term
        total[i] = sum_all
        same[0, i] = same_first
        if two:
            same[1, i] = same_second


# exp(-x) for x >= 0 as 2^-k e^-r, r = x - k log 2 in [-log(2)/2, log(2)/2]: a polynomial
# and an exponent built from bits, so that a loop of them vectorises (math.exp is a call
# LLVM cannot vectorise without SVML). Degree 13 Taylor: truncation below 3e-18 relative.
_LOG2_E = 1.4426950408889634
_LN2_HIGH = 0.6931471803691238  # log 2 in two parts: k * _LN2_HIGH is exact for |k| < 2^20
_LN2_LOW = 1.9082149292705877e-10
_EXP_COEFFICIENTS = tuple(1.0 / math.factorial(p) for p in range(14))


@intrinsic
def _float_from_bits(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, inline="always")
def _exp_of_negative(x):
    # Valid for 0 <= x <= 700 (the callers pass at most the cutoff, about 50).
    k = math.floor(x * _LOG2_E + 0.5)
    r = (k * _LN2_HIGH - x) + k * _LN2_LOW
    p = _EXP_COEFFICIENTS[13]
    for power in range(12, -1, -1):
        p = p * r + _EXP_COEFFICIENTS[power]
    return p * _float_from_bits(np.int64(1023 - np.int32(k)) << 52)


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _run_terms(coordinates, i, start, stop, scale, cutoff, buffer):
    # The kernel terms of point i against points start..stop-1 into buffer[: stop - start],
    # coordinate by coordinate over contiguous memory, with selects for branches.
    m = stop - start
    own = coordinates[0, i]
    row = coordinates[0, start:stop]
    for jj in range(m):
        difference = own - row[jj]
        buffer[jj] = difference * difference
    for k in range(1, coordinates.shape[0]):
        own = coordinates[k, i]
        row = coordinates[k, start:stop]
        for jj in range(m):
            difference = own - row[jj]
            buffer[jj] += difference * difference
    for jj in range(m):
        distance = buffer[jj]
        # A zero distance is a zero argument, even at scale inf.
        arg = distance * scale if distance > 0.0 else 0.0
        bounded = min(arg, cutoff)
        term = _exp_of_negative(bounded)
        buffer[jj] = 0.0 if arg > cutoff else term


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _credit_run(buffer, start, stop, column_total):
    m = stop - start
    row_sum = 0.0
    columns = column_total[start:stop]
    for jj in range(m):
        term = buffer[jj]
        row_sum += term
        columns[jj] += term
    return row_sum


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _credit_run_same(buffer, start, stop, labels, label, column_same):
    m = stop - start
    row_sum = 0.0
    columns = column_same[start:stop]
    run_labels = labels[start:stop]
    for jj in range(m):
        # Selects, not branches: labels alternate unpredictably.
        match = buffer[jj] if run_labels[jj] == label else 0.0
        row_sum += match
        columns[jj] += match
    return row_sum


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _credit_run_labelled(buffer, start, stop, column_total, labels, label, column_same):
    # _credit_run and _credit_run_same in one pass over the buffer.
    m = stop - start
    row_sum = 0.0
    same_sum = 0.0
    columns = column_total[start:stop]
    same_columns = column_same[start:stop]
    run_labels = labels[start:stop]
    for jj in range(m):
        term = buffer[jj]
        row_sum += term
        columns[jj] += term
        match = term if run_labels[jj] == label else 0.0
        same_sum += match
        same_columns[jj] += match
    return row_sum, same_sum


@njit(cache=True, parallel=True)
def _grid_kernel_sums(
    coordinates, starts, stops, scale, cutoff, groupings, total, same, col_total, col_same, buffers
):
    # coordinates is (d, n), points in row order; starts[r, i]:stops[r, i] are the runs of
    # later points near i's (see _grid_rows), so every pair that may lie within the cutoff
    # radius is met once. Distances come straight from the differences (exact enough at
    # any scale, so no rounding guard is needed). Each run's terms go to a buffer in one
    # vectorised pass, then to row i and to the later points' column accumulators (one
    # per chunk) in another. Chunk c takes the points c, c + chunks, ...: neighbouring
    # points have similar work, so the chunks are balanced. groupings has 0, 1 or 2 rows
    # (a grouping of distinct labels needs no sums, see _grouped_sums).
    n = coordinates.shape[1]
    chunks = col_total.shape[0]
    n_groupings = groupings.shape[0]
    for chunk in prange(chunks):
        column_total = col_total[chunk]
        buffer = buffers[chunk]
        for i in range(chunk, n, chunks):
            sum_all = 1.0  # the self term, exp(0)
            same_first = 1.0
            same_second = 1.0
            for run in range(starts.shape[0]):
                start = starts[run, i]
                stop = stops[run, i]
                if stop <= start:
                    continue
                _run_terms(coordinates, i, start, stop, scale, cutoff, buffer)
                if n_groupings == 0:
                    sum_all += _credit_run(buffer, start, stop, column_total)
                else:
                    run_total, run_same = _credit_run_labelled(
                        buffer,
                        start,
                        stop,
                        column_total,
                        groupings[0],
                        groupings[0, i],
                        col_same[chunk, 0],
                    )
                    sum_all += run_total
                    same_first += run_same
                if n_groupings > 1:
                    same_second += _credit_run_same(
                        buffer, start, stop, groupings[1], groupings[1, i], col_same[chunk, 1]
                    )
            total[i] = sum_all
            if n_groupings > 0:
                same[0, i] = same_first
            if n_groupings > 1:
                same[1, i] = same_second


def _block_rows(n: int, budget: int) -> int:
    return max(1, min(n, budget // max(n, 1)))


def negligible_argument(n: int) -> float:
    """Kernel arguments above this cannot change a sum of n terms that is at least 1.

    Each skipped term is below e^-40 / n, so all of them together add less than
    e^-40 ~ 4e-18, under half an ulp of 1.0.
    """
    return 40.0 + math.log(max(n, 1))


def _pruning_radius(scale: float, cutoff: float) -> float:
    """The distance beyond which a kernel term is below e^-cutoff, with a margin that
    covers the rounding of projections (of values below 1 in magnitude)."""
    if not math.isfinite(scale):
        return 1e-12
    return math.sqrt(cutoff / scale) * (1.0 + 1e-9) + 1e-12


def _principal_projections(centred: np.ndarray, axes: int) -> np.ndarray:
    """``(n, axes)`` coordinates along the widest directions, the widest first."""
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return centred @ vectors[:, ::-1][:, :axes]


def _sweep_order(centred: np.ndarray, scale: float, cutoff: float) -> tuple[np.ndarray, ...]:
    """An order of the points along their widest direction, and per point the end of the
    range of later points that may lie within the cutoff radius.

    For a unit vector u, |u·(a − b)| ≤ ||a − b||: two points farther apart than the radius
    sqrt(cutoff / scale) along u are farther apart in full, and their kernel term is
    below e^-cutoff (negligible, see :func:`negligible_argument`). Along the principal
    axis most far pairs are told apart this way, which skips them without a distance.
    """
    n = centred.shape[0]
    if not scale > 0.0 or n < 2:  # scale 0 (or NaN): every pair counts
        return np.arange(n), np.full(n, n, dtype=np.int64)
    projection = _principal_projections(centred, 1)[:, 0]
    order = np.argsort(projection, kind="stable")
    projection = projection[order]
    radius = _pruning_radius(scale, cutoff)
    ends = np.searchsorted(projection, projection + radius, side="right").astype(np.int64)
    return order, ends


def _grid_rows(centred: np.ndarray, scale: float, cutoff: float) -> tuple[np.ndarray, ...]:
    """The points' order by row, and per point the runs of later points that may lie
    within the cutoff radius: ``starts[r, i]:stops[r, i]`` for r = 0..4.

    A row is a cell of side the radius in the second and third principal coordinates;
    within a row the points are sorted along the first (the widest). Points whose rows
    differ by two or more along an axis, or whose first coordinates differ by more than
    the radius, are farther apart than the radius along that axis, hence in full (see
    :func:`_sweep_order`). Point i meets the later points of its own row up to one radius
    ahead, and those within one radius either side in the four rows of higher key next to
    it, so that each pair of neighbouring rows is met once.
    """
    n, d = centred.shape
    if not scale > 0.0 or n < 2:  # scale 0 (or NaN): every pair counts, one row
        runs = np.zeros((5, n), dtype=np.int64)
        runs[0] = np.arange(1, n + 1)
        return np.arange(n), runs, np.vstack([np.full(n, n), np.zeros((4, n), np.int64)])
    radius = _pruning_radius(scale, cutoff)
    projections = _principal_projections(centred, min(d, 3))
    cells = _row_cells(projections[:, 1:], radius)
    row_step = int(cells[:, 1].max()) + 2
    row_keys = cells[:, 0] * row_step + cells[:, 1]
    order = np.lexsort((projections[:, 0], row_keys))
    starts = np.empty((5, n), dtype=np.int64)
    stops = np.empty((5, n), dtype=np.int64)
    # The rows (c1, c2 + 1) and (c1 + 1, c2 - 1..c2 + 1).
    offsets = np.array([1, row_step - 1, row_step, row_step + 1], dtype=np.int64)
    _row_runs(row_keys[order], projections[order, 0], radius, offsets, starts, stops)
    return order, starts, stops


def _row_cells(coordinates: np.ndarray, radius: float) -> np.ndarray:
    """``(n, 2)`` cell indices from 1 (0 and the last are empty padding) of side just over
    the radius; a missing coordinate, or one whose cells would not fit an int64 key (a
    radius of 1e-12 at scale inf), leaves every point in cell 1 along it."""
    n = coordinates.shape[0]
    cells = np.ones((n, 2), dtype=np.int64)
    # The side's margin keeps floor() from putting two points within the radius two cells
    # apart when the division rounds.
    side = radius * (1.0 + 1e-6)
    room = 2**62
    for axis in range(coordinates.shape[1]):
        values = coordinates[:, axis]
        indices = np.floor((values - values.min()) / side)
        extent = int(indices.max()) + 3
        if extent > room:
            break
        room //= extent
        cells[:, axis] += indices.astype(np.int64)
    return cells


@njit(cache=True)
def _row_runs(row_keys, coordinate, radius, offsets, starts, stops):
    # row_keys is sorted, and coordinate sorted within each row. Each run's ends are what
    # binary searches within its row would give (the first later point >= value - radius,
    # the first > value + radius), found by pointers that only move forward as i walks
    # its row in increasing coordinate: O(n) per pair of rows instead of O(n log n).
    n = row_keys.shape[0]
    bounds = np.flatnonzero(np.diff(row_keys)) + 1
    row_first = np.concatenate((np.zeros(1, np.int64), bounds))
    row_last = np.concatenate((bounds, np.full(1, n, np.int64)))
    keys = row_keys[row_first]
    for row in range(keys.shape[0]):
        first = row_first[row]
        last = row_last[row]
        high = first
        for i in range(first, last):
            high = max(high, i + 1)
            while high < last and coordinate[high] <= coordinate[i] + radius:
                high += 1
            starts[0, i] = i + 1
            stops[0, i] = high
        for run in range(1, 5):
            target = np.searchsorted(keys, keys[row] + offsets[run - 1])
            if target == keys.shape[0] or keys[target] != keys[row] + offsets[run - 1]:
                starts[run, first:last] = 0
                stops[run, first:last] = 0
                continue
            low = row_first[target]
            high = low
            end = row_last[target]
            for i in range(first, last):
                while low < end and coordinate[low] < coordinate[i] - radius:
                    low += 1
                high = max(high, low)
                while high < end and coordinate[high] <= coordinate[i] + radius:
                    high += 1
                starts[run, i] = low
                stops[run, i] = high


def kernel_log_sums_grouped(
    points: np.ndarray, groupings: list[np.ndarray], scale: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """log S_i, and log S_i^same for each of several label arrays, in one pass (numba).

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, d)`` float64 points.
    groupings : list of numpy.ndarray
        One or two int64 label arrays of length n; each gets its own same-group sums.
    scale : float
        The kernel scale c.

    Returns
    -------
    log_total : numpy.ndarray
        log S_i.
    log_same : list of numpy.ndarray
        log S_i^same per grouping, in the order given.
    """
    if not 1 <= len(groupings) <= 2:
        raise ValueError(f"one or two label arrays are supported; got {len(groupings)}")
    # Centring costs nothing and shrinks the cancellation in ||a||^2 + ||b||^2 - 2 a.b.
    centred, scale = prepared_points(points, scale)
    n = centred.shape[0]
    cutoff = negligible_argument(n)
    if centred.shape[1] <= _GRID_MAX_FEATURES:
        # No BLAS call here is large enough to start BLAS threads, so no limit is set:
        # setting one costs 2 ms of CPU (11 ms wall under load) per call, as much as the
        # kernel of a late 10-unit layer.
        order, total, same = _grid_sums(centred, groupings, scale, cutoff)
    else:
        # Single-threaded BLAS: its idle threads otherwise spin on the cores that the
        # numba kernel's threads need (this doubled the CPU time on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            order, total, same = _panel_sums(centred, groupings, scale, cutoff)
    # Back to the caller's order of the points.
    log_total = np.empty(n)
    log_total[order] = np.log(total)
    log_same = []
    for g in range(len(groupings)):
        unsorted = np.empty(n)
        unsorted[order] = np.log(same[g])
        log_same.append(unsorted)
    return log_total, log_same


def _sorted_labels(groupings: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.stack([g[order] for g in groupings]).astype(np.int64))


def _column_accumulators(n: int, n_groupings: int) -> tuple[np.ndarray, np.ndarray]:
    """Per numba thread, the sums credited to the later point of each pair."""
    threads = get_num_threads()
    return np.zeros((threads, n)), np.zeros((threads, n_groupings, n))


def _grid_sums(
    centred: np.ndarray, groupings: list[np.ndarray], scale: float, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order of the points, and S_i and S_i^same in it, from the grid of rows.

    A grouping whose labels are all distinct (the information plane's inputs) has
    S_i^same = 1, its self term, and is left out of the pass over the pairs.
    """
    order, starts, stops = _grid_rows(centred, scale, cutoff)
    n = centred.shape[0]
    distinct = [_all_distinct(g) for g in groupings]
    summed = [g for g, skip in zip(groupings, distinct, strict=True) if not skip]
    total = np.empty(n)
    same = np.ones((len(groupings), n))
    found = np.empty((len(summed), n))
    col_total, col_same = _column_accumulators(n, len(summed))
    buffers = np.empty((col_total.shape[0], n))
    _grid_kernel_sums(
        np.ascontiguousarray(centred[order].T),
        starts,
        stops,
        scale,
        cutoff,
        _sorted_labels(summed, order) if summed else np.zeros((0, n), dtype=np.int64),
        total,
        found,
        col_total,
        col_same,
        buffers,
    )
    found += col_same.sum(axis=0)
    rows = iter(found)
    for g, skip in enumerate(distinct):
        if not skip:
            same[g] = next(rows)
    return order, total + col_total.sum(axis=0), same


def _all_distinct(labels: np.ndarray) -> bool:
    return np.unique(labels).shape[0] == labels.shape[0]


def _panel_sums(
    centred: np.ndarray, groupings: list[np.ndarray], scale: float, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order of the points, and S_i and S_i^same in it, from Gram-matrix panels."""
    n = centred.shape[0]
    order, ends = _sweep_order(centred, scale, cutoff)
    centred = np.ascontiguousarray(centred[order])
    labels = _sorted_labels(groupings, order)
    tolerance = rounding_tolerance(centred.shape[1])
    sq = np.einsum("ij,ij->i", centred, centred)
    careful = needs_exact_distances(sq, tolerance, scale)
    transposed = np.ascontiguousarray(centred.T)
    total = np.empty(n)
    same = np.empty((len(groupings), n))
    col_total, col_same = _column_accumulators(n, len(groupings))
    rows = _block_rows(n, _BLOCK_ELEMENTS)
    buffer = np.empty(rows * n)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        # Only the columns some row of the panel can reach (ends is non-decreasing).
        width = max(int(ends[stop - 1]) - start, stop - start)
        gram = buffer[: (stop - start) * width].reshape(stop - start, width)
        np.matmul(centred[start:stop], transposed[:, start : start + width], out=gram)
        _panel_kernel_sums(
            gram,
            sq[start:stop],
            sq[start:],
            centred,
            start,
            ends,
            scale,
            cutoff,
            tolerance,
            careful,
            labels,
            total,
            same,
            col_total,
            col_same,
        )
    return order, total + col_total.sum(axis=0), same + col_same.sum(axis=0)


def kernel_log_sums_torch(
    points: np.ndarray, groupings: list[np.ndarray], scale: float, device: str
) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`kernel_log_sums_grouped` in float64 torch on ``device`` ("cpu", "cuda", ...)."""
    import torch

    dev = torch.device(device)
    centred, scale = prepared_points(points, scale)
    t = torch.as_tensor(centred, dtype=torch.float64, device=dev)
    labels = [torch.as_tensor(g, device=dev) for g in groupings]
    n = t.shape[0]
    sq = (t * t).sum(dim=1)
    tolerance = rounding_tolerance(t.shape[1])
    careful = needs_exact_distances(sq.cpu().numpy(), tolerance, scale)
    total = torch.empty(n, dtype=torch.float64, device=dev)
    same = torch.empty((len(labels), n), dtype=torch.float64, device=dev)
    rows = _block_rows(n, _TORCH_BLOCK_ELEMENTS["cuda" if dev.type == "cuda" else "cpu"])
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        norms = sq[start:stop, None] + sq[None, :]
        if careful and float(norms.max()) * tolerance * scale > _TRUSTED_ARGUMENT_ERROR:
            # The Gram formula's rounding matters here: differences, not a.b.
            dist = torch.cdist(t[start:stop], t, compute_mode="donot_use_mm_for_euclid_dist")
            dist = dist * dist
        else:
            dist = norms - 2.0 * (t[start:stop] @ t.T)
            dist.clamp_(min=0.0)
        own = torch.arange(start, stop, device=dev)
        dist[own - start, own] = 0.0
        if careful:
            # A zero distance is a zero argument even when scale is inf.
            kernel = torch.where(dist > 0.0, dist * scale, torch.zeros_like(dist))
        else:
            kernel = dist.mul_(scale)
        kernel = kernel.neg_().exp_()
        total[start:stop] = kernel.sum(dim=1)
        for index, g in enumerate(labels):
            same[index, start:stop] = (kernel * (g[start:stop, None] == g[None, :])).sum(dim=1)
    return torch.log(total).cpu().numpy(), list(torch.log(same).cpu().numpy())
