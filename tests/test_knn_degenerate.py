"""The kNN estimators ("kl", "ksg") on the inputs that used to give silent wrong answers:
repeated rows, constant and collinear columns, columns in other units, extreme scales.

Each case names the figure it gave before (issue 8), so a regression is recognisable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z, gaussian_pairs

from mi_toolkit import estimate_entropy, estimate_mi

KNN = ("kl", "ksg")


# -- repeated rows ------------------------------------------------------------------------


@pytest.mark.parametrize("method", KNN)
@pytest.mark.parametrize("copies", [2, 3])
def test_rows_repeated_fewer_than_k_times_are_refused(method, copies):
    # Before: every row doubled gave kl 0.131 and ksg 1.584 (clean: 0.853 / 0.833), tripled
    # 0.536 and 1.157, because only the k-th neighbour's distance was checked.
    x, y, _ = gaussian_pairs(2, 500, seed=1)
    with pytest.raises(ValueError, match="rows repeat"):
        estimate_mi(np.repeat(x, copies, axis=0), np.repeat(y, copies, axis=0), method)


@pytest.mark.parametrize("method", KNN)
def test_a_single_repeated_row_is_refused(method):
    x, y, _ = gaussian_pairs(2, 500, seed=2)
    x[7], y[7] = x[3], y[3]
    with pytest.raises(ValueError, match="sample 3"):
        estimate_mi(x, y, method)


def test_kl_refuses_a_repeat_in_one_marginal():
    # KL takes log distances within x alone: a repeated x row is log 0 there.
    x, y, _ = gaussian_pairs(1, 500, seed=3)
    x[10] = x[20]
    with pytest.raises(ValueError, match="rows repeat: 1 row"):
        estimate_mi(x, y, "kl")


@pytest.mark.parametrize("method", KNN)
def test_repeats_within_a_class_are_refused_against_labels(method):
    x, _, _ = gaussian_pairs(2, 400, seed=4)
    labels = np.arange(400) % 2
    x[2] = x[0]  # same class
    with pytest.raises(ValueError, match="rows repeat"):
        estimate_mi(x, labels, method)


def test_ksg_takes_repeats_across_classes_against_labels():
    # Ross's search is within each class, so a row repeated in another class is no
    # neighbour at distance 0; the value moves by about one sample's term.
    x, _, _ = gaussian_pairs(1, 400, seed=5)
    labels = (x[:, 0] + np.random.default_rng(5).standard_normal(400) > 0).astype(int)
    other = int(np.flatnonzero(labels != labels[0])[0])
    clean = estimate_mi(x, labels, "ksg")
    x[other] = x[0]
    repeated = estimate_mi(x, labels, "ksg")
    assert repeated.value == pytest.approx(clean.value, abs=Z * clean.standard_error)


# -- constant and collinear columns --------------------------------------------------------


@pytest.mark.parametrize("method", KNN)
def test_a_constant_column_is_dropped_and_reported(method):
    # Before: kl gave -2.20 nats with a constant column in x (clean: 0.85).
    x, y, _ = gaussian_pairs(2, 800, seed=6)
    clean = estimate_mi(x, y, method)
    padded = np.column_stack((x[:, 0], np.full(800, 3.0), x[:, 1]))
    result = estimate_mi(padded, y, method)
    assert result.value == pytest.approx(clean.value, rel=1e-12)
    assert result.details["dropped_constant_columns"] == {"x": [1]}


@pytest.mark.parametrize("method", KNN)
def test_an_all_constant_variable_has_zero_mi(method):
    _, y, _ = gaussian_pairs(2, 300, seed=7)
    result = estimate_mi(np.ones((300, 2)), y, method)
    assert result.value == 0.0
    assert result.details["constant_variable"] == "x"


def test_kl_entropy_refuses_a_constant_column():
    # Before: -4.15 nats. A degenerate distribution has differential entropy -inf.
    x, _, _ = gaussian_pairs(2, 300, seed=8)
    x[:, 1] = 1.5
    with pytest.raises(ValueError, match=r"x\[1\] are constant"):
        estimate_entropy(x, "kl")


def test_kl_refuses_collinear_columns_by_name():
    # Before: -1.81 nats for two collinear columns.
    x, y, _ = gaussian_pairs(3, 600, seed=9)
    x[:, 2] = 0.5 * x[:, 0] - 2.0
    with pytest.raises(ValueError, match=r"columns x\[0\], x\[2\] of x are linearly dependent"):
        estimate_mi(x, y, "kl")


def test_kl_refuses_x_and_y_linearly_dependent():
    x, _, _ = gaussian_pairs(2, 600, seed=10)
    y = np.column_stack((x[:, 1] * 3.0 + 1.0, np.random.default_rng(10).standard_normal(600)))
    with pytest.raises(ValueError, match=r"x\[1\], y\[0\] of \(x, y\)"):
        estimate_mi(x, y, "kl")


def test_kl_refuses_a_column_constant_within_a_class():
    rng = np.random.default_rng(11)
    labels = np.arange(600) % 2
    t = rng.standard_normal((600, 2))
    t[labels == 1, 1] = 0.25  # H(T | Y = 1) = -inf
    with pytest.raises(ValueError, match="class 1 of y"):
        estimate_mi(t, labels, "kl")


# -- units and scale -----------------------------------------------------------------------


@pytest.mark.parametrize("method", KNN)
def test_the_default_does_not_depend_on_each_columns_units(method):
    # Before: ksg gave exactly 0.000 for 1000 * x (truth 1.12) and kl -6.05; in 1-D,
    # scaling x by 1, 10, 100, 1000 gave 0.83, 0.79, 0.70, 0.15.
    x, y, truth = gaussian_pairs(2, 2000, seed=12, rho=0.8)
    reference = estimate_mi(x, y, method)
    assert abs(reference.value - truth) < Z * reference.standard_error
    for scale in (10.0, 1000.0, np.array([1e-3, 1e4])):
        assert estimate_mi(scale * x, y, method).value == pytest.approx(reference.value, rel=1e-9)


@pytest.mark.parametrize("method", KNN)
@pytest.mark.parametrize("transform", ["standardize", "none"])
@pytest.mark.parametrize("scale", [1e300, 1e-160, 1e-300])
def test_extreme_scales_give_the_same_mi(method, transform, scale):
    # Before: kl raised "please report this" at 1e300 and said rows repeat at 1e-160
    # (squared distances under- and overflowed).
    x, y, _ = gaussian_pairs(2, 600, seed=13)
    reference = estimate_mi(x, y, method, transform=transform).value
    scaled = estimate_mi(scale * x, scale * y, method, transform=transform).value
    assert scaled == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize("transform", ["standardize", "none"])
@pytest.mark.parametrize("scale", [1e300, 1e-160, 1e-300, 1000.0])
def test_kl_entropy_moves_by_d_log_scale(transform, scale):
    # H(s X) = H(X) + d log s, exactly for the estimator too.
    x, _, _ = gaussian_pairs(3, 600, seed=14)
    reference = estimate_entropy(x, "kl", transform=transform).value
    scaled = estimate_entropy(scale * x, "kl", transform=transform).value
    assert scaled == pytest.approx(reference + 3 * math.log(scale), rel=1e-9, abs=1e-9)


def test_kl_entropy_of_a_standard_gaussian_survives_standardisation():
    # The standardised search plus sum(log s_j) is the entropy of the data as given.
    rng = np.random.default_rng(15)
    x = rng.standard_normal((4000, 2)) * np.array([3.0, 0.2])
    truth = 0.5 * 2 * math.log(2 * math.pi * math.e) + math.log(3.0 * 0.2)
    result = estimate_entropy(x, "kl")
    assert abs(result.value - truth) < Z * result.standard_error
