"""Kernel sums for the pairwise-distance KDE bounds.

For points t_1..t_N and a scale c, these return, per point i,

    log S_i      = log sum_j         exp(-c ||t_i - t_j||^2)
    log S_i^same = log sum_{j: g_j = g_i} exp(-c ||t_i - t_j||^2)

Squared distances come from BLAS matrix products, ||a||^2 + ||b||^2 - 2 a.b, one panel
of rows at a time and only for j >= i (the kernel is symmetric), so that no N x N matrix
is held and each exp is computed once. The self term (j = i) is exactly 1, the largest
term, so the sums need no max-shift to be stable and are never below 1; terms too small
to change such a sum are skipped.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, get_thread_id, njit, prange
from threadpoolctl import threadpool_limits

# Elements of one block of the Gram matrix: 16 MiB of float64 stays in cache-friendly reach.
_BLOCK_ELEMENTS = 2**21
# torch blocks: large ones keep a GPU busy; on a CPU they fall out of cache (2**24 took
# 2.6x longer than 2**20 at N = 10,000).
_TORCH_BLOCK_ELEMENTS = {"cuda": 2**24, "cpu": 2**20}


@njit(cache=True, parallel=True)
def _panel_kernel_sums(
    gram, sq_panel, sq_rest, first_row, scale, cutoff, groups, total, same, col_total, col_same
):
    # gram[r, c] = <t_i, t_j> for i = first_row + r and j = first_row + c, so the panel
    # covers the pairs j >= i. Each pair's exp is computed once and credited to row i
    # here and to row j through this thread's column accumulator, halving the work.
    n_rows, width = gram.shape
    for r in prange(n_rows):
        thread = get_thread_id()
        i = first_row + r
        group_i = groups[i]
        sum_all = 1.0  # the self term, exp(0)
        sum_same = 1.0
        for c in range(r + 1, width):
            arg = (sq_panel[r] + sq_rest[c] - 2.0 * gram[r, c]) * scale
            if arg > cutoff:
                continue
            term = math.exp(-max(arg, 0.0))  # rounding can make a distance negative
            j = first_row + c
            sum_all += term
            col_total[thread, j] += term
            if groups[j] == group_i:
                sum_same += term
                col_same[thread, j] += term
        total[i] = sum_all
        same[i] = sum_same


def _block_rows(n: int, budget: int) -> int:
    return max(1, min(n, budget // max(n, 1)))


def negligible_argument(n: int) -> float:
    """Kernel arguments above this cannot change a sum of n terms that is at least 1.

    Each skipped term is below e^-40 / n, so all of them together add less than
    e^-40 ~ 4e-18, under half an ulp of 1.0.
    """
    return 40.0 + math.log(max(n, 1))


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
    threads = get_num_threads()
    col_total = np.zeros((threads, n))
    col_same = np.zeros((threads, n))
    cutoff = negligible_argument(n)
    rows = _block_rows(n, _BLOCK_ELEMENTS)
    buffer = np.empty(rows * n)
    # Single-threaded BLAS: its idle threads otherwise spin on the cores that the numba
    # kernel's threads need, which doubled the CPU time on 2 cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            gram = buffer[: (stop - start) * (n - start)].reshape(stop - start, n - start)
            np.matmul(centred[start:stop], transposed[:, start:], out=gram)
            _panel_kernel_sums(
                gram,
                sq[start:stop],
                sq[start:],
                start,
                scale,
                cutoff,
                groups,
                total,
                same,
                col_total,
                col_same,
            )
    total += col_total.sum(axis=0)
    same += col_same.sum(axis=0)
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
    rows = _block_rows(n, _TORCH_BLOCK_ELEMENTS["cuda" if dev.type == "cuda" else "cpu"])
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
