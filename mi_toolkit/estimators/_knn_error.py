r"""Standard errors of kNN estimates (``kl`` and ``ksg``), calibrated against their spread.

A kNN estimate is a mean of per-sample terms t_i, but the terms are not independent:
neighbours share distances and counts. The CLT error std(t) / sqrt(N) therefore misses
the covariances and is too small: over seeds of Gaussian pairs the estimates spread
1.2–1.35 times more than it says, so ±2 CLT errors cover about 88% instead of 95%.

``se_method`` chooses the correction:

``"scaled"`` (default)
    The CLT error times a factor measured for each estimator
    (:func:`inflation_factor`): the same arithmetic as the CLT error.
``"split"``
    Split-sample replication. The samples are dealt at random into B = 10 disjoint
    blocks of m = N/B (by class for a discrete side, so that each block keeps the class
    proportions), the estimator is run on each block, and

    .. math::

        \widehat{\mathrm{SE}} = \mathrm{SE}_{CLT}(N)\,
            \sqrt{\frac{s^2(\hat I_1, …, \hat I_B)}{\overline{\mathrm{SE}^2_{CLT}(m)}}}

    for R = 3 random partitions (numerator and denominator averaged over them): the blocks
    are independent samples, so the spread of their estimates is the true sampling
    variance at size m, and its ratio to their own CLT variance is the inflation. The
    ratio, not s² / B, is carried over to N, because N·Var(Î_N) still drifts with N at
    these block sizes (s² / B came out 20% small at N = 2,000) while the ratio does not.
    The error of this error: about 1/sqrt(2 R (B − 1)) ≈ 14% relative per estimate. The
    block estimates cost 30 estimator calls, which for small and medium N is 10–30 times
    the plain estimate (the per-call cost dominates), so it is opt-in: use it for data far
    from the Gaussian pairs the factors were measured on.
``"clt"``
    The uncorrected std(t) / sqrt(N), for comparison.

Considered and rejected by measurement: a neighbour-aware ("HAC") variance adding the
products of centred terms of samples that are among each other's k nearest neighbours
in the joint space. It overshoots by 30–70%, because neighbouring terms are alike through
the smooth part of the density (−log f varies slowly), which is no covariance of the
errors; it would also need the neighbour indices, which the fused brute-force kernels
do not return.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from mi_toolkit.estimators.base import mean_with_standard_error

if TYPE_CHECKING:
    from mi_toolkit._validation import Variable
    from mi_toolkit.estimators.base import Estimate, Estimator

SE_METHODS = ("scaled", "split", "clt")
SPLIT_BLOCKS = 10
SPLIT_REPEATS = 3
# Fewer blocks than this leave the split variance too noisy to be worth its cost.
_MIN_BLOCKS = 4
# Each block (each class within a block) gets at least this many samples per neighbour.
_SAMPLES_PER_NEIGHBOUR = 5
# The partitions are random relative to the data's order, and the same for the same N.
_SPLIT_SEED = 0
# Spread over 60 seeds / mean CLT error (module docstrings of kl and ksg: 2,000 samples,
# Gaussian pairs with I = 0.9 nat in 1+1, 2+2, 5+5 D, k = 3 and 5; three Gaussian classes
# in 2-D for labels; N(0, I) in 1, 2, 4 D for entropies). The spread is known to ±9%.
# LNC: 30 seeds at N = 2,500 gave 1.72 (a spiral of a 5+5-D Gaussian at 10 nats), 1.48
# (5+5-D Gaussian at 10 nats), 1.33 (at 2 nats), 1.08 and 1.16 (2+2-D at 20 and 1 nats):
# 1.6 for the strongly dependent data in several dimensions it is meant for.
_INFLATION = {
    ("ksg", "mi"): 1.28,
    ("lnc", "mi"): 1.6,
    ("kl", "mi"): 1.30,
    ("ksg", "labels"): 1.1,
    ("kl", "labels"): 1.1,
    ("kl", "entropy"): 1.1,
}


def check_se_method(se_method: object) -> None:
    if se_method not in SE_METHODS:
        raise ValueError(
            f"se_method must be one of {', '.join(map(repr, SE_METHODS))} (how the standard "
            f"error is calibrated; 'scaled' is the cheap default); got {se_method!r}"
        )


def inflation_factor(method: str, what: str) -> float:
    """The measured ratio of the spread of estimates to their mean CLT error.

    Parameters
    ----------
    method : str
        "kl" or "ksg".
    what : str
        "mi" between continuous variables, "labels" against a discrete side, "entropy"
        for a KL entropy.

    Returns
    -------
    float
        The factor the CLT error is multiplied by (module docstring of each estimator
        lists the measurements it rests on).
    """
    return _INFLATION[method, what]


def knn_mean_and_error(
    estimator: Estimator, terms: np.ndarray, x: Variable, y: Variable | None = None
) -> tuple[float, float]:
    """Mean of the per-sample terms and its standard error by ``estimator.se_method``.

    Parameters
    ----------
    estimator : Estimator
        The kNN estimator that produced ``terms``; it has ``se_method`` and ``k``.
    terms : numpy.ndarray
        Per-sample terms whose mean is the estimate.
    x, y : Variable
        The data of the estimate; ``y=None`` for an entropy of ``x``.

    Returns
    -------
    tuple of float
        The estimate and its standard error.
    """
    value, clt = mean_with_standard_error(terms)
    if estimator.se_method == "clt" or math.isnan(clt):
        return value, clt
    if estimator.se_method == "scaled":
        return value, clt * inflation_factor(estimator.name, _kind(x, y))
    return value, clt * math.sqrt(split_variance_ratio(estimator, x, y))


def _kind(x: Variable, y: Variable | None) -> str:
    if y is None:
        return "entropy"
    return "labels" if x.discrete or y.discrete else "mi"


def split_variance_ratio(estimator: Estimator, x: Variable, y: Variable | None) -> float:
    """Spread of block estimates over their mean CLT variance ("split", module docstring)."""
    plain = dataclasses.replace(estimator, se_method="clt")  # type: ignore[type-var]
    strata = _strata(x, y)
    k = estimator.k if estimator.k is not None else 5  # weighted KL chooses k per block
    blocks = min(
        SPLIT_BLOCKS, min(s.shape[0] for s in strata) // (_SAMPLES_PER_NEIGHBOUR * (k + 1))
    )
    if blocks < _MIN_BLOCKS:
        raise ValueError(
            f"se_method='split' deals the samples into blocks of at least "
            f"{_SAMPLES_PER_NEIGHBOUR * (k + 1)} (per class) for k={k}, and needs "
            f"{_MIN_BLOCKS} blocks, but the data (or its smallest class) has only "
            f"{min(s.shape[0] for s in strata)} samples; use se_method='scaled'"
        )
    rng = np.random.default_rng(_SPLIT_SEED)
    spread, own = [], []
    for _ in range(SPLIT_REPEATS):
        results = [_estimate_on(plain, x, y, rows) for rows in _partition(strata, blocks, rng)]
        spread.append(np.var([r.value for r in results], ddof=1))
        own.append(np.mean([r.standard_error**2 for r in results]))
    return float(np.mean(spread) / np.mean(own))


def _estimate_on(
    estimator: Estimator, x: Variable, y: Variable | None, rows: np.ndarray
) -> Estimate:
    if y is None:
        return estimator.entropy(x.subset(rows))
    return estimator.mutual_information(x.subset(rows), y.subset(rows))


def _strata(x: Variable, y: Variable | None) -> list[np.ndarray]:
    """Sample indices of each class of the discrete side; all samples when none is."""
    labels = next((v for v in (x, y) if v is not None and v.discrete), None)
    if labels is None:
        return [np.arange(x.n_samples)]
    codes, n_groups = labels.groups()
    return [np.flatnonzero(codes == g) for g in range(n_groups)]


def _partition(strata: list[np.ndarray], blocks: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``blocks`` disjoint random blocks, each with an equal share of every stratum."""
    pieces = [np.array_split(rng.permutation(s), blocks) for s in strata]
    return [np.sort(np.concatenate([p[b] for p in pieces])) for b in range(blocks)]
