"""The result type that every estimate returns.

This module imports nothing else of ours, so every other module may import it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Multiply a value in nats by this to get the named units.
UNIT_SCALES: Mapping[str, float] = {"nats": 1.0, "bits": 1.0 / math.log(2.0)}


def unit_scale(units: str) -> float:
    """Return the factor that turns nats into ``units``; raise on unknown units."""
    try:
        return UNIT_SCALES[units]
    except (KeyError, TypeError):
        valid = ", ".join(repr(u) for u in UNIT_SCALES)
        raise ValueError(f"units must be one of {valid}; got {units!r}") from None


class MIToolkitWarning(UserWarning):
    """A plain-words warning about an estimate (saturation, clipping, regularisation)."""


class EstimateWarning(str):
    """A plain-words warning that also says which kind of warning it is.

    It is a ``str`` (the message), so it prints and compares as text; ``kind`` is a short
    fixed name (one of :data:`WARNING_KINDS`) that programs group and count by, e.g. the
    information plane reporting each kind once per layer with its count.
    """

    kind: str

    def __new__(cls, kind: str, message: str) -> EstimateWarning:
        if kind not in WARNING_KINDS:
            raise ValueError(f"unknown warning kind {kind!r}; known: {', '.join(WARNING_KINDS)}")
        warning = super().__new__(cls, message)
        warning.kind = kind
        return warning

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (self.kind, str(self))


#: Every kind of warning an estimate can carry, and what it means.
WARNING_KINDS: Mapping[str, str] = {
    "ceiling": "the estimate sits at a ceiling (log N, or the entropy of the grouped side) "
    "that says only that the samples were told apart",
    "clipped": "values outside a fixed bin range were put into the end bins",
    "singular_covariance": "a covariance was singular and a ridge was added",
    "large_weights": "weighted Kozachenko–Leonenko weights are large (variance inflation)",
    "not_symmetric": "the method measured something other than I(x; y) for this input",
    "kernel_saturation": "(nearly) all kernel mass sits on each sample itself",
    "undefined": "the quantity is not defined for this input and method",
    "constant_columns": "constant columns carry no information and were dropped",
    "diverged": "a neural critic's training produced a non-finite loss or bound",
    "collapsed": "a neural critic's validation bound fell far below its best during training",
    "overfitted": "a neural critic overfitted after its best step; the restored best weights "
    "hold their value on held-out data, so the estimate stands",
    "negative_bound": "a held-out variational bound is below zero beyond its error",
    "batch_ceiling": "InfoNCE sits near its log K ceiling (K samples scored together), so the "
    "MI may be larger",
    "negative_estimate": "an MI estimate is below 0 by more than 3 standard errors, which "
    "only the estimator's bias can explain",
    "above_entropy": "an MI estimate is above the entropy of a discrete side by more than 3 "
    "standard errors, which only the estimator's bias can explain",
    "knn_entropy_bias": "a kNN entropy in a dimension too high for its sample size, where the "
    "k-NN bias dominates",
    "undersampled": "a discrete plug-in MI whose first-order bias correction exceeds 0.05 nats",
    "knn_saturation": "a kNN estimate above 5 nats, where kNN estimates saturate below the truth",
    "lossy_compression": "a compressor lost much of its side's variance, so by the "
    "data-processing inequality the estimate may be low",
    "poor_fit": "the data do not look like the parametric family a closed form assumes",
    "not_jointly_gaussian": "a Gaussian closed form (or copula) was read on a pair that is "
    "not jointly Gaussian, so the MI may be well above the estimate",
    "ill_conditioned": "a side's columns lie near a lower-dimensional manifold, where "
    "Gaussian closed forms read near-deterministic directions as information",
}


@dataclass(frozen=True)
class MIEstimate:
    """One estimate of a mutual information or an entropy, with everything that produced it.

    Attributes
    ----------
    value : float
        The estimate, in ``units``. ``float(result)`` gives the same number.
    units : str
        ``"nats"`` or ``"bits"``.
    method : str
        The registry name of the estimator (``"kde"``, ``"binning"``, ...).
    params : mapping
        Every parameter the estimator used, defaults included, so the number can be
        reproduced from the result alone.
    n_samples : int
        Number of samples the estimate was computed from.
    standard_error : float or None
        Asymptotic standard error in ``units`` where the estimator has one, else ``None``.
        It measures sampling noise only, not the estimator's bias.
    warnings : tuple of str
        Plain-words warnings, for example an estimate stuck at the log N ceiling.
    components : mapping of str to float
        The entropies the estimate was assembled from (for example ``H(T)`` and
        ``H(T|X)``), in ``units``.
    details : mapping
        Other facts about the run that are not information quantities (backend used,
        number of groups, fraction of values clipped, ...).
    quantity : str
        ``"mutual_information"`` or ``"entropy"``.
    saturated : bool
        True when the estimate sits at a ceiling that theory says it cannot pass (for
        example I(X;T) at log N with every sample of X distinct, or kde's I(T;Y) at H(Y)
        when all kernel mass sits on each sample): it then says that the samples were
        told apart, not how informative T is. A warning of kind ``"ceiling"`` or
        ``"kernel_saturation"`` says so in words.
    bias_note : str or None
        What theory says about the estimator's bias in this setting (direction and rough
        size), where it says something; ``None`` otherwise. The standard error does not
        include it.
    """

    value: float
    units: str
    method: str
    params: Mapping[str, Any]
    n_samples: int
    standard_error: float | None = None
    warnings: tuple[str, ...] = ()
    components: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    quantity: str = "mutual_information"
    bias_note: str | None = None
    saturated: bool = False

    @property
    def warning_kinds(self) -> tuple[str, ...]:
        """The kind of each warning (``"other"`` for a plain string), in order."""
        return tuple(getattr(w, "kind", "other") for w in self.warnings)

    def __float__(self) -> float:
        return float(self.value)

    def to(self, units: str) -> MIEstimate:
        """Return the same estimate expressed in other units."""
        factor = unit_scale(units) / unit_scale(self.units)
        return replace(
            self,
            value=self.value * factor,
            units=units,
            standard_error=None if self.standard_error is None else self.standard_error * factor,
            components={name: v * factor for name, v in self.components.items()},
        )

    def __repr__(self) -> str:
        error = "" if self.standard_error is None else f" ± {self.standard_error:.4g}"
        flagged = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return (
            f"MIEstimate({self.value:.6g}{error} {self.units}, method={self.method!r}, "
            f"n_samples={self.n_samples}{flagged})"
        )
