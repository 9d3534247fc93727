"""The KDE kernel sums' grid of rows (up to 12 features) against the direct computation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

import mi_toolkit.estimators._kde_kernels as kernels


def direct_log_sums(points, groupings, scale):
    """log S_i and log S_i^same per grouping from the full matrix of kernel terms."""
    arguments = -scale * cdist(points, points, "sqeuclidean")
    same = [
        logsumexp(np.where(g[:, None] == g[None, :], arguments, -np.inf), axis=1) for g in groupings
    ]
    return logsumexp(arguments, axis=1), same


def assert_matches_direct(points, groupings, scale):
    log_total, log_same = kernels.kernel_log_sums_grouped(points, groupings, scale)
    expected_total, expected_same = direct_log_sums(points, groupings, scale)
    # log S >= 0 and up to log n: an absolute 1e-12 is a relative 1e-12 of S.
    np.testing.assert_allclose(log_total, expected_total, rtol=0, atol=1e-12)
    for got, expected in zip(log_same, expected_same, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def radius_of(n: int, scale: float) -> float:
    return float(np.sqrt(kernels.negligible_argument(n) / scale))


def lattice(side: int, dims: int, spacing: float) -> np.ndarray:
    return spacing * np.array(list(itertools.product(range(side), repeat=dims)), float)


def test_rows_meet_every_pair_within_the_radius_once(rng):
    # Points on a lattice of half the radius: many pairs sit exactly on cell boundaries and
    # at exactly the radius apart along the sweep axis.
    scale = 2.0
    points = lattice(7, 3, radius_of(343, scale) / 2) + 1e-3 * rng.standard_normal((343, 3))
    centred, unit_scale = kernels.prepared_points(points, scale)
    cutoff = kernels.negligible_argument(343)
    order, starts, stops = kernels._grid_rows(centred, unit_scale, cutoff)
    met = [
        (min(i, j), max(i, j))
        for i in range(343)
        for run in range(5)
        for j in range(starts[run, i], stops[run, i])
    ]
    assert len(met) == len(set(met)), "a pair was met twice"
    distances = cdist(centred[order], centred[order], "sqeuclidean") * unit_scale
    within = {(i, j) for i, j in zip(*np.nonzero(distances <= cutoff), strict=True) if i < j}
    assert within <= set(met)
    assert len(met) < 343 * 342 / 2 / 3  # and the grid does skip far pairs


@pytest.mark.parametrize("dims", [1, 2, 3, 5, 10])
def test_grid_matches_the_direct_sums_on_a_lattice(rng, dims):
    # Neighbours half a radius apart across cell boundaries: a dropped one costs e^-12.
    n = 600
    side = int(np.ceil(n ** (1 / dims)))
    scale = 3.0
    points = lattice(side, dims, radius_of(n, scale) / 2)[:n]
    labels = rng.integers(0, 3, n)
    assert_matches_direct(points, [np.arange(n), labels], scale)


def test_grid_matches_the_direct_sums_on_duplicate_rows(rng):
    # Saturated tanh units: rows at the corners of the cube, most of them repeated.
    corners = np.where(rng.random((800, 4)) < 0.5, -1.0, 1.0)
    points = np.where(rng.random((800, 4)) < 0.05, np.tanh(rng.standard_normal((800, 4))), corners)
    labels = rng.integers(0, 2, 800)
    assert_matches_direct(points, [labels], 1 / (2 * 1e-3))
    assert_matches_direct(points, [np.arange(800), labels], 1 / (2 * 0.5))


def test_grid_and_panels_give_the_same_sums(rng, monkeypatch):
    points = np.tanh(3 * rng.standard_normal((1500, 6)) @ rng.standard_normal((6, 6)))
    groupings = [np.arange(1500), rng.integers(0, 2, 1500)]
    grid_total, grid_same = kernels.kernel_log_sums_grouped(points, groupings, 500.0)
    monkeypatch.setattr(kernels, "_GRID_MAX_FEATURES", 0)
    panel_total, panel_same = kernels.kernel_log_sums_grouped(points, groupings, 500.0)
    np.testing.assert_allclose(grid_total, panel_total, rtol=0, atol=1e-12)
    for grid, panel in zip(grid_same, panel_same, strict=True):
        np.testing.assert_allclose(grid, panel, rtol=0, atol=1e-12)


@pytest.mark.parametrize("grid_max_features", [12, 0], ids=["grid", "panels"])
def test_near_pairs_far_from_the_centre_on_either_path(rng, monkeypatch, grid_max_features):
    # Panels take ||a||^2 + ||b||^2 - 2 a.b, which needs the exact-distance fallback here.
    monkeypatch.setattr(kernels, "_GRID_MAX_FEATURES", grid_max_features)
    centres = np.array([[1e9, -3e8], [-1e9, 5e8]])
    points = np.repeat(centres, 50, axis=0) + 0.3 * rng.standard_normal((100, 2))
    assert_matches_direct(points, [rng.integers(0, 2, 100)], 1 / (2 * 0.1))


def test_vectorisable_exp_matches_math_exp():
    # Every kernel term comes from it: over the whole range of arguments up to the cutoff
    # (and beyond), within 2 ulp of the correctly rounded-or-nearly libm value.
    arguments = np.concatenate(
        [
            np.linspace(0.0, 80.0, 200_001),
            np.log(2.0) * np.arange(0, 100) + 1e-13 * np.arange(-50, 50),
        ]
    )
    arguments = arguments[arguments >= 0.0]
    got = np.array([kernels._exp_of_negative(x) for x in arguments])
    expected = np.exp(-arguments)
    assert got[0] == 1.0
    np.testing.assert_allclose(got, expected, rtol=4.5e-16, atol=0)


def binary_search_runs(row_keys, coordinate, radius, offsets):
    """The rows' runs from one binary search per end, the definition the pointers follow."""
    n = row_keys.shape[0]
    runs = []
    for i in range(n):
        row_stop = np.searchsorted(row_keys, row_keys[i], side="right")
        ahead = (
            i + 1 + np.searchsorted(coordinate[i + 1 : row_stop], coordinate[i] + radius, "right")
        )
        point_runs = [(i + 1, ahead)]
        for offset in offsets:
            low = np.searchsorted(row_keys, row_keys[i] + offset, side="left")
            high = np.searchsorted(row_keys, row_keys[i] + offset, side="right")
            segment = coordinate[low:high]
            point_runs.append(
                (
                    low + np.searchsorted(segment, coordinate[i] - radius, "left"),
                    low + np.searchsorted(segment, coordinate[i] + radius, "right"),
                )
            )
        runs.append(point_runs)
    return runs


def test_row_runs_equal_binary_searches_with_ties(rng):
    # Coordinates on a grid of a quarter radius: many points exactly one radius apart, and
    # repeated coordinates within rows, where a pointer that moved wrongly would show.
    n = 500
    radius = 1.0
    row_keys = np.sort(rng.choice([5, 6, 7, 12, 13, 14, 19, 21], n))
    coordinate = radius / 4 * rng.integers(0, 30, n).astype(float)
    order = np.lexsort((coordinate, row_keys))
    row_keys, coordinate = row_keys[order], coordinate[order]
    offsets = np.array([1, 6, 7, 8], dtype=np.int64)
    starts = np.empty((5, n), dtype=np.int64)
    stops = np.empty((5, n), dtype=np.int64)
    kernels._row_runs(row_keys, coordinate, radius, offsets, starts, stops)
    for i, point_runs in enumerate(binary_search_runs(row_keys, coordinate, radius, offsets)):
        for run, (start, stop) in enumerate(point_runs):
            if stop > start:
                assert (starts[run, i], stops[run, i]) == (start, stop), (i, run)
            else:
                assert stops[run, i] <= starts[run, i], (i, run)


@pytest.mark.parametrize("chunks", [1, 3])
def test_grid_sums_do_not_depend_on_the_number_of_chunks(rng, monkeypatch, chunks):
    # Chunk c takes points c, c + chunks, ...: any count must credit every pair once.
    monkeypatch.setattr(kernels, "get_num_threads", lambda: chunks)
    points = np.tanh(2 * rng.standard_normal((700, 3)))
    groupings = [rng.integers(0, 2, 700), rng.integers(0, 5, 700)]
    assert_matches_direct(points, groupings, 1 / (2 * 1e-2))
    assert_matches_direct(points[:, :1], groupings[:1], 1 / (2 * 1e-3))
