"""KSG with the mixed rule of Gao et al. (2017) (``ties="mixed"``): repeated rows allowed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z
from scipy import stats
from scipy.special import digamma

from mi_toolkit import estimate_mi

# -- the rule, computed directly --------------------------------------------------------


def mixed_rule_by_hand(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The rule of the ksg docstring from the full distance matrices (max-norm)."""
    n = x.shape[0]
    dist_x = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dist_y = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    dist = np.maximum(dist_x, dist_y)
    total = 0.0
    for i in range(n):
        others = np.arange(n) != i
        rho = np.sort(dist[i, others])[k - 1]
        if rho == 0:  # an atom: count the ties, in the joint space and in each marginal
            k_i = np.count_nonzero(dist[i, others] == 0)
            n_x = np.count_nonzero(dist_x[i, others] == 0)
            n_y = np.count_nonzero(dist_y[i, others] == 0)
        else:  # KSG's variant 1
            k_i = k
            n_x = np.count_nonzero(dist_x[i, others] < rho)
            n_y = np.count_nonzero(dist_y[i, others] < rho)
        total += digamma(k_i) + digamma(n) - digamma(n_x + 1) - digamma(n_y + 1)
    return total / n


def ross_mixed_by_hand(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """The same rule with the label at distance 0 within a class and ∞ across."""
    n = x.shape[0]
    dist = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    total = 0.0
    for i in range(n):
        others = np.arange(n) != i
        same = (labels == labels[i]) & others
        rho = np.sort(dist[i, same])[k - 1]
        if rho == 0:
            k_i = np.count_nonzero(dist[i, same] == 0)
            m = 1 + np.count_nonzero(dist[i, others] == 0)
        else:
            k_i = k
            m = 1 + np.count_nonzero(dist[i, others] < rho)
        class_size = np.count_nonzero(labels == labels[i])
        total += digamma(n) + digamma(k_i) - digamma(class_size) - digamma(m)
    return total / n


def _hand_made_ties() -> tuple[np.ndarray, np.ndarray]:
    # Zeros (a ReLU's), repeated pairs, values tied in one marginal only, distinct rows.
    x = np.array(
        [0, 0, 0, 0, 0, 1.5, 1.5, 1.5, 2.25, 0.75, 3.0, 0, 1.5, 2.0, 0.5, 0, 0, 1.25],
        dtype=float,
    )
    y = np.array(
        [0, 0, 0, 0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.5, 3.5, 0, 1.75, 0, 0.25, 0.5, 0, 1.0],
        dtype=float,
    )
    return x[:, None], y[:, None]


@pytest.mark.parametrize("algorithm", ["auto", "brute", "tree"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_equals_the_rule_computed_directly_on_a_hand_made_example(k, algorithm):
    x, y = _hand_made_ties()
    ours = estimate_mi(x, y, "ksg", k=k, ties="mixed", transform="none", algorithm=algorithm)
    assert ours.value == pytest.approx(mixed_rule_by_hand(x, y, k), abs=1e-12)
    assert ours.details["tied_samples"] > 0


def test_equals_the_rule_computed_directly_in_three_dimensions():
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((60, 2)), 0.0)  # a two-unit ReLU layer
    y = np.round(rng.standard_normal((60, 1)) + x[:, :1])  # quantised
    ours = estimate_mi(x, y, "ksg", k=3, ties="mixed", transform="none")
    assert ours.value == pytest.approx(mixed_rule_by_hand(x, y, 3), abs=1e-12)


def test_against_labels_equals_the_rule_computed_directly():
    x, _ = _hand_made_ties()
    labels = np.array([0, 1] * 9)
    ours = estimate_mi(x, labels, "ksg", k=2, ties="mixed", transform="none")
    assert ours.value == pytest.approx(ross_mixed_by_hand(x, labels, 2), abs=1e-12)


# -- known MI of mixed distributions -------------------------------------------------------


def test_zero_inflated_gaussian_channel_within_standard_errors():
    # Y = B (X + σZ) with B ~ Bernoulli(p) independent of X: Y = 0 tells B = 0 (almost
    # surely), so I(X;Y) = I(X;B) + I(X;Y|B) = p · ½ log(1 + 1/σ²) exactly. 60% of the y
    # are exact zeros; x is continuous, so no joint row repeats.
    rng = np.random.default_rng(7)
    n, p, sigma = 4000, 0.4, 0.5
    x = rng.standard_normal(n)
    y = (rng.random(n) < p) * (x + sigma * rng.standard_normal(n))
    truth = p * 0.5 * math.log1p(1.0 / sigma**2)
    result = estimate_mi(x, y, "ksg", ties="mixed")
    assert abs(result.value - truth) < Z * result.standard_error


def _shared_zero_inflation(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    # X = B U, Y = B (U + σZ): both zero together with probability 1 − p (a joint atom
    # holding 60% of the rows), so B is a function of either side and
    # I(X;Y) = H(B) + p · ½ log(1 + 1/σ²).
    rng = np.random.default_rng(seed)
    p, sigma = 0.4, 0.5
    u, gate = rng.standard_normal(n), rng.random(n) < p
    x, y = gate * u, gate * (u + sigma * rng.standard_normal(n))
    entropy_gate = -p * math.log(p) - (1 - p) * math.log(1 - p)
    return x, y, entropy_gate + p * 0.5 * math.log1p(1.0 / sigma**2)


def test_shared_zero_inflation_has_the_stated_downward_bias_that_shrinks():
    # Stated in the ksg docstring: 0.85–0.89 against 0.995 at N = 4,000 and 0.92–0.93 at
    # N = 16,000 (an atom inside the continuous part's range).
    x, y, truth = _shared_zero_inflation(4000, seed=10)
    with pytest.raises(ValueError, match="ties='mixed'"):
        estimate_mi(x, y, "ksg")
    small = estimate_mi(x, y, "ksg", ties="mixed")
    large = estimate_mi(*_shared_zero_inflation(16000, seed=11)[:2], "ksg", ties="mixed")
    assert small.details["tied_samples"] > 2000
    assert 0.0 < truth - small.value < 0.15 + Z * small.standard_error
    assert 0.0 < truth - large.value < truth - small.value


def relu_channel_mi(sigma: float, points: int = 801) -> float:
    """I(X; ReLU(X + σZ)) for X, Z standard normal, integrated numerically.

    Against the reference measure δ_0 + Lebesgue on [0, ∞): P(Y = 0 | x) = Φ(−x/σ) and
    P(Y = 0) = ½; for y > 0 the densities are φ((y − x)/σ)/σ and φ(y/s)/s, s² = 1 + σ².
    Trapezoids on a grid over x in [−10, 10] and y in [0, 10 + 10σ] (the 2,001-point grid
    and scipy's dblquad agree to 1e-15 at σ = 0.5: 0.58899054).
    """
    s = math.sqrt(1.0 + sigma**2)
    xs = np.linspace(-10.0, 10.0, points)
    ys = np.linspace(0.0, 10.0 + 10.0 * sigma, points)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    log_ratio = stats.norm.logpdf(y, x, sigma) - stats.norm.logpdf(y, 0.0, s)
    density = stats.norm.pdf(x) * stats.norm.pdf(y, x, sigma)
    positive_part = np.trapezoid(np.trapezoid(density * log_ratio, ys, axis=1), xs)
    zero_given_x = stats.norm.cdf(-xs / sigma)
    at_zero = stats.norm.pdf(xs) * zero_given_x * np.log(np.maximum(zero_given_x, 1e-300) / 0.5)
    return float(positive_part + np.trapezoid(at_zero, xs))


def test_relu_of_a_noisy_gaussian_within_standard_errors():
    # Half of the y values are exact zeros (a ReLU unit) next to a continuous x.
    rng = np.random.default_rng(8)
    n, sigma = 4000, 0.5
    x = rng.standard_normal(n)
    y = np.maximum(x + sigma * rng.standard_normal(n), 0.0)
    result = estimate_mi(x, y, "ksg", ties="mixed")
    truth = relu_channel_mi(sigma)
    assert truth == pytest.approx(0.58899054, abs=1e-6)
    assert abs(result.value - truth) < Z * result.standard_error


def test_without_ties_it_is_variant_one():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((500, 2))
    y = x[:, :1] + rng.standard_normal((500, 1))
    mixed = estimate_mi(x, y, "ksg", ties="mixed")
    assert mixed.details["tied_samples"] == 0
    assert mixed.value == estimate_mi(x, y, "ksg").value


def test_mixed_rule_needs_variant_one():
    with pytest.raises(ValueError, match="variant=1"):
        estimate_mi(np.arange(10.0), np.arange(10.0), "ksg", ties="mixed", variant=2)
