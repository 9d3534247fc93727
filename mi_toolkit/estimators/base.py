"""What every estimator shares: its internal result and the base class.

An estimator is a frozen dataclass whose fields are its parameters. It works in nats
on validated :class:`~mi_toolkit._validation.Variable` objects; the front door
(:mod:`mi_toolkit.api`) handles input checks and units.

The discrete/continuous dispatch lives here, once: :meth:`Estimator.mutual_information`
sends a pair to :meth:`~Estimator.mi_continuous` (both continuous),
:meth:`~Estimator.mi_against_labels` (one side discrete) or
:meth:`~Estimator.mi_discrete` (both discrete), and a method implements the cases it
supports.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numba import njit

from mi_toolkit._validation import Variable
from mi_toolkit.result import EstimateWarning

# An estimate this close to log N (relative) counts as saturated.
_CEILING_TOLERANCE = 0.01


@dataclass(frozen=True)
class Estimate:
    """An estimator's answer in nats, before the front door attaches units and params."""

    value: float
    standard_error: float | None = None
    warnings: tuple[EstimateWarning, ...] = ()
    components: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    bias_note: str | None = None
    #: At a ceiling theory says the estimate cannot pass (see MIEstimate.saturated).
    saturated: bool = False


def canonical_order(values: np.ndarray) -> np.ndarray:
    """The order that sorts the rows by value (last column first), so that a fit on the
    sorted rows does not depend on the order in which the samples were given."""
    return np.lexsort(values.T[::-1])


def mean_with_standard_error(terms: np.ndarray) -> tuple[float, float]:
    """Mean of per-sample terms and its CLT standard error, std / sqrt(n)."""
    n = terms.shape[0]
    if n < 2:
        return float(np.mean(terms)), math.nan
    mean, sum_of_squares = _mean_and_sum_of_squares(np.asarray(terms, dtype=np.float64))
    return mean, math.sqrt(sum_of_squares / (n - 1) / n)


@njit(cache=True)
def _mean_and_sum_of_squares(terms: np.ndarray) -> tuple[float, float]:
    # Two passes in one call: numpy's mean and std take seven passes and most of the time
    # of a small plug-in estimate (the information plane makes thousands of them).
    total = 0.0
    for value in terms:
        total += value
    mean = total / terms.shape[0]
    sum_of_squares = 0.0
    for value in terms:
        sum_of_squares += (value - mean) ** 2
    return mean, sum_of_squares


def ceiling_warnings(
    value: float, n_groups: int, n_samples: int, name: str
) -> tuple[EstimateWarning, ...]:
    """Warn when an estimate sits at log N because all samples of one side are distinct.

    With X uniform over N distinct samples, H(X) = log N bounds I(X;T) for any T, so an
    estimate there says that the samples were told apart, not how informative T is. The
    warning has kind ``"ceiling"``; an estimate carrying it is ``saturated``.
    """
    if n_samples < 2 or n_groups != n_samples:
        return ()
    ceiling = math.log(n_samples)
    if value < ceiling * (1.0 - _CEILING_TOLERANCE):
        return ()
    return (
        EstimateWarning(
            "ceiling",
            f"The estimate ({value:.4g} nats) is at the log N ceiling (log {n_samples} = "
            f"{ceiling:.4g} nats): all {n_samples} samples of {name} are distinct, so no "
            "estimate can exceed log N and this one only says that every sample was told "
            "apart. Use coarser bins, more noise or more samples to measure how much "
            "information is kept.",
        ),
    )


class UndefinedEstimate(ValueError):
    """The quantity asked for is not defined for this input and method.

    For example I(X;T) with a continuous estimator when every input is distinct: each
    input's "class" then holds one sample, and T, a deterministic function of X, has no
    spread within it. Callers that estimate many quantities (the information plane) catch
    this to record the quantity as undefined and carry on with the rest.
    """


def class_members(
    labels: Variable, minimum: int, reason: str, advice: str = "merge rare classes"
) -> list[np.ndarray]:
    """Sample indices of each class of ``labels``; every class needs ``minimum`` samples.

    ``reason`` says why, e.g. "method 'gaussian' fits a Gaussian to each class"; ``advice``
    says what to do about a class that is too small.
    """
    codes, n_groups = labels.groups()
    counts = np.bincount(codes, minlength=n_groups)
    small = np.flatnonzero(counts < minimum)
    if small.size:
        row = labels.values[int(np.argmax(codes == small[0]))]
        value = f"{row[0]:g}" if row.shape[0] == 1 else str(tuple(row.tolist()))
        if n_groups == labels.n_samples:
            raise UndefinedEstimate(
                f"every sample of {labels.name} is distinct, so each of its classes holds "
                f"one sample, but {reason}; a continuous estimator cannot measure the MI "
                f"with {labels.name} as labels (for a deterministic map of distinct inputs it "
                "is infinite for continuous values); use method 'binning' or 'kde', which "
                "measure it at a chosen resolution"
            )
        # Also UndefinedEstimate (a ValueError): callers estimating many quantities, such
        # as the information plane, record it as undefined and go on.
        raise UndefinedEstimate(
            f"the class {labels.name} = {value} has {counts[small[0]]} sample(s), but {reason}, "
            f"so every class needs at least {minimum}; {advice}"
        )
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(counts)[:-1])


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its tuple on every call; the plane asks for an
    # estimator's parameters once per estimate, thousands of times.
    return tuple(f.name for f in dataclasses.fields(cls))


class Estimator:
    """Base class. Subclasses are frozen dataclasses registered with ``@register``.

    Subclasses set ``name`` and ``min_samples``, implement :meth:`entropy` and the cases
    of the mutual information they support (:meth:`mi_continuous`,
    :meth:`mi_against_labels`, :meth:`mi_discrete`), and validate their parameters in
    ``__post_init__``. An instance can be passed to :func:`mi_toolkit.estimate_mi` in place
    of a method name, and reused.
    """

    name: ClassVar[str]
    min_samples: ClassVar[int] = 2
    #: Whether repeated rows are valid input (bootstrap resampling creates them).
    repeated_rows_ok: ClassVar[bool] = True
    #: Whether samples of more than one axis (images) are accepted, kept flattened with
    #: their shape in ``Variable.sample_shape``.
    accepts_sample_shape: ClassVar[bool] = False
    #: Whether the information plane gives this method the inputs X as continuous data
    #: rather than as an index of distinct inputs (X is the variable it measures).
    continuous_inputs: ClassVar[bool] = False

    def params(self) -> dict[str, Any]:
        """Every parameter of this estimator with the value it will use."""
        return {name: getattr(self, name) for name in _field_names(type(self))}

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        """I(x; y) in nats: the one discrete/continuous dispatch every method shares."""
        if x.discrete and y.discrete:
            return self.mi_discrete(x, y)
        if x.discrete:
            return self.mi_against_labels(y, x)
        if y.discrete:
            return self.mi_against_labels(x, y)
        return self.mi_continuous(x, y)

    def mutual_information_pair(
        self, x: Variable, t: Variable, y: Variable
    ) -> tuple[Estimate, Estimate] | None:
        """I(x; t) and I(t; y) with work shared between them, or None where nothing is.

        A method overrides this when both share a costly step (kde: one pass over the
        pairs of t); each value must equal :meth:`mutual_information`'s.
        """
        return None

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        """I(x; y) for two continuous variables."""
        raise NotImplementedError

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        """I(T; Y) = H(T) − Σ_y p(y) H(T | Y = y) for continuous T and discrete Y."""
        raise NotImplementedError

    def mi_discrete(self, x: Variable, y: Variable) -> Estimate:
        """I(x; y) for two discrete variables; by default an error pointing to binning."""
        raise ValueError(
            f"method {self.name!r} needs at least one continuous argument, but x and y are "
            "both discrete; use method='binning' for the exact plug-in value, or pass "
            "discrete_x=False / discrete_y=False to treat values as continuous"
        )

    def entropy(self, x: Variable) -> Estimate:
        """H(x) in nats (differential for continuous x, Shannon for discrete x)."""
        raise NotImplementedError

    @classmethod
    def parameter_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
