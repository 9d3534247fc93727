"""Multivariate Student-t: the entropy formula and the MI against Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_t

from mi_toolkit.synthetic import MultivariateStudentT
from mi_toolkit.synthetic.gaussian import pairs_covariance
from mi_toolkit.synthetic.student import student_t_correction, student_t_entropy


@pytest.mark.parametrize(("dim", "dof"), [(1, 1.0), (2, 3.0), (5, 0.5), (10, 30.0)])
def test_entropy_matches_scipy(dim, dof):
    scale = np.diag(np.linspace(0.5, 2.0, dim))
    expected = multivariate_t(shape=scale, df=dof).entropy()
    log_det = float(np.log(np.diag(scale)).sum())
    assert student_t_entropy(dim, dof, log_det) == pytest.approx(expected, rel=1e-10)


def _random_scale(dim: int, seed: int) -> np.ndarray:
    factor = np.random.default_rng(seed).standard_normal((dim, dim))
    covariance = factor @ factor.T / dim + 0.5 * np.eye(dim)
    sd = np.sqrt(np.diag(covariance))
    return covariance / np.outer(sd, sd)


@pytest.mark.parametrize(
    ("scale", "dim_x", "dof"),
    [
        (pairs_covariance([0.5]), 1, 1.0),
        (pairs_covariance([0.0, 0.0]), 2, 3.0),
        (pairs_covariance([0.9, 0.5]), 2, 5.0),
        (_random_scale(5, seed=1), 2, 2.5),
    ],
)
def test_mi_matches_a_monte_carlo_mean_of_log_density_ratios(scale, dim_x, dof):
    sampler = MultivariateStudentT(scale, dim_x, dof)
    n = 20_000
    x, y = sampler.sample(n, np.random.default_rng(7))
    joint = multivariate_t(shape=scale, df=dof).logpdf(np.hstack([x, y]))
    marginal_x = multivariate_t(shape=scale[:dim_x, :dim_x], df=dof).logpdf(x)
    marginal_y = multivariate_t(shape=scale[dim_x:, dim_x:], df=dof).logpdf(y)
    ratios = joint - marginal_x.reshape(n) - marginal_y.reshape(n)
    standard_error = ratios.std(ddof=1) / math.sqrt(n)
    # Within 4 Monte-Carlo standard errors (a false alarm about once in 16 000 runs).
    assert abs(ratios.mean() - sampler.mutual_information()) < 4 * standard_error


def test_correction_is_positive_and_vanishes_for_many_dof():
    assert student_t_correction(1, 1, 1.0) > student_t_correction(1, 1, 10.0) > 0
    # About d_x d_y / 2ν² for large ν; log Γ(ν/2) of size 1e7 at ν = 1e6 costs ~1e-9 of
    # rounding, so only the size is checked there.
    assert student_t_correction(3, 4, 1000.0) == pytest.approx(3 * 4 / (2 * 1000.0**2), rel=0.01)
    assert abs(student_t_correction(3, 4, 1e6)) < 1e-7


def test_samples_have_heavy_tails_with_the_right_scale():
    sampler = MultivariateStudentT(pairs_covariance([0.0]), 1, 3.0)
    x, _ = sampler.sample(40_000, np.random.default_rng(0))
    # Var of a t with ν = 3 and unit scale is ν/(ν - 2) = 3; its median |x| is t_0.75 = 0.765.
    assert np.median(np.abs(x)) == pytest.approx(0.7649, abs=0.02)


def test_bad_dof_is_refused():
    with pytest.raises(ValueError, match="dof"):
        MultivariateStudentT(np.eye(2), 1, 0.0)
    with pytest.raises(ValueError, match="positive definite"):
        MultivariateStudentT(np.array([[1.0, 1.0], [1.0, 1.0]]), 1, 3.0)
