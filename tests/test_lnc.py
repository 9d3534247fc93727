"""KSG with the local non-uniformity correction ("lnc"): thin neighbourhoods, known MI."""

from __future__ import annotations

import numpy as np
import pytest
from _cases import Z, gaussian_pairs, rho_for
from scipy.spatial import cKDTree

from mi_toolkit import estimate_mi
from mi_toolkit.estimators.lnc import corrected_fraction, log_threshold, log_volume_ratios

# Stated bias (module docstring, measured at N = 2,500 with k = d + 7): within ±0.1 nats
# on strongly dependent Gaussian pairs; 0.15 leaves room for the other sample size here.
STATED_BIAS = 0.15


def _ratios_by_hand(points: np.ndarray, k: int) -> np.ndarray:
    """log(V̄ / V) straight from the definition: scipy's max-norm neighbours, numpy's SVD."""
    distances, index = cKDTree(points).query(points, k + 1, p=np.inf)
    out = np.empty(points.shape[0])
    for i in range(points.shape[0]):
        offsets = points[index[i]] - points[i]  # the sample itself first, at offset 0
        _, _, axes = np.linalg.svd(offsets - offsets.mean(axis=0))
        half_sides = np.abs(offsets @ axes.T).max(axis=0)
        out[i] = np.log(2 * half_sides).sum() - points.shape[1] * np.log(2 * distances[i, -1])
    return out


def test_the_volume_ratios_equal_a_direct_computation():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((300, 3)) @ np.array([[1.0, 0.9, 0.0], [0, 0.2, 0], [0, 0, 1]])
    assert np.allclose(log_volume_ratios(points, 6), _ratios_by_hand(points, 6), atol=1e-9)


def test_the_threshold_corrects_about_one_sample_in_twenty_of_a_uniform_density():
    # log α is the 5% quantile on a reference sample; a fresh uniform sample falls below it
    # about as often (a binomial spread of ±1% at 2,000 points).
    fresh = np.random.default_rng(8).uniform(size=(2000, 4))
    below = np.mean(log_volume_ratios(fresh, 11) < log_threshold(4, 11))
    assert 0.03 < below < 0.07


@pytest.mark.parametrize(("pairs", "nats"), [(1, 10.0), (2, 20.0), (5, 10.0)])
def test_strongly_dependent_gaussians_within_the_stated_bias(pairs, nats):
    x, y, truth = gaussian_pairs(pairs, 2500, seed=40 + pairs, rho=rho_for(nats, pairs))
    result = estimate_mi(x, y, "lnc")
    assert result.details["k"] == 2 * pairs + 7
    assert result.details["corrected_fraction"] > 0.99
    assert abs(result.value - truth) < Z * result.standard_error + STATED_BIAS
    # KSG on the same data saturates far below (the correction is doing the work).
    assert estimate_mi(x, y, "ksg", k=2 * pairs + 7).value < truth - 3.0


def test_weak_dependence_is_corrected_on_few_samples_and_stays_near_ksg():
    x, y, truth = gaussian_pairs(2, 2500, seed=12, rho=rho_for(1.0, 2))
    result = estimate_mi(x, y, "lnc")
    assert 0.02 < result.details["corrected_fraction"] < 0.1
    ksg = estimate_mi(x, y, "ksg", k=11).value
    assert 0.0 <= result.value - ksg < 0.1
    assert abs(result.value - truth) < Z * result.standard_error + 0.05


def test_a_side_on_a_curve_is_thin_on_its_own_and_a_full_side_is_not():
    rng = np.random.default_rng(2)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, 2000)
    curve = np.column_stack([t * np.cos(t), t * np.sin(t)]) + 1e-3 * rng.standard_normal((2000, 2))
    assert corrected_fraction(curve) > 0.9
    assert corrected_fraction(rng.standard_normal((2000, 2))) < 0.1


def test_against_labels_it_is_ross_ksg_with_the_same_k():
    x, y, _ = gaussian_pairs(2, 500, seed=1)
    labels = (y[:, 0] > 0).astype(int)
    result = estimate_mi(x, labels, "lnc")
    assert result.details["correction"] == "none against labels"
    assert result.value == estimate_mi(x, labels, "ksg", k=9).value


def test_repeated_rows_are_refused_with_what_to_do():
    x, y, _ = gaussian_pairs(1, 200, seed=1)
    with pytest.raises(ValueError, match="repeat"):
        estimate_mi(np.vstack([x, x[:5]]), np.vstack([y, y[:5]]), "lnc")


def test_the_torch_search_gives_the_same_numbers():
    x, y, _ = gaussian_pairs(2, 600, seed=6, rho=rho_for(8.0, 2))
    numba = estimate_mi(x, y, "lnc")
    torch = estimate_mi(x, y, "lnc", device="cpu")
    assert torch.value == pytest.approx(numba.value, abs=1e-9)
    assert torch.details["corrected_fraction"] == numba.details["corrected_fraction"]
