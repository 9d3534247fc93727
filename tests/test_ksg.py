"""KSG estimators ("ksg"): scikit-learn agreement, closed forms, engines, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from _cases import Z, gaussian_pairs, two_class_mixture
from _knn_cases import assert_about_zero_when_independent, assert_downward_bias_that_shrinks
from sklearn.feature_selection import mutual_info_regression
from sklearn.feature_selection._mutual_info import _compute_mi_cc, _compute_mi_cd

from mi_toolkit import estimate_entropy, estimate_mi

# -- scikit-learn ---------------------------------------------------------------------------
#
# sklearn's mutual_info_regression computes KSG estimator 1 per feature, but first divides
# x and y by their standard deviations and adds noise of relative size 1e-10 (seeded by
# random_state), and clips negative values to 0. Its private _compute_mi_cc is the bare
# estimator on the arrays it is given: it counts marginal neighbours with a radius
# nextafter(ε, 0) and "<=", which is our strict "< ε". So: raw data against
# _compute_mi_cc, and the public function against transform="standardize" (the 1e-10
# noise cannot reorder neighbours spaced ~1e-3 apart). Dependent data keeps the clip idle.


@pytest.mark.parametrize("algorithm", ["auto", "brute"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_equals_sklearn_ksg1_on_raw_1d_pairs(k, algorithm):
    x, y, _ = gaussian_pairs(1, 2000, seed=k)
    x, y = 2.0 * x[:, 0] + 1.0, y[:, 0]
    ours = estimate_mi(x, y, "ksg", k=k, algorithm=algorithm, transform="none").value
    assert ours == pytest.approx(_compute_mi_cc(x, y, k), abs=1e-6)


def test_equals_sklearn_mutual_info_regression_with_standardisation():
    x, y, _ = gaussian_pairs(1, 2000, seed=4)
    theirs = mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=0)[0]
    ours = estimate_mi(x, y, "ksg", transform="standardize").value
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_ross_estimator_equals_sklearn_on_1d():
    t, labels, _ = two_class_mixture(2000, separation=1.0, seed=5)
    ours = estimate_mi(t, labels, "ksg", k=3).value
    assert ours == pytest.approx(_compute_mi_cd(t, labels, 3), abs=1e-6)


# -- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("pairs", [1, 2])
def test_low_dimensional_gaussians_within_standard_errors(pairs, variant):
    x, y, truth = gaussian_pairs(pairs, 5000, seed=30 + pairs)
    result = estimate_mi(x, y, "ksg", variant=variant)
    assert abs(result.value - truth) < Z * result.standard_error


# Stated bias (measured, N = 5000): 5+5-D gives 0.93 (variant 1) against 1.12 nats and
# 10+10-D 1.11 against 2.23; at N = 10,000, 0.92 and 1.21. Direction, ceiling, shrinking.
@pytest.mark.parametrize(("pairs", "max_bias"), [(5, 0.3), (10, 1.3)])
@pytest.mark.parametrize("variant", [1, 2])
def test_high_dimensional_bias_is_downwards_and_shrinks_with_n(pairs, max_bias, variant):
    assert_downward_bias_that_shrinks("ksg", pairs, 40 + pairs, max_bias, variant=variant)


def test_labels_against_a_mixture():
    t, labels, truth = two_class_mixture(5000, separation=2.0, seed=8)
    result = estimate_mi(t, labels, "ksg")
    assert abs(result.value - truth) < Z * result.standard_error


def test_independent_variables_give_about_zero():
    assert_about_zero_when_independent("ksg", dim=3, n=4000, seed=9)


def test_invertible_linear_map_gives_the_same_mi():
    x, y, truth = gaussian_pairs(2, 5000, seed=10)
    rng = np.random.default_rng(11)
    a = np.eye(2) + 0.3 * rng.standard_normal((2, 2))
    result = estimate_mi(x @ a.T, 2.0 * y - 1.0, "ksg")
    assert abs(result.value - truth) < Z * result.standard_error


def test_rank_transform_is_exactly_invariant_under_monotone_maps():
    x, y, _ = gaussian_pairs(2, 1500, seed=12)
    original = estimate_mi(x, y, "ksg", transform="rank").value
    mapped = estimate_mi(np.exp(x), y**3 + 2.0, "ksg", transform="rank").value
    assert mapped == original


def test_standardisation_removes_per_coordinate_scale():
    x, y, _ = gaussian_pairs(2, 1500, seed=13)
    scale = np.array([100.0, 0.01])
    original = estimate_mi(x, y, "ksg", transform="standardize").value
    scaled = estimate_mi(x * scale + 5.0, y, "ksg", transform="standardize").value
    assert scaled == pytest.approx(original, abs=1e-9)
    assert estimate_mi(x * scale, y, "ksg").value == original  # the default
    # Without it the max-norm balls are ruled by the wide coordinate: a different number.
    raw = estimate_mi(x * scale, y, "ksg", transform="none").value
    assert abs(raw - original) > 0.05


# -- engines ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("pairs", [1, 3, 6])
def test_tree_brute_and_torch_give_the_same_numbers(pairs, variant):
    x, y, _ = gaussian_pairs(pairs, 1500, seed=14)
    results = [
        estimate_mi(x, y, "ksg", variant=variant, algorithm=algorithm)
        for algorithm in ("tree", "brute")
    ] + [estimate_mi(x, y, "ksg", variant=variant, device="cpu")]
    if pairs == 1:
        results.append(estimate_mi(x, y, "ksg", variant=variant, algorithm="grid"))
        assert results[3].details["algorithm"] == "grid"
    for other in results[1:]:
        assert other.value == pytest.approx(results[0].value, abs=1e-12)
    assert results[1].details["algorithm"] == "brute"
    assert results[2].details["algorithm"] == "torch:cpu"


@pytest.mark.parametrize("max_norm", [True, False])
def test_pruned_brute_force_equals_all_pairs_on_tied_data(max_norm):
    # Integer data: many equal distances, and kd leaves whose boxes touch the k-th
    # distance exactly. The pruned kd-order search must return what an all-pairs scan in
    # index order returns: the k smallest distances, ties to the lower index.
    from mi_toolkit.estimators._knn_kernels.brute import count_brute, knn_brute

    rng = np.random.default_rng(30)
    points = np.round(2.0 * rng.standard_normal((600, 5)))
    diff = np.abs(points[:, None, :] - points[None, :, :])
    dist = diff.max(axis=2) if max_norm else np.sqrt((diff**2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :4]  # stable: lower index first
    found, index = knn_brute(points, 4, max_norm)
    np.testing.assert_array_equal(index, order)
    np.testing.assert_allclose(found, np.take_along_axis(dist, order, axis=1), rtol=1e-15)
    if max_norm:
        radii = found[:, -1]
        for inclusive in (False, True):
            inside = dist <= radii[:, None] if inclusive else dist < radii[:, None]
            np.testing.assert_array_equal(count_brute(points, radii, inclusive), inside.sum(axis=1))


def test_labels_engines_agree():
    t, labels, _ = two_class_mixture(1500, separation=1.0, seed=15)
    t2 = np.column_stack((t, np.random.default_rng(16).standard_normal(1500)))
    values = [estimate_mi(t2, labels, "ksg", algorithm=a).value for a in ("tree", "brute")]
    values.append(estimate_mi(t2, labels, "ksg", device="cpu").value)
    assert values[1] == pytest.approx(values[0], abs=1e-12)
    assert values[2] == pytest.approx(values[0], abs=1e-12)


def test_high_dimension_uses_the_fused_brute_force_and_notes_the_bias():
    x, y, _ = gaussian_pairs(10, 300, seed=17)
    result = estimate_mi(x, y, "ksg")
    assert result.details["algorithm"] == "brute"
    assert "joint space has 20 dimensions" in result.bias_note
    assert estimate_mi(x[:, :1], y[:, :1], "ksg").details["algorithm"] == "grid"
    # Below 20,000 samples the pruned brute force beats the tree from 3-D on.
    assert estimate_mi(x[:, :2], y[:, :2], "ksg").details["algorithm"] == "brute"


# -- ties and bad input -----------------------------------------------------------------------


def test_ties_at_the_radius_are_excluded_by_variant_1():
    # On a grid every distance ties; variant 1 counts strictly inside, whatever the engine.
    grid = np.arange(12, dtype=np.float64)
    x = np.repeat(grid, 12)
    y = np.tile(grid, 12) + 0.5 * x
    engines = ("tree", "brute", "grid")
    values = [estimate_mi(x, y, "ksg", algorithm=a).value for a in engines]
    values.append(estimate_mi(x, y, "ksg", device="cpu").value)
    for other in values[1:]:
        assert other == pytest.approx(values[0], abs=1e-12)


def test_repeated_joint_rows_are_refused():
    x, y, _ = gaussian_pairs(1, 100, seed=18)
    x[:5], y[:5] = 0.0, 0.0
    with pytest.raises(ValueError, match="rows repeat"):
        estimate_mi(x, y, "ksg", k=3)


def test_k_at_least_n_samples_is_refused():
    x, y, _ = gaussian_pairs(1, 4, seed=19)
    with pytest.raises(ValueError, match="k=4 neighbours need at least 5 samples"):
        estimate_mi(x, y, "ksg", k=4)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"variant": 3}, ValueError, "variant must be 1 or 2"),
        ({"variant": True}, ValueError, "variant must be 1 or 2"),
        ({"transform": "log"}, ValueError, "transform must be one of"),
        ({"k": -1}, ValueError, "k must be a positive integer"),
        ({"algorithm": "kd"}, ValueError, "algorithm must be one of"),
    ],
)
def test_bad_parameters(params, error, match):
    x, y, _ = gaussian_pairs(1, 50, seed=20)
    with pytest.raises(error, match=match):
        estimate_mi(x, y, "ksg", **params)


def test_entropy_points_to_kl():
    with pytest.raises(ValueError, match="method='kl'"):
        estimate_entropy(np.random.default_rng(21).standard_normal(50), "ksg")


def test_both_discrete_is_refused():
    labels = np.arange(40) % 2
    with pytest.raises(ValueError, match="method='binning'"):
        estimate_mi(labels, labels, "ksg")


def test_progress_lines_on_request(capsys):
    x, y, _ = gaussian_pairs(10, 300, seed=22)
    quiet = estimate_mi(x, y, "ksg", progress=False)
    assert capsys.readouterr().err == ""
    loud = estimate_mi(x, y, "ksg", progress=True)
    err = capsys.readouterr().err
    for phase in ("KSG joint neighbours", "KSG counts in x", "KSG counts in y"):
        assert f"{phase}: 100%|" in err
    assert loud.value == quiet.value
