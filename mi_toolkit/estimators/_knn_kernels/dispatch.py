"""Which engine answers a search: the two calls the kNN estimators make.

:func:`nearest_neighbors` (k nearest other samples) and :func:`count_within` (other
samples within a radius, max-norm) pick an engine: :mod:`.grid` for a 2-D space,
:mod:`.tree` for k-NN searches in 1-D and in 3 to 5 dimensions from ``_LARGE_N``
samples on, :mod:`.brute` elsewhere and for every radius count in 2 or more dimensions,
:mod:`.sorted1d` for every 1-D radius count, and :mod:`.torch_engine` whenever a torch
``device`` is given. Every engine finds the same distances and counts (see the package
docstring), so the choice is one of speed alone.

Speed constants: where the kd-tree beats the pruned brute force for a k-NN search
(measured on 2 cores, k = 3, Gaussian data): in 1-D, and from 20,000 samples on up to 5
dimensions (at N = 100,000 in 4-D tree 0.32 s against brute 0.45 s, max-norm; in 6-D
0.80 s against 0.80 s, Euclidean 1.00 s against 1.15 s; in 8-D 1.9 s against 1.0 s).
Below 20,000 samples brute force wins from 3-D on (N = 10,000, 3-D: 0.019 s against
0.013 s; 10-D: 0.28 s against 0.04 s). Radius counts are faster by brute force in every
dimension from 2 on (N = 100,000, 4-D: tree 0.95 s, brute 0.23 s), so "auto" never
counts with the tree.
"""

from __future__ import annotations

import numpy as np

from mi_toolkit.estimators._knn_kernels.brute import count_brute, knn_brute
from mi_toolkit.estimators._knn_kernels.grid import knn_grid
from mi_toolkit.estimators._knn_kernels.sorted1d import count_sorted
from mi_toolkit.estimators._knn_kernels.torch_engine import count_torch, knn_torch
from mi_toolkit.estimators._knn_kernels.tree import count_tree, knn_tree

ALGORITHMS = ("auto", "grid", "tree", "brute")

_TREE_MAX_DIM = 1
_TREE_MAX_DIM_LARGE_N = 5
_LARGE_N = 20_000


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
    label: str | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Distances and indices of the k nearest other samples, and the engine used.

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, d)`` C-contiguous float64, n > k.
    k : int
        Number of neighbours, >= 1.
    metric : {"euclidean", "max"}
        ``"euclidean"`` or ``"max"`` (Chebyshev).
    algorithm : {"auto", "grid", "tree", "brute"}
        ``"auto"``, ``"grid"`` (2-D only), ``"tree"`` or ``"brute"``; ignored when
        ``device`` is a torch device.
    device : str or None
        A torch device name, or None for numba/scipy.
    axis_orders : tuple of numpy.ndarray or None
        Stable argsorts of the two columns of 2-D points, if at hand (grid only).
    progress : bool or None
        Progress lines on stderr for a brute-force search; None: on a terminal from
        50,000 samples on.
    label : str or None
        What the progress lines call the search (default: "k-NN search").
    """
    max_norm = metric == "max"
    if device is not None:
        dist, index = knn_torch(points, k, max_norm, device)
        return dist, index, f"torch:{device}"
    engine = resolve_algorithm(algorithm, points.shape[1], points.shape[0])
    if engine == "grid":
        dist, index = knn_grid(points, k, max_norm, axis_orders)
    elif engine == "tree":
        dist, index = knn_tree(points, k, max_norm)
    else:
        dist, index = knn_brute(points, k, max_norm, progress, label)
    return dist, index, engine


def count_within(
    points: np.ndarray,
    radii: np.ndarray,
    inclusive: bool,
    algorithm: str = "auto",
    device: str | None = None,
    order: np.ndarray | None = None,
    progress: bool | None = None,
    label: str | None = None,
) -> np.ndarray:
    """Per sample i, the number of other samples j with ``||p_j - p_i||_max`` < (or <=) r_i.

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, d)`` C-contiguous float64.
    radii : numpy.ndarray
        ``(n,)`` radius r_i of each sample.
    inclusive : bool
        Count distances <= r_i; otherwise < r_i.
    algorithm, device, progress : optional
        As for :func:`nearest_neighbors`.
    order : numpy.ndarray or None
        The stable argsort of 1-D points, if at hand.
    label : str or None
        What the progress lines call the counts (default: "radius counts").
    """
    if device is not None:
        return count_torch(points, radii, inclusive, device)
    if points.shape[1] == 1:
        return count_sorted(np.ascontiguousarray(points[:, 0]), radii, inclusive, order)
    if algorithm in ("grid", "tree"):
        return count_tree(points, radii, inclusive)
    return count_brute(points, radii, inclusive, progress, label)


def neighbour_extent(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per sample, the largest max-norm distance to the neighbours listed in ``index``."""
    return np.abs(values[index] - values[:, None, :]).max(axis=(1, 2))
