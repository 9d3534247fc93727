"""Gaussian closed form against known MI, and its regularisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z, gaussian_pairs

from mi_toolkit import MIToolkitWarning, estimate_entropy, estimate_mi


@pytest.mark.parametrize(("rho", "dim"), [(0.9, 1), (0.5, 1), (0.6, 4), (0.3, 10)])
def test_correlated_gaussians_match_the_closed_form(rho, dim):
    n = 5000
    x, y, truth = gaussian_pairs(dim, n, seed=dim, rho=rho)
    result = estimate_mi(x, y, method="gaussian")
    # Upward small-sample bias of about dx*dy / 2N nats, plus 4 standard errors.
    bias = dim * dim / (2 * n)
    assert abs(result.value - truth) <= 4 * result.standard_error + bias


def test_mixed_covariance_in_several_dimensions(rng):
    """A full random covariance: truth from the determinants of the true blocks."""
    a = rng.standard_normal((5, 5))
    cov = a @ a.T + 0.5 * np.eye(5)
    truth = 0.5 * math.log(
        np.linalg.det(cov[:2, :2]) * np.linalg.det(cov[2:, 2:]) / np.linalg.det(cov)
    )
    z = rng.multivariate_normal(np.zeros(5), cov, size=20000)
    result = estimate_mi(z[:, :2], z[:, 2:], method="gaussian")
    assert abs(result.value - truth) <= 4 * result.standard_error + 6 / 40000


def test_standard_error_matches_the_bivariate_formula():
    """For one pair the asymptotic variance of the MLE MI is rho^2 / N."""
    rho, n = 0.8, 4000
    x, y, _ = gaussian_pairs(1, n, seed=3, rho=rho)
    result = estimate_mi(x, y, method="gaussian")
    # The per-sample log-density ratio of a Gaussian pair is a quadratic form with
    # eigenvalues ±rho/2: kurtosis 9 whatever rho, so the sample SD of its N values has
    # relative standard error sqrt((9 - 1) / 4N) = sqrt(2 / N), 2.2% here. (Measured over
    # 300 seeds: 1.7%, fitting rho to the same data takes some spread away; this seed -1.6%.)
    assert result.standard_error == pytest.approx(rho / math.sqrt(n), rel=Z * math.sqrt(2 / n))


def test_entropy_of_a_standard_normal(rng):
    x = rng.standard_normal((20000, 3))
    result = estimate_entropy(x, method="gaussian")
    truth = 1.5 * math.log(2 * math.pi * math.e)
    assert abs(result.value - truth) <= 4 * result.standard_error + 3 / 20000


def test_against_labels_uses_class_conditional_gaussians(rng):
    """Two classes with means ±m and unit variance in each; H(T) from the pooled Gaussian."""
    labels = rng.integers(0, 2, 4000)
    t = (2 * labels - 1) * 1.0 + rng.standard_normal(4000)
    result = estimate_mi(t, labels, method="gaussian")
    pooled = np.var(t)
    within = sum(np.mean(labels == c) * 0.5 * math.log(np.var(t[labels == c])) for c in (0, 1))
    assert result.value == pytest.approx(0.5 * math.log(pooled) - within, rel=1e-10)


def test_duplicated_feature_warns_and_stays_finite(rng):
    x = rng.standard_normal(500)
    with pytest.warns(MIToolkitWarning, match="singular"):
        result = estimate_mi(np.column_stack([x, x]), rng.standard_normal(500), method="gaussian")
    assert math.isfinite(result.value)
    assert result.details["ridge"] > 0


def test_permuting_samples_leaves_estimates_unchanged(rng):
    x, y, _ = gaussian_pairs(2, 1000, seed=9, rho=0.7)
    order = rng.permutation(1000)
    before = estimate_mi(x, y, method="gaussian").value
    assert estimate_mi(x[order], y[order], method="gaussian").value == pytest.approx(
        before, rel=1e-10
    )


def test_bias_note_matches_the_small_sample_bias():
    """Independent 3+3-D Gaussians, N = 200: the mean estimate is about 9 / 400 nats."""
    values = []
    for seed in range(40):
        x, y, _ = gaussian_pairs(3, 200, seed=300 + seed, rho=0.0)
        result = estimate_mi(x, y, "gaussian")
        values.append(result.value)
    assert "0.0225 nats" in result.bias_note
    # The mean of 40 estimates has SD below 0.002; the first-order bias is 0.0225.
    assert np.mean(values) == pytest.approx(0.0225, abs=0.006)


def test_fewer_samples_than_dimensions_raises(rng):
    """30 samples of 40 + 40 independent dimensions gave 296.6 nats; n <= d is singular."""
    x, y = rng.standard_normal((30, 40)), rng.standard_normal((30, 40))
    with pytest.raises(ValueError, match=r"x and y together: 30 samples in 80 .* at least 81"):
        estimate_mi(x, y, method="gaussian")
    with pytest.raises(ValueError, match=r"x: 3 samples in 3 dimensions.* at least 4"):
        estimate_entropy(x[:3, :3], method="gaussian")


def test_as_many_samples_as_dimensions_plus_one_is_enough(rng):
    x, y = rng.standard_normal((9, 4)), rng.standard_normal((9, 4))
    assert math.isfinite(estimate_mi(x, y, method="gaussian").value)


def test_each_class_needs_more_samples_than_dimensions(rng):
    t = rng.standard_normal((60, 10))
    labels = np.repeat([0, 1], [50, 10])  # class 1: 10 samples in 10 dimensions
    with pytest.raises(ValueError, match=r"class y = 1 has 10 sample.*at least 11"):
        estimate_mi(t, labels, method="gaussian")


SCALES = [1e300, 1e160, 1e-160, 1e-300]


@pytest.mark.parametrize("scale", SCALES)
def test_extreme_scales_give_the_same_mi(scale):
    """MI is invariant to scaling columns; at 1e300 numpy raised, at 1e-300 it gave 0."""
    x, y, _ = gaussian_pairs(2, 500, 11, rho=0.8)
    reference = estimate_mi(x, y, method="gaussian")
    scaled = estimate_mi(x * scale, y * scale, method="gaussian")
    assert scaled.value == pytest.approx(reference.value, rel=1e-9)
    assert not scaled.warnings
    # The entropies move by log(scale) per dimension.
    assert scaled.components["H(x)"] == pytest.approx(
        reference.components["H(x)"] + 2 * math.log(scale), rel=1e-9
    )


@pytest.mark.parametrize("scale", SCALES)
def test_extreme_scales_against_labels_and_for_entropy(scale):
    x, _, _ = gaussian_pairs(3, 600, 12, rho=0.0)
    labels = (x[:, 0] > 0).astype(int)
    reference = estimate_mi(x, labels, method="gaussian").value
    assert estimate_mi(x * scale, labels, method="gaussian").value == pytest.approx(
        reference, rel=1e-9
    )
    entropy = estimate_entropy(x, method="gaussian").value
    assert estimate_entropy(x * scale, method="gaussian").value == pytest.approx(
        entropy + 3 * math.log(scale), rel=1e-9
    )


def test_columns_of_very_different_scales():
    x, y, _ = gaussian_pairs(2, 500, 13, rho=0.6)
    reference = estimate_mi(x, y, method="gaussian").value
    mixed = x * np.array([1e300, 1e-300])
    assert estimate_mi(mixed, y * 1e-200, method="gaussian").value == pytest.approx(
        reference, rel=1e-9
    )
