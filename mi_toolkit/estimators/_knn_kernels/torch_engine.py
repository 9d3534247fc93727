"""Brute-force k-NN searches and max-norm radius counts in float64 torch on a device.

The same all-pairs search as :mod:`.brute`, on ``"cpu"``, ``"cuda"``, ... , in blocks of
query rows (``_TORCH_BLOCK_ELEMENTS`` distances at a time) so that no N x N matrix is
held. Exactness: the max-norm distances are exact; Euclidean ones are summed directly,
(a - b)^2 over coordinates, not by the faster ||a||^2 + ||b||^2 - 2ab expansion, so that
they agree with numba's to rounding.

torch is imported inside the functions: importing it costs seconds, and only
``device=`` needs it.
"""

from __future__ import annotations

import math

import numpy as np

# Elements of one torch distance block.
_TORCH_BLOCK_ELEMENTS = 2**24


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
