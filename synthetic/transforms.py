r"""Invertible transforms, which keep the mutual information, and a wrapper that applies them.

For injective measurable f and g, I(f(X); g(Y)) = I(X; Y) (Cover & Thomas, 2006, §2.8;
used this way in the "Beyond Normal" benchmark, Czyż et al., NeurIPS 2023). Each
transform below maps an ``(n, d)`` array to an ``(n, d')`` array and is injective:

- elementwise and strictly increasing: :func:`normal_cdf`, :func:`half_cube`,
  :func:`asinh`, :func:`wiggly`;
- :class:`Spiral`: x ↦ exp(s‖x‖² A) x for a skew-symmetric A; it keeps ‖x‖, so
  exp(-s‖y‖² A) y inverts it;
- :func:`swiss_roll`: each coordinate onto a 2-D spiral whose radius grows strictly with
  the coordinate (1-D into 2-D: no density in the plane, but the MI is unchanged);
- :class:`GaussianMixtureMarginal`: z ↦ F⁻¹(Φ(z)), which carries N(0, 1) onto a
  1-D Gaussian mixture with CDF F (strictly increasing, inverted numerically).

:class:`Transformed` wraps any sampler; its truth is the sampler's truth.
:class:`Standardised` rescales every sample to zero mean and unit variance per column,
the convention of the "Beyond Normal" benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.linalg import schur
from scipy.special import ndtr, ndtri

from mi_toolkit.synthetic._checks import check_dimension, check_probability, check_square_matrix
from mi_toolkit.synthetic.base import Sampler

Transform = Callable[[np.ndarray], np.ndarray]


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x), the standard normal CDF, elementwise: R → (0, 1), strictly increasing.

    In float64 it saturates to 1.0 for x > 8.3, a probability of 5e-17 under N(0, 1).
    """
    return ndtr(x)


def half_cube(x: np.ndarray) -> np.ndarray:
    """x·sqrt|x| elementwise: strictly increasing, with derivative 1.5 sqrt|x|."""
    x = np.asarray(x, dtype=np.float64)
    return x * np.sqrt(np.abs(x))


def asinh(x: np.ndarray) -> np.ndarray:
    """asinh(x) = log(x + sqrt(x² + 1)) elementwise: strictly increasing, tames tails."""
    return np.arcsinh(x)


def wiggly(x: np.ndarray) -> np.ndarray:
    r"""x + 0.4 sin x + 0.2 sin(1.7x + 1) elementwise.

    Strictly increasing: its derivative 1 + 0.4 cos x + 0.34 cos(1.7x + 1) >= 0.26 > 0.
    """
    x = np.asarray(x, dtype=np.float64)
    return x + 0.4 * np.sin(x) + 0.2 * np.sin(1.7 * x + 1.0)


def swiss_roll(x: np.ndarray) -> np.ndarray:
    r"""Each column onto a Swiss roll in the plane: (n, d) → (n, 2d).

    With u = Φ(x) and t = 1.5π(1 + 2u) ∈ (1.5π, 4.5π), the pair is
    (t cos t, t sin t) / 4.5π. Its norm t / 4.5π grows strictly with x, so x is recovered
    from the norm alone: the map is injective.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(len(x), -1)
    t = 1.5 * np.pi * (1.0 + 2.0 * ndtr(x))
    radius = t / (4.5 * np.pi)
    out = np.empty((len(x), 2 * x.shape[1]))
    out[:, 0::2] = radius * np.cos(t)
    out[:, 1::2] = radius * np.sin(t)
    return out


def rotation_generator(dim: int, i: int = 0, j: int = 1) -> np.ndarray:
    """The skew-symmetric generator of rotations in the (i, j) coordinate plane.

    Parameters
    ----------
    dim : int
        Side d of the d×d generator.
    i, j : int
        The two different coordinates, below d, that span the plane.
    """
    dim = check_dimension(dim, "dim")
    if not (0 <= i < dim and 0 <= j < dim and i != j):
        raise ValueError(f"i and j must be two different coordinates below {dim}; got {i}, {j}")
    generator = np.zeros((dim, dim))
    generator[i, j], generator[j, i] = -1.0, 1.0
    return generator


class Spiral:
    r"""x ↦ exp(s‖x‖² A) x, a rotation whose angle grows with the squared norm.

    A skew-symmetric makes exp(tA) a rotation. A real Schur decomposition A = Z T Zᵀ
    (T block-diagonal with 2×2 blocks [[0, b], [-b, 0]], Z orthogonal, because A is
    normal) turns exp(tA) into plane rotations by angles t·b in the basis Z, so each
    sample is rotated by its own angle without a per-sample matrix exponential.

    Parameters
    ----------
    generator : numpy.ndarray
        Skew-symmetric d×d matrix A (d >= 2), e.g. :func:`rotation_generator`.
    speed : float
        The factor s (any finite real; 0 is the identity).
    """

    def __init__(self, generator: np.ndarray, speed: float = 1.0) -> None:
        generator = check_square_matrix(generator, "generator")
        if generator.shape[0] < 2:
            raise ValueError("generator must be at least 2×2 (rotations need a plane)")
        if not np.allclose(generator, -generator.T, rtol=0.0, atol=1e-12):
            raise ValueError("generator must be skew-symmetric (A = -Aᵀ)")
        if not np.isfinite(speed):
            raise ValueError(f"speed must be finite; got {speed!r}")
        self.generator, self.speed = generator, float(speed)
        block, self._basis = schur(generator, output="real")
        self._planes = _rotation_planes(block)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._rotate(x, self.speed)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """The inverse map y ↦ exp(-s‖y‖² A) y (valid because the map keeps the norm)."""
        return self._rotate(y, -self.speed)

    def _rotate(self, x: np.ndarray, speed: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.generator.shape[0]:
            raise ValueError(
                f"the spiral expects an (n, {self.generator.shape[0]}) array; got {x.shape}"
            )
        t = speed * np.einsum("ij,ij->i", x, x)
        z = x @ self._basis
        for k, rate in self._planes:
            # exp(t [[0, b], [-b, 0]]) = [[cos tb, sin tb], [-sin tb, cos tb]], applied to rows.
            cos, sin = np.cos(t * rate), np.sin(t * rate)
            first, second = z[:, k].copy(), z[:, k + 1].copy()
            z[:, k] = cos * first + sin * second
            z[:, k + 1] = cos * second - sin * first
        return z @ self._basis.T


def _rotation_planes(block: np.ndarray) -> list[tuple[int, float]]:
    """(k, b) for each 2×2 block [[0, b], [-b, 0]] on the diagonal of a real Schur form."""
    tolerance = 1e-12 * max(1.0, np.abs(block).max())
    planes, k = [], 0
    while k < len(block) - 1:
        if abs(block[k + 1, k]) > tolerance:
            planes.append((k, 0.5 * (block[k, k + 1] - block[k + 1, k])))
            k += 2
        else:
            k += 1
    return planes


class Transformed(Sampler):
    """A sampler with invertible transforms applied to X and/or Y; the truth is unchanged.

    Parameters
    ----------
    sampler : Sampler
        Any sampler.
    transform_x, transform_y : callable or None
        Injective maps from (n, d) arrays to (n, d') arrays, or ``None`` for the identity.
        Injectivity is the caller's promise: a map that loses information would make the
        reported truth wrong.
    """

    def __init__(
        self,
        sampler: Sampler,
        transform_x: Transform | None = None,
        transform_y: Transform | None = None,
    ) -> None:
        if not isinstance(sampler, Sampler):
            raise TypeError(f"sampler must be a Sampler; got {type(sampler).__name__}")
        self.sampler, self.transform_x, self.transform_y = sampler, transform_x, transform_y
        self.discrete_x, self.discrete_y = sampler.discrete_x, sampler.discrete_y
        self.dim_x = _output_dim(transform_x, sampler.dim_x)
        self.dim_y = _output_dim(transform_y, sampler.dim_y)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.sampler.sample(n, rng)
        return _apply(self.transform_x, x), _apply(self.transform_y, y)

    def mutual_information(self) -> float:
        return self.sampler.mutual_information()

    def mutual_information_standard_error(self) -> float:
        return self.sampler.mutual_information_standard_error()


def _apply(transform: Transform | None, values: np.ndarray) -> np.ndarray:
    if transform is None:
        return values
    return np.asarray(transform(values), dtype=np.float64).reshape(len(values), -1)


def _output_dim(transform: Transform | None, dim: int) -> int:
    # One probe row tells the output width (the Swiss roll doubles it).
    return _apply(transform, np.zeros((1, dim))).shape[1]


class GaussianMixtureMarginal:
    r"""z ↦ F⁻¹(Φ(z)) elementwise: N(0, 1) onto a mixture of unit-variance Gaussians.

    F(t) = Σ_k w_k Φ(t - μ_k) is the mixture's CDF. Φ and F are continuous and strictly
    increasing, so the map is too (injective: it keeps the MI), and it carries a standard
    normal variable onto one distributed as the mixture. This is the bimodal marginal of
    the "Beyond Normal" benchmark (Czyż et al., 2023).

    F has no closed-form inverse: each value is found by Newton steps kept inside a
    bracket (bisection when a step leaves it), to :attr:`TOLERANCE` absolute in t. The
    equation is solved in the tail on z's side, Σ w_k Φ(t - μ_k) = Φ(z) for z <= 0 and
    Σ w_k Φ(μ_k - t) = Φ(-z) for z > 0, whose terms float64 resolves down to 1e-308
    (1 - Φ(z) would round to 0 from z = 8.3 and lose every digit in the upper tail).

    Parameters
    ----------
    weights : sequence of float
        Mixture weights w_k > 0, summing to 1.
    means : sequence of float
        Component means μ_k (each component has unit variance), one per weight.
    """

    #: Absolute precision (in t) of each solved value.
    TOLERANCE = 1e-12
    #: More than the 46 bisections that shrink a bracket of width 1e2 below TOLERANCE.
    MAX_ITERATIONS = 200

    def __init__(self, weights: Sequence[float], means: Sequence[float]) -> None:
        weights = np.array([check_probability(w, "weights") for w in np.atleast_1d(weights)])
        means = np.asarray(means, dtype=np.float64).reshape(-1)
        if weights.size == 0 or weights.size != means.size:
            raise ValueError(
                f"weights and means must be two non-empty sequences of the same length; "
                f"got {weights.size} and {means.size}"
            )
        if np.any(weights <= 0) or abs(weights.sum() - 1.0) > 1e-12:
            raise ValueError(f"weights must be > 0 and sum to 1; got {weights.tolist()}")
        if not np.isfinite(means).all():
            raise ValueError("means must be finite")
        self.weights, self.means = weights, means

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """The mixture's CDF F(t) = Σ w_k Φ(t - μ_k), elementwise."""
        t = np.asarray(t, dtype=np.float64)
        return ndtr(t[..., None] - self.means) @ self.weights

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """The inverse map t ↦ Φ⁻¹(F(t)), computed from the tail on t's side of the median."""
        t = np.asarray(t, dtype=np.float64)
        lower = ndtr(t[..., None] - self.means) @ self.weights
        upper = ndtr(self.means - t[..., None]) @ self.weights
        return np.where(lower <= upper, ndtri(lower), -ndtri(upper))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        flat = z.reshape(-1)
        # Reflect z > 0 (t -> -t, μ -> -μ) so that every value is a lower-tail problem.
        sign = np.where(flat > 0, -1.0, 1.0)
        solved = self._solve_lower_tail(sign * flat, sign[:, None] * self.means)
        return (sign * solved).reshape(z.shape)

    def _solve_lower_tail(self, z: np.ndarray, means: np.ndarray) -> np.ndarray:
        """t with Σ w_k Φ(t - m_k) = Φ(z), for z <= 0 and per-value means ``(n, K)``."""
        target = ndtr(z)
        # Each term Φ(t - m_k) is <= Φ(z) at t = z + min m and >= Φ(z) at t = z + max m.
        low, high = z + means.min(axis=1), z + means.max(axis=1)
        t = 0.5 * (low + high)
        for _ in range(self.MAX_ITERATIONS):
            residual = ndtr(t[:, None] - means) @ self.weights - target
            low = np.where(residual < 0, t, low)
            high = np.where(residual > 0, t, high)
            slope = np.exp(-0.5 * (t[:, None] - means) ** 2) @ self.weights / np.sqrt(2 * np.pi)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = t - residual / slope
            # Non-strict: a converged value sits on a bracket end and must stay there.
            inside = np.isfinite(newton) & (newton >= low) & (newton <= high)
            step = np.where(inside, newton, 0.5 * (low + high)) - t
            t = t + step
            if np.all((np.abs(step) <= self.TOLERANCE) | (residual == 0)):
                return t
        raise RuntimeError("the mixture CDF's inverse did not converge; report this as a bug")


class Standardised(Sampler):
    """A sampler whose every sample is rescaled to zero mean and unit variance per column.

    Each column c of a drawn sample becomes (c - mean(c)) / std(c), with the sample's own
    mean and standard deviation (ddof = 0), as the "Beyond Normal" benchmark (Czyż et al.,
    2023) does before estimating. The rescaling is part of :meth:`sample`; the truth is
    the wrapped sampler's, since a per-column affine map with positive scale is
    invertible and keeps the MI (the scale comes from the sample itself, a dependence
    that fades as 1/sqrt(n), and the benchmark's convention).

    Parameters
    ----------
    sampler : Sampler
        Any sampler of continuous (X, Y).
    """

    def __init__(self, sampler: Sampler) -> None:
        if not isinstance(sampler, Sampler):
            raise TypeError(f"sampler must be a Sampler; got {type(sampler).__name__}")
        self.sampler = sampler
        self.dim_x, self.dim_y = sampler.dim_x, sampler.dim_y
        self.discrete_x, self.discrete_y = sampler.discrete_x, sampler.discrete_y

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if n < 2:
            raise ValueError(
                f"n must be at least 2 for a standardised task (one sample has no spread "
                f"to rescale by); got {n}"
            )
        x, y = self.sampler.sample(n, rng)
        return standardise_columns(x, "X"), standardise_columns(y, "Y")

    def mutual_information(self) -> float:
        return self.sampler.mutual_information()

    def mutual_information_standard_error(self) -> float:
        return self.sampler.mutual_information_standard_error()


def standardise_columns(values: np.ndarray, name: str) -> np.ndarray:
    """Each column minus its mean, over its standard deviation (ddof = 0)."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - values.mean(axis=0)
    spread = np.sqrt(np.mean(centred**2, axis=0))
    if not np.all(spread > 0):
        raise ValueError(
            f"a column of {name} is constant in this sample and cannot be standardised; "
            "draw more samples"
        )
    return centred / spread
