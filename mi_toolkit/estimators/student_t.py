r"""Multivariate Student-t closed form ("student-t").

Fits a multivariate t distribution (location μ, dispersion Σ, degrees of freedom ν) to the
joint samples by maximum likelihood, and returns the MI of the fitted distribution. For
Z = (X, Y) ~ t_ν(μ, Σ) with d_x + d_y = d, the marginals are t_ν with the blocks Σ_xx and
Σ_yy and the *same* ν, and the entropy of a p-dimensional t is

.. math::

    H_p = \frac12 \log\det Σ + \log\frac{(νπ)^{p/2}\,Γ(ν/2)}{Γ((ν+p)/2)}
          + \frac{ν+p}{2}\Big[ψ\Big(\frac{ν+p}{2}\Big) − ψ\Big(\frac{ν}{2}\Big)\Big],

so that (Arellano-Valle, Contreras-Reyes & Genton 2013, "Shannon entropy and mutual
information for multivariate skew-elliptical distributions", Scand. J. Statist. 40)

.. math::

    I(X;Y) = \frac12 \log\frac{\det Σ_{xx}\det Σ_{yy}}{\det Σ}
        + \log\frac{Γ(ν/2)\,Γ((ν+d)/2)}{Γ((ν+d_x)/2)\,Γ((ν+d_y)/2)}
        + \frac{ν+d_x}{2}ψ\Big(\frac{ν+d_x}{2}\Big) + \frac{ν+d_y}{2}ψ\Big(\frac{ν+d_y}{2}\Big)
        − \frac{ν+d}{2}ψ\Big(\frac{ν+d}{2}\Big) − \frac{ν}{2}ψ\Big(\frac{ν}{2}\Big).

The first term is the Gaussian MI of the dispersion's correlations; the rest is the
information carried by the shared χ² scale, positive even when Σ is block-diagonal
(uncorrelated t pairs are dependent) and 0 in the Gaussian limit ν → ∞.

The fit is ECME (Liu & Rubin 1995): the EM updates of μ and Σ with weights
(ν + d) / (ν + δ_i), δ_i the squared Mahalanobis distances, alternating with the
maximisation of the observed likelihood over ν ∈ [0.1, 1000] (1000 stands for "Gaussian").

Bias and error. Exact for t data up to the fitting error, which, as for the Gaussian
closed form, biases the MI upwards by about d_x d_y / 2N nats; the standard error is the
delta-method one, the standard deviation of the per-sample log-density ratios over √N
(it ignores the uncertainty of ν̂). For other data this is the MI of the fitted t, with
no guarantee either way. ``details["fit_p_value"]`` is the Kolmogorov–Smirnov p-value of
δ_i / d against its F(d, ν̂) law under the fit, the smallest over the joint and the two
marginal fits; below 1% a warning says the data do not look multivariate t (the p-value
is optimistic, the parameters being fitted to the same data).

Against a discrete side (labels), I(X;Y) = H(X) − Σ_y p(y) H(X | Y = y) with a t fitted
to all samples and one to each class, as the mean per-sample log-density ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import digamma, gammaln
from scipy.stats import kstest

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    canonical_order,
    class_members,
    mean_with_standard_error,
)
from mi_toolkit.estimators.gaussian import _rescaled_columns
from mi_toolkit.result import EstimateWarning

#: Degrees of freedom searched; the upper end stands for a Gaussian.
DOF_RANGE = (0.1, 1000.0)
#: Level below which the fit's Kolmogorov–Smirnov test warns that the data are not t.
FIT_LEVEL = 0.01


@dataclass(frozen=True)
class StudentFit:
    """A fitted multivariate t: location, dispersion, degrees of freedom, per-sample log-density."""

    location: np.ndarray
    dispersion: np.ndarray
    dof: float
    iterations: int


def _squared_mahalanobis(centred: np.ndarray, dispersion: np.ndarray) -> tuple[np.ndarray, float]:
    """δ_i = c_iᵀ Σ⁻¹ c_i for each row, and log det Σ, via a Cholesky factor."""
    factor = np.linalg.cholesky(dispersion)
    whitened = np.linalg.solve(factor, centred.T)
    return np.einsum("ij,ij->j", whitened, whitened), 2.0 * float(np.log(np.diag(factor)).sum())


def _log_density(delta: np.ndarray, log_det: float, dof: float, d: int) -> np.ndarray:
    """log t_ν density of each row, from its squared Mahalanobis distance."""
    return (
        gammaln((dof + d) / 2.0)
        - gammaln(dof / 2.0)
        - 0.5 * d * math.log(dof * math.pi)
        - 0.5 * log_det
        - 0.5 * (dof + d) * np.log1p(delta / dof)
    )


def fit_student_t(
    values: np.ndarray, max_iterations: int = 500, tolerance: float = 1e-9
) -> StudentFit:
    """Maximum-likelihood multivariate t by ECME (Liu & Rubin 1995).

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, d)`` samples, n > d.
    max_iterations : int
        Most EM rounds.
    tolerance : float
        Stop when the mean log-likelihood changes by less than this.

    Returns
    -------
    StudentFit
        The fitted location, dispersion and degrees of freedom.
    """
    n, d = values.shape
    location = np.median(values, axis=0)
    centred = values - location
    dispersion = centred.T @ centred / n + 1e-12 * np.eye(d)
    dof = 10.0
    previous = -math.inf
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        delta, _ = _squared_mahalanobis(values - location, dispersion)
        weights = (dof + d) / (dof + delta)
        location = weights @ values / weights.sum()
        centred = values - location
        dispersion = (centred * weights[:, None]).T @ centred / n
        delta, log_det = _squared_mahalanobis(centred, dispersion)

        def negative_log_likelihood(log_dof: float, delta=delta, log_det=log_det) -> float:
            return -float(_log_density(delta, log_det, math.exp(log_dof), d).mean())

        best = minimize_scalar(
            negative_log_likelihood,
            bounds=(math.log(DOF_RANGE[0]), math.log(DOF_RANGE[1])),
            method="bounded",
            options={"xatol": 1e-6},
        )
        dof = math.exp(best.x)
        current = -best.fun
        if abs(current - previous) < tolerance:
            break
        previous = current
    return StudentFit(location, dispersion, dof, iterations)


def student_entropy(log_det: float, dof: float, d: int) -> float:
    """H of a d-dimensional t_ν with dispersion of log-determinant ``log_det`` (nats)."""
    return (
        0.5 * log_det
        + 0.5 * d * math.log(dof * math.pi)
        + gammaln(dof / 2.0)
        - gammaln((dof + d) / 2.0)
        + 0.5 * (dof + d) * (digamma((dof + d) / 2.0) - digamma(dof / 2.0))
    )


def scale_information(dof: float, d_x: int, d_y: int) -> float:
    """The MI a t_ν pair carries through its shared scale alone (Σ block-diagonal)."""
    d = d_x + d_y

    def term(p: int) -> float:
        return 0.5 * (dof + p) * float(digamma((dof + p) / 2.0))

    return float(
        gammaln(dof / 2.0)
        + gammaln((dof + d) / 2.0)
        - gammaln((dof + d_x) / 2.0)
        - gammaln((dof + d_y) / 2.0)
        + term(d_x)
        + term(d_y)
        - term(d)
        - term(0)
    )


def _fit_p_value(delta: np.ndarray, dof: float, d: int) -> float:
    """KS p-value of δ/d against F(d, ν), the law of δ/d under a t_ν fit."""
    return float(kstest(delta / d, "f", args=(d, dof)).pvalue)


def _fit_warning(p_value: float) -> tuple[EstimateWarning, ...]:
    if p_value >= FIT_LEVEL:
        return ()
    return (
        EstimateWarning(
            "poor_fit",
            f"The data do not look multivariate Student-t (Kolmogorov–Smirnov p = "
            f"{p_value:.2g} for the Mahalanobis distances), so this closed form may be far "
            "from the MI; use method='auto' or a kNN method.",
        ),
    )


def _check_samples(n: int, d: int, what: str) -> None:
    if n <= d + 1:
        raise ValueError(
            f"{what}: {n} samples in {d} dimensions, but method 'student-t' needs at least "
            f"{d + 2} to fit a dispersion matrix; pass more samples or reduce the dimension"
        )


@register
@dataclass(frozen=True)
class StudentTEstimator(Estimator):
    """Closed form of a fitted multivariate Student-t; see the module docstring."""

    name = "student-t"
    min_samples = 3

    def _fitted(
        self, values: np.ndarray, what: str
    ) -> tuple[StudentFit, np.ndarray, np.ndarray, float]:
        """The fit, each row's log-density and δ under it, and log det Σ."""
        _check_samples(values.shape[0], values.shape[1], what)
        # Fitted on the rows in a canonical order: the EM's sums, and so its last digits,
        # then do not depend on the order of the samples.
        fit = fit_student_t(values[canonical_order(values)])
        delta, log_det = _squared_mahalanobis(values - fit.location, fit.dispersion)
        return fit, _log_density(delta, log_det, fit.dof, values.shape[1]), delta, log_det

    def entropy(self, x: Variable) -> Estimate:
        values, log_scale = _rescaled_columns(x.values)
        fit, log_density, delta, log_det = self._fitted(values, x.name)
        d = x.n_features
        _, standard_error = mean_with_standard_error(-log_density)
        p_value = _fit_p_value(delta, fit.dof, d)
        return Estimate(
            value=student_entropy(log_det, fit.dof, d) + log_scale,
            standard_error=standard_error,
            warnings=_fit_warning(p_value),
            details={"dof": fit.dof, "fit_p_value": p_value},
        )

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        x_values, _ = _rescaled_columns(x.values)
        y_values, _ = _rescaled_columns(y.values)
        joint = np.hstack((x_values, y_values))
        d_x, d_y = x.n_features, y.n_features
        fit, log_joint, delta, log_det = self._fitted(joint, "x and y together")
        centred = joint - fit.location
        log_marginals, log_dets = [], []
        p_values = [_fit_p_value(delta, fit.dof, d_x + d_y)]
        for block in (slice(0, d_x), slice(d_x, d_x + d_y)):
            dispersion = fit.dispersion[block, block]
            delta_side, log_det_side = _squared_mahalanobis(centred[:, block], dispersion)
            width = block.stop - block.start
            log_marginals.append(_log_density(delta_side, log_det_side, fit.dof, width))
            log_dets.append(log_det_side)
            p_values.append(_fit_p_value(delta_side, fit.dof, width))
        _, standard_error = mean_with_standard_error(
            log_joint - log_marginals[0] - log_marginals[1]
        )
        correlation_part = 0.5 * (log_dets[0] + log_dets[1] - log_det)
        scale_part = scale_information(fit.dof, d_x, d_y)
        p_value = min(p_values)
        bias = d_x * d_y / (2 * x.n_samples)
        return Estimate(
            value=correlation_part + scale_part,
            standard_error=standard_error,
            warnings=_fit_warning(p_value),
            bias_note=(
                f"The fitted dispersion biases the MI upwards by about d_x d_y / 2N = "
                f"{bias:.3g} nats here; the standard error does not include it, nor the "
                "uncertainty of the fitted degrees of freedom."
            ),
            details={
                "dof": fit.dof,
                "fit_p_value": p_value,
                "correlation_part": correlation_part,
                "scale_part": scale_part,
                "iterations": fit.iterations,
            },
        )

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        d = continuous.n_features
        classes = class_members(
            labels,
            d + 2,
            f"method 'student-t' fits a t distribution to each class in {d} dimension(s)",
        )
        values, _ = _rescaled_columns(continuous.values)
        _, log_marginal, _, _ = self._fitted(values, continuous.name)
        log_conditional = np.empty_like(log_marginal)
        for members in classes:  # a loop over classes, not samples
            _, log_conditional[members], _, _ = self._fitted(
                values[members], f"{continuous.name} within a class of {labels.name}"
            )
        value, standard_error = mean_with_standard_error(log_conditional - log_marginal)
        return Estimate(value=value, standard_error=standard_error)
