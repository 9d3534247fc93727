"""k-NN searches in two dimensions by a cell grid (the joint space of two 1-D variables).

For the joint space of two 1-D variables (the commonest case) a grid beats the kd-tree.
Cell edges sit at the quantiles of each coordinate, so every column and row of cells
holds the same number of points whatever the marginals look like; there are about two
samples per cell on average. Each query scans rings of cells around its own until its
k-th best distance is no larger than the distance from the query to the edge of the
square scanned so far, parallel over queries, in cell order so that the scan stays in
cache.

Exactness: every point outside the square is at least that far away (fl(x - x') >=
fl(x - edge) for x' < edge, since rounding is monotone), so the k-th distance is final.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


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
