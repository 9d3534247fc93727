"""Invertible transforms: injective, seeded, and the wrapped truth unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import ndtri

from mi_toolkit import estimate_mi
from mi_toolkit.synthetic import (
    CorrelatedPairs,
    RotatedPairs,
    Spiral,
    Transformed,
    asinh,
    get_task,
    half_cube,
    normal_cdf,
    swiss_roll,
    wiggly,
)
from mi_toolkit.synthetic.transforms import rotation_generator

# Up to |x| = 5: beyond about 7 the normal CDF's steps fall below float64's resolution
# near 1 (the map stays injective in real numbers; P(|X| > 7) = 3e-12 under N(0, 1)).
GRID = np.linspace(-5.0, 5.0, 200_001)


@pytest.mark.parametrize("transform", [normal_cdf, half_cube, asinh, wiggly])
def test_elementwise_transforms_are_strictly_increasing(transform):
    assert np.all(np.diff(transform(GRID)) > 0)


def test_wiggly_derivative_is_bounded_below_by_0_26():
    x = np.linspace(-200.0, 200.0, 2_000_001)
    derivative = 1 + 0.4 * np.cos(x) + 0.34 * np.cos(1.7 * x + 1)
    assert derivative.min() >= 0.26
    # The derivative above is that of wiggly (central differences, step 1e-5).
    step = 1e-5
    numeric = (wiggly(x[:1000] + step) - wiggly(x[:1000] - step)) / (2 * step)
    np.testing.assert_allclose(numeric, derivative[:1000], atol=1e-8)


def _skew(dim: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((dim, dim))
    return matrix - matrix.T


@pytest.mark.parametrize(("generator", "speed"), [(_skew(4, 0), 0.7), (_skew(3, 1), -1.3)])
def test_spiral_matches_the_matrix_exponential(generator, speed):
    x = np.random.default_rng(2).standard_normal((20, len(generator)))
    expected = np.array([expm(speed * (row @ row) * generator) @ row for row in x])
    spiral = Spiral(generator, speed)
    np.testing.assert_allclose(spiral(x), expected, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(spiral(x), axis=1), np.linalg.norm(x, axis=1))
    np.testing.assert_allclose(spiral.inverse(spiral(x)), x, atol=1e-10)


def test_spiral_in_one_plane_leaves_the_other_coordinates():
    x = np.random.default_rng(3).standard_normal((5, 3))
    out = Spiral(rotation_generator(3, 0, 2), speed=2.0)(x)
    np.testing.assert_allclose(out[:, 1], x[:, 1], atol=1e-12)
    assert not np.allclose(out[:, 0], x[:, 0])


def test_swiss_roll_is_recovered_from_the_radius():
    x = np.linspace(-5.0, 5.0, 1001).reshape(-1, 1)
    rolled = swiss_roll(x)
    assert rolled.shape == (1001, 2)
    t = np.hypot(rolled[:, 0], rolled[:, 1]) * 4.5 * np.pi
    recovered = ndtri((t / (1.5 * np.pi) - 1) / 2)
    np.testing.assert_allclose(recovered, x[:, 0], atol=1e-7)


@pytest.mark.parametrize(
    ("transform_x", "transform_y", "dims"),
    [
        (normal_cdf, normal_cdf, (2, 2)),
        (half_cube, None, (2, 2)),
        (None, wiggly, (2, 2)),
        (asinh, asinh, (2, 2)),
        (swiss_roll, None, (4, 2)),
        (Spiral(rotation_generator(2)), swiss_roll, (2, 4)),
    ],
)
def test_wrapping_keeps_the_truth_and_applies_the_transform(transform_x, transform_y, dims):
    base = RotatedPairs(1.5, 2, 2)
    wrapped = Transformed(base, transform_x, transform_y)
    assert wrapped.mutual_information() == base.mutual_information()
    assert (wrapped.dim_x, wrapped.dim_y) == dims
    x, y = wrapped.sample(30, np.random.default_rng(5))
    raw_x, raw_y = base.sample(30, np.random.default_rng(5))
    np.testing.assert_array_equal(x, raw_x if transform_x is None else transform_x(raw_x))
    np.testing.assert_array_equal(y, raw_y if transform_y is None else transform_y(raw_y))


def test_transformed_tasks_are_deterministic_per_seed():
    task = get_task("transform-spiral-gaussian-3x3-mi1")
    first, again = task.sample(40, seed=9), task.sample(40, seed=9)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.allclose(first[0], task.sample(40, seed=10)[0])


@pytest.mark.parametrize(
    "name",
    [
        "transform-normalcdf-gaussian-2x2-mi1",
        "transform-spiral-gaussian-3x3-mi1",
        "transform-normalcdf-gaussian-5x5-mi10",
        "transform-spiral-gaussian-5x5-mi10",
    ],
)
def test_the_gaussian_estimator_sees_the_truth_after_undoing_the_transform(name):
    # The wrapped truth is right iff undoing the transform gives back a Gaussian task with
    # that MI: check with the gaussian estimator, and that it is fooled before undoing.
    task = get_task(name)
    x, y = task.sample(20_000, seed=1)
    transform = task.sampler.transform_x
    undo = ndtri if transform is normal_cdf else transform.inverse
    undone_y = ndtri(y) if task.sampler.transform_y is normal_cdf else y
    result = estimate_mi(undo(x), undone_y, "gaussian")
    assert abs(result.value - task.mutual_information) < 4 * result.standard_error + 0.001
    fooled = estimate_mi(x, y, "gaussian")
    assert abs(fooled.value - task.mutual_information) > 4 * fooled.standard_error


def test_bad_transform_parameters_are_refused():
    with pytest.raises(ValueError, match="skew-symmetric"):
        Spiral(np.eye(3))
    with pytest.raises(ValueError, match="at least 2"):
        Spiral(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="finite"):
        Spiral(rotation_generator(2), speed=float("inf"))
    with pytest.raises(ValueError, match="two different"):
        rotation_generator(3, 1, 1)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        Spiral(rotation_generator(3))(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="Sampler"):
        Transformed(CorrelatedPairs, asinh)
