r"""Multivariate Student-t: heavy tails, and MI even without correlation.

(X, Y) = Z / sqrt(W/ν) with Z ~ N(0, Σ) and W ~ χ²_ν: one chi-square scale shared by the
whole vector. Then X, Y and (X, Y) are multivariate t with ν degrees of freedom and scale
matrices Σ_xx, Σ_yy, Σ. The differential entropy of a d-dimensional t with scale Σ is
(Kotz & Nadarajah, *Multivariate t Distributions*, 2004)

.. math::

    h_d = \frac12\log\det Σ + \log\frac{(νπ)^{d/2}\,Γ(ν/2)}{Γ((ν+d)/2)}
          + \frac{ν+d}{2}\Big[ψ\Big(\frac{ν+d}{2}\Big) - ψ\Big(\frac{ν}{2}\Big)\Big].

In I = h_x + h_y - h_xy the log-det terms give the Gaussian MI of Σ, the (νπ)^{d/2}
terms cancel, and one log Γ(ν/2) is left:

.. math::

    I = I_{\text{Gauss}}(Σ) + \log Γ\Big(\frac{ν}{2}\Big) + \log Γ\Big(\frac{ν+d}{2}\Big)
        - \log Γ\Big(\frac{ν+d_x}{2}\Big) - \log Γ\Big(\frac{ν+d_y}{2}\Big)
        + A(d_x) + A(d_y) - A(d),

    A(k) = \frac{ν+k}{2}\Big[ψ\Big(\frac{ν+k}{2}\Big) - ψ\Big(\frac{ν}{2}\Big)\Big],
    \qquad d = d_x + d_y.

The correction is > 0 (the shared scale W makes X and Y dependent even when Σ_xy = 0)
and tends to 0 as ν → ∞. A closed form published for this correction had an error;
this one is checked against a Monte-Carlo mean of log p(x, y) - log p(x) - log p(y) in
the tests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

from mi_toolkit.synthetic._checks import check_dimension, check_positive
from mi_toolkit.synthetic.base import Sampler
from mi_toolkit.synthetic.gaussian import JointGaussian


def student_t_entropy(dim: int, dof: float, log_det_scale: float = 0.0) -> float:
    """Differential entropy (nats) of a ``dim``-dimensional t with ``dof`` degrees of freedom.

    Parameters
    ----------
    dim : int
        Dimension d, at least 1.
    dof : float
        Degrees of freedom ν > 0.
    log_det_scale : float
        log det Σ of the scale matrix (0 for the identity).
    """
    dim = check_dimension(dim, "dim")
    nu = check_positive(dof, "dof")
    half = (nu + dim) / 2.0
    return float(
        0.5 * log_det_scale
        + 0.5 * dim * math.log(nu * math.pi)
        + gammaln(nu / 2.0)
        - gammaln(half)
        + half * (digamma(half) - digamma(nu / 2.0))
    )


def student_t_correction(dim_x: int, dim_y: int, dof: float) -> float:
    """The MI of a multivariate t minus the Gaussian MI of its scale matrix (nats, > 0).

    Equals h_x + h_y - h_xy for identity scale matrices (see the module docstring).
    """
    return (
        student_t_entropy(dim_x, dof)
        + student_t_entropy(dim_y, dof)
        - student_t_entropy(dim_x + dim_y, dof)
    )


class MultivariateStudentT(Sampler):
    """(X, Y) multivariate t with scale matrix Σ and ν degrees of freedom.

    Parameters
    ----------
    scale : numpy.ndarray
        Positive-definite scale matrix of (X, Y) (the covariance of Z, not of the t).
    dim_x : int
        Number of leading coordinates that form X.
    dof : float
        Degrees of freedom ν > 0. Small ν means heavy tails and a large correction.
    """

    def __init__(self, scale: np.ndarray, dim_x: int, dof: float) -> None:
        self.dof = check_positive(dof, "dof", " (degrees of freedom)")
        self.gaussian = JointGaussian(scale, dim_x)
        self.scale = self.gaussian.covariance
        self.dim_x, self.dim_y = self.gaussian.dim_x, self.gaussian.dim_y

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.gaussian.sample(n, rng)
        shrink = np.sqrt(rng.chisquare(self.dof, size=(n, 1)) / self.dof)
        return x / shrink, y / shrink

    def mutual_information(self) -> float:
        correction = student_t_correction(self.dim_x, self.dim_y, self.dof)
        return self.gaussian.mutual_information() + correction
