"""The radius-count engines against an all-pairs count, on data full of exact ties."""

from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.estimators._knn_kernels.brute import count_brute
from mi_toolkit.estimators._knn_kernels.sorted1d import count_sorted
from mi_toolkit.estimators._knn_kernels.tree import count_tree


def _all_pairs_counts(points: np.ndarray, radii: np.ndarray, inclusive: bool) -> np.ndarray:
    dist = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2)
    np.fill_diagonal(dist, np.inf)
    inside = dist <= radii[:, None] if inclusive else dist < radii[:, None]
    return inside.sum(axis=1)


@pytest.mark.parametrize("inclusive", [False, True])
def test_one_dimensional_counts_match_all_pairs_at_ties_and_zero_radii(inclusive):
    # Half-integers repeat and sit at exactly the radius from one another; some radii
    # are 0, where a strict count is 0 and an inclusive one counts the repeats.
    rng = np.random.default_rng(40)
    points = np.round(2.0 * rng.standard_normal((500, 1))) / 2.0
    radii = rng.integers(0, 4, size=500) / 2.0
    expected = _all_pairs_counts(points, radii, inclusive)
    assert expected.min() == 0 and (radii == 0.0).any()
    np.testing.assert_array_equal(count_sorted(points[:, 0].copy(), radii, inclusive), expected)
    np.testing.assert_array_equal(count_brute(points, radii, inclusive), expected)
    np.testing.assert_array_equal(count_tree(points, radii, inclusive), expected)
