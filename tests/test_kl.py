"""Kozachenko–Leonenko estimator ("kl"): closed forms, weights, whitening, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _cases import Z, gaussian_pairs, rho_for, two_class_mixture
from _knn_cases import assert_about_zero_when_independent, assert_downward_bias_that_shrinks

from mi_toolkit import MIToolkitWarning, estimate_entropy, estimate_mi
from mi_toolkit.estimators.kl import default_weighted_k, kl_weights, weight_constraints

# -- closed forms -------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"whiten": True}, {"weighted": True}, {"k": 1}])
@pytest.mark.parametrize("pairs", [1, 2])
def test_low_dimensional_gaussians_within_standard_errors(pairs, params):
    x, y, truth = gaussian_pairs(pairs, 5000, seed=10 + pairs)
    result = estimate_mi(x, y, "kl", **params)
    assert abs(result.value - truth) < Z * result.standard_error


@pytest.mark.parametrize("d", [1, 3])
def test_entropy_of_a_standard_gaussian(d):
    x = np.random.default_rng(d).standard_normal((4000, d))
    result = estimate_entropy(x, "kl")
    truth = 0.5 * d * math.log(2 * math.pi * math.e)
    assert abs(result.value - truth) < Z * result.standard_error


# Stated bias: in 5+5 and 10+10 dimensions every kNN estimate falls below the truth by
# far more than its standard error (measured at N = 5000, seeds below: 5+5-D 0.88 and
# whitened 1.00 against 1.12 nats; 10+10-D 0.79 and whitened 1.42 against 2.23 nats).
# The test pins the direction, a ceiling on the size, and the shrinking with N.
@pytest.mark.parametrize(
    ("pairs", "params", "max_bias"),
    [
        (5, {}, 0.35),
        (5, {"whiten": True}, 0.2),
        (10, {}, 1.6),
        (10, {"whiten": True}, 1.0),
    ],
)
def test_high_dimensional_bias_is_downwards_and_shrinks_with_n(pairs, params, max_bias):
    assert_downward_bias_that_shrinks("kl", pairs, 20 + pairs, max_bias, **params)


def test_whitening_recovers_a_strongly_dependent_gaussian():
    # Butakov et al. (2024): 2+2-D Gaussian with I = 10 nats, N = 5000, 1-NN.
    x, y, _ = gaussian_pairs(2, 5000, seed=1, rho=rho_for(10.0, 2))
    whitened = estimate_mi(x, y, "kl", k=1, whiten=True)
    plain = estimate_mi(x, y, "kl", k=1)
    assert abs(whitened.value - 10.0) < Z * whitened.standard_error
    assert plain.value < 8.5  # measured 8.08: the balls are far too round without whitening


def test_whitened_estimate_is_invariant_under_invertible_linear_maps():
    x, y, _ = gaussian_pairs(2, 2000, seed=3)
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    b = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    original = estimate_mi(x, y, "kl", whiten=True)
    mapped = estimate_mi(x @ a.T + 3.0, y @ b.T - 1.0, "kl", whiten=True)
    # Whitening turns any invertible map into a rotation, which keeps every distance.
    assert mapped.value == pytest.approx(original.value, abs=1e-9)


def test_unwhitened_estimate_of_a_rescaled_gaussian_is_the_same_mi():
    x, y, truth = gaussian_pairs(1, 5000, seed=5)
    result = estimate_mi(3.0 * x + 1.0, -0.5 * y, "kl")
    assert abs(result.value - truth) < Z * result.standard_error


def test_independent_variables_give_about_zero():
    assert_about_zero_when_independent("kl", dim=2, n=3000, seed=6)


@pytest.mark.parametrize("labels_first", [False, True])
def test_labels_against_a_mixture(labels_first):
    t, labels, truth = two_class_mixture(5000, separation=2.0, seed=7)
    pair = (labels, t) if labels_first else (t, labels)
    result = estimate_mi(*pair, "kl")
    assert abs(result.value - truth) < Z * result.standard_error
    assert result.details["classes"] == 2


# -- weighted KL ----------------------------------------------------------------------------


@pytest.mark.parametrize(("d", "k"), [(1, 5), (4, 2), (8, 5), (12, 20), (16, 5), (16, 40)])
def test_weights_satisfy_their_constraints(d, k):
    weights = kl_weights(d, k)
    constraints = weight_constraints(d, k)
    target = np.zeros(constraints.shape[0])
    target[0] = 1.0
    scale = np.abs(constraints).max(axis=1) * np.abs(weights).sum()
    assert np.all(np.abs(constraints @ weights - target) <= 1e-9 * scale)
    # Least norm: no null-space direction of the constraints can shorten w.
    _, _, vt = np.linalg.svd(constraints)
    null_space = vt[constraints.shape[0] :]  # empty when k = 1 + d // 4: w is unique
    assert np.all(np.abs(null_space @ weights) < 1e-8 * np.linalg.norm(weights))


def test_weight_sizes_quoted_in_the_docs():
    assert np.abs(kl_weights(8, 5)).max() == pytest.approx(9.85, abs=0.01)
    assert np.abs(kl_weights(16, 5)).max() == pytest.approx(11_520, rel=0.01)
    np.testing.assert_allclose(kl_weights(2, 4), np.full(4, 0.25))  # d < 4: plain average


def test_no_weights_when_constraints_outnumber_them():
    with pytest.raises(ValueError, match="needs k >= 6"):
        kl_weights(20, 5)
    x, y, _ = gaussian_pairs(10, 200, seed=8)
    with pytest.raises(ValueError, match="needs k >= 6"):
        estimate_mi(x, y, "kl", weighted=True, k=5)


def test_default_weighted_k_keeps_weights_moderate():
    for d in range(1, 12):
        k = default_weighted_k(d, 10_000)
        assert np.abs(kl_weights(d, k)).max() <= 10.0
    assert default_weighted_k(8, 10_000) == 5
    assert default_weighted_k(2, 4) == 3  # never beyond n - 1


def test_large_weights_warn():
    x, y, _ = gaussian_pairs(10, 400, seed=9)
    with pytest.warns(MIToolkitWarning, match="weights for \\(x, y\\) reach"):
        estimate_mi(x, y, "kl", weighted=True)


# -- engines ------------------------------------------------------------------------------


@pytest.mark.parametrize("pairs", [1, 4])
def test_tree_brute_and_torch_give_the_same_numbers(pairs):
    x, y, _ = gaussian_pairs(pairs, 1500, seed=11)
    values = [
        estimate_mi(x, y, "kl", weighted=True, algorithm="tree").value,
        estimate_mi(x, y, "kl", weighted=True, algorithm="brute").value,
        estimate_mi(x, y, "kl", weighted=True, device="cpu").value,
    ]
    if pairs == 1:  # the joint space is 2-D: the grid's case
        values.append(estimate_mi(x, y, "kl", weighted=True, algorithm="grid").value)
    for other in values[1:]:
        assert other == pytest.approx(values[0], abs=1e-10)


def test_result_records_parameters_and_bias_note():
    x, y, _ = gaussian_pairs(10, 300, seed=12)
    result = estimate_mi(x, y, "kl")
    assert result.params == {
        "k": 3,
        "weighted": False,
        "whiten": False,
        "transform": "standardize",
        "algorithm": "auto",
        "device": None,
        "progress": None,
        "se_method": "scaled",
    }
    assert result.details["algorithm"] == "brute (fused)"
    assert "joint space has 20 dimensions" in result.bias_note
    assert set(result.components) == {"H(x)", "H(y)", "H(x,y)"}


# -- bad input ------------------------------------------------------------------------------


def test_k_at_least_n_samples_is_refused():
    x, y, _ = gaussian_pairs(1, 5, seed=13)
    with pytest.raises(ValueError, match="k=5 neighbours need at least 6 samples"):
        estimate_mi(x, y, "kl", k=5)


def test_small_class_is_refused():
    t = np.random.default_rng(14).standard_normal(50)
    labels = np.zeros(50, dtype=int)
    labels[:3] = 1
    with pytest.raises(ValueError, match="class y = 1 has 3 sample"):
        estimate_mi(t, labels, "kl", k=3)


def test_repeated_rows_are_refused_with_advice():
    x, y, _ = gaussian_pairs(1, 100, seed=15)
    x[:10] = 0.5
    with pytest.raises(ValueError, match="discrete_x=True"):
        estimate_mi(x, y, "kl", k=2)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"k": 0}, ValueError, "k must be a positive integer"),
        ({"k": 2.5}, TypeError, "k must be a positive integer"),
        ({"weighted": "yes"}, TypeError, "weighted must be True or False"),
        ({"algorithm": "ball"}, ValueError, "algorithm must be one of"),
        ({"device": "tpu"}, ValueError, "device must be"),
        ({"kk": 3}, TypeError, "unknown parameter"),
        ({"progress": "yes"}, TypeError, "progress must be True, False or None"),
    ],
)
def test_bad_parameters(params, error, match):
    x, y, _ = gaussian_pairs(1, 50, seed=16)
    with pytest.raises(error, match=match):
        estimate_mi(x, y, "kl", **params)


def test_both_discrete_is_refused():
    labels = np.arange(40) % 2
    with pytest.raises(ValueError, match="method='binning'"):
        estimate_mi(labels, labels, "kl")


@pytest.mark.parametrize("whiten", [False, True])
def test_collinear_columns_are_refused_by_name(whiten):
    x, y, _ = gaussian_pairs(2, 200, seed=17)
    x[:, 1] = 2.0 * x[:, 0]
    with pytest.raises(ValueError, match=r"columns x\[0\], x\[1\] of x are linearly dependent"):
        estimate_mi(x, y, "kl", whiten=whiten)


def test_nan_input_is_refused():
    x, y, _ = gaussian_pairs(1, 50, seed=18)
    x[3] = np.nan
    with pytest.raises(ValueError, match="NaN"), warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate_mi(x, y, "kl")
