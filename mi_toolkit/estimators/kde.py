r"""Pairwise-distance KDE bounds on the entropy of a noisy representation.

Following Kolchinsky & Tracey (2017, "Estimating mixture entropy with pairwise
distances") as used by Saxe et al. (2018), the representation T is taken to carry
added Gaussian noise Z ~ N(0, σ² I_d) (``noise_variance`` = σ²), so that T + Z is a
mixture of N Gaussians centred on the samples. Its entropy is bounded by

.. math::

    H_{upper}(T) = \frac d2 - \frac1N \sum_i \Big[\log\sum_j
        e^{-\|t_i - t_j\|^2 / 2σ^2} - \log N - \frac d2 \log 2πσ^2\Big]

    H_{lower}(T) = H_{upper}(T)\big|_{σ^2 \to 4σ^2} + \frac d2 \log\frac14

and H(T | X) = (d/2) log(2πeσ²) for a deterministic map X -> T. The mutual information

.. math::

    I(X;T) = H(T) - \sum_x p(x) H(T \mid X = x)

groups X by unique rows and applies the same bound to each group, which reduces to

.. math::

    \hat I = \hat H(X) - \frac1N \sum_i \log
        \frac{\sum_j e^{-\|t_i-t_j\|^2/2σ^2}}{\sum_{j:\,x_j = x_i} e^{-\|t_i-t_j\|^2/2σ^2}}

with \hat H(X) the plug-in entropy of the groups (log N when every input is distinct).
The same formula gives I(T;Y) for labels Y. ``bound="upper"`` (default) or ``"lower"``;
for the entropy of one sample the two differ by at most (d/2) log 4 nats.

Which argument is noisy: the second (``y``), as in ``estimate_mi(X, T, method="kde")``,
unless only ``y`` is discrete, in which case ``x`` is the noisy one (MI is symmetric, so
``estimate_mi(T, labels)`` works too). The other argument is always grouped by unique
rows, whatever its dtype. The estimate is the MI of the noisy channel X -> T + Z, which
depends on σ²: as σ² -> 0 with distinct inputs it climbs to log N.

With two continuous arguments the estimate is **not** I(x; y): x's rows are taken as labels
of distinct inputs (as the information plane does for its inputs) and the result is
I(X; Y + Z) of that channel at noise σ², which depends on σ² and differs from I(y; x).
On clean 2-D Gaussian data it gave 1.75–3.7 nats against a true 0.8–1.1. Such a result
carries a warning of kind ``"not_symmetric"``; use ``"ksg"``, ``"kl"`` or ``"gaussian"``
for I(x; y) of two continuous variables, or pass ``discrete_x=True`` to say that x holds
input labels.

When the noise is small against the spacing of the samples, (nearly) all of each
sample's kernel mass sits on itself: log Σ_j K_ij = log(1 + mass on the others) -> 0, and
every estimate approaches the plug-in entropy of the grouped side, Ĥ(X) or Ĥ(Y), whatever
the dependence (it can lie at most the mean of log Σ_j K_ij below it). The mean share of
each sample's kernel mass on itself is reported as ``details["self_mass_share"]``; above
0.9 the result is ``saturated`` and carries a warning of kind ``"kernel_saturation"``
(or the ``"ceiling"`` one when the grouped side is all distinct and the estimate sits at
log N).

``device=None`` runs the numba kernels; ``"cpu"``, ``"cuda"`` or ``"cuda:k"`` run the same
float64 computation in torch on that device; ``"auto"`` uses CUDA where torch sees it and
numba otherwise. The standard error is the CLT one over the per-sample terms above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mi_toolkit._grouping import log_group_probabilities
from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_choice, check_positive
from mi_toolkit.estimators._device import check_device, resolve_backend
from mi_toolkit.estimators._kde_kernels import kernel_log_sums_grouped, kernel_log_sums_torch
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    ceiling_warnings,
    mean_with_standard_error,
)
from mi_toolkit.result import EstimateWarning

BOUNDS = ("upper", "lower")
# Above this mean share of each sample's kernel mass on itself, the other samples carry
# under a tenth of it on average, so each per-sample term is within about log(1/0.9) ~ 0.1
# nats of -log p(group): the estimate says that the noise separates the samples, not how
# much the groups differ. Healthy settings sit far below (0.002 for 2,000 samples of a 2-D
# Gaussian at σ² = 1), saturated ones far above (1 - 2e-9 for 2,000 samples in 50-D).
_SATURATED_SELF_SHARE = 0.9


@register
@dataclass(frozen=True)
class KDEEstimator(Estimator):
    """Kolchinsky-Tracey pairwise-distance bounds; the module docstring gives the formulas.

    Parameters
    ----------
    noise_variance : float
        Variance σ² of the Gaussian noise Z added to the noisy side.
    bound : {"upper", "lower"}
        Which pairwise-distance bound on the entropy.
    device : str or None
        None for the numba kernels; ``"cpu"``, ``"cuda"`` or ``"cuda:k"`` for torch on
        that device; ``"auto"`` for CUDA where torch sees it, numba otherwise.
    """

    name = "kde"
    min_samples = 2

    noise_variance: float = 0.1
    bound: str = "upper"
    device: str | None = None

    def __post_init__(self) -> None:
        variance = check_positive(
            self.noise_variance,
            "noise_variance",
            " (the variance σ² of the Gaussian noise added to T; Saxe et al. use 1e-3 for "
            "the 12-bit task and 1e-1 for MNIST)",
        )
        object.__setattr__(self, "noise_variance", variance)
        check_choice(self.bound, "bound", BOUNDS)
        check_device(self.device)

    def _log_sums(
        self, points: np.ndarray, groupings: list[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray], str]:
        """log Σ_j K_ij, and per label array log Σ_{j in i's group} K_ij, in one pass."""
        # The lower bound is the upper one at 4σ², hence 1/(8σ²) instead of 1/(2σ²).
        width = 2.0 if self.bound == "upper" else 8.0
        scale = 1.0 / (width * self.noise_variance)
        backend = resolve_backend(self.device)
        if backend is None:
            return (*kernel_log_sums_grouped(points, groupings, scale), "numba")
        return (*kernel_log_sums_torch(points, groupings, scale, backend), f"torch:{backend}")

    def _entropy_from_sums(self, log_total: np.ndarray, d: int) -> float:
        n = log_total.shape[0]
        # Both bounds reduce to this form once the (d/2) log(1/4) of the lower is folded in.
        constant = 0.5 * d * (1.0 + math.log(2.0 * math.pi * self.noise_variance))
        return constant + math.log(n) - float(log_total.mean())

    def entropy(self, x: Variable) -> Estimate:
        groups = np.zeros(x.n_samples, dtype=np.int64)
        log_total, _, backend = self._log_sums(x.values, [groups])
        value = self._entropy_from_sums(log_total, x.n_features)
        _, standard_error = mean_with_standard_error(log_total)
        return Estimate(value, standard_error, details={"backend": backend})

    @staticmethod
    def _sides(x: Variable, y: Variable) -> tuple[Variable, Variable]:
        """(grouped, noisy): the rule of the module docstring for which argument is noisy."""
        return (y, x) if (y.discrete and not x.discrete) else (x, y)

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        # One rule for every case (module docstring: which argument is noisy), so this
        # method replaces the base class's per-case dispatch.
        grouped, noisy = self._sides(x, y)
        labels, _ = grouped.groups()
        log_total, (log_same,), backend = self._log_sums(noisy.values, [labels])
        return self._estimate_from_sums(x, y, log_total, log_same, backend)

    def mutual_information_pair(
        self, x: Variable, t: Variable, y: Variable
    ) -> tuple[Estimate, Estimate] | None:
        """I(x; t) and I(t; y) from one pass over the pairs when t is the noisy side of both.

        H(T+Z) (the sums over all pairs) is shared, and both arguments' same-group sums
        come from the same kernel terms; each value equals :meth:`mutual_information`'s.
        """
        grouped_x, noisy_xt = self._sides(x, t)
        grouped_y, noisy_ty = self._sides(t, y)
        if noisy_xt is not t or noisy_ty is not t:
            return None
        groupings = [grouped_x.groups()[0], grouped_y.groups()[0]]
        log_total, (same_x, same_y), backend = self._log_sums(t.values, groupings)
        return (
            self._estimate_from_sums(x, t, log_total, same_x, backend),
            self._estimate_from_sums(t, y, log_total, same_y, backend),
        )

    def _estimate_from_sums(
        self,
        x: Variable,
        y: Variable,
        log_total: np.ndarray,
        log_same: np.ndarray,
        backend: str,
    ) -> Estimate:
        """I(x; y) from the kernel sums of the noisy side (the formula of the module)."""
        grouped, noisy = self._sides(x, y)
        labels, n_groups = grouped.groups()
        log_p_group = log_group_probabilities(labels, n_groups)
        terms = -log_p_group - (log_total - log_same)
        value, standard_error = mean_with_standard_error(terms)
        entropy = self._entropy_from_sums(log_total, noisy.n_features)
        noisy_name = f"{noisy.name}+Z"
        # The self term is exactly 1, so 1 / Σ_j K_ij is each sample's share on itself.
        self_share = float(np.exp(-log_total).mean())
        ceiling = ceiling_warnings(value, n_groups, grouped.n_samples, grouped.name)
        saturation = self._saturation_warnings(
            self_share, log_total, value, -float(log_p_group.mean()), grouped.name, noisy.name
        )
        # For all-distinct inputs at log N the ceiling warning already says it all.
        warnings = self._asymmetry_warnings(x, y, n_groups) + (ceiling or saturation)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=warnings,
            saturated=bool(ceiling or saturation),
            components={
                f"H({noisy_name})": entropy,
                f"H({noisy_name}|{grouped.name})": entropy - value,
            },
            details={
                "backend": backend,
                "noisy_argument": noisy.name,
                "groups": n_groups,
                "self_mass_share": self_share,
            },
        )

    def _saturation_warnings(
        self,
        self_share: float,
        log_total: np.ndarray,
        value: float,
        group_entropy: float,
        grouped_name: str,
        noisy_name: str,
    ) -> tuple[EstimateWarning, ...]:
        """Warn when (nearly) all kernel mass sits on each sample itself."""
        if self_share <= _SATURATED_SELF_SHARE:
            return ()
        # Each term is at least -log p(group_i) - log Σ_j K_ij, hence this bound.
        gap = float(log_total.mean())
        return (
            EstimateWarning(
                "kernel_saturation",
                f"On average {self_share:.1%} of each sample's kernel mass sits on the sample "
                f"itself: at noise_variance={self.noise_variance:g} the samples of {noisy_name} "
                f"are told apart, so the estimate ({value:.4g} nats) approaches the entropy of "
                f"{grouped_name}, H({grouped_name}) = {group_entropy:.4g} nats (it can lie at "
                f"most {gap:.3g} nats below it), whatever the dependence. Use a larger "
                "noise_variance, comparable to the squared distances between neighbouring "
                "samples, to measure the dependence.",
            ),
        )

    def _asymmetry_warnings(
        self, x: Variable, y: Variable, n_groups: int
    ) -> tuple[EstimateWarning, ...]:
        """Warn that two continuous arguments are not measured as I(x; y)."""
        if x.discrete or y.discrete:
            return ()
        return (
            EstimateWarning(
                "not_symmetric",
                f"x and y are both continuous, but method 'kde' measured I(x; y+Z): the "
                f"information that y + Z, Z ~ N(0, σ² I) with σ² = {self.noise_variance:g}, "
                f"carries about which row of x it came from, taking x's {n_groups} distinct "
                "rows as labels of distinct inputs (as the information plane does). It is "
                "not I(x; y), depends on σ², and differs from kde's I(y; x). For I(x; y) of "
                "two continuous variables use method 'ksg', 'kl' or 'gaussian'; if x holds "
                "input labels, pass discrete_x=True.",
            ),
        )
