"""The front door: inputs, results, units, registry and discrete handling."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from mi_toolkit import MIEstimate, MIToolkitWarning, estimate_entropy, estimate_mi, list_methods
from mi_toolkit._validation import as_variable
from mi_toolkit.api import checked_against_bounds
from mi_toolkit.estimators.base import Estimate, mean_with_standard_error
from mi_toolkit.result import EstimateWarning


def test_registry_lists_the_foundation_methods():
    assert {"binning", "gaussian", "kde"} <= set(list_methods())


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown method 'kdee'.*binning.*gaussian.*kde"):
        estimate_mi([0, 1], [0, 1], method="kdee")


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(TypeError, match=r"'sigma'.*valid parameters: noise_variance, bound"):
        estimate_mi([0.0, 1.0], [0.0, 1.0], method="kde", sigma=1.0)


def test_result_carries_value_units_params_and_n():
    x = np.repeat([0, 1], 50)
    y = x.copy()
    result = estimate_mi(x, y, method="binning", units="bits")
    assert isinstance(result, MIEstimate)
    assert float(result) == pytest.approx(1.0, abs=1e-12)
    assert result.units == "bits"
    assert result.method == "binning"
    assert result.n_samples == 100
    assert result.quantity == "mutual_information"
    assert result.params == {"strategy": "fixed_range", "n_bins": 29, "value_range": (-1.0, 1.0)}


def test_kde_params_include_defaults():
    result = estimate_mi(np.arange(5), np.arange(5.0), method="kde")
    assert result.params == {"noise_variance": 0.1, "bound": "upper", "device": None}


def test_bits_are_nats_over_ln2(rng):
    x = rng.standard_normal(500)
    y = x + rng.standard_normal(500)
    nats = estimate_mi(x, y, method="gaussian")
    bits = estimate_mi(x, y, method="gaussian", units="bits")
    assert bits.value == pytest.approx(nats.value / math.log(2), rel=1e-12)
    assert bits.standard_error == pytest.approx(nats.standard_error / math.log(2), rel=1e-12)
    assert nats.to("bits").value == pytest.approx(bits.value, rel=1e-12)


def test_unknown_units_are_refused():
    with pytest.raises(ValueError, match="units must be one of 'nats', 'bits'"):
        estimate_mi([0, 1], [0, 1], method="binning", units="dits")


def test_numpy_torch_and_lists_give_the_same_value(rng):
    x = rng.standard_normal((200, 2))
    y = x[:, :1] + 0.5 * rng.standard_normal((200, 1))
    reference = estimate_mi(x, y, method="gaussian").value
    as_torch = estimate_mi(torch.from_numpy(x), torch.from_numpy(y), method="gaussian").value
    as_lists = estimate_mi(x.tolist(), y.tolist(), method="gaussian").value
    as_float32 = estimate_mi(x.astype(np.float32), y, method="gaussian").value
    assert as_torch == reference
    assert as_lists == reference
    assert as_float32 == pytest.approx(reference, rel=1e-5)


def test_torch_tensor_needing_grad_is_accepted():
    t = torch.linspace(-1, 1, 64, requires_grad=True)
    labels = (torch.arange(64) % 2).numpy()
    result = estimate_mi(t, labels, method="binning")
    # 29 bins of width 2/29 over 64 evenly spaced points: six bins hold three points (labels
    # 2:1), the other 23 hold two (labels 1:1), so H(Y|bin) = (18/64) H(1/3) + (46/64) ln 2.
    two_to_one = -(math.log(1 / 3) / 3 + 2 * math.log(2 / 3) / 3)
    assert result.value == pytest.approx(18 / 64 * (math.log(2) - two_to_one), abs=1e-12)


def test_integer_bool_and_string_data_are_discrete():
    labels = np.array(["cat", "dog"] * 20)
    flags = np.array([True, False] * 20)
    codes = np.array([3, 7] * 20)
    for y in (labels, flags, codes):
        result = estimate_mi(codes, y, method="binning", units="bits")
        assert result.value == pytest.approx(1.0, abs=1e-12)


def test_discrete_flag_overrides_dtype():
    # As floats, 0.05 and 0.1 share fixed-range bin 15 of 29 on [-1, 1]; as categories they differ.
    x = np.array([0.05, 0.1] * 10)
    y = np.array([0, 1] * 10)
    assert estimate_mi(x, y, method="binning").value == pytest.approx(0.0, abs=1e-12)
    exact = estimate_mi(x, y, method="binning", discrete_x=True)
    assert exact.value == pytest.approx(math.log(2), abs=1e-12)


def test_log_n_ceiling_is_flagged(bits12):
    with pytest.warns(MIToolkitWarning, match="log N ceiling"):
        result = estimate_mi(bits12, bits12, method="kde", noise_variance=1e-3)
    assert any("log N ceiling" in w for w in result.warnings)


def test_estimate_below_ceiling_has_no_warning(bits12):
    labels = bits12.sum(axis=1) > 6
    with warnings.catch_warnings():
        warnings.simplefilter("error", MIToolkitWarning)
        result = estimate_mi(bits12, labels, method="binning")
    assert result.warnings == ()


def test_estimate_entropy_of_a_fair_coin_is_one_bit():
    result = estimate_entropy(np.array([0, 1] * 100), method="binning", units="bits")
    assert result.value == pytest.approx(1.0, abs=1e-12)
    assert result.quantity == "entropy"


def test_kde_components_add_up(bits12):
    result = estimate_mi(bits12, bits12, method="kde", noise_variance=0.5)
    h_t, h_t_given_x = result.components.values()
    assert h_t - h_t_given_x == pytest.approx(result.value, rel=1e-12)
    # H(T|X) for a deterministic T is the entropy of the added noise, (d/2) log(2πeσ²).
    assert h_t_given_x == pytest.approx(6 * math.log(2 * math.pi * math.e * 0.5), rel=1e-12)


def _labels_and_noise(n: int = 400):
    rng = np.random.default_rng(0)
    labels = as_variable(rng.integers(0, 2, n), "y", discrete=True)
    return as_variable(rng.standard_normal(n), "x"), labels


def test_a_value_above_the_entropy_of_a_discrete_side_is_flagged():
    x, labels = _labels_and_noise()
    counts = np.bincount(labels.values.ravel().astype(int))
    ceiling = -sum(p * np.log(p) for p in counts / counts.sum())
    above = checked_against_bounds(Estimate(ceiling + 0.1, 0.01), x, labels)
    assert [w.kind for w in above.warnings] == ["above_entropy"]
    within = checked_against_bounds(Estimate(ceiling + 0.02, 0.01), x, labels)
    assert within.warnings == ()


def test_a_value_below_zero_beyond_its_error_is_flagged_once():
    x, labels = _labels_and_noise()
    below = checked_against_bounds(Estimate(-0.1, 0.01), x, labels)
    assert [w.kind for w in below.warnings] == ["negative_estimate"]
    assert checked_against_bounds(Estimate(-0.02, 0.01), x, labels).warnings == ()
    said = Estimate(-0.1, 0.01, (EstimateWarning("negative_bound", "held-out bound < 0"),))
    assert [w.kind for w in checked_against_bounds(said, x, labels).warnings] == ["negative_bound"]


def test_mean_with_standard_error_is_numpys_mean_and_std_over_root_n():
    terms = np.random.default_rng(3).standard_normal(1001) * 2.0 + 5.0
    for sample in (terms, terms[::3]):
        mean, error = mean_with_standard_error(sample)
        assert mean == pytest.approx(sample.mean(), rel=1e-13)
        expected = sample.std(ddof=1) / np.sqrt(sample.size)
        assert error == pytest.approx(expected, rel=1e-12)
