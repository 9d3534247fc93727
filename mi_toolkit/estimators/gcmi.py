r"""Gaussian-copula mutual information ("gcmi").

Ince, Giordano, Kayser, Rousselet, Gross & Schyns (2017, "A statistical framework for
neuroimaging data analysis based on mutual information estimated via a gaussian
copula", Human Brain Mapping 38(3), 1541–1573). Each column is replaced by its normal
scores, c = Φ⁻¹(r / (N + 1)) with r its average rank (ties share their mean rank), so
that every marginal is standard normal whatever it was; then the Gaussian closed form
(:mod:`mi_toolkit.estimators.gaussian`) is applied to the scores,

.. math::

    \hat I_{\mathrm{plug}} = \frac12 \log \frac{\det \hat Σ_{xx} \det \hat Σ_{yy}}{\det \hat Σ},

and corrected for the bias of each Gaussian entropy. For N samples of a d-dimensional
Gaussian, the maximum-likelihood covariance \hat Σ (divisor N) has
E[log det \hat Σ] = log det Σ + Σ_{i=1}^{d} ψ((N − i)/2) + d log(2/N), so the plug-in entropy
½ log det(2πe \hat Σ) is low by

.. math::

    B_N(d) = \frac12 \Big[\sum_{i=1}^{d} ψ\Big(\frac{N - i}{2}\Big) + d \log\frac{2}{N}\Big]
    \quad (< 0),

and the estimate is \hat I = \hat I_{plug} − B_N(d_x) − B_N(d_y) + B_N(d_x + d_y) (Ince et
al., eqs. for ``ent_g`` with ``biascorrect``; the correction is about −d_x d_y / 2N).
Against a discrete side Y (labels), I(X;Y) = H(X) − Σ_y p(y) H(X | Y = y) with a
Gaussian fitted to the scores of each class (the scores are taken over all samples), and
\hat I = \hat I_{plug} − B_N(d) + Σ_y (N_y / N) B_{N_y}(d).

What it measures. In the population this is the MI of the Gaussian with the normal
scores' covariance. It equals I(X;Y) when the copula is Gaussian (for instance any
monotone map of each column of a Gaussian vector). For one-dimensional x and y it is a
lower bound whatever the copula: the scores' marginals are exactly Gaussian, and a
Gaussian has the largest joint entropy for its covariance. For vector sides it is a
lower bound whenever each side's scores are jointly Gaussian, and otherwise not
guaranteed either way. Dependence that does not show in rank correlations (Student-t
with identity dispersion, rings, spirals) is not seen at all. After the correction the estimate is
unbiased for a Gaussian copula up to the error of replacing the true marginal CDFs by
ranks (order 1/N); the standard error is the delta-method one of the Gaussian closed
form. Cheap (a sort per column and one covariance), robust to heavy tails and outliers,
and it stays accurate at large MI, where kNN estimates saturate.

Repeated values (ReLU zeros, quantised data) are allowed: they share one score, which
the Gaussian fit treats as a value like any other (the estimate is then that of the
rank correlations, not of the mixed distribution). Constant columns are dropped and
listed in ``details``; a variable with only constant columns has I = 0 exactly.
Entropies are not estimated: the copula transform discards the marginals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_positive
from mi_toolkit.estimators._knn_common import copula_block, record_dropped
from mi_toolkit.estimators.base import Estimate, Estimator
from mi_toolkit.estimators.gaussian import GaussianEstimator


def gaussian_entropy_bias(d: int, n: int) -> float:
    """B_N(d): E[plug-in Gaussian entropy] − true entropy, ML covariance (module docstring)."""
    if d == 0:
        return 0.0
    halves = (n - np.arange(1, d + 1)) / 2.0
    return 0.5 * float(digamma(halves).sum() + d * math.log(2.0 / n))


def gaussian_mi_bias(d_x: int, d_y: int, n: int) -> float:
    """B_N(d_x) + B_N(d_y) − B_N(d_x + d_y): the bias of a plug-in Gaussian MI."""
    return (
        gaussian_entropy_bias(d_x, n)
        + gaussian_entropy_bias(d_y, n)
        - gaussian_entropy_bias(d_x + d_y, n)
    )


@register
@dataclass(frozen=True)
class GaussianCopulaEstimator(Estimator):
    """Gaussian-copula MI with the analytic bias correction; see the module docstring.

    Parameters
    ----------
    bias_correction : bool
        Subtract the bias of the Gaussian entropies (B_N(d) in the module docstring).
    regularization : float
        Ridge λ of the inner Gaussian closed form for a singular covariance, relative to
        the mean variance.
    """

    name = "gcmi"
    min_samples = 2

    bias_correction: bool = True
    regularization: float = 1e-9

    def __post_init__(self) -> None:
        if not isinstance(self.bias_correction, (bool, np.bool_)):
            raise TypeError(f"bias_correction must be True or False; got {self.bias_correction!r}")
        object.__setattr__(
            self, "regularization", check_positive(self.regularization, "regularization")
        )

    def entropy(self, x: Variable) -> Estimate:
        raise ValueError(
            "method 'gcmi' estimates mutual information only: the copula transform discards "
            "each marginal, and with it the entropy; use estimate_entropy(x, method='kl') or "
            "'gaussian'"
        )

    def _scores(self, variable: Variable, info: dict) -> Variable:
        """The variable's normal scores, constant columns dropped (listed in ``info``)."""
        block = copula_block(variable)
        record_dropped(info, variable.name, block)
        return Variable(variable.name, block.values, False)

    def _corrected(self, plain: Estimate, correction: float, info: dict) -> Estimate:
        correction = correction if self.bias_correction else 0.0
        return Estimate(
            value=plain.value - correction,
            standard_error=plain.standard_error,
            warnings=plain.warnings,
            details={**info, **plain.details, "bias_correction": -correction},
            bias_note=(
                "Exact in expectation (up to O(1/N) from the ranks) when the copula is "
                "Gaussian; a lower estimate for dependence that rank correlations miss."
            ),
        )

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        info: dict = {}
        scores_x, scores_y = self._scores(x, info), self._scores(y, info)
        d_x, d_y, n = scores_x.n_features, scores_y.n_features, x.n_samples
        if not (d_x and d_y):
            info["constant_variable"] = x.name if not d_x else y.name
            return Estimate(value=0.0, standard_error=0.0, details=info)
        plain = GaussianEstimator(self.regularization).mi_continuous(scores_x, scores_y)
        return self._corrected(plain, gaussian_mi_bias(d_x, d_y, n), info)

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        info: dict = {}
        scores = self._scores(continuous, info)
        d, n = scores.n_features, continuous.n_samples
        if not d:
            info["constant_variable"] = continuous.name
            return Estimate(value=0.0, standard_error=0.0, details=info)
        plain = GaussianEstimator(self.regularization).mi_against_labels(scores, labels)
        codes, n_groups = labels.groups()
        class_sizes = np.bincount(codes, minlength=n_groups)
        within = sum(size / n * gaussian_entropy_bias(d, int(size)) for size in class_sizes)
        return self._corrected(plain, gaussian_entropy_bias(d, n) - within, info)
