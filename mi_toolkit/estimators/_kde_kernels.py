"""Kernel sums for the pairwise-distance KDE bounds.

For points t_1..t_N and a scale c, these return, per point i,

    log S_i      = log sum_j         exp(-c ||t_i - t_j||^2)
    log S_i^same = log sum_{j: g_j = g_i} exp(-c ||t_i - t_j||^2)

Squared distances come from BLAS matrix products, ||a||^2 + ||b||^2 - 2 a.b, one block
of rows at a time so that no N x N matrix is held. The self term (j = i) is exactly 1,
the largest term, so the sums need no max-shift to be stable and are never below 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# exp(-745) is the smallest positive float64; larger arguments contribute exactly 0.
_EXP_UNDERFLOW = 745.0
# Elements of one block of the Gram matrix: 16 MiB of float64 stays in cache-friendly reach.
_BLOCK_ELEMENTS = 2**21
_TORCH_BLOCK_ELEMENTS = 2**24


@njit(cache=True, parallel=True)
def _block_kernel_sums(gram, sq_block, sq_all, first_row, scale, groups, total, same):
    n_rows, n = gram.shape
    for r in prange(n_rows):
        i = first_row + r
        group_i = groups[i]
        sum_all = 0.0
        sum_same = 0.0
        for j in range(n):
            if j == i:
                term = 1.0
            else:
                arg = (sq_block[r] + sq_all[j] - 2.0 * gram[r, j]) * scale
                if arg >= _EXP_UNDERFLOW:
                    continue
                term = math.exp(-max(arg, 0.0))  # rounding can make a distance negative
            sum_all += term
            if groups[j] == group_i:
                sum_same += term
        total[i] = sum_all
        same[i] = sum_same


def _block_rows(n: int, budget: int) -> int:
    return max(1, min(n, budget // max(n, 1)))


def kernel_log_sums(
    points: np.ndarray, groups: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """log S_i and log S_i^same with numba; ``groups`` are int64 labels."""
    # Centring costs nothing and shrinks the cancellation in ||a||^2 + ||b||^2 - 2 a.b.
    centred = np.ascontiguousarray(points - points.mean(axis=0))
    n = centred.shape[0]
    sq = np.einsum("ij,ij->i", centred, centred)
    transposed = np.ascontiguousarray(centred.T)
    total = np.empty(n)
    same = np.empty(n)
    rows = _block_rows(n, _BLOCK_ELEMENTS)
    gram = np.empty((rows, n))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = gram[: stop - start]
        np.matmul(centred[start:stop], transposed, out=block)
        _block_kernel_sums(block, sq[start:stop], sq, start, scale, groups, total, same)
    return np.log(total), np.log(same)


def kernel_log_sums_torch(
    points: np.ndarray, groups: np.ndarray, scale: float, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """The same sums in float64 torch on ``device`` ("cpu", "cuda", "cuda:1", ...)."""
    import torch

    dev = torch.device(device)
    t = torch.as_tensor(points, dtype=torch.float64, device=dev)
    t = t - t.mean(dim=0)
    g = torch.as_tensor(groups, device=dev)
    n = t.shape[0]
    sq = (t * t).sum(dim=1)
    total = torch.empty(n, dtype=torch.float64, device=dev)
    same = torch.empty(n, dtype=torch.float64, device=dev)
    rows = _block_rows(n, _TORCH_BLOCK_ELEMENTS)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        dist = (sq[start:stop, None] + sq[None, :]) - 2.0 * (t[start:stop] @ t.T)
        dist.clamp_(min=0.0)
        own = torch.arange(start, stop, device=dev)
        dist[own - start, own] = 0.0
        kernel = torch.exp(-scale * dist)
        total[start:stop] = kernel.sum(dim=1)
        same[start:stop] = (kernel * (g[start:stop, None] == g[None, :])).sum(dim=1)
    return torch.log(total).cpu().numpy(), torch.log(same).cpu().numpy()
