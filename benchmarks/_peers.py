"""Plain numpy/scipy peers that the benchmarks time mi-toolkit against.

Written from the formulas, in the style of the code that accompanied the papers:

* binning as in the original information-bottleneck code of Shwartz-Ziv & Tishby
  (2017): ``np.digitize`` against the bin edges, then ``np.unique`` over rows viewed as
  one void scalar each, and plug-in entropies from the counts;
* the Kolchinsky & Tracey (2017) KDE upper bound with the full N × N matrix of squared
  distances and ``scipy.special.logsumexp``, shared with ``mi-toolkit bench speed`` and
  so kept in :mod:`mi_toolkit.benchmarking.speed`.

Both are vectorised as well as numpy allows: the peers are fair, not straw men.
"""

from __future__ import annotations

import numpy as np


def _void_rows(values: np.ndarray) -> np.ndarray:
    """Each row of a 2-D array as one opaque scalar, so np.unique compares whole rows."""
    values = np.ascontiguousarray(values)
    row_type = np.dtype((np.void, values.dtype.itemsize * values.shape[1]))
    return values.view(row_type).ravel()


def row_labels(values: np.ndarray) -> np.ndarray:
    """Label of each row's group of identical rows (np.unique on void rows)."""
    _, inverse = np.unique(_void_rows(values), return_inverse=True)
    return inverse.ravel().astype(np.int64)


def _entropy_of_rows(values: np.ndarray) -> float:
    _, counts = np.unique(_void_rows(values), return_counts=True)
    p = counts / counts.sum()
    return float(-np.dot(p, np.log(p)))


def digitize_fixed_range(activations: np.ndarray, n_bins: int = 29) -> np.ndarray:
    """Bin index 0..n_bins-1 over n_bins + 1 equally spaced edges on [-1, 1].

    np.digitize returns 0 below the first edge and n_bins + 1 at or above the last, so
    the index is clipped into the end bins instead of wrapping around.
    """
    edges = np.linspace(-1.0, 1.0, n_bins + 1)
    return np.clip(np.digitize(activations, edges), 1, n_bins) - 1


def floor_width(activations: np.ndarray, bin_width: float) -> np.ndarray:
    """Bin index floor(t / w), as Saxe et al. (2018) bin with a fixed width."""
    return np.floor(activations / bin_width).astype(np.int64)


def plane_point(x_labels: np.ndarray, bins: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """I(X;T) and I(T;Y) in nats for one layer and epoch, from binned activations.

    I(X;T) = H(X) + H(B(T)) - H(X, B(T)) and I(T;Y) = H(B(T)) - Σ_y p(y) H(B(T) | Y = y).
    ``x_labels`` are the input groups, computed once per plane like the original code's
    ``unique_inverse_x``.
    """
    h_t = _entropy_of_rows(bins)
    h_x = _entropy_of_rows(x_labels[:, None])
    h_xt = _entropy_of_rows(np.column_stack((x_labels, bins)))
    h_t_given_y = 0.0
    for label in np.unique(labels):
        members = labels == label
        h_t_given_y += members.mean() * _entropy_of_rows(bins[members])
    return h_x + h_t - h_xt, h_t - h_t_given_y
