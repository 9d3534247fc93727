"""Bad input gets an error naming the argument, never a silent NaN or wrong number."""

from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit import estimate_entropy, estimate_mi

METHODS = ["binning", "kde", "gaussian"]
GOOD = np.linspace(-1, 1, 20)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_the_argument(method, bad):
    y = GOOD.copy()
    y[7] = bad
    with pytest.raises(ValueError, match=r"^y contains .*sample 7"):
        estimate_mi(GOOD, y, method=method)


@pytest.mark.parametrize("method", METHODS)
def test_mismatched_lengths(method):
    with pytest.raises(ValueError, match="x has 20 samples but y has 19"):
        estimate_mi(GOOD, GOOD[:-1], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_empty_input(method):
    with pytest.raises(ValueError, match=r"x is empty \(0 samples\)"):
        estimate_mi(np.array([]), np.array([]), method=method)
    with pytest.raises(ValueError, match="x has 0 features"):
        estimate_mi(np.empty((5, 0)), GOOD[:5], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_three_dimensional_input(method):
    images = np.zeros((20, 4, 4))
    with pytest.raises(ValueError, match=r"x has 3 dimensions .*reshape"):
        estimate_mi(images, GOOD, method=method)


def test_scalar_input():
    with pytest.raises(ValueError, match="x is a scalar"):
        estimate_entropy(3.0, method="binning")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.array([1, "a", None] * 7, dtype=object)[:20], "dtype object"),
        (GOOD + 1j, "complex"),
        (np.array(["2020-01-01"] * 20, dtype="datetime64[D]"), "unsupported dtype"),
    ],
)
def test_unsupported_dtypes_raise_type_error(data, message):
    with pytest.raises(TypeError, match=rf"^x .*{message}"):
        estimate_mi(data, GOOD, method="binning")


def test_ragged_lists():
    with pytest.raises(ValueError, match="x could not be read as an array"):
        estimate_mi([[1.0, 2.0], [3.0]], [1.0, 2.0], method="binning")


def test_huge_integers_are_refused():
    with pytest.raises(ValueError, match="beyond 2\\*\\*53"):
        estimate_mi(np.array([2**60, 1]), np.array([0, 1]), method="binning")


@pytest.mark.parametrize("method", ["gaussian", "binning", "kde"])
def test_too_few_samples(method):
    """binning and kde returned 0 for one sample, as if it measured independence."""
    with pytest.raises(ValueError, match=rf"x has 1 sample.*'{method}' needs at least 2"):
        estimate_mi([0.5], [0.25], method=method)
    with pytest.raises(ValueError, match=rf"x has 1 sample.*'{method}' needs at least 2"):
        estimate_entropy([0.5], method=method)


def test_gaussian_needs_two_samples_per_class():
    t = np.linspace(0, 1, 5)
    labels = np.array([0, 0, 1, 1, 2])
    with pytest.raises(ValueError, match="every class needs at least 2"):
        estimate_mi(t, labels, method="gaussian")


def test_gaussian_refuses_two_discrete_sides():
    with pytest.raises(ValueError, match="method='binning'"):
        estimate_mi([0, 1, 0, 1], [1, 1, 0, 0], method="gaussian")


@pytest.mark.parametrize("value", [0.0, -1e-3, np.nan, np.inf])
def test_noise_variance_must_be_positive(value):
    with pytest.raises(ValueError, match="noise_variance must be a positive finite number"):
        estimate_mi(GOOD, GOOD, method="kde", noise_variance=value)


@pytest.mark.parametrize("value", [0.0, -0.07])
def test_bin_width_must_be_positive(value):
    with pytest.raises(ValueError, match="bin_width must be a positive finite number"):
        estimate_mi(GOOD, GOOD, method="binning", bin_width=value)


@pytest.mark.parametrize("value", [0, -3])
def test_bin_count_must_be_positive(value):
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        estimate_mi(GOOD, GOOD, method="binning", n_bins=value)


def test_bin_count_must_be_an_integer():
    with pytest.raises(TypeError, match="n_bins must be a positive integer"):
        estimate_mi(GOOD, GOOD, method="binning", n_bins=2.5)


def test_parameter_that_does_not_fit_the_strategy():
    with pytest.raises(ValueError, match=r"bin_width does not apply to strategy='equal_mass'"):
        estimate_mi(GOOD, GOOD, method="binning", strategy="equal_mass", bin_width=0.1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bound": "middle"}, "bound must be one of 'upper', 'lower'"),
        ({"device": "tpu"}, "device must be None"),
    ],
)
def test_kde_choices(params, message):
    with pytest.raises(ValueError, match=message):
        estimate_mi(GOOD, GOOD, method="kde", **params)


def test_bad_discrete_flag():
    with pytest.raises(TypeError, match="discrete_x must be True, False or None"):
        estimate_mi(GOOD, GOOD, method="binning", discrete_x="yes")


@pytest.mark.parametrize("method", METHODS)
def test_constant_columns_work(method, rng):
    t = np.column_stack([rng.uniform(-1, 1, 300), np.full(300, 0.25)])
    x = np.column_stack([t[:, 0] + 0.3 * rng.standard_normal(300), np.zeros(300)])
    with_constant = estimate_mi(x, t, method=method)
    without = estimate_mi(x[:, :1], t[:, :1], method=method)
    assert np.isfinite(with_constant.value)
    # A constant feature carries no information, so it must not change the estimate
    # (the gaussian method regularises the singular covariance; see its docstring).
    assert with_constant.value == pytest.approx(without.value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float16", "float32"])
def test_low_precision_torch_tensors_are_read_exactly(dtype_name):
    """A bfloat16 tensor raised torch's TypeError from .numpy(); its values are exact in float32."""
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, dtype_name)
    values = torch.tensor([[0.5, -1.25], [3.0, 0.125], [2.0, 1.5], [-0.75, 4.0]], dtype=dtype)
    labels = torch.tensor([0, 1, 0, 1])
    result = estimate_mi(values, labels, method="binning", bin_width=0.5)
    reference = estimate_mi(
        values.double().numpy(), labels.numpy(), method="binning", bin_width=0.5
    )
    assert result.value == pytest.approx(reference.value, rel=1e-15)
    assert result.value == pytest.approx(np.log(2))  # every binned row is its own class


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_numpy_arrays(dtype):
    t = np.array([0.5, -1.25, 3.0, 0.125, 2.0, -0.75], dtype=dtype)
    labels = np.array([0, 1, 0, 1, 0, 1])
    result = estimate_mi(t, labels, method="kde", noise_variance=0.01)
    reference = estimate_mi(t.astype(np.float64), labels, method="kde", noise_variance=0.01)
    assert result.value == pytest.approx(reference.value, rel=1e-15)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("kde", {"noise_variance": "1e-3"}),
        ("ksg", {"k": "5"}),
        ("binning", {"bin_width": "0.07"}),
        ("gaussian", {"regularization": True}),
    ],
)
def test_numbers_given_as_text_are_refused_alike(method, params):
    # Before: noise_variance="1e-3" was taken while k="5" was refused.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 2))
    with pytest.raises(TypeError, match="pass it as a number"):
        estimate_mi(x, x + rng.standard_normal((50, 2)), method, **params)
