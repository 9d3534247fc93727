"""Speed of the image renders, against a per-pixel Python loop measured in the same run.

The loop peer renders like the reference code of Butakov et al. (one image and one pixel at
a time); it draws 100 images where the vectorised renders draw 10 000, so compare times per
image: ratio = (loop time / 100) / (vectorised time / 10 000).

    pytest benchmarks/bench_synthetic.py --benchmark-columns=min,median,rounds
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit.synthetic import GaussianBlobImages, RectangleImages
from mi_toolkit.synthetic.images import rectangle_sides, render_blobs, render_rectangles

N_FAST, N_LOOP = 10_000, 100


def _loop_blobs(centres: np.ndarray, width: int) -> np.ndarray:
    images = np.empty((len(centres), width, width))
    for k, (cx, cy) in enumerate(centres):
        for i in range(width):
            for j in range(width):
                gx, gy = (j + 0.5) / width, (i + 0.5) / width
                images[k, i, j] = math.exp(-10.0 * ((gx - cx) ** 2 + (gy - cy) ** 2))
    return images.reshape(len(centres), -1)


def _loop_rectangles(sides: np.ndarray, width: int) -> np.ndarray:
    images = np.empty((len(sides), width, width))
    for k, (left, right, bottom, top) in enumerate(sides):
        for i in range(width):
            for j in range(width):
                dx = max(0.0, min(right, (j + 1) / width) - max(left, j / width))
                dy = max(0.0, min(top, (i + 1) / width) - max(bottom, i / width))
                images[k, i, j] = dx * dy * width * width
    return images.reshape(len(sides), -1)


@pytest.fixture(scope="module")
def unit_points() -> np.ndarray:
    return np.random.default_rng(0).random((N_FAST, 4))


@pytest.mark.parametrize("width", [16, 32])
def test_blobs_vectorised_10000(benchmark, unit_points, width):
    images = benchmark(render_blobs, unit_points[:, :2], width)
    assert images.shape == (N_FAST, width * width)


@pytest.mark.parametrize("width", [16, 32])
def test_blobs_loop_peer_100(benchmark, unit_points, width):
    images = benchmark(_loop_blobs, unit_points[:N_LOOP, :2], width)
    np.testing.assert_allclose(images, render_blobs(unit_points[:N_LOOP, :2], width))


def test_rectangles32_vectorised_10000(benchmark, unit_points):
    sides = rectangle_sides(unit_points, 32)
    images = benchmark(render_rectangles, sides, 32)
    assert images.shape == (N_FAST, 1024)


def test_rectangles32_loop_peer_100(benchmark, unit_points):
    sides = rectangle_sides(unit_points[:N_LOOP], 32)
    images = benchmark(_loop_rectangles, sides, 32)
    np.testing.assert_allclose(images, render_rectangles(sides, 32), atol=1e-12)


@pytest.mark.parametrize(
    "sampler", [GaussianBlobImages(5.0, 32), RectangleImages(5.0, 32)], ids=["blobs32", "rect32"]
)
def test_sample_image_pairs_10000(benchmark, sampler):
    x, y = benchmark(sampler.sample, N_FAST, np.random.default_rng(0))
    assert x.shape == y.shape == (N_FAST, 1024)
