r"""Uncertainty for any registered method: bootstrap intervals and permutation tests.

Both take what :func:`mi_toolkit.estimate_mi` takes (a method name and parameters, or an
estimator instance), validate the data once and run every replicate through the same
estimation path, so they work for every method and parameter set; both are reproducible:
the same ``seed`` gives the same numbers.

Bootstrap interval (:func:`bootstrap_ci`). B replicate estimates θ*_b are computed on
resampled data, and the interval for the full-sample estimate θ̂ is

.. math::

    \big[\,θ̂ - s\,(q_{1-α/2} - \bar θ^*),\; θ̂ - s\,(q_{α/2} - \bar θ^*)\,\big],

with q the quantiles of the θ*_b and \bar θ^* their mean: the spread of the replicates
around their own mean, reflected about θ̂ (the "basic" bootstrap, re-centred). Centring on
the replicates' mean keeps out the shift that resampling itself causes in estimators
whose bias depends on N or on repeated rows. Two schemes:

``"resample"``
    N rows drawn with replacement (Efron 1979), s = 1.
``"subsample"``
    m = ⌊N/2⌋ rows drawn without replacement (half-sampling; Politis, Romano & Wolf 1999,
    "Subsampling"), s = sqrt(m / (N − m)), which rescales the spread of an m-sample mean
    without replacement to that of an N-sample mean (s = 1 for even N). Resampling with
    replacement repeats rows, which the kNN estimators ("kl", "ksg") cannot take (a
    neighbour at distance 0), so ``"auto"`` uses this scheme for them and ``"resample"``
    for the others.

The interval covers sampling noise, not the estimator's bias: a kNN estimate of a large
MI in high dimension can sit well below the truth with a narrow interval (see the
estimate's ``bias_note``).

Permutation test (:func:`permutation_test`). The rows of y are shuffled P times, which
keeps both marginals and destroys any dependence, and

.. math::

    p = \frac{1 + \#\{b : θ^{(π_b)} \ge θ̂\}}{1 + P}

is the (conservative, exact under independence) p-value for H0: x and y independent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mi_toolkit._progress import progress_reporter
from mi_toolkit._validation import Variable, check_choice, check_positive_int
from mi_toolkit.api import build_estimator, mi_of_variables, prepare_pair
from mi_toolkit.estimators.base import Estimator
from mi_toolkit.result import MIEstimate

__all__ = ["BootstrapInterval", "PermutationTest", "bootstrap_ci", "permutation_test"]

SCHEMES = ("auto", "resample", "subsample")


@dataclass(frozen=True)
class BootstrapInterval:
    """A bootstrap confidence interval around a full-sample estimate.

    Attributes
    ----------
    estimate : MIEstimate
        The estimate on all samples (its ``bias_note`` says what the interval leaves out).
    low, high : float
        The interval, in ``estimate.units``.
    confidence : float
        Nominal coverage, e.g. 0.95.
    scheme : str
        ``"resample"`` or ``"subsample"`` (module docstring).
    replicates : numpy.ndarray
        The replicate estimates, in ``estimate.units``.
    seed : int or None
        The seed that reproduces them.
    """

    estimate: MIEstimate
    low: float
    high: float
    confidence: float
    scheme: str
    replicates: np.ndarray
    seed: int | None

    def __repr__(self) -> str:
        return (
            f"BootstrapInterval({self.estimate.value:.6g} {self.estimate.units}, "
            f"{self.confidence:.0%} CI [{self.low:.6g}, {self.high:.6g}], method="
            f"{self.estimate.method!r}, {self.replicates.shape[0]} {self.scheme} replicates)"
        )


@dataclass(frozen=True)
class PermutationTest:
    """A permutation test of independence.

    Attributes
    ----------
    estimate : MIEstimate
        The estimate on the data as given.
    p_value : float
        (1 + #null values >= estimate) / (1 + number of permutations).
    null_values : numpy.ndarray
        Estimates with the rows of y shuffled, in ``estimate.units``.
    seed : int or None
        The seed that reproduces them.
    """

    estimate: MIEstimate
    p_value: float
    null_values: np.ndarray
    seed: int | None

    def __repr__(self) -> str:
        return (
            f"PermutationTest({self.estimate.value:.6g} {self.estimate.units}, p = "
            f"{self.p_value:.4g}, method={self.estimate.method!r}, "
            f"{self.null_values.shape[0]} permutations)"
        )


def _check_confidence(confidence: Any) -> float:
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        raise TypeError(f"confidence must be a number in (0, 1); got {confidence!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, e.g. 0.95; got {value}")
    return value


def _replicates(
    estimator: Estimator,
    x: Variable,
    y: Variable,
    rows: Callable[[int], tuple[np.ndarray, np.ndarray]],
    count: int,
    label: str,
    progress: bool | None,
    units: str,
) -> np.ndarray:
    """Estimates on ``count`` row selections ``(x rows, y rows) = rows(b)``."""
    report = progress_reporter(label, count, progress)
    values = np.empty(count)
    for b in range(count):  # a loop over replicates; each estimate is a kernel call
        x_rows, y_rows = rows(b)
        # The full-sample estimate has already said what there is to say.
        replicate = mi_of_variables(
            estimator, x.subset(x_rows), y.subset(y_rows), units, emit_warnings=False
        )
        values[b] = replicate.value
        report(b + 1)
    return values


def bootstrap_ci(
    x: Any,
    y: Any,
    method: str | Estimator,
    *,
    n_resamples: int = 200,
    confidence: float = 0.95,
    scheme: str = "auto",
    seed: int | None = 0,
    progress: bool | None = None,
    units: str = "nats",
    discrete_x: bool | None = None,
    discrete_y: bool | None = None,
    **params: Any,
) -> BootstrapInterval:
    r"""Bootstrap confidence interval for ``estimate_mi(x, y, method, **params)``.

    Parameters
    ----------
    x, y, method, units, discrete_x, discrete_y, **params
        As for :func:`mi_toolkit.estimate_mi`.
    n_resamples : int
        Number of replicate estimates B (each costs one estimate).
    confidence : float
        Nominal coverage of the interval, in (0, 1).
    scheme : {"auto", "resample", "subsample"}
        ``"resample"`` (N rows with replacement), ``"subsample"`` (N/2 rows without
        replacement, rescaled) or ``"auto"`` (subsample for methods that cannot take
        repeated rows, such as "kl" and "ksg"; resample otherwise).
    seed : int or None
        Seed of the row draws; the same seed gives the same interval.
    progress : bool or None
        Print "bootstrap: b/B" on stderr; None (default) prints only to a terminal.

    Returns
    -------
    BootstrapInterval
        The full-sample estimate, the interval
        [θ̂ − s(q_{1−α/2} − θ̄*), θ̂ − s(q_{α/2} − θ̄*)] and the replicates (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from mi_toolkit.uncertainty import bootstrap_ci
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(500)
    >>> y = x + rng.standard_normal(500)
    >>> ci = bootstrap_ci(x, y, "gaussian", n_resamples=100, seed=1)
    >>> bool(ci.low < 0.5 * np.log(2) < ci.high)
    True
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", " (e.g. 200)")
    if n_resamples < 2:
        raise ValueError(f"n_resamples must be at least 2 to have a spread; got {n_resamples}")
    level = _check_confidence(confidence)
    check_choice(scheme, "scheme", SCHEMES)
    estimator = build_estimator(method, **params)
    x_var, y_var = prepare_pair(x, y, discrete_x, discrete_y, estimator.accepts_sample_shape)
    estimate = mi_of_variables(estimator, x_var, y_var, units)
    if scheme == "auto":
        scheme = "resample" if estimator.repeated_rows_ok else "subsample"
    n = x_var.n_samples
    rng = np.random.default_rng(seed)
    if scheme == "resample":
        draws = [rng.integers(0, n, size=n) for _ in range(n_resamples)]
        scale = 1.0
    else:
        m = n // 2
        if m < 2:
            raise ValueError(f"scheme='subsample' needs at least 4 samples; got {n}")
        draws = [np.sort(rng.choice(n, size=m, replace=False)) for _ in range(n_resamples)]
        scale = math.sqrt(m / (n - m))
    replicates = _replicates(
        estimator,
        x_var,
        y_var,
        lambda b: (draws[b], draws[b]),
        n_resamples,
        "bootstrap",
        progress,
        units,
    )
    alpha = 1.0 - level
    low_q, high_q = np.quantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0])
    centre = float(replicates.mean())
    return BootstrapInterval(
        estimate=estimate,
        low=float(estimate.value - scale * (high_q - centre)),
        high=float(estimate.value - scale * (low_q - centre)),
        confidence=level,
        scheme=scheme,
        replicates=replicates,
        seed=seed,
    )


def permutation_test(
    x: Any,
    y: Any,
    method: str | Estimator,
    *,
    n_permutations: int = 200,
    seed: int | None = 0,
    progress: bool | None = None,
    units: str = "nats",
    discrete_x: bool | None = None,
    discrete_y: bool | None = None,
    **params: Any,
) -> PermutationTest:
    r"""Permutation test of independence of x and y with any estimator.

    Parameters
    ----------
    x, y, method, units, discrete_x, discrete_y, **params
        As for :func:`mi_toolkit.estimate_mi`.
    n_permutations : int
        Number of shuffles P; the smallest attainable p-value is 1 / (1 + P).
    seed : int or None
        Seed of the shuffles; the same seed gives the same p-value.
    progress : bool or None
        Print "permutation: b/P" on stderr; None (default) prints only to a terminal.

    Returns
    -------
    PermutationTest
        The estimate, p = (1 + #{θ^{(π)} ≥ θ̂}) / (1 + P) (Phipson & Smyth 2010: never 0,
        valid under H0) and the null values.

    Examples
    --------
    >>> import numpy as np
    >>> from mi_toolkit.uncertainty import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(300)
    >>> test = permutation_test(x, x + rng.standard_normal(300), "ksg", n_permutations=49)
    >>> test.p_value
    0.02
    """
    n_permutations = check_positive_int(n_permutations, "n_permutations", " (e.g. 200)")
    estimator = build_estimator(method, **params)
    x_var, y_var = prepare_pair(x, y, discrete_x, discrete_y, estimator.accepts_sample_shape)
    estimate = mi_of_variables(estimator, x_var, y_var, units)
    n = x_var.n_samples
    rng = np.random.default_rng(seed)
    shuffles = [rng.permutation(n) for _ in range(n_permutations)]
    every_row = np.arange(n)
    null_values = _replicates(
        estimator,
        x_var,
        y_var,
        lambda b: (every_row, shuffles[b]),
        n_permutations,
        "permutation",
        progress,
        units,
    )
    exceed = int(np.count_nonzero(null_values >= estimate.value))
    return PermutationTest(
        estimate=estimate,
        p_value=(1 + exceed) / (1 + n_permutations),
        null_values=null_values,
        seed=seed,
    )
