"""Gaussian-copula MI ("gcmi") and the copula transform of the kNN estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z, gaussian_pairs, two_class_mixture
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from mi_toolkit import estimate_entropy, estimate_mi


def _monotone_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Heavy-tailed and skewed marginals of the same Gaussian copula: the MI is unchanged.
    return np.exp(2.0 * x), y**3 + 0.1 * y


@pytest.mark.parametrize("pairs", [1, 3])
def test_gaussian_copula_under_monotone_maps_within_standard_errors(pairs):
    x, y, truth = gaussian_pairs(pairs, 4000, seed=40 + pairs)
    result = estimate_mi(*_monotone_maps(x, y), "gcmi")
    assert abs(result.value - truth) < Z * result.standard_error


def test_the_gaussian_closed_form_is_fooled_by_the_same_maps():
    # What gcmi is for: the plain closed form loses most of the MI on these marginals.
    x, y, truth = gaussian_pairs(3, 4000, seed=43)
    assert estimate_mi(*_monotone_maps(x, y), "gaussian").value < 0.5 * truth


def test_equals_the_formula_computed_directly():
    # Ince et al.: normal scores of average ranks, then Gaussian entropies with the
    # ψ correction, here written from the formulas with a 1/N covariance.
    rng = np.random.default_rng(5)
    n = 300
    x = rng.standard_normal((n, 2))
    y = np.round(x[:, :1] + rng.standard_normal((n, 1)), 1)  # ties: average ranks
    scores = ndtri(rankdata(np.hstack((x, y)), axis=0) / (n + 1))

    def corrected_entropy(block: np.ndarray) -> float:
        d = block.shape[1]
        log_det = np.linalg.slogdet(np.cov(block.T, bias=True).reshape(d, d))[1]
        bias = 0.5 * (digamma((n - np.arange(1, d + 1)) / 2).sum() + d * math.log(2 / n))
        return 0.5 * log_det + 0.5 * d * math.log(2 * math.pi * math.e) - bias

    by_hand = (
        corrected_entropy(scores[:, :2])
        + corrected_entropy(scores[:, 2:])
        - corrected_entropy(scores)
    )
    assert estimate_mi(x, y, "gcmi").value == pytest.approx(by_hand, abs=1e-10)


def test_bias_correction_centres_independent_data_on_zero():
    # 5+5-D at N = 200: the plug-in copula MI is biased up by about d_x d_y / 2N = 0.06
    # nats; the corrected one is centred on 0 (mean over 20 seeds within Z errors).
    corrected, plain = [], []
    for seed in range(20):
        x, y, _ = gaussian_pairs(5, 200, seed=500 + seed, rho=0.0)
        corrected.append(estimate_mi(x, y, "gcmi").value)
        plain.append(estimate_mi(x, y, "gcmi", bias_correction=False).value)
    error_of_mean = np.std(corrected, ddof=1) / math.sqrt(len(corrected))
    assert abs(np.mean(corrected)) < Z * error_of_mean
    assert np.mean(plain) > 0.04


def test_against_labels_equals_the_class_conditional_formula():
    rng = np.random.default_rng(6)
    n = 600
    labels = rng.integers(0, 3, n)
    t = np.exp(rng.standard_normal((n, 2)) + labels[:, None] * np.array([0.8, -0.4]))
    scores = ndtri(rankdata(t, axis=0) / (n + 1))

    def corrected_entropy(block: np.ndarray) -> float:
        m, d = block.shape
        log_det = np.linalg.slogdet(np.cov(block.T, bias=True))[1]
        bias = 0.5 * (digamma((m - np.arange(1, d + 1)) / 2).sum() + d * math.log(2 / m))
        return 0.5 * log_det + 0.5 * d * math.log(2 * math.pi * math.e) - bias

    within = sum(np.mean(labels == c) * corrected_entropy(scores[labels == c]) for c in range(3))
    by_hand = corrected_entropy(scores) - within
    assert estimate_mi(t, labels, "gcmi").value == pytest.approx(by_hand, abs=1e-10)


def test_refuses_entropies():
    with pytest.raises(ValueError, match="mutual information only"):
        estimate_entropy(np.arange(10.0), "gcmi")


# -- the copula transform of kl and ksg -----------------------------------------------------


@pytest.mark.parametrize("method", ["kl", "ksg"])
def test_copula_transform_undoes_monotone_maps(method):
    x, y, truth = gaussian_pairs(1, 3000, seed=47)
    plain = estimate_mi(x, y, method, transform="copula")
    mapped = estimate_mi(*_monotone_maps(x, y), method, transform="copula")
    assert mapped.value == pytest.approx(plain.value, abs=1e-12)  # ranks are all it sees
    assert abs(mapped.value - truth) < Z * mapped.standard_error


def test_kl_refuses_a_copula_entropy_and_labels():
    with pytest.raises(ValueError, match="transform='standardize'"):
        estimate_entropy(np.arange(10.0), "kl", transform="copula")
    with pytest.raises(ValueError, match="'ksg' with transform='copula'"):
        estimate_mi(np.arange(10.0), np.arange(10) % 2, "kl", transform="copula")


def test_ksg_copula_against_labels_within_standard_errors():
    t, labels, truth = two_class_mixture(3000, separation=2.0, seed=5)
    result = estimate_mi(np.exp(t), labels, "ksg", transform="copula")
    assert abs(result.value - truth) < Z * result.standard_error
