r"""Kraskov–Stögbauer–Grassberger (KSG) estimators, and Ross's for a discrete side.

Kraskov, Stögbauer & Grassberger (2004, "Estimating mutual information", Phys. Rev. E
69, 066138). Distances are max-norms: in the joint space ||(x, y)|| = max(||x||, ||y||),
with ||·|| the max-norm in each marginal too. For sample i let ε_i be the distance to its
k-th nearest other sample in the joint space.

``variant=1`` (their eq. 8) counts the other samples *strictly* closer than ε_i in each
marginal, n_x(i) = #{j ≠ i : ||x_j − x_i|| < ε_i} and likewise n_y(i):

.. math::

    \hat I_1 = ψ(k) + ψ(N) - \frac1N \sum_i \big[ψ(n_x(i) + 1) + ψ(n_y(i) + 1)\big].

``variant=2`` (their eq. 9) takes ε_x(i), ε_y(i), the largest x- and y-distances from
sample i to its k joint neighbours, and counts with "≤":
n_x(i) = #{j ≠ i : ||x_j − x_i|| ≤ ε_x(i)},

.. math::

    \hat I_2 = ψ(k) - \frac1k + ψ(N) - \frac1N \sum_i \big[ψ(n_x(i)) + ψ(n_y(i))\big].

Ties. The strict "<" of variant 1 excludes every sample at exactly ε_i, the k-th
neighbour itself included (it sits at ε_i in at least one marginal), whichever sample a
search happens to return at a tied distance; variant 1 therefore depends only on the
distances and is the same for every search engine. Variant 2 uses the k neighbours the
search returns; with several samples tied at the k-th distance (probability 0 for
continuous data) the brute-force engines keep the lowest indices, the kd-tree its own
order. A radius ε_i = 0 (k or more repeats of a joint row) is an error: mark a variable
with repeated values as discrete.

Against a discrete side Y (labels) the estimator of Ross (2014, "Mutual information
between discrete and continuous data sets", PLoS ONE 9(2): e87357) is used: d_i is the
max-norm distance from x_i to its k-th nearest other sample *of its own class* (which
has N_{y_i} samples), m_i = 1 + #{j ≠ i : ||x_j − x_i|| < d_i} counts the samples of all
classes within d_i (the k-th neighbour itself plus those strictly inside), and

.. math::

    \hat I = ψ(N) + ψ(k) - \frac1N \sum_i \big[ψ(N_{y_i}) + ψ(m_i)\big].

Each class needs more than k samples. Both sides discrete is an error (use
``method="binning"``).

Relation to scikit-learn: ``sklearn.feature_selection.mutual_info_regression`` computes
variant 1 with k = ``n_neighbors`` on each feature against y, after dividing both by
their standard deviation and adding noise of relative size 1e-10, and clips negative
values to 0. On the same (scaled) 1-D data this estimator gives the same value; it does
not clip, so that averages and permutation tests stay unbiased.

Preprocessing (``transform=``), off by default: ``"standardize"`` centres each column and
divides it by its standard deviation; ``"rank"`` replaces each column by its ranks / N
(the empirical copula; tied values share their average rank). MI is invariant under
invertible maps of each coordinate, but these estimators are not: they see the data
through max-norm balls, so putting the coordinates on one scale often lowers the bias.

The standard error is the CLT one over the per-sample terms in the sums above.
``algorithm`` picks the neighbour search ("auto": a quantile cell grid for a 2-D joint
space, with 1-D marginal counts by sorting and binary search; a kd-tree for the joint
search in 3 to 5 dimensions from N = 20,000 on; otherwise numba brute force pruned by
kd-leaf bounding boxes, for the joint search and the counts in each marginal of 2 or
more dimensions); ``device`` runs the brute force in torch instead, with the same
numbers. ``progress`` prints progress lines on stderr during a brute-force search (None:
on a terminal from 50,000 samples on). See :mod:`mi_toolkit.estimators._knn_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_choice
from mi_toolkit.estimators._device import resolve_backend
from mi_toolkit.estimators._knn_common import (
    check_enough_neighbours,
    check_k,
    check_positive_radii,
    check_search,
    knn_bias_note,
)
from mi_toolkit.estimators._knn_kernels.dispatch import (
    count_within,
    nearest_neighbors,
    neighbour_extent,
)
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    class_members,
    mean_with_standard_error,
    split_continuous_and_labels,
)

TRANSFORMS = ("none", "standardize", "rank")
VARIANTS = (1, 2)


def _transform(values: np.ndarray, how: str) -> np.ndarray:
    if how == "standardize":
        spread = values.std(axis=0)
        spread[spread == 0.0] = 1.0  # a constant column stays constant
        return np.ascontiguousarray((values - values.mean(axis=0)) / spread)
    if how == "rank":
        # Imported here: scipy.stats takes 0.7 s to import, and only this option needs it.
        from scipy.stats import rankdata

        return np.ascontiguousarray(rankdata(values, axis=0) / values.shape[0])
    return values


@register
@dataclass(frozen=True)
class KSGEstimator(Estimator):
    """KSG estimators 1 and 2, and Ross (2014) against labels; see the module docstring."""

    name = "ksg"
    min_samples = 2
    repeated_rows_ok = False

    k: int = 3
    variant: int = 1
    transform: str = "none"
    algorithm: str = "auto"
    device: str | None = None
    progress: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", check_k(self.k))
        if self.variant not in VARIANTS or isinstance(self.variant, bool):
            raise ValueError(f"variant must be 1 or 2 (KSG's two estimators); got {self.variant!r}")
        check_choice(self.transform, "transform", TRANSFORMS)
        check_search(self.algorithm, self.device, self.progress)

    def entropy(self, x: Variable) -> Estimate:
        raise ValueError(
            "method 'ksg' estimates mutual information only; for an entropy use "
            "estimate_entropy(x, method='kl'), the Kozachenko–Leonenko estimator KSG builds on"
        )

    # -- both continuous ------------------------------------------------------------------

    def _radii_and_counts(
        self, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """ε_i and the marginal counts n_x, n_y of this estimator's variant, and the engine.

        The one place that says what the two variants count: variant 1 the other samples
        strictly within ε_i (the joint k-th neighbour distance) in x and in y; variant 2
        those within (<=) the x- and y-extents of the k joint neighbours (ties at the k-th
        distance keep the lowest indices in the brute force).
        """
        device = resolve_backend(self.device)
        # Two 1-D variables: sort each once, for the grid and for the marginal counts.
        orders = (None, None)
        if device is None and x.shape[1] + y.shape[1] == 2:
            orders = tuple(np.argsort(v[:, 0], kind="stable") for v in (x, y))
        joint = np.ascontiguousarray(np.hstack((x, y)))
        dist, index, engine = nearest_neighbors(
            joint,
            self.k,
            "max",
            self.algorithm,
            device,
            orders if orders[0] is not None else None,
            self.progress,
            "KSG joint neighbours",
        )
        if self.variant == 1:
            radii, inclusive = (dist[:, -1], dist[:, -1]), False
        else:
            radii, inclusive = (neighbour_extent(x, index), neighbour_extent(y, index)), True
        # Each marginal is counted on its own (by brute force in a kd order of its own,
        # whose boxes are tighter than the joint order's; see _knn_kernels.brute).
        n_x, n_y = (
            count_within(
                v, r, inclusive, self.algorithm, device, o, self.progress, f"KSG counts in {name}"
            )
            for v, r, o, name in zip((x, y), radii, orders, "xy", strict=True)
        )
        # "(fused)": the name results have carried for the brute-force joint search with
        # brute-force marginal counts.
        return dist[:, -1], n_x, n_y, "brute (fused)" if engine == "brute" else engine

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        if x.discrete or y.discrete:
            continuous, labels = split_continuous_and_labels(x, y, self.name)
            return self._against_labels(continuous, labels)
        n = x.n_samples
        check_enough_neighbours(n, self.k, "(x, y)")
        x_values = _transform(x.values, self.transform)
        y_values = _transform(y.values, self.transform)
        radius, n_x, n_y, engine = self._radii_and_counts(x_values, y_values)
        check_positive_radii(radius, "(x, y)", self.name)
        if self.variant == 1:
            marginal = digamma(n_x + 1) + digamma(n_y + 1)
            constant = digamma(self.k) + digamma(n)
        else:
            marginal = digamma(n_x) + digamma(n_y)
            constant = digamma(self.k) - 1.0 / self.k + digamma(n)
        value, standard_error = mean_with_standard_error(constant - marginal)
        return Estimate(
            value=value,
            standard_error=standard_error,
            details={
                "algorithm": engine,
                "mean_count_x": float(n_x.mean()),
                "mean_count_y": float(n_y.mean()),
            },
            bias_note=knn_bias_note("KSG", x.n_features + y.n_features, n),
        )

    # -- continuous against labels (Ross 2014) -------------------------------------------

    def _against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        n = continuous.n_samples
        values = _transform(continuous.values, self.transform)
        device = resolve_backend(self.device)
        radius = np.empty(n)
        class_size = np.empty(n)
        engine = ""
        for members in class_members(
            labels,
            self.k + 1,
            f"the k={self.k} nearest neighbours are sought within each class",
            "pass a smaller k or merge rare classes",
        ):
            points = np.ascontiguousarray(values[members])
            dist, _, engine = nearest_neighbors(
                points, self.k, "max", self.algorithm, device, progress=self.progress
            )
            radius[members] = dist[:, -1]
            class_size[members] = members.shape[0]
        check_positive_radii(radius, f"{continuous.name} within a class", self.name)
        inside = count_within(values, radius, False, self.algorithm, device, progress=self.progress)
        terms = digamma(n) + digamma(self.k) - digamma(class_size) - digamma(inside + 1)
        value, standard_error = mean_with_standard_error(terms)
        return Estimate(
            value=value,
            standard_error=standard_error,
            details={"algorithm": engine, "classes": labels.groups()[1]},
            bias_note=knn_bias_note("KSG (Ross)", continuous.n_features, n),
        )
