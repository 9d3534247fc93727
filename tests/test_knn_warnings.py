"""Warnings where a kNN estimate cannot be right (negative MI, high-dimensional entropy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z, gaussian_pairs

from mi_toolkit import estimate_entropy, estimate_mi


def _dense_gaussian(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    # Every pair of the 2d coordinates correlated 0.5 (the dense Beyond-Normal kind).
    rng = np.random.default_rng(seed)
    covariance = np.full((2 * d, 2 * d), 0.5) + 0.5 * np.eye(2 * d)
    z = rng.multivariate_normal(np.zeros(2 * d), covariance, size=n)
    truth = np.linalg.slogdet(covariance[:d, :d])[1] - 0.5 * np.linalg.slogdet(covariance)[1]
    return z[:, :d], z[:, d:], float(truth)


@pytest.mark.filterwarnings("ignore")
def test_negative_kl_estimate_warns_and_points_to_a_method_that_works():
    # 20+20-D at N = 1,000: kl gives -1.33 nats (20 errors below 0) against 1.19.
    x, y, truth = _dense_gaussian(20, 1000, seed=0)
    result = estimate_mi(x, y, "kl")
    assert result.value < -3 * result.standard_error
    assert [w.kind for w in result.warnings] == ["negative_estimate"]
    assert "'gcmi'" in result.warnings[0]
    better = estimate_mi(x, y, "gcmi")
    assert abs(better.value - truth) < Z * better.standard_error


def test_no_warning_for_a_sound_estimate_or_noise_below_zero():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2000, 1)), rng.standard_normal((2000, 1))
    for method in ("kl", "ksg"):
        result = estimate_mi(x, y, method)
        assert result.value > -3 * result.standard_error
        assert not [w for w in result.warnings if w.kind == "negative_estimate"]


@pytest.mark.filterwarnings("ignore")
def test_high_dimensional_entropy_warns_where_the_bias_dominates():
    # Measured (kl docstring): N(0, I_12) at N = 500 is 0.43 nats high; N(0, I_8) is fine.
    rng = np.random.default_rng(2)
    high = rng.standard_normal((500, 12))
    result = estimate_entropy(high, "kl")
    assert result.value - 6 * math.log(2 * math.pi * math.e) > 0.3
    assert [w.kind for w in result.warnings] == ["knn_entropy_bias"]
    low = estimate_entropy(rng.standard_normal((500, 8)), "kl")
    assert not low.warnings


@pytest.mark.filterwarnings("ignore")
def test_saturated_estimate_warns_and_a_moderate_one_does_not():
    # Two pairs carrying 10 nats: kNN estimates level off far below (about 6 nats here).
    x, y, truth = gaussian_pairs(2, 3000, 3, rho=math.sqrt(1 - math.exp(-10.0)))
    for method in ("kl", "ksg"):
        result = estimate_mi(x, y, method)
        assert 5.0 < result.value < truth - 2.0
        assert "knn_saturation" in result.warning_kinds
    x, y, _ = gaussian_pairs(2, 3000, 3, rho=0.9)
    assert "knn_saturation" not in estimate_mi(x, y, "ksg").warning_kinds
