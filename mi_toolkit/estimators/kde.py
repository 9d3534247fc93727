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
from mi_toolkit.estimators._kde_kernels import kernel_log_sums, kernel_log_sums_torch
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    ceiling_warnings,
    mean_with_standard_error,
)

BOUNDS = ("upper", "lower")


@register
@dataclass(frozen=True)
class KDEEstimator(Estimator):
    """Kolchinsky-Tracey pairwise-distance bounds; the module docstring gives the formulas."""

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

    def _log_sums(self, points: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, ...]:
        # The lower bound is the upper one at 4σ², hence 1/(8σ²) instead of 1/(2σ²).
        width = 2.0 if self.bound == "upper" else 8.0
        scale = 1.0 / (width * self.noise_variance)
        backend = resolve_backend(self.device)
        if backend is None:
            return (*kernel_log_sums(points, groups, scale), "numba")
        return (*kernel_log_sums_torch(points, groups, scale, backend), f"torch:{backend}")

    def _entropy_from_sums(self, log_total: np.ndarray, d: int) -> float:
        n = log_total.shape[0]
        # Both bounds reduce to this form once the (d/2) log(1/4) of the lower is folded in.
        constant = 0.5 * d * (1.0 + math.log(2.0 * math.pi * self.noise_variance))
        return constant + math.log(n) - float(log_total.mean())

    def entropy(self, x: Variable) -> Estimate:
        groups = np.zeros(x.n_samples, dtype=np.int64)
        log_total, _, backend = self._log_sums(x.values, groups)
        value = self._entropy_from_sums(log_total, x.n_features)
        _, standard_error = mean_with_standard_error(log_total)
        return Estimate(value, standard_error, details={"backend": backend})

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        # One rule for every case (module docstring: which argument is noisy), so this
        # method replaces the base class's per-case dispatch.
        grouped, noisy = (y, x) if (y.discrete and not x.discrete) else (x, y)
        labels, n_groups = grouped.groups()
        log_total, log_same, backend = self._log_sums(noisy.values, labels)
        terms = -log_group_probabilities(labels, n_groups) - (log_total - log_same)
        value, standard_error = mean_with_standard_error(terms)
        entropy = self._entropy_from_sums(log_total, noisy.n_features)
        noisy_name = f"{noisy.name}+Z"
        ceiling = ceiling_warnings(value, n_groups, grouped.n_samples, grouped.name)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=ceiling,
            saturated=bool(ceiling),
            components={
                f"H({noisy_name})": entropy,
                f"H({noisy_name}|{grouped.name})": entropy - value,
            },
            details={"backend": backend, "noisy_argument": noisy.name, "groups": n_groups},
        )
