"""The front door: :func:`estimate_mi` and :func:`estimate_entropy`.

Validation, discrete/continuous handling, units and the registry lookup happen here,
once; the estimators receive clean float64 arrays and answer in nats.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import mi_toolkit.estimators  # noqa: F401  (registers the methods)
from mi_toolkit._registry import get_method, list_methods
from mi_toolkit._validation import (
    Variable,
    as_variable,
    check_enough_samples,
    check_same_length,
)
from mi_toolkit.estimators.base import Estimate, Estimator
from mi_toolkit.result import MIEstimate, MIToolkitWarning, unit_scale

__all__ = [
    "build_estimator",
    "estimate_entropy",
    "estimate_mi",
    "list_methods",
    "mi_of_variables",
    "prepare_pair",
]


def build_estimator(method: str | Estimator, **params: Any) -> Estimator:
    """The estimator registered as ``method``, with ``params`` checked by name and value.

    An :class:`~mi_toolkit.estimators.base.Estimator` instance is returned as it is (its
    parameters were checked when it was built); passing parameters beside it is an error.
    """
    if isinstance(method, Estimator):
        if params:
            raise TypeError(
                f"parameters {', '.join(map(repr, sorted(params)))} were passed beside an "
                f"estimator instance ({method!r}); set them on the instance instead, e.g. "
                f"{type(method).__name__}({', '.join(f'{p}=...' for p in sorted(params))})"
            )
        return method
    cls = get_method(method)
    valid = cls.parameter_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for method {method!r}; "
            f"valid parameters: {', '.join(valid) or 'none'}"
        )
    return cls(**params)


def prepare_pair(
    x: Any,
    y: Any,
    discrete_x: bool | None = None,
    discrete_y: bool | None = None,
) -> tuple[Variable, Variable]:
    """Validate both arguments of an MI estimate once (see :func:`estimate_mi`).

    The variables returned can be passed to :func:`mi_of_variables` as often as needed:
    each caches its grouping of identical rows, and :meth:`Variable.subset` gives a
    resample without validating again.
    """
    x_var = as_variable(x, "x", discrete_x)
    y_var = as_variable(y, "y", discrete_y)
    check_same_length(x_var, y_var)
    return x_var, y_var


def mi_of_variables(
    estimator: Estimator,
    x: Variable,
    y: Variable,
    units: str = "nats",
    *,
    emit_warnings: bool = True,
) -> MIEstimate:
    """The one estimation path: I(x; y) of validated variables with a built estimator.

    :func:`estimate_mi`, the information plane, the bootstrap and the permutation test
    all end here. ``emit_warnings=False`` leaves the warnings in the result only (for
    callers that collect and report them, such as the information plane).
    """
    check_enough_samples(x, estimator.min_samples, estimator.name)
    estimate = estimator.mutual_information(x, y)
    return _finish(estimate, estimator, x.n_samples, units, "mutual_information", emit_warnings)


def _finish(
    estimate: Estimate,
    estimator: Estimator,
    n_samples: int,
    units: str,
    quantity: str,
    emit_warnings: bool = True,
    stacklevel: int = 4,
) -> MIEstimate:
    if not math.isfinite(estimate.value):
        # An estimator should never get here; refuse rather than hand back a silent NaN.
        raise FloatingPointError(
            f"method {estimator.name!r} produced a non-finite value ({estimate.value}); "
            "please report this with the data's shape and the parameters used"
        )
    if emit_warnings:
        for message in estimate.warnings:
            # The default points at the user's call, above estimate_mi and mi_of_variables.
            warnings.warn(message, MIToolkitWarning, stacklevel=stacklevel)
    scale = unit_scale(units)
    error = estimate.standard_error
    return MIEstimate(
        value=estimate.value * scale,
        units=units,
        method=estimator.name,
        params=estimator.params(),
        n_samples=n_samples,
        standard_error=None if error is None or not math.isfinite(error) else error * scale,
        warnings=estimate.warnings,
        components={name: v * scale for name, v in estimate.components.items()},
        details=estimate.details,
        quantity=quantity,
        bias_note=estimate.bias_note,
        saturated=estimate.saturated,
    )


def estimate_mi(
    x: Any,
    y: Any,
    method: str | Estimator,
    *,
    units: str = "nats",
    discrete_x: bool | None = None,
    discrete_y: bool | None = None,
    **params: Any,
) -> MIEstimate:
    r"""Estimate the mutual information I(x; y).

    Parameters
    ----------
    x, y:
        Samples, shape ``(n_samples,)`` or ``(n_samples, n_features)``, as numpy arrays,
        torch tensors or nested lists, one row per sample in the same order. In the
        information plane, ``estimate_mi(X, T, ...)`` for the input and a layer and
        ``estimate_mi(T, Y, ...)`` for a layer and the labels.
    method:
        ``"binning"``, ``"kde"``, ``"gaussian"``, ``"kl"`` or ``"ksg"`` (see
        :func:`list_methods`). Each method's module docstring states its formula and the
        paper it comes from.
    units:
        ``"nats"`` (default) or ``"bits"``. Estimators work in nats internally.
    discrete_x, discrete_y:
        Whether a side is discrete. By default integer, boolean and string arrays are
        discrete and float arrays continuous. A discrete side is grouped by its unique
        rows.
    **params:
        The method's parameters, e.g. ``noise_variance=1e-3`` for ``"kde"`` or
        ``bin_width=0.07`` for ``"binning"``. Unknown names raise an error listing the
        valid ones.

    Returns
    -------
    MIEstimate
        The value (``float(result)`` works) with units, method, every parameter used,
        ``n_samples``, a standard error where the method has one, plain-words warnings,
        the entropies it was built from, and a ``bias_note`` where theory gives one. For
        a confidence interval or a test of independence with any method, see
        :func:`mi_toolkit.bootstrap_ci` and :func:`mi_toolkit.permutation_test`.

    Notes
    -----
    How each method treats each case:

    ===========  ==========================  ==========================  ====================
    method       both continuous             one side discrete           both discrete
    ===========  ==========================  ==========================  ====================
    binning      plug-in MI of both binned   H(B(T)) − Σ p(y) H(B(T)|y)   exact plug-in MI
    kde          x grouped by unique rows,   discrete side grouped,       x grouped, y noisy
                 y noisy (y + Z)             the other noisy
    gaussian     closed form                 H(T) − Σ p(y) H(T|y),        error
                                             Gaussian per class
    kl           Ĥ(x) + Ĥ(y) − Ĥ(x,y),       H(T) − Σ p(y) H(T|y), kNN    error
                 Kozachenko–Leonenko kNN     entropy within each class
                 entropies (weighted,        (each class > k samples)
                 whitened on request)
    ksg          KSG 1 or 2, max-norm        Ross (2014): k-th neighbour  error
                 joint neighbours and        within the class, counts in
                 marginal counts             all samples
    ===========  ==========================  ==========================  ====================

    In every case with a discrete (grouped) side, I(T;Y) = H(T) − Σ_y p(y) H(T|Y=y).
    The kNN methods (kl, ksg) need continuous data without repeated rows (a neighbour at
    distance 0 is an error that says so) and underestimate large MI in high dimension
    (their results carry a ``bias_note``).
    With X uniform over N distinct samples no estimate of I(X;T) can exceed log N; an
    estimate at that ceiling carries a warning.

    Examples
    --------
    >>> import numpy as np
    >>> from mi_toolkit import estimate_mi
    >>> bits = np.array([[int(b) for b in f"{i:03b}"] for i in range(8)])
    >>> round(float(estimate_mi(bits, bits, method="binning", units="bits")), 6)
    3.0
    """
    unit_scale(units)  # fail on bad units before any work
    estimator = build_estimator(method, **params)
    x_var, y_var = prepare_pair(x, y, discrete_x, discrete_y)
    return mi_of_variables(estimator, x_var, y_var, units)


def estimate_entropy(
    x: Any,
    method: str | Estimator,
    *,
    units: str = "nats",
    discrete: bool | None = None,
    **params: Any,
) -> MIEstimate:
    r"""Estimate the entropy H(x) (differential for continuous x, Shannon for discrete x).

    ``"binning"`` gives the plug-in entropy of the binned (or, for discrete x, the raw)
    rows; ``"kde"`` the bound on the entropy of x + Z, Z ~ N(0, σ² I); ``"gaussian"``
    ½ log det(2πe Σ); ``"kl"`` the Kozachenko–Leonenko k-th neighbour estimate (``"ksg"``
    has no entropy: it raises). Parameters and the result are as for :func:`estimate_mi`.
    """
    unit_scale(units)
    estimator = build_estimator(method, **params)
    variable = as_variable(x, "x", discrete)
    check_enough_samples(variable, estimator.min_samples, estimator.name)
    estimate = estimator.entropy(variable)
    return _finish(estimate, estimator, variable.n_samples, units, "entropy", stacklevel=3)
