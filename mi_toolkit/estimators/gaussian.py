r"""Gaussian closed form.

Treating (X, Y) as jointly Gaussian with the sample covariance Σ,

.. math::

    I(X;Y) = \frac12 \log \frac{\det Σ_{xx} \det Σ_{yy}}{\det Σ},
    \qquad H(X) = \frac12 \log \det(2πe\,Σ_{xx}).

This is exact for Gaussian data and is the quantity Saxe et al. (2018) compute for deep
linear networks; for other data it is the MI of the Gaussian with the same covariance,
a lower bound on the true MI when the marginals are Gaussian (it ignores non-linear
dependence).

Against a discrete Y (labels), ``I(T;Y) = H(T) - Σ_y p(y) H(T | Y = y)`` with a Gaussian
fitted to each class (a class-conditional Gaussian approximation, not exact). Both
sides discrete is an error: use ``method="binning"`` for the exact plug-in value.

Every estimate is the mean of per-sample log-density ratios under the fitted Gaussians,
e.g. ``log N(z_i; Σ) - log N(x_i; Σ_xx) - log N(y_i; Σ_yy)``, whose mean equals the closed
form; its standard deviation over sqrt(N) is the delta-method standard error.

The sample covariance of n samples in d dimensions has rank at most n − 1, so it is
singular whenever n ≤ d: every fit needs more samples than dimensions (n ≥ d_x + d_y + 1
for the MI of two continuous sides, n ≥ d + 1 for an entropy and within every class
against labels), and fewer raise an error. Singular covariances from the data itself
(constant columns, collinear features) are regularised by adding λ = ``regularization``
× (mean variance) to the diagonal of Σ (and hence of Σ_xx and Σ_yy), with a warning. A
constant column then adds log λ to both det Σ_xx and det Σ and cancels from the MI;
exactly dependent features make the true MI infinite and the regularised value large
and λ-dependent. The estimate is biased upwards by about d_x d_y / 2N nats for small N.

The MI is invariant to rescaling each column, so every column is first divided by the
power of two nearest its largest magnitude (exact in floating point) and the entropies
get the log-scales back: values near 1e300 or 1e-300, whose covariances would overflow
or underflow float64, give the same answer as values near 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_positive
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    class_members,
    mean_with_standard_error,
)
from mi_toolkit.result import EstimateWarning

# A covariance whose smallest eigenvalue is below this times its largest is singular.
_SINGULAR_RATIO = 1e-12


def _rescaled_columns(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Each column divided by a power of two near its largest magnitude, and Σ log(scale).

    Dividing by 2^e is exact, so covariances of values near 1e300 (which overflow) or
    1e-300 (which underflow to 0) are formed from values near 1; a density in the original
    units is the rescaled one minus the returned log-scale.
    """
    peak = np.abs(values).max(axis=0)
    _, exponents = np.frexp(peak)  # peak = m 2^e with 0.5 <= m < 1; a zero column keeps e = 0
    return np.ldexp(values, -exponents), float(exponents.sum()) * math.log(2.0)


def _check_more_samples_than_dimensions(n_samples: int, n_features: int, what: str) -> None:
    """Raise unless n > d: the sample covariance of n samples in d dimensions is singular."""
    if n_samples <= n_features:
        raise ValueError(
            f"{what}: {n_samples} samples in {n_features} dimensions, but method 'gaussian' "
            f"needs at least {n_features + 1}: the sample covariance of n samples "
            "in d dimensions is singular whenever n <= d; pass more samples or reduce the "
            "dimension first (e.g. keep the leading principal components)"
        )


def _regularised_covariance(values: np.ndarray, regularization: float) -> tuple[np.ndarray, float]:
    """Sample covariance (1/N) of the columns, and the ridge λ added (0.0 if none)."""
    centred = values - values.mean(axis=0)
    covariance = centred.T @ centred / values.shape[0]
    eigenvalues = np.linalg.eigvalsh(covariance)
    if eigenvalues[0] > _SINGULAR_RATIO * max(eigenvalues[-1], 0.0):
        return covariance, 0.0
    mean_variance = float(np.trace(covariance)) / covariance.shape[0]
    ridge = regularization * (mean_variance if mean_variance > 0 else 1.0)
    return covariance + ridge * np.eye(covariance.shape[0]), ridge


def _log_density(values: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Per-sample log N(v_i; mean of v, covariance), via a Cholesky factor."""
    centred = values - values.mean(axis=0)
    factor = np.linalg.cholesky(covariance)
    whitened = np.linalg.solve(factor, centred.T)
    log_det = 2.0 * np.log(np.diag(factor)).sum()
    d = values.shape[1]
    return -0.5 * (np.einsum("ij,ij->j", whitened, whitened) + log_det + d * math.log(2 * math.pi))


def _singular_warning(name: str, ridge: float) -> EstimateWarning:
    return EstimateWarning(
        "singular_covariance",
        f"The covariance of {name} is singular (constant or collinear columns); "
        f"λ = {ridge:.3g} was added to its diagonal. Constant "
        "columns cancel out of the MI, but exactly dependent features make the true MI "
        "infinite and this value depends on λ (parameter regularization).",
    )


@register
@dataclass(frozen=True)
class GaussianEstimator(Estimator):
    """Closed form for jointly Gaussian data; the module docstring gives the formulas.

    Parameters
    ----------
    regularization : float
        Ridge λ added to a singular covariance, relative to the mean variance.
    """

    name = "gaussian"
    min_samples = 2

    regularization: float = 1e-9

    def __post_init__(self) -> None:
        value = check_positive(self.regularization, "regularization")
        object.__setattr__(self, "regularization", value)

    def _fitted_log_density(self, values: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
        """Log-density of each (rescaled) sample under the Gaussian fitted to ``values``."""
        covariance, ridge = _regularised_covariance(values, self.regularization)
        warnings = [_singular_warning(name, ridge)] if ridge else []
        return _log_density(values, covariance), warnings

    def entropy(self, x: Variable) -> Estimate:
        _check_more_samples_than_dimensions(x.n_samples, x.n_features, x.name)
        values, log_scale = _rescaled_columns(x.values)
        log_density, warnings = self._fitted_log_density(values, x.name)
        value, standard_error = mean_with_standard_error(-log_density)
        return Estimate(value + log_scale, standard_error, tuple(warnings))

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        _check_more_samples_than_dimensions(
            x.n_samples, x.n_features + y.n_features, "x and y together"
        )
        x_values, x_log_scale = _rescaled_columns(x.values)
        y_values, y_log_scale = _rescaled_columns(y.values)
        joint_values = np.hstack((x_values, y_values))
        # One ridge for all three blocks keeps det Σ_xx, det Σ_yy and det Σ consistent.
        covariance, ridge = _regularised_covariance(joint_values, self.regularization)
        warnings = [_singular_warning("(x, y)", ridge)] if ridge else []
        log_joint = _log_density(joint_values, covariance)
        dx = x.n_features
        log_x = _log_density(x_values, covariance[:dx, :dx])
        log_y = _log_density(y_values, covariance[dx:, dx:])
        # The log-scales cancel from the MI and come back in the entropies.
        value, standard_error = mean_with_standard_error(log_joint - log_x - log_y)
        h_x = -float(log_x.mean()) + x_log_scale
        h_y = -float(log_y.mean()) + y_log_scale
        bias = x.n_features * y.n_features / (2 * x.n_samples)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=tuple(warnings),
            bias_note=(
                f"The sample-covariance MI is biased upwards by about d_x d_y / 2N = "
                f"{bias:.3g} nats here; the standard error does not include it."
            ),
            components={"H(x)": h_x, "H(y)": h_y, "H(x,y)": h_x + h_y - value},
            details={"ridge": ridge},
        )

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        d = continuous.n_features
        classes = class_members(
            labels,
            d + 1,
            f"method 'gaussian' fits a Gaussian to each class in {d} dimension(s), and a "
            "sample covariance is singular unless there are more samples than dimensions",
        )
        scaled, log_scale = _rescaled_columns(continuous.values)
        log_marginal, warnings = self._fitted_log_density(scaled, continuous.name)
        log_conditional = np.empty_like(log_marginal)
        for members in classes:  # a loop over classes, not samples
            values = scaled[members]
            log_conditional[members], class_warnings = self._fitted_log_density(
                values, f"{continuous.name} within a class of {labels.name}"
            )
            warnings += [w for w in class_warnings if w not in warnings]
        value, standard_error = mean_with_standard_error(log_conditional - log_marginal)
        h = -float(log_marginal.mean()) + log_scale
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=tuple(warnings),
            components={
                f"H({continuous.name})": h,
                f"H({continuous.name}|{labels.name})": h - value,
            },
            details={"classes": len(classes)},
        )
