"""Speed of the kNN estimators against their peers, measured in the same run.

Run with ``make bench`` (or ``pytest benchmarks/bench_knn.py``). Each benchmark times this
package with pytest-benchmark and its peer with the same clock right after, and records
both and their ratio in ``extra_info`` (shown with ``--benchmark-json``) and on stdout.

Peers:

- 1-D pairs: scikit-learn's ``mutual_info_regression`` (KSG 1, k = 3), against ``"ksg"``
  with ``transform="standardize"``, which computes the same number (tests/test_ksg.py).
- 10+10-D: a KSG 1 written directly on scipy's ``cKDTree`` (joint k-NN query in the
  max-norm, then ball counts in each marginal), the usual tree-based implementation;
  it lives in :mod:`mi_toolkit.benchmarking.speed`, which ``mi-toolkit bench speed`` runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from scipy.spatial import cKDTree

from mi_toolkit import estimate_mi
from mi_toolkit.benchmarking.speed import best_time, ckdtree_ksg
from mi_toolkit.synthetic import CorrelatedPairs

PEER_ROUNDS = 3


def _pairs(dim: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """dim independent Gaussian pairs with correlation 0.6 (I = 0.223 nats per pair)."""
    return CorrelatedPairs([0.6] * dim).sample(n, np.random.default_rng(seed))


def _best_time(function: Callable[[], object], rounds: int = PEER_ROUNDS) -> float:
    return best_time(function, rounds)[0]


def _report(benchmark, peer_name: str, peer_seconds: float) -> None:
    ours = benchmark.stats.stats.min
    ratio = peer_seconds / ours
    benchmark.extra_info.update({"peer": peer_name, "peer_min_s": peer_seconds, "ratio": ratio})
    print(f"\n{benchmark.name}: ours {ours:.3f} s, {peer_name} {peer_seconds:.3f} s, {ratio:.2f}x")


@pytest.mark.benchmark(group="ksg 1-D pairs, N = 100,000")
def test_ksg_1d_against_sklearn(benchmark):
    from sklearn.feature_selection import mutual_info_regression

    x, y = _pairs(1, 100_000)
    estimate_mi(x[:2000], y[:2000], "ksg")  # compile / load the kernels outside the clock
    ours = benchmark.pedantic(
        lambda: estimate_mi(x, y, "ksg", transform="standardize"), rounds=5, iterations=1
    )
    peer = _best_time(lambda: mutual_info_regression(x, y[:, 0], random_state=0))
    theirs = mutual_info_regression(x, y[:, 0], random_state=0)[0]
    assert ours.value == pytest.approx(theirs, abs=1e-6)  # the same number, not just fast
    _report(benchmark, "sklearn mutual_info_regression", peer)


@pytest.mark.benchmark(group="ksg 10+10-D, N = 10,000")
def test_ksg_20d_against_ckdtree(benchmark):
    x, y = _pairs(10, 10_000)
    estimate_mi(x[:500], y[:500], "ksg")
    # transform="none": the peer searches the raw data, so both compute the same number.
    # The default standardisation adds one O(N d) pass.
    ours = benchmark.pedantic(
        lambda: estimate_mi(x, y, "ksg", transform="none"), rounds=3, iterations=1
    )
    peer = _best_time(lambda: ckdtree_ksg(x, y), rounds=1)
    assert ours.value == pytest.approx(ckdtree_ksg(x, y), abs=1e-9)
    _report(benchmark, "cKDTree KSG", peer)


@pytest.mark.benchmark(group="kl 10+10-D, N = 10,000")
def test_kl_20d_against_ckdtree(benchmark):
    x, y = _pairs(10, 10_000)
    estimate_mi(x[:500], y[:500], "kl")

    def peer() -> None:
        for block in (x, y, np.hstack((x, y))):
            cKDTree(block).query(block, k=4, workers=-1)

    benchmark.pedantic(lambda: estimate_mi(x, y, "kl", transform="none"), rounds=3, iterations=1)
    _report(benchmark, "cKDTree 3 kNN searches", _best_time(peer, rounds=1))


@pytest.mark.skipif(
    not os.environ.get("MI_TOOLKIT_BENCH_LARGE"),
    reason="about 15 s on 2 cores; set MI_TOOLKIT_BENCH_LARGE=1 to run",
)
@pytest.mark.benchmark(group="ksg 10+10-D, N = 100,000")
def test_ksg_20d_100k(benchmark):
    # No peer in the same run: a cKDTree KSG would take 6 to 17 minutes here.
    x, y = _pairs(10, 100_000)
    estimate_mi(x[:500], y[:500], "ksg")
    result = benchmark.pedantic(lambda: estimate_mi(x, y, "ksg"), rounds=1, iterations=1)
    print(f"\n{benchmark.name}: {benchmark.stats.stats.min:.1f} s, {result}")
