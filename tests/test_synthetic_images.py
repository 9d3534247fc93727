"""Images with known MI: the renders against naive per-pixel code, and injectivity."""

from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.synthetic import GaussianBlobImages, RectangleImages
from mi_toolkit.synthetic.images import (
    pixel_centres,
    rectangle_sides,
    render_blobs,
    render_rectangles,
)


def test_blobs_match_the_formula_pixel_by_pixel():
    centres = np.array([[0.2, 0.7], [0.5, 0.5], [0.95, 0.01]])
    width = 16
    images = render_blobs(centres, width).reshape(-1, width, width)
    for image, (cx, cy) in zip(images, centres, strict=True):
        for i in range(width):
            for j in range(width):
                gx, gy = (j + 0.5) / width, (i + 0.5) / width
                expected = np.exp(-10 * ((gx - cx) ** 2 + (gy - cy) ** 2))
                assert image[i, j] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("width", [16, 32])
def test_blob_centre_is_recovered_from_the_image(width):
    centres = np.random.default_rng(0).random((50, 2))
    images = render_blobs(centres, width)
    grid = pixel_centres(width)
    gx, gy = np.meshgrid(grid, grid)  # gx varies along columns, gy along rows.
    # log image + 10‖g‖² = 20 g·μ - 10‖μ‖²: least squares on (gx, gy, 1) gives 20μ.
    design = np.column_stack([gx.ravel(), gy.ravel(), np.ones(width * width)])
    targets = np.log(images).T + 10 * (gx.ravel() ** 2 + gy.ravel() ** 2)[:, None]
    coefficients = np.linalg.lstsq(design, targets, rcond=None)[0]
    np.testing.assert_allclose(coefficients[:2].T / 20, centres, atol=1e-9)


def _covered_area(left, right, bottom, top, i, j, width):
    # Independent check: intersect the rectangle with pixel (row i, column j) directly.
    px0, px1, py0, py1 = j / width, (j + 1) / width, i / width, (i + 1) / width
    dx = max(0.0, min(right, px1) - max(left, px0))
    dy = max(0.0, min(top, py1) - max(bottom, py0))
    return dx * dy * width * width


def test_rectangles_match_covered_area_pixel_by_pixel():
    width = 8
    sides = np.array([[0.1, 0.73, 0.2, 0.45], [0.0, 1.0, 0.5, 0.9], [0.31, 0.62, 0.0, 0.26]])
    images = render_rectangles(sides, width).reshape(-1, width, width)
    for image, (left, right, bottom, top) in zip(images, sides, strict=True):
        for i in range(width):
            for j in range(width):
                assert image[i, j] == pytest.approx(
                    _covered_area(left, right, bottom, top, i, j, width), abs=1e-12
                )
        area = (right - left) * (top - bottom)
        assert image.sum() == pytest.approx(area * width * width, rel=1e-12)


def _recover_interval(coverage: np.ndarray, width: int) -> tuple[float, float]:
    nonzero = np.flatnonzero(coverage > 0)
    first, last = nonzero[0], nonzero[-1]
    return (first + 1 - coverage[first]) / width, (last + coverage[last]) / width


def test_rectangle_images_are_injective_in_their_parametrisation():
    width = 32
    unit = np.random.default_rng(1).random((200, 4))
    sides = rectangle_sides(unit, width)
    assert np.all(sides[:, 1] - sides[:, 0] > 2 / width)
    assert np.all(sides[:, 3] - sides[:, 2] > 2 / width)
    assert np.all((sides > 0) & (sides < 1))
    images = render_rectangles(sides, width).reshape(-1, width, width)
    for image, truth, u in zip(images, sides, unit, strict=True):
        # A fully covered pixel (value 1) exists; its row and column are the coverages.
        i, j = np.unravel_index(np.argmax(image), image.shape)
        assert image[i, j] == pytest.approx(1.0)
        left, right = _recover_interval(image[i, :], width)
        bottom, top = _recover_interval(image[:, j], width)
        np.testing.assert_allclose([left, right, bottom, top], truth, atol=1e-12)
        # ... and the latent point comes back from the sides (the bijection's inverse).
        free = 1 - 2 / width
        span = right - 2 / width
        np.testing.assert_allclose([span / free, left / span], u[:2], atol=1e-9)


@pytest.mark.parametrize(
    ("sampler_type", "width", "n_latent"), [(GaussianBlobImages, 16, 2), (RectangleImages, 32, 4)]
)
def test_image_samplers_carry_the_latent_mi(sampler_type, width, n_latent):
    sampler = sampler_type(7.5, width)
    assert sampler.mutual_information() == pytest.approx(7.5, rel=1e-14)
    assert sampler.latent.dim_x == n_latent
    x, y = sampler.sample(64, np.random.default_rng(0))
    assert x.shape == y.shape == (64, width * width)
    assert np.all((x >= 0) & (x <= 1)) and np.all(np.isfinite(y))
    again = sampler.sample(64, np.random.default_rng(0))
    np.testing.assert_array_equal(x, again[0])


def test_bad_image_parameters_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        GaussianBlobImages(-1.0)
    with pytest.raises(ValueError, match="at least 4"):
        RectangleImages(1.0, width=2)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        render_blobs(np.zeros((3, 3)), 16)
    with pytest.raises(ValueError, match="l <= r"):
        render_rectangles(np.array([[0.5, 0.2, 0.1, 0.3]]), 16)
