r"""Noisy channels: what a layer T of a network sees of its input X.

- :class:`LinearGaussianChannel`: X ~ N(0, Σ), T = W X + σ Z, with
  I(X;T) = ½ log det(I + W Σ Wᵀ / σ²) (Cover & Thomas 2006, §9.4).
- :class:`NoisyGaussianMixture`: X from a Gaussian mixture, Y = X + σ Z. Then
  I = h(Y) - h(Y|X) = h(Y) - (d/2) log(2πeσ²), where Y is again a Gaussian mixture whose
  entropy has no closed form: h(Y) = -E log p_Y(Y) is computed by Monte Carlo from a fixed
  seed, and its standard error is exposed by ``mutual_information_standard_error``.
- :class:`BinarySymmetricChannel`: bits X ~ Bernoulli(q), Y = X xor Bernoulli(p), with
  I = H_b(q(1 - p) + (1 - q)p) - H_b(p) per bit.
- Uniform discrete X through a deterministic map lives in
  :mod:`mi_toolkit.synthetic.discrete`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, xlogy

from mi_toolkit.synthetic._checks import (
    check_dimension,
    check_positive,
    check_positive_int,
    check_probability,
    check_square_matrix,
)
from mi_toolkit.synthetic.base import Sampler
from mi_toolkit.synthetic.gaussian import cholesky_factor


class LinearGaussianChannel(Sampler):
    r"""X ~ N(0, Σ) in d_x dimensions, T = W X + σ Z in d_t dimensions.

    .. math:: I(X;T) = \frac12 \log\det\Big(I + \frac{W Σ W^\top}{σ^2}\Big)

    Parameters
    ----------
    weights : numpy.ndarray
        The d_t×d_x matrix W.
    noise_std : float
        σ > 0.
    input_covariance : numpy.ndarray or None
        Σ (positive definite); the identity by default.
    """

    def __init__(
        self,
        weights: np.ndarray,
        noise_std: float,
        input_covariance: np.ndarray | None = None,
    ) -> None:
        self.weights = np.array(weights, dtype=np.float64, ndmin=2)
        if self.weights.ndim != 2 or not np.isfinite(self.weights).all():
            raise ValueError(f"weights must be a finite 2-D matrix; got shape {self.weights.shape}")
        self.dim_y, self.dim_x = self.weights.shape
        self.noise_std = check_positive(noise_std, "noise_std")
        if input_covariance is None:
            input_covariance = np.eye(self.dim_x)
        self.input_covariance = check_square_matrix(
            input_covariance, "input_covariance", self.dim_x
        )
        self._factor = cholesky_factor(self.input_covariance, "input_covariance")

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((n, self.dim_x)) @ self._factor.T
        noise = self.noise_std * rng.standard_normal((n, self.dim_y))
        return x, x @ self.weights.T + noise

    def mutual_information(self) -> float:
        signal = self.weights @ self.input_covariance @ self.weights.T
        return float(0.5 * np.linalg.slogdet(np.eye(self.dim_y) + signal / self.noise_std**2)[1])


def _mixture_log_density(
    points: np.ndarray, means: np.ndarray, variances: np.ndarray, log_weights: np.ndarray
) -> np.ndarray:
    """log Σ_k π_k N(points; μ_k, v_k I), per point; logsumexp keeps far tails finite."""
    dim = points.shape[1]
    squared = ((points[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    log_normal = -0.5 * (squared / variances + dim * np.log(2.0 * np.pi * variances))
    return logsumexp(log_normal + log_weights, axis=1)


class NoisyGaussianMixture(Sampler):
    r"""X ~ Σ_k π_k N(μ_k, s_k² I) in d dimensions, Y = X + σ Z; truth by Monte Carlo.

    .. math:: I(X;Y) = -E \log p_Y(Y) - \frac d2 \log(2πeσ^2),
              \qquad p_Y = Σ_k π_k N(μ_k, (s_k^2 + σ^2) I),

    the expectation a mean over ``truth_samples`` draws of Y from ``truth_seed``; the
    standard error is their standard deviation over sqrt(``truth_samples``).

    Parameters
    ----------
    means : numpy.ndarray
        Component means, (K, d).
    component_stds : numpy.ndarray
        Component standard deviations s_k >= 0, one per component (0 gives point masses,
        for which the MI is still finite thanks to the noise).
    noise_std : float
        σ > 0.
    weights : numpy.ndarray or None
        Mixing weights π_k (normalised here); equal by default.
    truth_samples, truth_seed : int
        Size and seed of the Monte-Carlo estimate of h(Y).
    """

    def __init__(
        self,
        means: np.ndarray,
        component_stds: np.ndarray,
        noise_std: float,
        weights: np.ndarray | None = None,
        truth_samples: int = 200_000,
        truth_seed: int = 0,
    ) -> None:
        self.means = np.array(means, dtype=np.float64, ndmin=2)
        n_components, dim = self.means.shape
        self.component_stds = np.broadcast_to(
            np.asarray(component_stds, dtype=np.float64), (n_components,)
        ).copy()
        if not np.isfinite(self.means).all() or not np.isfinite(self.component_stds).all():
            raise ValueError("means and component_stds must be finite")
        if (self.component_stds < 0).any():
            raise ValueError("component_stds must be >= 0")
        self.noise_std = check_positive(noise_std, "noise_std")
        self.weights = _normalised_weights(weights, n_components)
        self.dim_x = self.dim_y = check_dimension(dim, "the means' dimension")
        self.truth_samples = check_positive_int(truth_samples, "truth_samples")
        self._truth = self._monte_carlo_truth(np.random.default_rng(truth_seed))

    def _draw_x(self, n: int, rng: np.random.Generator) -> np.ndarray:
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        spread = self.component_stds[labels, None] * rng.standard_normal((n, self.dim_x))
        return self.means[labels] + spread

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = self._draw_x(n, rng)
        return x, x + self.noise_std * rng.standard_normal((n, self.dim_y))

    def _monte_carlo_truth(self, rng: np.random.Generator) -> tuple[float, float]:
        _, y = self.sample(self.truth_samples, rng)
        variances = self.component_stds**2 + self.noise_std**2
        log_density = _mixture_log_density(y, self.means, variances, np.log(self.weights))
        noise_entropy = 0.5 * self.dim_y * math.log(2.0 * math.pi * math.e * self.noise_std**2)
        value = -float(log_density.mean()) - noise_entropy
        return value, float(log_density.std(ddof=1) / math.sqrt(self.truth_samples))

    def mutual_information(self) -> float:
        return self._truth[0]

    def mutual_information_standard_error(self) -> float:
        return self._truth[1]


def _normalised_weights(weights: np.ndarray | None, n_components: int) -> np.ndarray:
    if weights is None:
        return np.full(n_components, 1.0 / n_components)
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if weights.shape != (n_components,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"weights must be {n_components} finite numbers >= 0 (one per mean)")
    if weights.sum() <= 0:
        raise ValueError("weights must not all be 0")
    return weights / weights.sum()


def binary_entropy(p: float) -> float:
    """H_b(p) = -p log p - (1 - p) log(1 - p) in nats (0 at p = 0 or 1)."""
    p = check_probability(p, "p")
    return float(-xlogy(p, p) - xlogy(1.0 - p, 1.0 - p))


class BinarySymmetricChannel(Sampler):
    """``n_bits`` independent bits X ~ Bernoulli(q), each flipped with probability p.

    I(X;Y) = n_bits · (H_b(q(1 - p) + (1 - q)p) - H_b(p)); log 2 - H_b(p) per bit for q = ½.

    Parameters
    ----------
    flip_probability : float
        p in [0, 1].
    n_bits : int
        Number of independent bits.
    p_one : float
        q = P(X_i = 1), in [0, 1]; ½ (the capacity-achieving input) by default.
    """

    discrete_x = True
    discrete_y = True

    def __init__(self, flip_probability: float, n_bits: int = 1, p_one: float = 0.5) -> None:
        self.flip_probability = check_probability(flip_probability, "flip_probability")
        self.p_one = check_probability(p_one, "p_one")
        self.dim_x = self.dim_y = check_dimension(n_bits, "n_bits")

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = (rng.random((n, self.dim_x)) < self.p_one).astype(np.int64)
        flips = (rng.random((n, self.dim_y)) < self.flip_probability).astype(np.int64)
        return x, x ^ flips

    def mutual_information(self) -> float:
        p, q = self.flip_probability, self.p_one
        per_bit = binary_entropy(q * (1.0 - p) + (1.0 - q) * p) - binary_entropy(p)
        return self.dim_x * per_bit
