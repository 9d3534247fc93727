r"""Gaussian samplers, whose MI has a closed form.

For a joint Gaussian (X, Y) with covariance Σ,

.. math::

    I(X;Y) = \frac12 \log \frac{\det Σ_{xx} \det Σ_{yy}}{\det Σ},

computed with ``slogdet`` so that dimensions up to 100 and MI far beyond 10 nats stay
exact. The families follow the "Beyond Normal" benchmark (Czyż et al., NeurIPS 2023):

- :class:`CorrelatedPairs`: independent pairs (X_i, Y_i) with correlation ρ_i;
- :func:`dense_gaussian`: every pair of the d_x + d_y variables has the same correlation;
- :func:`sparse_gaussian`: k interacting pairs among independent noise dimensions;
- :class:`RotatedPairs`: the MI split evenly over k pairs, then a random orthogonal mixing
  within X and within Y (which keeps the MI, being invertible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mi_toolkit.synthetic._checks import (
    check_correlation,
    check_dimension,
    check_mutual_information,
    check_square_matrix,
)
from mi_toolkit.synthetic.base import Sampler

#: The largest dimension of X or Y the families accept.
MAX_DIMENSION = 100


def cholesky_factor(covariance: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive-definite matrix, or a clear error."""
    if not np.allclose(covariance, covariance.T, rtol=1e-12, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name} must be positive definite (all eigenvalues > 0); lower the correlations"
        ) from None


def gaussian_mutual_information(covariance: np.ndarray, dim_x: int) -> float:
    r"""I(X;Y) of a joint Gaussian whose first ``dim_x`` coordinates are X.

    .. math:: I = \frac12 (\log\det Σ_{xx} + \log\det Σ_{yy} - \log\det Σ)

    Parameters
    ----------
    covariance : numpy.ndarray
        The (d_x + d_y)×(d_x + d_y) positive-definite covariance of (X, Y).
    dim_x : int
        Number of leading coordinates that form X (at least 1, at most d - 1).
    """
    covariance = check_square_matrix(covariance, "covariance")
    cholesky_factor(covariance, "covariance")
    dim = covariance.shape[0]
    dim_x = check_dimension(dim_x, "dim_x")
    if dim_x >= dim:
        raise ValueError(f"dim_x must be below the covariance's side {dim}; got {dim_x}")
    log_det = np.linalg.slogdet(covariance)[1]
    log_det_x = np.linalg.slogdet(covariance[:dim_x, :dim_x])[1]
    log_det_y = np.linalg.slogdet(covariance[dim_x:, dim_x:])[1]
    return float(0.5 * (log_det_x + log_det_y - log_det))


class JointGaussian(Sampler):
    """(X, Y) ~ N(0, Σ), X the first ``dim_x`` coordinates; I(X;Y) in closed form.

    Any covariance; for very high MI (det Σ near float64's limits) prefer
    :class:`RotatedPairs`, whose truth is exact by construction.

    Parameters
    ----------
    covariance : numpy.ndarray
        Positive-definite covariance of the concatenation (X, Y).
    dim_x : int
        Number of leading coordinates that form X.
    """

    def __init__(self, covariance: np.ndarray, dim_x: int) -> None:
        self.covariance = check_square_matrix(covariance, "covariance")
        self._mi = gaussian_mutual_information(self.covariance, dim_x)
        self._factor = cholesky_factor(self.covariance, "covariance")
        self.dim_x = int(dim_x)
        self.dim_y = self.covariance.shape[0] - self.dim_x

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        joint = rng.standard_normal((n, self.covariance.shape[0])) @ self._factor.T
        return joint[:, : self.dim_x].copy(), joint[:, self.dim_x :].copy()

    def mutual_information(self) -> float:
        return self._mi


class CorrelatedPairs(Sampler):
    r"""X_i and Y_i standard normal with corr(X_i, Y_i) = ρ_i, pairs independent.

    .. math:: I(X;Y) = -\frac12 \sum_i \log(1 - ρ_i^2) = -\sum_i \log s_i,
              \qquad s_i = \sqrt{1 - ρ_i^2},

    where Y_i = ρ_i X_i + s_i Z_i. The noise scales s_i are kept apart from ρ_i, so that
    MI far beyond what ρ can resolve in float64 (1 - ρ² < 1e-16, about 18 nats per pair)
    stays exact. The samples themselves resolve the noise up to about 35 nats per pair
    (s_i above float64's relative spacing 2.2e-16); beyond that Y_i rounds to X_i.

    Parameters
    ----------
    correlations : sequence of float
        The ρ_i, one per pair, each strictly inside (-1, 1).
    """

    def __init__(self, correlations: Sequence[float]) -> None:
        rhos = np.array([check_correlation(r, "correlations") for r in np.atleast_1d(correlations)])
        if rhos.size == 0:
            raise ValueError("correlations must hold at least one value (one pair)")
        # (1 - ρ)(1 + ρ) keeps its precision when |ρ| is near 1, unlike 1 - ρ².
        self._set(rhos, np.sqrt((1.0 - rhos) * (1.0 + rhos)))

    def _set(self, correlations: np.ndarray, noise_scales: np.ndarray) -> None:
        self.correlations = correlations
        self.noise_scales = noise_scales
        self.dim_x = self.dim_y = len(correlations)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((n, self.dim_x))
        noise = rng.standard_normal((n, self.dim_y))
        return x, self.correlations * x + self.noise_scales * noise

    def mutual_information(self) -> float:
        return float(-np.log(self.noise_scales).sum())

    @classmethod
    def with_mutual_information(cls, total_nats: float, pairs: int) -> CorrelatedPairs:
        """Split ``total_nats`` evenly over ``pairs`` correlated pairs (any MI >= 0)."""
        total_nats = check_mutual_information(total_nats, "total_nats")
        pairs = check_dimension(pairs, "pairs")
        per_pair = total_nats / pairs
        self = cls.__new__(cls)
        rho = math.sqrt(-math.expm1(-2.0 * per_pair))
        self._set(np.full(pairs, rho), np.full(pairs, math.exp(-per_pair)))
        return self


def pairs_covariance(correlations: Sequence[float]) -> np.ndarray:
    """Covariance [[I, diag ρ], [diag ρ, I]] of independent correlated pairs."""
    rhos = np.array([check_correlation(r, "correlations") for r in np.atleast_1d(correlations)])
    k = len(rhos)
    covariance = np.eye(2 * k)
    covariance[np.arange(k), k + np.arange(k)] = rhos
    covariance[k + np.arange(k), np.arange(k)] = rhos
    return covariance


def dense_gaussian(dim_x: int, dim_y: int, correlation: float) -> JointGaussian:
    r"""Unit variances and the same correlation ρ between every two of the d_x + d_y variables.

    Σ = (1 - ρ) I + ρ 11ᵀ is positive definite for -1/(d - 1) < ρ < 1, d = d_x + d_y; its
    determinant is (1 - ρ)^{d-1} (1 + (d - 1) ρ).

    Parameters
    ----------
    dim_x, dim_y : int
        Dimensions of X and Y, 1 to 100.
    correlation : float
        The common correlation ρ.
    """
    dim_x = check_dimension(dim_x, "dim_x", MAX_DIMENSION)
    dim_y = check_dimension(dim_y, "dim_y", MAX_DIMENSION)
    rho = check_correlation(correlation)
    dim = dim_x + dim_y
    if rho <= -1.0 / (dim - 1):
        raise ValueError(
            f"correlation must exceed -1/(d_x + d_y - 1) = {-1.0 / (dim - 1):.4g} for the "
            f"covariance to be positive definite; got {rho}"
        )
    covariance = np.full((dim, dim), rho)
    np.fill_diagonal(covariance, 1.0)
    return JointGaussian(covariance, dim_x)


def sparse_gaussian(dim_x: int, dim_y: int, n_pairs: int, correlation: float) -> JointGaussian:
    r"""``n_pairs`` pairs (X_i, Y_i) with correlation ρ; every other coordinate is noise.

    I(X;Y) = -(k/2) log(1 - ρ²) with k = ``n_pairs`` <= min(d_x, d_y).

    Parameters
    ----------
    dim_x, dim_y : int
        Dimensions of X and Y, 1 to 100.
    n_pairs : int
        Number of correlated pairs k, 1 to min(d_x, d_y).
    correlation : float
        The correlation ρ of each pair, strictly inside (-1, 1).
    """
    dim_x = check_dimension(dim_x, "dim_x", MAX_DIMENSION)
    dim_y = check_dimension(dim_y, "dim_y", MAX_DIMENSION)
    n_pairs = check_dimension(n_pairs, "n_pairs", min(dim_x, dim_y))
    rho = check_correlation(correlation)
    covariance = np.eye(dim_x + dim_y)
    pairs = np.arange(n_pairs)
    covariance[pairs, dim_x + pairs] = covariance[dim_x + pairs, pairs] = rho
    return JointGaussian(covariance, dim_x)


def random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    # Multiplying column j by sign(r_jj) makes the distribution exactly Haar (Mezzadri 2007).
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


class RotatedPairs(Sampler):
    r"""The MI split evenly over k pairs, then random orthogonal mixing within X and Y.

    Latent pairs (U_i, V_i), i < k, carry I/k nats each; the remaining d_x - k (d_y - k)
    latent coordinates are independent noise. Then X = Q_x U and Y = Q_y V with Haar
    orthogonal Q_x, Q_y drawn once from ``mixing_seed``. The mixing is invertible, so

    .. math:: I(X;Y) = I(U;V) = I \quad\text{exactly, for any } I \ge 0.

    Parameters
    ----------
    mutual_information : float
        Total MI in nats (>= 0; 10 nats and beyond are fine).
    dim_x, dim_y : int
        Dimensions, 1 to 100.
    n_pairs : int or None
        Number of interacting pairs k; default min(d_x, d_y).
    mixing_seed : int
        Seed of the two orthogonal matrices.
    """

    def __init__(
        self,
        mutual_information: float,
        dim_x: int,
        dim_y: int,
        n_pairs: int | None = None,
        mixing_seed: int = 0,
    ) -> None:
        check_mutual_information(mutual_information)
        self.dim_x = check_dimension(dim_x, "dim_x", MAX_DIMENSION)
        self.dim_y = check_dimension(dim_y, "dim_y", MAX_DIMENSION)
        limit = min(self.dim_x, self.dim_y)
        k = limit if n_pairs is None else check_dimension(n_pairs, "n_pairs", limit)
        self.latent = CorrelatedPairs.with_mutual_information(mutual_information, k)
        rng = np.random.default_rng(mixing_seed)
        self.mixing_x = random_orthogonal(self.dim_x, rng)
        self.mixing_y = random_orthogonal(self.dim_y, rng)

    @property
    def covariance(self) -> np.ndarray:
        """The covariance of (X, Y), Q Σ_latent Qᵀ with Q = diag(Q_x, Q_y)."""
        k = self.latent.dim_x
        cross = np.zeros((self.dim_x, self.dim_y))
        cross[np.arange(k), np.arange(k)] = self.latent.correlations
        cross = self.mixing_x @ cross @ self.mixing_y.T
        return np.block([[np.eye(self.dim_x), cross], [cross.T, np.eye(self.dim_y)]])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        u, v = self.latent.sample(n, rng)
        k = self.latent.dim_x
        u = np.hstack([u, rng.standard_normal((n, self.dim_x - k))])
        v = np.hstack([v, rng.standard_normal((n, self.dim_y - k))])
        return u @ self.mixing_x.T, v @ self.mixing_y.T

    def mutual_information(self) -> float:
        return self.latent.mutual_information()
