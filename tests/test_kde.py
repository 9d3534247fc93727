"""KDE pairwise-distance bounds: the 12-bit figures, bound relations and backends."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import dense_upper_entropy

import mi_toolkit.estimators._kde_kernels as kernels
from mi_toolkit import MIToolkitWarning, estimate_entropy, estimate_mi

LN2 = math.log(2)

# Saxe et al.'s 12-bit task: I(X;X) of all 4096 patterns, in bits, with T = X + Z.
KNOWN_12_BIT = [
    ("upper", 1e-3, 12.000),
    ("upper", 0.1, 11.884),
    ("upper", 1.0, 3.793),
    ("lower", 0.1, 7.639),
    ("lower", 1.0, 1.048),
]


@pytest.mark.parametrize(("bound", "variance", "bits"), KNOWN_12_BIT)
def test_twelve_bit_identity_known_values(bits12, bound, variance, bits):
    result = estimate_mi(
        bits12, bits12, method="kde", noise_variance=variance, bound=bound, units="bits"
    )
    # The published figures carry three decimals.
    assert result.value == pytest.approx(bits, abs=5e-4)


@pytest.mark.parametrize("variance", [1e-3, 0.1, 1.0])
def test_lower_bound_below_upper_within_d_over_2_log_4(bits12, variance):
    upper = estimate_mi(bits12, bits12, method="kde", noise_variance=variance).value
    lower = estimate_mi(bits12, bits12, method="kde", noise_variance=variance, bound="lower")
    assert lower.value <= upper + 1e-12
    assert upper - lower.value <= 12 / 2 * math.log(4) + 1e-12


def test_entropy_matches_the_dense_formula(rng):
    t = rng.standard_normal((600, 5))
    result = estimate_entropy(t, method="kde", noise_variance=0.3)
    assert result.value == pytest.approx(dense_upper_entropy(t, 0.3), rel=1e-12)


def test_lower_entropy_is_upper_at_four_sigma_squared(rng):
    t = rng.standard_normal((400, 3))
    lower = estimate_entropy(t, method="kde", noise_variance=0.2, bound="lower").value
    expected = dense_upper_entropy(t, 0.8) + 3 / 2 * math.log(1 / 4)
    assert lower == pytest.approx(expected, rel=1e-12)


def test_blocking_does_not_change_the_numbers(rng, monkeypatch):
    t = rng.standard_normal((1500, 4))
    labels = rng.integers(0, 3, 1500)
    monkeypatch.setattr(kernels, "_GRID_MAX_FEATURES", 0)  # blocks are the panels' only
    whole = estimate_mi(t, labels, method="kde", noise_variance=0.5).value
    monkeypatch.setattr(kernels, "_BLOCK_ELEMENTS", 7 * 1500)  # 7 rows per block
    blocked = estimate_mi(t, labels, method="kde", noise_variance=0.5).value
    assert blocked == pytest.approx(whole, rel=1e-12)


def test_labels_decomposition_matches_entropies(rng):
    """I(T;Y) = H(T) - Σ_y p(y) H(T|Y=y), each entropy the same KDE bound."""
    t = rng.standard_normal((900, 2))
    labels = (t[:, 0] + 0.5 * rng.standard_normal(900) > 0).astype(int)
    h_t = estimate_entropy(t, method="kde", noise_variance=0.1).value
    conditional = sum(
        np.mean(labels == c)
        * estimate_entropy(t[labels == c], method="kde", noise_variance=0.1).value
        for c in (0, 1)
    )
    result = estimate_mi(t, labels, method="kde", noise_variance=0.1)
    assert result.value == pytest.approx(h_t - conditional, rel=1e-10)
    assert result.details["noisy_argument"] == "x"


def test_argument_order_does_not_matter_for_labels(rng):
    t = rng.standard_normal((500, 3))
    labels = rng.integers(0, 4, 500)
    forward = estimate_mi(t, labels, method="kde").value
    backward = estimate_mi(labels, t, method="kde").value
    assert forward == pytest.approx(backward, rel=1e-12)


def test_torch_cpu_path_gives_the_same_numbers(bits12, rng):
    t = np.tanh(bits12 @ rng.standard_normal((12, 5)))
    labels = rng.integers(0, 2, 4096)
    for x in (bits12, labels):
        for bound in ("upper", "lower"):
            numba = estimate_mi(x, t, method="kde", noise_variance=0.05, bound=bound)
            torch_cpu = estimate_mi(
                x, t, method="kde", noise_variance=0.05, bound=bound, device="cpu"
            )
            assert torch_cpu.value == pytest.approx(numba.value, rel=1e-10)
            assert torch_cpu.details["backend"] == "torch:cpu"


def test_auto_device_falls_back_to_numba_without_cuda():
    torch = pytest.importorskip("torch")
    result = estimate_entropy(np.linspace(0, 1, 50), method="kde", device="auto")
    expected = "torch:cuda" if torch.cuda.is_available() else "numba"
    assert result.details["backend"] == expected


def test_permuting_samples_leaves_estimates_unchanged(bits12, rng):
    t = np.tanh(bits12 @ rng.standard_normal((12, 4)))
    order = rng.permutation(4096)
    before = estimate_mi(bits12, t, method="kde", noise_variance=0.01).value
    after = estimate_mi(bits12[order], t[order], method="kde", noise_variance=0.01).value
    assert after == pytest.approx(before, rel=1e-12)


def single_gaussian_entropy(d: int, variance: float) -> float:
    return d / 2 * (1 + math.log(2 * math.pi * variance))


@pytest.mark.parametrize("device", [None, "cpu"])
@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_huge_values_tell_every_sample_apart(rng, scale, device):
    """Squared norms overflowed to inf and inf - inf gave NaN ("please report this").

    The noise variance is absolute, so at this scale every pair is infinitely many kernel
    widths apart: every cross term is 0, I(X;T) = log N and H(T+Z) = the entropy of one
    Gaussian + log N.
    """
    t = rng.standard_normal((300, 3)) * scale
    with pytest.warns(MIToolkitWarning, match="log N ceiling"):
        result = estimate_mi(np.arange(300), t, method="kde", noise_variance=0.1, device=device)
    assert result.value == pytest.approx(math.log(300), rel=1e-12)
    assert result.saturated
    expected = single_gaussian_entropy(3, 0.1) + math.log(300)
    assert result.components["H(y+Z)"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("device", [None, "cpu"])
@pytest.mark.parametrize("scale", [1e-160, 1e-300])
def test_tiny_values_sit_within_one_kernel(rng, scale, device):
    t = rng.standard_normal((300, 3)) * scale
    result = estimate_mi(np.arange(300), t, method="kde", noise_variance=0.1, device=device)
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.components["H(y+Z)"] == pytest.approx(single_gaussian_entropy(3, 0.1))


@pytest.mark.parametrize("device", [None, "cpu"])
def test_near_pairs_far_from_the_centre_match_the_dense_formula(rng, device):
    """||a||^2 + ||b||^2 - 2 a.b at |a| ~ 1e9 lost the 0.3-wide pairs (1.418 for 2.265)."""
    centres = np.array([[1e9, -3e8], [-1e9, 5e8]])
    t = np.repeat(centres, 50, axis=0) + 0.3 * rng.standard_normal((100, 2))
    result = estimate_entropy(t, method="kde", noise_variance=0.1, device=device)
    assert result.value == pytest.approx(dense_upper_entropy(t, 0.1), rel=1e-12)


def test_two_continuous_arguments_warn_that_this_is_not_i_x_y(rng):
    """Clean correlated Gaussians (truth 0.511 nats) gave ~1.67 with no word of warning."""
    x = rng.standard_normal(2000)
    y = 0.8 * x + 0.6 * rng.standard_normal(2000)
    with pytest.warns(MIToolkitWarning, match="'ksg', 'kl' or 'gaussian'"):
        result = estimate_mi(x, y, method="kde")
    assert result.warning_kinds == ("not_symmetric",)
    assert "I(x; y+Z)" in result.warnings[0] and "σ² = 0.1" in result.warnings[0]
    # The behaviour is kept: the same number as with x declared as input labels, which
    # does not warn.
    as_labels = estimate_mi(x, y, method="kde", discrete_x=True)
    assert as_labels.value == result.value
    assert "not_symmetric" not in as_labels.warning_kinds


def test_small_noise_saturates_i_t_y_at_h_y_and_says_so(rng):
    """N = 2,000 in 50-D with 10 random classes (truth 0) at σ² = 1 gives ~log 10."""
    t = rng.standard_normal((2000, 50))
    labels = rng.integers(0, 10, 2000)
    with pytest.warns(MIToolkitWarning, match="whatever the dependence"):
        result = estimate_mi(t, labels, method="kde", noise_variance=1.0)
    assert result.warning_kinds == ("kernel_saturation",)
    assert result.saturated
    assert result.details["self_mass_share"] > 0.999
    h_y = float(estimate_mi(labels, labels, method="binning"))
    assert result.value == pytest.approx(h_y, abs=1e-3)
    assert f"{h_y:.4g} nats" in result.warnings[0]


def test_healthy_noise_does_not_saturate(rng):
    t = rng.standard_normal((2000, 2))
    labels = rng.integers(0, 10, 2000)
    result = estimate_mi(t, labels, method="kde", noise_variance=1.0)
    assert result.details["self_mass_share"] < 0.01
    assert not result.warnings and not result.saturated


def test_twelve_bit_ceiling_is_warned_once(bits12, rng):
    """At σ² = 1e-3, I(X;T) of Saxe's 10-unit first layer sits at log 4096 and its
    kernels are saturated: the ceiling warning alone says so."""
    t = np.tanh(bits12 @ rng.standard_normal((12, 10)))
    result = estimate_mi(bits12, t, method="kde", noise_variance=1e-3)
    assert result.details["self_mass_share"] > 0.9
    assert result.warning_kinds == ("ceiling",)
    assert result.saturated


def test_one_pass_for_a_layer_equals_two_estimates(bits12, rng):
    """mi_of_layer shares H(T+Z) and the pass over pairs; the numbers stay each estimate's."""
    from mi_toolkit.api import build_estimator, mi_of_layer, mi_of_variables, prepare_pair

    t = np.tanh(3 * (bits12 - 0.5) @ rng.standard_normal((12, 3)))
    labels = rng.integers(0, 2, 4096)
    estimator = build_estimator("kde", noise_variance=1e-3)
    x_var, t_var = prepare_pair(bits12, t, discrete_x=True)
    y_var = prepare_pair(labels, t)[0]
    xt, ty = mi_of_layer(estimator, x_var, t_var, y_var, "bits")
    assert xt.value == pytest.approx(
        mi_of_variables(estimator, x_var, t_var, "bits").value, abs=1e-12
    )
    assert ty.value == pytest.approx(
        mi_of_variables(estimator, t_var, y_var, "bits").value, abs=1e-12
    )


def test_pairs_swept_along_the_principal_axis_match_the_dense_formula(rng):
    # Two far clusters along a tilted axis, each of near points: the sweep skips every
    # pair across the clusters and must keep every pair within one.
    direction = np.array([3.0, 4.0]) / 5.0
    centres = np.where(rng.random(800)[:, None] < 0.5, -1.0, 1.0) * 50 * direction
    t = centres + rng.standard_normal((800, 2))
    result = estimate_entropy(t, method="kde", noise_variance=0.2)
    assert result.value == pytest.approx(dense_upper_entropy(t, 0.2), rel=1e-12)
