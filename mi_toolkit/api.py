"""The front door: :func:`estimate_mi` and :func:`estimate_entropy`.

Validation, discrete/continuous handling, units and the registry lookup happen here,
once; the estimators receive clean float64 arrays and answer in nats.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import mi_toolkit.estimators  # noqa: F401  (registers the methods)
from mi_toolkit._grouping import log_group_probabilities
from mi_toolkit._registry import get_method, list_methods
from mi_toolkit._validation import (
    Variable,
    as_variable,
    check_enough_samples,
    check_same_length,
)
from mi_toolkit.estimators.base import Estimate, Estimator, UndefinedEstimate
from mi_toolkit.result import EstimateWarning, MIEstimate, MIToolkitWarning, unit_scale

__all__ = [
    "build_estimator",
    "estimate_entropy",
    "estimate_mi",
    "list_methods",
    "mi_of_layer",
    "mi_of_variables",
    "prepare_pair",
]


def build_estimator(method: str | Estimator, **params: Any) -> Estimator:
    """The estimator registered as ``method``, with ``params`` checked by name and value.

    An :class:`~mi_toolkit.estimators.base.Estimator` instance is returned as it is (its
    parameters were checked when it was built); passing parameters beside it is an error.

    Parameters
    ----------
    method : str or Estimator
        A registered method name (see :func:`list_methods`) or an estimator instance.
    **params
        The method's parameters; unknown names raise a ``TypeError`` listing the valid
        ones.

    Returns
    -------
    Estimator
        The built (or given) estimator.
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
    keep_sample_shape: bool = False,
) -> tuple[Variable, Variable]:
    """Validate both arguments of an MI estimate once (see :func:`estimate_mi`).

    The variables returned can be passed to :func:`mi_of_variables` as often as needed:
    each caches its grouping of identical rows, and :meth:`Variable.subset` gives a
    resample without validating again.

    Parameters
    ----------
    x, y : array_like
        Samples, one row per sample in the same order, as for :func:`estimate_mi`.
    discrete_x, discrete_y : bool or None, optional
        Whether a side is discrete; None decides from the dtype, as for
        :func:`estimate_mi`.

    Returns
    -------
    x, y : Variable
        The validated variables.
    """
    x_var = as_variable(x, "x", discrete_x, keep_sample_shape)
    y_var = as_variable(y, "y", discrete_y, keep_sample_shape)
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

    Parameters
    ----------
    estimator : Estimator
        A built estimator (see :func:`build_estimator`).
    x, y : Variable
        Validated variables (see :func:`prepare_pair`).
    units : {"nats", "bits"}, optional
        Units of the result.
    emit_warnings : bool, optional
        Issue the estimate's warnings as :class:`~mi_toolkit.MIToolkitWarning`.

    Returns
    -------
    MIEstimate
        As for :func:`estimate_mi`.
    """
    check_enough_samples(x, estimator.min_samples, estimator.name)
    estimate = checked_against_bounds(estimator.mutual_information(x, y), x, y)
    return _finish(estimate, estimator, x.n_samples, units, "mutual_information", emit_warnings)


def _plug_in_entropy(variable: Variable) -> float:
    def compute() -> float:
        return -float(log_group_probabilities(*variable.groups()).mean())

    # Once per variable: the plane asks it of the same labels at every epoch and layer.
    return variable.derived("plug_in_entropy", compute)


def checked_against_bounds(estimate: Estimate, x: Variable, y: Variable) -> Estimate:
    """The estimate, with a warning where it breaks a bound every MI obeys.

    0 ≤ I(X;Y) ≤ H(Y) for a discrete Y: a value above the entropy of a discrete side, or
    below 0, by more than 3 standard errors cannot be the MI of any distribution, only an
    estimator's bias (a kNN estimate against labels in a compressed space, for instance).
    Methods that already say so (their own negative-value warnings) are left as they are.
    """
    error = estimate.standard_error if estimate.standard_error is not None else 0.0
    error = error if math.isfinite(error) else 0.0
    kinds = {w.kind for w in estimate.warnings}
    added = []
    if estimate.value < -3.0 * error - 1e-12 and not kinds & _NEGATIVE_KINDS:
        added.append(
            EstimateWarning(
                "negative_estimate",
                f"The estimate {estimate.value:.3g} nats is below 0 by more than 3 standard "
                "errors; no MI is negative, so this is the estimator's bias, and the MI may be "
                "anywhere from 0 up. Try method='auto' or more samples.",
            )
        )
    for side in (x, y):
        if not side.discrete:
            continue
        ceiling = _plug_in_entropy(side)
        if estimate.value > ceiling * (1.0 + 1e-9) + 3.0 * error + 1e-12:
            added.append(
                EstimateWarning(
                    "above_entropy",
                    f"The estimate {estimate.value:.3g} nats exceeds the entropy of the "
                    f"discrete {side.name} ({ceiling:.3g} nats), which no MI with it can: "
                    "the estimator is biased upwards here. Try method='auto' or 'binning'.",
                )
            )
    if not added:
        return estimate
    return dataclasses.replace(estimate, warnings=(*estimate.warnings, *added))


#: Warnings by which a method already says that its value is below 0.
_NEGATIVE_KINDS = frozenset({"negative_estimate", "negative_bound"})


def mi_of_layer(
    estimator: Estimator,
    x: Variable,
    t: Variable,
    y: Variable,
    units: str = "nats",
    *,
    emit_warnings: bool = True,
) -> tuple[MIEstimate | UndefinedEstimate, MIEstimate | UndefinedEstimate]:
    """I(x; t) and I(t; y) of one layer t, sharing the work the estimator can share.

    The information plane's batch entry beside :func:`mi_of_variables`: each result is
    what :func:`mi_of_variables` gives for that pair (the same estimator code, the same
    checks and units); where the method shares a step between the two (see
    :meth:`~mi_toolkit.estimators.base.Estimator.mutual_information_pair`) it is done
    once. An estimate the method cannot make (:class:`UndefinedEstimate`, e.g. I(X;T) of
    distinct inputs with a continuous method) is returned in its place instead of
    raised, so that the other is still made.

    Parameters
    ----------
    estimator : Estimator
        A built estimator.
    x, t, y : Variable
        Validated variables of the same samples: inputs, the layer, labels.
    units : {"nats", "bits"}, optional
        Units of the results.
    emit_warnings : bool, optional
        Issue the estimates' warnings as :class:`~mi_toolkit.MIToolkitWarning`.

    Returns
    -------
    tuple
        (I(x; t), I(t; y)), each an :class:`MIEstimate` or the
        :class:`UndefinedEstimate` that says why it is not defined.
    """
    check_enough_samples(t, estimator.min_samples, estimator.name)
    shared = estimator.mutual_information_pair(x, t, y)
    if shared is not None:
        return tuple(  # type: ignore[return-value]
            _finish(
                checked_against_bounds(e, a, b),
                estimator,
                t.n_samples,
                units,
                "mutual_information",
                emit_warnings,
            )
            for e, (a, b) in zip(shared, ((x, t), (t, y)), strict=True)
        )
    results: list[MIEstimate | UndefinedEstimate] = []
    for a, b in ((x, t), (t, y)):
        try:
            results.append(mi_of_variables(estimator, a, b, units, emit_warnings=emit_warnings))
        except UndefinedEstimate as undefined:
            results.append(undefined)
    return results[0], results[1]


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
    method: str | Estimator = "auto",
    *,
    units: str = "nats",
    discrete_x: bool | None = None,
    discrete_y: bool | None = None,
    **params: Any,
) -> MIEstimate:
    r"""Estimate the mutual information I(x; y).

    Parameters
    ----------
    x, y : array_like
        Samples, shape ``(n_samples,)`` or ``(n_samples, n_features)``, as numpy arrays,
        torch tensors (bfloat16 included) or nested lists, one row per sample in the same
        order. In the information plane, ``estimate_mi(X, T, ...)`` for the input and a
        layer and ``estimate_mi(T, Y, ...)`` for a layer and the labels.
    method : str or Estimator, default "auto"
        ``"auto"`` (chosen from the data, see below), ``"binning"``, ``"kde"``,
        ``"gaussian"``, ``"gcmi"``, ``"kl"``, ``"ksg"``, ... (see :func:`list_methods`), or
        an estimator instance built once and reused, such as ``KSG(k=5)`` (then pass no
        ``**params``). For information-plane quantities of a deterministic network
        (I(X;T) over distinct inputs) choose ``"binning"`` or ``"kde"``: they measure at a
        stated resolution, which is what that quantity needs.
    units : {"nats", "bits"}, optional
        Units of the result. Estimators work in nats internally.
    discrete_x, discrete_y : bool or None, optional
        Whether a side is discrete. By default integer, boolean and string arrays are
        discrete and float arrays continuous. A discrete side is grouped by its unique
        rows.
    **params
        The method's parameters, e.g. ``noise_variance=1e-3`` for ``"kde"`` or
        ``bin_width=0.07`` for ``"binning"``. Unknown names raise an error listing the
        valid ones.

    Returns
    -------
    MIEstimate
        The value (``float(result)`` works) with units, method, every parameter used,
        ``n_samples``, a standard error where the method has one, plain-words
        ``warnings`` (each with a ``kind``), ``saturated`` when the value sits at a
        ceiling, the entropies it was built from, and a ``bias_note`` where theory gives
        one. For a confidence interval or a test of independence with any method, see
        :func:`mi_toolkit.bootstrap_ci` and :func:`mi_toolkit.permutation_test`.

    Raises
    ------
    ValueError, TypeError
        Bad input (NaN or inf, mismatched lengths, too few samples, repeated rows for a kNN
        method, collinear columns for ``"kl"``, ...), with the argument named and what to
        do.

    Notes
    -----
    ``auto`` [9]_, [10]_ estimates with several candidates on each half of the samples
    (split by a hash of the rows) and reads the candidate largest on one half on the
    other half, both ways, so the choice cannot inflate the value:

    ================================  ==============================================
    the data                          candidates
    ================================  ==============================================
    both sides discrete               plug-in MI less Miller's bias, alone
    any continuous side               ``gcmi`` (Gaussian copula)
    continuous, d_x + d_y ≤ 10        ``ksg`` (``ties="mixed"`` when rows repeat)
    a side of 2 or more columns       ``ksg`` on the log-norms of robustly
                                      standardised sides (scale dependence)
    one side discrete                 ``gcmi`` per class, ``ksg`` (Ross) when d ≤ 10
    ``neural=True``, d_x + d_y ≥ 4    also ``infonce``
    ================================  ==============================================

    ``result.details["chosen"]`` names the candidate chosen on each half and
    ``details["candidates"]`` holds every candidate's value on both halves.

    With N samples and, for a discrete side, the plug-in p̂ of its groups:

    ``binning`` [1]_, [2]_, [5]_
        Plug-in MI of the binned values B(·),
        :math:`\hat I = \frac1N \sum_i \log \frac{N c(b^x_i, b^y_i)}{c(b^x_i)\,c(b^y_i)}`,
        with c the counts. Biased upwards by about (occupied joint − x − y bins + 1)/2N.
    ``kde`` [3]_, [2]_
        Pairwise-distance bound on H(T+Z), Z ~ N(0, σ²I), and
        :math:`\hat I(X;T) = \hat H(X) - \frac1N \sum_i \log (S_i / S_i^{x})` with
        :math:`S_i = \sum_j K_{ij}`, :math:`S_i^{x} = \sum_{j: x_j = x_i} K_{ij}` and
        :math:`K_{ij} = e^{-\|t_i - t_j\|^2 / 2σ^2}`. X is grouped by its rows, so for two
        continuous variables it measures I(X; Y+Z) with X's rows as labels (a warning
        says so); as σ² → 0 over distinct inputs it climbs to log N.
    ``gaussian`` [2]_
        :math:`\hat I = \frac12 \log \frac{\det Σ_{xx} \det Σ_{yy}}{\det Σ}` of the sample
        covariance; exact for Gaussian data, biased upwards by about d_x d_y / 2N.
    ``kl`` [4]_, [7]_, [8]_
        Kozachenko–Leonenko entropies,
        :math:`\hat H = ψ(N) - ψ(k) + \log V_d + \frac dN \sum_i \log ρ_{k,i}`, and
        :math:`\hat I = \hat H(x) + \hat H(y) - \hat H(x, y)`.
    ``ksg`` [4]_, [6]_
        :math:`\hat I_1 = ψ(k) + ψ(N) - \frac1N \sum_i [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)]`
        with max-norm balls (variant 2 with ≤ counts); Ross's estimator against labels.

    The kNN methods (``kl``, ``ksg``) standardise each column by default
    (``transform="standardize"``), so the value does not depend on units; they refuse
    repeated rows (a neighbour at distance 0), drop constant columns (listed in
    ``details``) and underestimate large MI in high dimension (their ``bias_note`` says
    how much). Every module ``mi_toolkit/estimators/<method>.py`` states its formula,
    standard error and bias in full.

    How each method treats each case:

    ===========  ==========================  ==========================  ====================
    method       both continuous             one side discrete           both discrete
    ===========  ==========================  ==========================  ====================
    binning      plug-in MI of both binned   H(B(T)) − Σ p(y) H(B(T)|y)   exact plug-in MI
    kde          x grouped by unique rows,   discrete side grouped,       x grouped, y noisy
                 y noisy (y + Z); warned     the other noisy
    gaussian     closed form                 H(T) − Σ p(y) H(T|y),        error
                                             Gaussian per class
    kl           Ĥ(x) + Ĥ(y) − Ĥ(x,y)        H(T) − Σ p(y) H(T|y), kNN    error
                                             entropy within each class
    ksg          KSG 1 or 2, max-norm        Ross (2014)                  error
    ===========  ==========================  ==========================  ====================

    In every case with a discrete (grouped) side, I(T;Y) = H(T) − Σ_y p(y) H(T|Y=y). With
    X uniform over N distinct samples no estimate of I(X;T) can exceed log N; an estimate
    at that ceiling is ``saturated`` and carries a warning. A continuous method (gaussian,
    kl, ksg) against labels that are all distinct raises
    :class:`~mi_toolkit.estimators.UndefinedEstimate`: I(X;T) of a deterministic layer
    over distinct inputs is not defined for them.

    References
    ----------
    .. [1] R. Shwartz-Ziv and N. Tishby, "Opening the black box of deep neural networks
       via information", arXiv:1703.00810, 2017.
    .. [2] A. M. Saxe et al., "On the information bottleneck theory of deep learning",
       ICLR, 2018.
    .. [3] A. Kolchinsky and B. D. Tracey, "Estimating mixture entropy with pairwise
       distances", Entropy 19(7):361, 2017.
    .. [4] A. Kraskov, H. Stögbauer and P. Grassberger, "Estimating mutual information",
       Phys. Rev. E 69:066138, 2004.
    .. [5] G. A. Miller, "Note on the bias of information estimates", in Information
       Theory in Psychology, 1955.
    .. [6] B. C. Ross, "Mutual information between discrete and continuous data sets",
       PLoS ONE 9(2):e87357, 2014.
    .. [7] L. F. Kozachenko and N. N. Leonenko, "Sample estimate of the entropy of a
       random vector", Problems Inform. Transmission 23:95–101, 1987.
    .. [8] T. B. Berrett, R. J. Samworth and M. Yuan, "Efficient multivariate entropy
       estimation via k-nearest neighbour distances", Ann. Statist. 47(1), 2019.
    .. [9] R. A. A. Ince et al., "A statistical framework for neuroimaging data analysis
       based on mutual information estimated via a gaussian copula", Hum. Brain Mapp.
       38(3):1541–1573, 2017.
    .. [10] W. Gao, S. Kannan, S. Oh and P. Viswanath, "Estimating mutual information for
       discrete-continuous mixtures", NeurIPS, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from mi_toolkit import KSG, estimate_mi
    >>> bits = np.array([[int(b) for b in f"{i:03b}"] for i in range(8)])
    >>> round(float(estimate_mi(bits, bits, method="binning", units="bits")), 6)
    3.0
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = x + rng.standard_normal(2000)  # I = log(2) / 2 = 0.347 nats
    >>> round(float(estimate_mi(1000 * x, y, KSG(k=5))), 1)
    0.3
    >>> result = estimate_mi(x, y)  # method="auto"
    >>> round(float(result), 1), result.details["chosen"]
    (0.3, ['gaussian', 'gaussian'])
    """
    unit_scale(units)  # fail on bad units before any work
    estimator = build_estimator(method, **params)
    x_var, y_var = prepare_pair(x, y, discrete_x, discrete_y, estimator.accepts_sample_shape)
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

    Parameters
    ----------
    x : array_like
        Samples, shape ``(n_samples,)`` or ``(n_samples, n_features)``.
    method : str or Estimator
        ``"binning"`` (plug-in entropy of the binned, or for discrete x the raw, rows),
        ``"kde"`` (the bound on the entropy of x + Z, Z ~ N(0, σ² I)), ``"gaussian"``
        (½ log det(2πe Σ)) or ``"kl"`` (Kozachenko–Leonenko); ``"ksg"`` has no entropy and
        raises. Or an estimator instance.
    units : {"nats", "bits"}, optional
        Units of the result.
    discrete : bool or None, optional
        Whether x is discrete (default: integer, boolean and string data are).
    **params
        The method's parameters, as for :func:`estimate_mi`.

    Returns
    -------
    MIEstimate
        As for :func:`estimate_mi`, with ``quantity="entropy"``.
    """
    unit_scale(units)
    estimator = build_estimator(method, **params)
    variable = as_variable(x, "x", discrete)
    check_enough_samples(variable, estimator.min_samples, estimator.name)
    estimate = estimator.entropy(variable)
    return _finish(estimate, estimator, variable.n_samples, units, "entropy", stacklevel=3)
