"""Binning: exact plug-in values, the binning strategies, and clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import plugin_mi_by_hand

from mi_toolkit import estimate_entropy, estimate_mi


def test_uniform_input_through_deterministic_map_gives_exact_entropy(bits12):
    """X uniform over 4096 patterns, T = number of ones: I(X;T) = H(Binomial(12, 1/2))."""
    ones = bits12.sum(axis=1)
    p = np.array([math.comb(12, k) for k in range(13)]) / 4096
    truth = -(p * np.log(p)).sum()
    result = estimate_mi(bits12, ones, method="binning")
    assert result.value == pytest.approx(truth, abs=1e-12)


def test_no_binning_on_discrete_data_equals_plugin_by_hand(rng):
    x = rng.integers(0, 4, size=(3000, 2))
    t = (x[:, :1] + rng.integers(0, 3, size=(3000, 1))) % 5
    result = estimate_mi(x, t.astype(float), method="binning", strategy="none")
    assert result.value == pytest.approx(plugin_mi_by_hand(x, t), abs=1e-12)


def test_binary_activations_give_the_exact_plugin_value(rng):
    t = np.where(rng.standard_normal((2000, 3)) > 0, 1.0, -1.0)
    labels = (t.sum(axis=1) + rng.integers(0, 2, 2000) > 0).astype(int)
    result = estimate_mi(t, labels, method="binning", strategy="none")
    assert result.value == pytest.approx(plugin_mi_by_hand(t, labels), abs=1e-12)


def test_fixed_range_matches_the_szt_edges(rng):
    t = np.tanh(2 * rng.standard_normal((4096, 3)))
    edges = np.linspace(-1, 1, 30)
    # Bin by hand: interior edges decide the bin, so values at ±1 stay in the end bins.
    by_hand = np.searchsorted(edges[1:-1], t, side="right")
    labels = rng.integers(0, 2, 4096)
    result = estimate_mi(t, labels, method="binning")
    assert result.value == pytest.approx(plugin_mi_by_hand(by_hand, labels), abs=1e-12)


@pytest.mark.parametrize("n_features", [1, 12, 14])
def test_fixed_range_rows_group_as_the_bins_by_hand(rng, n_features):
    """One integer key per row (up to 12 columns of 29 bins) or rows of bins (14 columns):
    the same groups as binning by hand, edges and clipped values included."""
    t = np.round(np.tanh(2 * rng.standard_normal((3000, n_features))), 1)  # ties, and ±1
    t[:3, 0] = [-1.5, 1.0, 1.5]
    by_hand = np.clip(np.floor((t + 1.0) * (29 / 2.0)), 0, 28)
    labels = rng.integers(0, 3, 3000)
    with pytest.warns(UserWarning, match=r"2 value\(s\) of x"):
        result = estimate_mi(t, labels, method="binning")
    assert result.value == pytest.approx(plugin_mi_by_hand(by_hand, labels), abs=1e-12)


def test_values_outside_the_range_are_clipped_not_wrapped():
    # np.digitize-style indexing would send -5 to the last bin, beside +0.99.
    t = np.array([-5.0, -0.99, 0.99, 5.0])
    labels = np.array([0, 0, 1, 1])
    with pytest.warns(UserWarning, match=r"2 value\(s\) of x \(50.0%\) lie outside"):
        result = estimate_mi(t, labels, method="binning", n_bins=4)
    assert result.value == pytest.approx(math.log(2), abs=1e-12)
    assert result.details["clipped_values"] == 2


def test_fixed_width_is_floor_of_t_over_w():
    t = np.array([0.0, 0.069, 0.07, 0.139, -0.001, -0.07])
    # floor(t / 0.07): 0, 0, 1, 1, -1, -1 -> three bins of two.
    result = estimate_entropy(t, method="binning", bin_width=0.07)
    assert result.params == {"strategy": "fixed_width", "bin_width": 0.07}
    assert result.value == pytest.approx(math.log(3), abs=1e-12)


def test_quantize_layer_neuron_and_global_scopes():
    t = np.array([[0.0, 10.0], [0.5, 10.5], [1.0, 11.0], [0.25, 10.75]])
    # One bit over the layer's [0, 11]: round(t * 2 / 11) -> levels 0, 0/1, 0/1, 2.
    layer = estimate_entropy(t, method="binning", n_bits=1)
    neuron = estimate_entropy(t, method="binning", n_bits=1, scope="neuron")
    glob = estimate_entropy(t, method="binning", n_bits=1, scope="global", value_range=(0.0, 22.0))
    by_layer = np.round(t * 2 / 11)
    by_neuron = np.round((t - t.min(0)) * 2 / (t.max(0) - t.min(0)))
    by_global = np.round(t * 2 / 22)
    for result, bins in ((layer, by_layer), (neuron, by_neuron), (glob, by_global)):
        assert result.value == pytest.approx(plugin_mi_by_hand(bins, bins), abs=1e-12)


def test_quantize_constant_column_maps_to_one_level():
    t = np.column_stack([np.linspace(0, 1, 8), np.full(8, 3.0)])
    result = estimate_entropy(t, method="binning", n_bits=3, scope="neuron")
    # Column 0 takes 8 distinct levels of round(t * 8); column 1 is constant.
    assert result.value == pytest.approx(math.log(8), abs=1e-12)


def test_global_scope_needs_a_range():
    with pytest.raises(ValueError, match="scope='global' needs value_range"):
        estimate_entropy([0.0, 1.0], method="binning", n_bits=2, scope="global")


def test_equal_mass_bins_hold_equal_counts(rng):
    t = rng.exponential(size=(1000, 2))
    result = estimate_entropy(t[:, :1], method="binning", strategy="equal_mass", n_bins=8)
    # Eight bins of 125 samples each: the entropy is exactly log 8.
    assert result.value == pytest.approx(math.log(8), abs=1e-12)


def test_equal_mass_keeps_ties_together():
    t = np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0])
    result = estimate_entropy(t, method="binning", strategy="equal_mass", n_bins=5)
    # The six zeros share a bin whatever the quantiles say: the inner edges (quantiles 0.2
    # to 0.8, interpolated) are 0, 0, 0.4 and 2.2, so the bins hold {0 x 6}, {1, 2}, {3, 4}.
    p = np.array([6, 2, 2]) / 10
    assert result.value == pytest.approx(-(p * np.log(p)).sum(), abs=1e-12)


def test_both_continuous_bins_both_sides(rng):
    x = rng.uniform(-1, 1, 5000)
    t = x + 0.1 * rng.standard_normal(5000)
    result = estimate_mi(x, t, method="binning", n_bins=10, value_range=(-1.5, 1.5))
    edges = np.linspace(-1.5, 1.5, 11)[1:-1]
    by_hand = plugin_mi_by_hand(np.searchsorted(edges, x), np.searchsorted(edges, t))
    assert result.value == pytest.approx(by_hand, abs=1e-12)


def test_standard_error_matches_spread_over_repeats():
    """The delta-method standard error predicts the spread of the estimate across seeds."""
    estimates, errors = [], []
    for seed in range(40):
        generator = np.random.default_rng(seed)
        x = generator.integers(0, 4, 2000)
        t = np.where(generator.random(2000) < 0.7, x, generator.integers(0, 4, 2000))
        result = estimate_mi(x, t, method="binning")
        estimates.append(result.value)
        errors.append(result.standard_error)
    spread = np.std(estimates, ddof=1)
    # With 40 repeats the sample SD is within about ±25% of the truth (2 SE of an SD).
    assert spread == pytest.approx(np.mean(errors), rel=0.25)


def test_bias_note_gives_the_miller_correction():
    """Independent uniform labels: the plug-in MI's mean is close to Miller's bias."""
    values, notes = [], []
    for seed in range(30):
        generator = np.random.default_rng(100 + seed)
        result = estimate_mi(
            generator.integers(0, 6, 500), generator.integers(0, 6, 500), "binning"
        )
        values.append(result.value)
        notes.append(result.bias_note)
    # (36 - 6 - 6 + 1) / 1000 = 0.025 nats; the mean of 30 draws has SD about 0.0013.
    assert "0.025 nats" in notes[0]
    assert np.mean(values) == pytest.approx(0.025, abs=0.005)


@pytest.mark.parametrize("distinct_side", ["x", "y"])
def test_saturated_exactly_when_at_the_log_n_ceiling(rng, distinct_side):
    inputs = np.arange(500)
    t = rng.standard_normal(500)
    pair = (inputs, t) if distinct_side == "x" else (t, inputs)
    fine = estimate_mi(*pair, method="binning", bin_width=1e-6)
    coarse = estimate_mi(*pair, method="binning", bin_width=1.0)
    assert fine.value == pytest.approx(math.log(500))
    assert fine.saturated and fine.warning_kinds == ("ceiling",)
    assert coarse.value < 0.9 * math.log(500)
    assert not coarse.saturated and not coarse.warnings


@pytest.mark.parametrize("n_features", [1, 3])
def test_joint_bins_counted_in_a_table_or_hashed_agree_with_by_hand(rng, n_features):
    """Few groups per side: pairs counted in a table; many (3 columns, 500 samples): hashed."""
    x = np.tanh(rng.standard_normal((500, n_features)))
    t = np.tanh(x + 0.5 * rng.standard_normal((500, n_features)))
    bins = [np.clip(np.floor((v + 1.0) * (29 / 2.0)), 0, 28) for v in (x, t)]
    result = estimate_mi(x, t, method="binning")
    assert result.value == pytest.approx(plugin_mi_by_hand(*bins), abs=1e-12)
    assert result.details["occupied_bins_joint"] == len(np.unique(np.hstack(bins), axis=0))


def test_a_label_outside_its_groups_is_refused_not_counted_out_of_bounds():
    from mi_toolkit._grouping import log_group_probabilities, pair_log_probabilities

    with pytest.raises(ValueError, match=r"outside 0 \.\. n_groups - 1"):
        log_group_probabilities(np.array([0, 2]), 2)
    with pytest.raises(ValueError, match=r"outside 0 \.\. n_groups - 1"):
        pair_log_probabilities(np.array([0, 1]), 2, np.array([0, 3]), 2)
