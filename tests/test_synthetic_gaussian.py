"""Gaussian families: closed forms against independent formulas and the gaussian estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit import estimate_mi
from mi_toolkit.synthetic import (
    CorrelatedPairs,
    JointGaussian,
    RotatedPairs,
    dense_gaussian,
    gaussian_mutual_information,
    get_task,
    sparse_gaussian,
)


def _equicorrelated_log_det(dim: int, rho: float) -> float:
    # Eigenvalues of (1 - ρ)I + ρ11ᵀ: 1 + (d - 1)ρ once and 1 - ρ (d - 1) times.
    return (dim - 1) * math.log(1 - rho) + math.log(1 + (dim - 1) * rho)


@pytest.mark.parametrize(
    ("dim_x", "dim_y", "rho"),
    [(1, 1, 0.3), (2, 3, 0.5), (25, 25, 0.5), (50, 50, -0.005), (100, 100, 0.2)],
)
def test_dense_matches_the_equicorrelation_determinant(dim_x, dim_y, rho):
    expected = 0.5 * (
        _equicorrelated_log_det(dim_x, rho)
        + _equicorrelated_log_det(dim_y, rho)
        - _equicorrelated_log_det(dim_x + dim_y, rho)
    )
    assert dense_gaussian(dim_x, dim_y, rho).mutual_information() == pytest.approx(
        expected, rel=1e-10, abs=1e-12
    )


@pytest.mark.parametrize(
    ("dim_x", "dim_y", "k", "rho"), [(5, 5, 2, 0.8), (100, 100, 10, 0.9), (1, 100, 1, -0.99)]
)
def test_sparse_matches_the_pairs_formula(dim_x, dim_y, k, rho):
    sampler = sparse_gaussian(dim_x, dim_y, k, rho)
    assert (sampler.dim_x, sampler.dim_y) == (dim_x, dim_y)
    assert sampler.mutual_information() == pytest.approx(-0.5 * k * math.log(1 - rho**2), rel=1e-12)


@pytest.mark.parametrize(("dim", "mi"), [(1, 1.0), (5, 2.0), (25, 10.0), (100, 20.0), (2, 20.0)])
def test_rotated_covariance_carries_the_requested_mi(dim, mi):
    sampler = RotatedPairs(mi, dim, dim, mixing_seed=3)
    assert sampler.mutual_information() == pytest.approx(mi, rel=1e-14)
    # An independent route: the closed form on the covariance after mixing. For 10 nats per
    # pair det Σ ≈ e^-20 carries float rounding of about 1e-16 / 2e-9 relative, hence 1e-6.
    assert gaussian_mutual_information(sampler.covariance, dim) == pytest.approx(mi, rel=1e-6)


def test_rotated_pairs_with_fewer_pairs_than_dimensions():
    sampler = RotatedPairs(3.0, 4, 6, n_pairs=2)
    x, y = sampler.sample(10, np.random.default_rng(0))
    assert x.shape == (10, 4) and y.shape == (10, 6)
    assert gaussian_mutual_information(sampler.covariance, 4) == pytest.approx(3.0, rel=1e-9)


def test_mixing_matrices_are_orthogonal_and_seeded():
    first, second = RotatedPairs(1.0, 5, 5, mixing_seed=1), RotatedPairs(1.0, 5, 5, mixing_seed=1)
    np.testing.assert_allclose(first.mixing_x @ first.mixing_x.T, np.eye(5), atol=1e-12)
    np.testing.assert_array_equal(first.mixing_y, second.mixing_y)
    assert not np.allclose(first.mixing_x, RotatedPairs(1.0, 5, 5, mixing_seed=2).mixing_x)


def test_high_mi_pairs_keep_their_noise_exactly():
    # 40 nats in one pair: ρ rounds to 1.0 in float64, the noise scale e^-40 does not.
    assert CorrelatedPairs.with_mutual_information(40.0, 1).mutual_information() == 40.0
    pairs = CorrelatedPairs.with_mutual_information(20.0, 2)
    x, y = pairs.sample(20_000, np.random.default_rng(0))
    residual = (y - pairs.correlations * x) / pairs.noise_scales
    # The residual is N(0, 1): its sd over 20 000 draws is within 4 × 1/sqrt(2N) of 1.
    assert np.all(np.abs(residual.std(axis=0) - 1) < 4 / math.sqrt(2 * 20_000))


@pytest.mark.parametrize(
    "name",
    [
        "gaussian-3x3",
        "gaussian-dense-5x5-rho0.5",
        "gaussian-sparse-25x25-k2-rho0.8",
        "gaussian-rotated-5x5-mi2",
        "gaussian-rotated-5x5-mi10",
    ],
)
def test_gaussian_estimator_agrees_with_the_closed_form(name):
    task = get_task(name)
    n = 20_000
    x, y = task.sample(n, seed=11)
    result = estimate_mi(x, y, "gaussian")
    # Sampling error within 4 SE, plus the estimator's stated upward bias d_x d_y / 2N.
    bias = task.dim_x * task.dim_y / (2 * n)
    assert abs(result.value - bias / 2 - task.mutual_information) < (
        4 * result.standard_error + bias / 2
    )


def test_samples_are_deterministic_per_seed():
    task = get_task("gaussian-rotated-5x5-mi2")
    first, again, other = task.sample(50, seed=4), task.sample(50, seed=4), task.sample(50, seed=5)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0])


def test_joint_gaussian_splits_and_scales():
    covariance = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.5]])
    sampler = JointGaussian(covariance, 1)
    x, y = sampler.sample(40_000, np.random.default_rng(2))
    assert x.shape == (40_000, 1) and y.shape == (40_000, 2)
    empirical = np.cov(np.hstack([x, y]).T)
    # Each sample covariance entry has sd <= sqrt(2) max variance / sqrt(N) ≈ 0.015.
    np.testing.assert_allclose(empirical, covariance, atol=0.06)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CorrelatedPairs([0.5, 1.0]), "inside"),
        (lambda: CorrelatedPairs([-1.2]), "inside"),
        (lambda: CorrelatedPairs([float("nan")]), "finite"),
        (lambda: CorrelatedPairs([]), "at least one"),
        (lambda: CorrelatedPairs.with_mutual_information(-0.1, 2), ">= 0"),
        (lambda: dense_gaussian(0, 2, 0.5), "dim_x"),
        (lambda: dense_gaussian(2, 101, 0.5), "at most 100"),
        (lambda: dense_gaussian(3, 3, -0.25), "positive definite"),
        (lambda: sparse_gaussian(3, 5, 4, 0.5), "n_pairs"),
        (lambda: RotatedPairs(-1.0, 2, 2), ">= 0"),
        (lambda: JointGaussian(np.array([[1.0, 2.0], [2.0, 1.0]]), 1), "positive definite"),
        (lambda: JointGaussian(np.array([[1.0, 0.2], [0.1, 1.0]]), 1), "symmetric"),
        (lambda: JointGaussian(np.eye(3), 3), "dim_x"),
    ],
)
def test_bad_parameters_are_refused_clearly(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_non_integer_dimension_is_a_type_error():
    with pytest.raises(TypeError, match="dim_x"):
        dense_gaussian(2.5, 2, 0.1)
