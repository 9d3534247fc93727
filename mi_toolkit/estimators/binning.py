r"""Binning (plug-in) estimator.

Each continuous side is discretised into bins B(·); a discrete side is used as it is,
grouped by its unique rows. The estimate is the plug-in mutual information of the two
discrete variables,

.. math::

    \hat I(X;T) = \hat H(B(T)) - \sum_x \hat p(x)\, \hat H(B(T) \mid X = x)
               = \frac1N \sum_i \log \frac{N\, c(x_i, b_i)}{c(x_i)\, c(b_i)},

with :math:`c(\cdot)` the counts of each group. When every input x is distinct (the
information-plane setting of Shwartz-Ziv & Tishby 2017), :math:`\hat I(X;T) = \hat H(B(T))`.
When both sides are discrete, the value is the exact plug-in MI of the sample.

Strategies (``strategy=``), each turning a value t into an integer bin:

``"fixed_range"``
    ``n_bins`` equal bins over ``value_range``; values outside are clipped into the first
    or last bin (counted in the result's details, with a warning). Shwartz-Ziv & Tishby
    (2017) use 30 edges on [-1, 1], i.e. the default ``n_bins=29``.
``"fixed_width"``
    ``floor(t / bin_width)``, unbounded. Saxe et al. (2018) use 0.07 for the 12-bit task
    and 0.5 for MNIST.
``"quantize"``
    ``round((t - min) 2^b / (max - min))`` with ``b = n_bits`` (Lorenzen et al. 2022), with
    min and max taken over the whole array (``scope="layer"``), per column
    (``scope="neuron"``), or given as ``value_range`` (``scope="global"``, for example
    over all layers and epochs). A constant column maps to 0.
``"equal_mass"``
    ``n_bins`` adaptive bins per column at the empirical quantiles, so each bin holds about
    the same number of samples; tied values share a bin.
``"none"``
    No binning: the rows' values are the categories (already discrete activations, e.g.
    binary networks), which gives the exact plug-in value.

If ``strategy`` is not given it follows from the parameters passed: ``bin_width`` means
``"fixed_width"``, ``n_bits`` means ``"quantize"``, otherwise ``"fixed_range"``.

The standard error is the delta-method one, the standard deviation of the per-sample
terms above over sqrt(N). The plug-in estimate is biased (upwards for MI, downwards for
entropy) by roughly (#joint bins - #x bins - #t bins + 1) / 2N nats (Miller 1955); the
number of occupied bins is reported in ``details`` so this can be judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from mi_toolkit._grouping import group_rows, log_group_probabilities, pair_log_probabilities
from mi_toolkit._registry import register
from mi_toolkit._validation import (
    Variable,
    check_choice,
    check_positive,
    check_positive_int,
)
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    ceiling_warnings,
    mean_with_standard_error,
)
from mi_toolkit.result import EstimateWarning

STRATEGIES = ("fixed_range", "fixed_width", "quantize", "equal_mass", "none")
SCOPES = ("layer", "neuron", "global")
# floor(t / w) must stay exactly representable as an int64 bin index.
_MAX_BIN_INDEX = 2.0**52

# Which parameters each strategy reads; anything else passed is a mistake worth naming.
_STRATEGY_PARAMS = {
    "fixed_range": {"n_bins", "value_range"},
    "fixed_width": {"bin_width"},
    "quantize": {"n_bits", "scope", "value_range"},
    "equal_mass": {"n_bins"},
    "none": set(),
}
_DEFAULT_N_BINS = {"fixed_range": 29, "equal_mass": 10}


def _check_range(value_range: object) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"value_range must be a pair (low, high); got {value_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"value_range must be finite with low < high; got {value_range!r}")
    return low, high


@register
@dataclass(frozen=True)
class BinningEstimator(Estimator):
    """Plug-in MI of binned values; the module docstring gives formulas and strategies.

    Parameters
    ----------
    strategy : {"fixed_range", "fixed_width", "quantize", "equal_mass", "none"} or None
        How values become bins; None follows from the other parameters (``bin_width``:
        ``"fixed_width"``, ``n_bits``: ``"quantize"``, else ``"fixed_range"``).
    n_bins : int or None
        Number of bins of ``"fixed_range"`` (default 29) or ``"equal_mass"`` (default 10).
    value_range : tuple of float or None
        (min, max) of ``"fixed_range"`` (default (-1, 1)), or of ``"quantize"`` with
        ``scope="global"``.
    bin_width : float or None
        Bin width of ``"fixed_width"``.
    n_bits : int or None
        Bits b of ``"quantize"`` (default 8, at most 52).
    scope : {"layer", "neuron", "global"} or None
        Where ``"quantize"`` takes min and max (default ``"layer"``).
    """

    name = "binning"
    min_samples = 2

    strategy: str | None = None
    n_bins: int | None = None
    value_range: tuple[float, float] | None = None
    bin_width: float | None = None
    n_bits: int | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        strategy = self.strategy
        if strategy is None:
            strategy = (
                "fixed_width"
                if self.bin_width is not None
                else "quantize"
                if self.n_bits is not None
                else "fixed_range"
            )
        check_choice(strategy, "strategy", STRATEGIES)
        given = {p for p in ("n_bins", "value_range", "bin_width", "n_bits", "scope")}
        given = {p for p in given if getattr(self, p) is not None}
        stray = given - _STRATEGY_PARAMS[strategy]
        if stray:
            raise ValueError(
                f"{', '.join(sorted(stray))} does not apply to strategy={strategy!r}; it reads "
                f"only {', '.join(sorted(_STRATEGY_PARAMS[strategy])) or 'no parameters'}"
            )
        resolved = {"strategy": strategy}
        if strategy in ("fixed_range", "equal_mass"):
            n_bins = _DEFAULT_N_BINS[strategy] if self.n_bins is None else self.n_bins
            resolved["n_bins"] = check_positive_int(n_bins, "n_bins")
        if strategy == "fixed_range":
            resolved["value_range"] = _check_range(
                (-1.0, 1.0) if self.value_range is None else self.value_range
            )
        if strategy == "fixed_width":
            resolved["bin_width"] = check_positive(self.bin_width, "bin_width")
        if strategy == "quantize":
            n_bits = check_positive_int(self.n_bits if self.n_bits is not None else 8, "n_bits")
            if n_bits > 52:
                raise ValueError(f"n_bits must be at most 52 (float64 precision); got {n_bits}")
            resolved["n_bits"] = n_bits
            scope = check_choice(self.scope or "layer", "scope", SCOPES)
            resolved["scope"] = scope
            if scope == "global":
                if self.value_range is None:
                    raise ValueError(
                        "scope='global' needs value_range=(min, max), taken over everything "
                        "you compare (e.g. all layers and epochs)"
                    )
                resolved["value_range"] = _check_range(self.value_range)
            elif self.value_range is not None:
                raise ValueError("value_range applies to quantize only with scope='global'")
        for key, value in resolved.items():
            object.__setattr__(self, key, value)

    def params(self) -> dict[str, object]:
        return {k: v for k, v in super().params().items() if v is not None}

    # -- discretisation ---------------------------------------------------------------

    def _bin(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Integer bin index per value, and how many values fell outside a fixed range."""
        if self.strategy == "fixed_range":
            low, high = self.value_range  # type: ignore[misc]
            n_bins = self.n_bins
            outside = int(np.count_nonzero((values < low) | (values > high)))
            index = np.floor((values - low) * (n_bins / (high - low)))
            # Clip explicitly: the top edge belongs to the last bin, and values outside the
            # range join the nearest end bin instead of wrapping around.
            return np.clip(index, 0, n_bins - 1).astype(np.int64), outside
        if self.strategy == "fixed_width":
            scaled = values / self.bin_width
            if np.abs(scaled).max() > _MAX_BIN_INDEX:
                raise ValueError(
                    f"bin_width={self.bin_width} is too small for values up to "
                    f"{np.abs(values).max():.3g}: bin indices exceed 2**52"
                )
            return np.floor(scaled).astype(np.int64), 0
        if self.strategy == "quantize":
            return self._quantize(values), 0
        return _equal_mass_bins(values, self.n_bins), 0  # type: ignore[arg-type]

    def _quantize(self, values: np.ndarray) -> np.ndarray:
        if self.scope == "global":
            low, high = self.value_range  # type: ignore[misc]
            values = np.clip(values, low, high)
        elif self.scope == "neuron":
            low, high = values.min(axis=0), values.max(axis=0)
        else:
            low, high = values.min(), values.max()
        span = np.asarray(high - low, dtype=np.float64)
        # A constant column (span 0) maps to level 0 instead of dividing by zero.
        scale = np.divide(2.0**self.n_bits, span, out=np.zeros_like(span), where=span > 0)
        return np.round((values - low) * scale).astype(np.int64)

    def _codes(self, variable: Variable) -> tuple[np.ndarray, int, int]:
        """Group labels of a variable: its rows if discrete, else its binned rows."""
        if variable.discrete or self.strategy == "none":
            labels, n_groups = variable.groups()
            return labels, n_groups, 0
        # Kept on the variable: a layer's bins serve both I(X;T) and I(T;Y).
        return variable.derived(("binning", self), lambda: self._binned_codes(variable))

    def _log_probabilities(self, variable: Variable) -> np.ndarray:
        """log p̂ of each sample's group (bin), computed once per variable."""

        def compute() -> np.ndarray:
            labels, n_groups, _ = self._codes(variable)
            return log_group_probabilities(labels, n_groups)

        return variable.derived(("binning log p", self), compute)

    def _plug_in_entropy(self, variable: Variable) -> float:
        """Ĥ of a variable's groups (bins), computed once per variable."""
        return variable.derived(
            ("binning H", self), lambda: -float(self._log_probabilities(variable).mean())
        )

    def _binned_codes(self, variable: Variable) -> tuple[np.ndarray, int, int]:
        if self.strategy == "fixed_range" and _row_keys_fit(self.n_bins, variable.n_features):
            low, high = self.value_range  # type: ignore[misc]
            keys, outside = _fixed_range_row_keys(variable.values, low, high, self.n_bins)
            labels, n_groups = group_rows(keys.reshape(-1, 1))
            return labels, n_groups, outside
        bins, outside = self._bin(variable.values)
        labels, n_groups = Variable(variable.name, bins, True).groups()
        return labels, n_groups, outside

    def _clip_warnings(self, variable: Variable, outside: int) -> tuple[EstimateWarning, ...]:
        if not outside:
            return ()
        share = outside / variable.values.size
        return (
            EstimateWarning(
                "clipped",
                f"{outside} value(s) of {variable.name} ({share:.1%}) lie outside value_range="
                f"{self.value_range} and were put in the end bins; pass a value_range that covers "
                "the data, or strategy='fixed_width' for unbounded activations such as ReLU.",
            ),
        )

    # -- estimates --------------------------------------------------------------------

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        # The plug-in formula is the same whichever sides are discrete (a continuous side
        # is binned first), so this method replaces the base class's per-case dispatch.
        x_labels, x_groups, x_outside = self._codes(x)
        y_labels, y_groups, y_outside = self._codes(y)
        log_p_x = self._log_probabilities(x)
        log_p_y = self._log_probabilities(y)
        n = x_labels.shape[0]
        # When one side's samples are all distinct (the plane's inputs), the joint groups
        # are that side's own, and the pairs need no grouping.
        if x_groups == n:
            joint_groups, log_p_joint = x_groups, log_p_x
        elif y_groups == n:
            joint_groups, log_p_joint = y_groups, log_p_y
        else:
            log_p_joint, joint_groups = pair_log_probabilities(
                x_labels, x_groups, y_labels, y_groups
            )
        terms = log_p_joint - log_p_x - log_p_y
        value, standard_error = mean_with_standard_error(terms)
        value = max(value, 0.0)  # rounding can leave -1e-17 for independent labels
        h_x = self._plug_in_entropy(x)
        h_y = self._plug_in_entropy(y)
        # One ceiling warning is enough even when both sides are all-distinct.
        ceiling = ceiling_warnings(value, x_groups, x.n_samples, x.name) or ceiling_warnings(
            value, y_groups, y.n_samples, y.name
        )
        warnings = self._clip_warnings(x, x_outside) + self._clip_warnings(y, y_outside) + ceiling
        # Miller (1955): each occupied cell adds about 1/2N to a plug-in entropy.
        miller = (joint_groups - x_groups - y_groups + 1) / (2 * x.n_samples)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=warnings,
            saturated=bool(ceiling),
            bias_note=(
                f"Plug-in MI is biased upwards by about (occupied joint bins − x bins − y bins "
                f"+ 1) / 2N = {miller:.3g} nats here (Miller 1955); the standard error does "
                "not include it."
            ),
            components={"H(x)": h_x, "H(y)": h_y, "H(x,y)": h_x + h_y - value},
            details={
                "occupied_bins_x": x_groups,
                "occupied_bins_y": y_groups,
                "occupied_bins_joint": joint_groups,
                "clipped_values": x_outside + y_outside,
            },
        )

    def entropy(self, x: Variable) -> Estimate:
        labels, n_groups, outside = self._codes(x)
        terms = -log_group_probabilities(labels, n_groups)
        value, standard_error = mean_with_standard_error(terms)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=self._clip_warnings(x, outside),
            details={"occupied_bins": n_groups, "clipped_values": outside},
        )


def _row_keys_fit(n_bins: int, n_features: int) -> bool:
    """Whether every row of bin indices has its own int64 key (n_bins^d < 2^62)."""
    return n_features * math.log2(max(n_bins, 2)) < 62


@njit(cache=True)
def _fixed_range_row_keys(
    values: np.ndarray, low: float, high: float, n_bins: int
) -> tuple[np.ndarray, int]:
    """Each row's fixed-range bins as one integer, and how many values fell outside.

    The key is the row of bin indices read as a number in base ``n_bins``, so equal keys
    mean equal rows of bins; it is what :meth:`BinningEstimator._bin` and a row grouping
    give, in one pass instead of five over the array (the information plane bins
    thousands of layers). Bin ``floor((t - low) n_bins / (high - low))``, clipped to the
    end bins as there.
    """
    n, d = values.shape
    scale = n_bins / (high - low)
    keys = np.empty(n, dtype=np.int64)
    outside = 0
    for i in range(n):
        key = 0
        for k in range(d):
            value = values[i, k]
            if value < low or value > high:
                outside += 1
            index = math.floor((value - low) * scale)
            index = min(max(index, 0), n_bins - 1)
            key = key * n_bins + index
        keys[i] = key
    return keys, outside


def _equal_mass_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-column bin index at the empirical quantiles; equal values share a bin."""
    inner_quantiles = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    edges = np.quantile(values, inner_quantiles, axis=0)  # (n_bins - 1, n_features)
    bins = np.empty(values.shape, dtype=np.int64)
    for column in range(values.shape[1]):  # a loop over features, not samples
        bins[:, column] = np.searchsorted(edges[:, column], values[:, column], side="right")
    return bins
