"""Additive uniform noise: the closed form against quadrature and Monte Carlo."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from scipy.integrate import quad

from mi_toolkit.synthetic import AdditiveUniformNoise
from mi_toolkit.synthetic.noise import uniform_noise_mutual_information

EPSILONS = [0.05, 0.1, 0.3, 0.5, 0.75, 2.0, 10.0]


def _density_of_y(y: np.ndarray, eps: float) -> np.ndarray:
    # p(y) = P(X ∈ [y - ε, y + ε]) / 2ε for X ~ U(0, 1).
    covered = np.minimum(y + eps, 1.0) - np.maximum(y - eps, 0.0)
    return np.clip(covered, 0.0, None) / (2 * eps)


@pytest.mark.parametrize("eps", EPSILONS)
def test_closed_form_matches_quadrature_of_h_y(eps):
    def integrand(y: float) -> float:
        p = float(_density_of_y(np.array(y), eps))
        return -p * math.log(p) if p > 0 else 0.0

    kinks = sorted({-eps, eps, 1 - eps, 1 + eps})
    entropy_y = sum(quad(integrand, a, b, epsabs=1e-13)[0] for a, b in pairwise(kinks))
    assert uniform_noise_mutual_information(eps) == pytest.approx(
        entropy_y - math.log(2 * eps), abs=1e-9
    )


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_closed_form_matches_monte_carlo_on_the_samples(eps):
    n = 50_000
    _, y = AdditiveUniformNoise(eps).sample(n, np.random.default_rng(3))
    # log p(y|x) - log p(y) = -log 2ε - log p(y) for every sample.
    ratios = -math.log(2 * eps) - np.log(_density_of_y(y[:, 0], eps))
    standard_error = ratios.std(ddof=1) / math.sqrt(n)
    assert abs(ratios.mean() - uniform_noise_mutual_information(eps)) < 4 * standard_error


def test_both_branches_meet_at_one_half_and_dimensions_add():
    below = uniform_noise_mutual_information(0.5 - 1e-12)
    above = uniform_noise_mutual_information(0.5 + 1e-12)
    assert below == pytest.approx(0.5, abs=1e-11) and above == pytest.approx(0.5, abs=1e-11)
    assert AdditiveUniformNoise(0.2, dim=3).mutual_information() == pytest.approx(
        3 * (0.2 - math.log(0.4))
    )


def test_samples_stay_within_the_noise_band():
    x, y = AdditiveUniformNoise(0.3, dim=2).sample(1000, np.random.default_rng(0))
    assert x.shape == y.shape == (1000, 2)
    assert np.all((x >= 0) & (x < 1)) and np.all(np.abs(y - x) <= 0.3)


@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_epsilon_is_refused(eps):
    with pytest.raises(ValueError, match="epsilon"):
        AdditiveUniformNoise(eps)
