r"""Images with known MI (Butakov et al., ICLR 2024, "Information bottleneck analysis of deep
neural networks via lossy compression", §5).

Latent pairs (U_i, V_i) are correlated Gaussians carrying I/k nats each
(:class:`~mi_toolkit.synthetic.gaussian.CorrelatedPairs`). Each side is pushed through the
normal CDF into (0, 1)^k and rendered as a W×W image with pixel centres
g_ij = ((j + ½)/W, (i + ½)/W) in [0, 1]² (row i is the vertical coordinate). Every step is
injective, so I(image_X; image_Y) = I(U; V) = I.

- :func:`render_blobs`, k = 2: the blob exp(-10‖g - μ‖²) centred at μ ∈ (0, 1)².
  Injective: log image + 10‖g‖² = 20 g·μ - 10‖μ‖² is affine in g, so μ is the
  least-squares slope of it over any three non-collinear pixels.
- :func:`render_rectangles`, k = 4: an axis-aligned rectangle [l, r] × [b, t], each pixel
  holding the exact fraction of its area that the rectangle covers (anti-aliasing).
  :func:`rectangle_sides` maps (0, 1)² bijectively onto the sides with r - l > 2/W, which
  makes the render injective: the rectangle then covers at least one whole pixel in each
  direction, the image is the outer product of the per-row and per-column coverages,
  which are recovered exactly from the rows and columns through a fully covered pixel
  (where the product is 1), and the first and last partial coverage of each give l, r
  (b, t). Without the minimum width a rectangle inside one pixel could slide unseen.

Rendering is vectorised: both images are outer products of two (n, W) profiles.
Images are returned flattened, (n, W·W) in row-major order; ``reshape(n, W, W)`` views
them as pictures.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from mi_toolkit.synthetic._checks import check_dimension, check_mutual_information
from mi_toolkit.synthetic.base import Sampler
from mi_toolkit.synthetic.gaussian import CorrelatedPairs

#: The exponent's factor in the blob exp(-BLOB_SHARPNESS ‖g - μ‖²).
BLOB_SHARPNESS = 10.0


def pixel_centres(width: int) -> np.ndarray:
    """The W pixel-centre coordinates (j + ½)/W along one axis of [0, 1]."""
    width = check_dimension(width, "width")
    return (np.arange(width) + 0.5) / width


def _outer_images(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Images rows[:, i] · columns[:, j], flattened to (n, W·W)."""
    n, width = rows.shape
    return (rows[:, :, None] * columns[:, None, :]).reshape(n, width * width)


def render_blobs(centres: np.ndarray, width: int) -> np.ndarray:
    """Images exp(-10‖g - μ‖²) of the blobs centred at ``centres`` (n, 2) = (x, y) in [0, 1]².

    The Gaussian factorises over the axes, so each image is an outer product.

    Parameters
    ----------
    centres : numpy.ndarray
        (n, 2) blob centres (x, y) in [0, 1]².
    width : int
        Image side W in pixels.

    Returns
    -------
    numpy.ndarray
        The images, flattened to (n, W·W).
    """
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 2:
        raise ValueError(f"centres must be an (n, 2) array; got shape {centres.shape}")
    grid = pixel_centres(width)
    across = np.exp(-BLOB_SHARPNESS * (grid - centres[:, :1]) ** 2)
    down = np.exp(-BLOB_SHARPNESS * (grid - centres[:, 1:]) ** 2)
    return _outer_images(down, across)


def _coverage(low: np.ndarray, high: np.ndarray, width: int) -> np.ndarray:
    """Fraction of each of the W pixels of [0, 1] that the interval [low, high] covers."""
    edges = np.arange(width + 1) / width
    overlap = np.minimum(high[:, None], edges[1:]) - np.maximum(low[:, None], edges[:-1])
    return np.clip(overlap * width, 0.0, 1.0)


def render_rectangles(sides: np.ndarray, width: int) -> np.ndarray:
    """Anti-aliased images of rectangles [l, r] × [b, t] given as ``sides`` (n, 4) = (l, r, b, t).

    Pixel (i, j) holds the covered fraction of its area, which factorises into the
    covered fractions of its row and column intervals.

    Parameters
    ----------
    sides : numpy.ndarray
        (n, 4) rows (l, r, b, t) with l <= r and b <= t.
    width : int
        Image side W in pixels.

    Returns
    -------
    numpy.ndarray
        The images, flattened to (n, W·W).
    """
    sides = np.asarray(sides, dtype=np.float64)
    if sides.ndim != 2 or sides.shape[1] != 4:
        raise ValueError(f"sides must be an (n, 4) array (l, r, b, t); got {sides.shape}")
    if np.any(sides[:, 1] < sides[:, 0]) or np.any(sides[:, 3] < sides[:, 2]):
        raise ValueError("sides must satisfy l <= r and b <= t")
    across = _coverage(sides[:, 0], sides[:, 1], width)
    down = _coverage(sides[:, 2], sides[:, 3], width)
    return _outer_images(down, across)


def _interval(u: np.ndarray, v: np.ndarray, min_length: float) -> tuple[np.ndarray, np.ndarray]:
    # (u, v) ↦ (a, b) = (L u v, L u) is a bijection of (0, 1)² onto 0 < a < b < L, with
    # L = 1 - min_length; then [a, b + min_length] is longer than min_length and in (0, 1).
    free = 1.0 - min_length
    return free * u * v, free * u + min_length


def rectangle_sides(unit: np.ndarray, width: int) -> np.ndarray:
    """Bijection from (0, 1)^4 onto rectangles with both sides longer than 2/W: (l, r, b, t).

    Parameters
    ----------
    unit : numpy.ndarray
        (n, 4) points of (0, 1)^4.
    width : int
        Image side W in pixels, which sets the minimum side 2/W.

    Returns
    -------
    numpy.ndarray
        (n, 4) sides (l, r, b, t), as :func:`render_rectangles` takes them.
    """
    unit = np.asarray(unit, dtype=np.float64)
    min_length = 2.0 / check_dimension(width, "width")
    left, right = _interval(unit[:, 0], unit[:, 1], min_length)
    bottom, top = _interval(unit[:, 2], unit[:, 3], min_length)
    return np.column_stack([left, right, bottom, top])


class _LatentImages(Sampler):
    """Correlated latent pairs → normal CDF → images; I(X;Y) = latent MI."""

    n_latent: int

    def __init__(self, mutual_information: float, width: int = 32) -> None:
        check_mutual_information(mutual_information)
        self.width = check_dimension(width, "width")
        if self.width < 4:
            raise ValueError(f"width must be at least 4 pixels; got {self.width}")
        self.latent = CorrelatedPairs.with_mutual_information(mutual_information, self.n_latent)
        self.dim_x = self.dim_y = self.width**2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        u, v = self.latent.sample(n, rng)
        return self.render(ndtr(u)), self.render(ndtr(v))

    def render(self, unit: np.ndarray) -> np.ndarray:
        """Images of latent points in (0, 1)^k, (n, W·W)."""
        raise NotImplementedError

    def mutual_information(self) -> float:
        return self.latent.mutual_information()


class GaussianBlobImages(_LatentImages):
    """W×W images of a Gaussian blob whose centre is a 2-D latent point (Butakov et al.).

    Parameters
    ----------
    mutual_information : float
        I(X;Y) in nats (>= 0), split over the two latent coordinates.
    width : int
        Image side W >= 4 (16 or 32 in the paper; default 32).
    """

    n_latent = 2

    def render(self, unit: np.ndarray) -> np.ndarray:
        return render_blobs(unit, self.width)


class RectangleImages(_LatentImages):
    """W×W anti-aliased images of an axis-aligned rectangle with 4 latent parameters.

    Parameters
    ----------
    mutual_information : float
        I(X;Y) in nats (>= 0), split over the four latent coordinates.
    width : int
        Image side W >= 4 (32 in the paper and by default).
    """

    n_latent = 4

    def render(self, unit: np.ndarray) -> np.ndarray:
        return render_rectangles(rectangle_sides(unit, self.width), self.width)
