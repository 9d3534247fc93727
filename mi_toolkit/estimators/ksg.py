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
order.

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
values to 0. With the default ``transform="standardize"`` this estimator gives the same
value on 1-D data (to about 1e-15); it does not clip, so that averages and permutation
tests stay unbiased.

Preprocessing (``transform=``). ``"standardize"`` (the default) centres each column and
divides it by its standard deviation, so the estimate does not depend on the units of
each column (as in scikit-learn and the Beyond-Normal benchmark); ``"rank"`` replaces each
column by its ranks / N (the empirical copula; tied values share their average rank);
``"none"`` keeps the raw geometry (one exact power-of-two rescaling guards float64 range).
MI is invariant under invertible maps of each coordinate, but these estimators are not:
they see the data through max-norm balls, so on raw data a column in other units
dominates the max-norm (multiplying a 1-D x by 1000 took the estimate from 0.83 nats to
0.15). Constant columns are dropped (listed in ``details``); a variable with only
constant columns has I = 0 exactly.

Repeated rows. With ``ties="refuse"`` (the default) any repeat of a joint row (of a row
within its class, against labels) is a neighbour at distance 0, and it is refused before
the search, whatever the neighbour order it would fall on: rows repeated up to k times
used to bias KSG silently (1.58 nats against 0.83 with every row doubled).

**Mixed data** (``ties="mixed"``; Gao, Kannan, Oh & Viswanath 2017, "Estimating mutual
information for discrete-continuous mixtures", NeurIPS 30). For data whose distribution
has atoms (ReLU zeros, quantised values, a discrete column next to continuous ones)
repeats are real. Gao et al.'s rule: where the k-th neighbour of sample i in the joint
space is at distance ρ_i = 0, k is replaced by the number of samples tied with it,

.. math::

    \tilde k_i = \#\{j \ne i : (x_j, y_j) = (x_i, y_i)\},
    \qquad n_x(i) = \#\{j \ne i : x_j = x_i\}, \quad n_y(i) = \#\{j \ne i : y_j = y_i\}

(the marginal counts within "≤ 0"), and elsewhere \tilde k_i = k with KSG's counts:

.. math::

    \hat I = ψ(N) + \frac1N \sum_i \big[ψ(\tilde k_i) - ψ(n_x(i) + 1) - ψ(n_y(i) + 1)\big].

At the atoms this is a plug-in estimate (ψ(N_{xy} − 1) + ψ(N) − ψ(N_x) − ψ(N_y) for a
point mass holding N_{xy} samples whose marginals hold N_x and N_y), and on data without
repeats it is exactly variant 1. Two departures from the paper's eq. (5), both
measured: ψ(N) and ψ(n + 1) where the paper has log N and log(n + 1), and, where ρ_i > 0,
KSG's strict counts (< ρ_i) where the paper counts "≤ ρ_i". The paper's estimator is
consistent as k grows with N; at a fixed small k its "≤" counts the k-th neighbour a
second time in its own marginal (the ψ(k) term already counts it) and its logs lose
1/(2n) per count. With k = 3 at N = 4,000, on Y = B(X + 0.5 Z) (B Bernoulli(0.4), so
60% of y are exact zeros next to continuous x; I = 0.322 nats) the paper's form gave
0.077 and 0.086 on two draws, this one 0.348 and 0.352; on a 1+1-D Gaussian pair
(I = 0.223) 0.187 and 0.198 against 0.213 and 0.225; on purely discrete data (I = log 2)
both 0.69.

Bias at atoms. An atom inside the range of the continuous part (X = B U, Y = B (U +
0.5 Z): the point (0, 0) holds 60% of the samples, I = H(B) + 0.4 · ½ log 5 = 0.995
nats) pulls the estimate down: a continuous sample within ρ_i of the atom's coordinate
counts the whole atom in that marginal. Measured (k = 3): 0.85–0.89 at N = 4,000 and
0.92–0.93 at N = 16,000; the deficit shrinks roughly as N^(−1/2) log N. Against labels
the same rule treats the label as a coordinate at distance 0 within a class and ∞ across
(Ross's estimator, below, with repeats allowed): ρ_i is the k-th neighbour distance
within the class, and where it is 0, k̃_i counts the repeats of x_i within the class
and m_i − 1 those in all classes. Only ``variant=1`` has a mixed form. The standard
error uses the inflation factors measured for continuous data (below). The searches and
counts are those of the default path, plus one grouping of identical rows (O(N)) where
some ρ_i = 0; the default (``ties="refuse"``) is unchanged.

The standard error is the CLT one over the per-sample terms in the sums above, corrected
by ``se_method`` (:mod:`mi_toolkit.estimators._knn_error`): neighbouring terms share
distances and counts, so the CLT error alone is about 20% too small. The default
``"scaled"`` multiplies it by the measured ratio of spread over seeds to mean CLT error:
1.28 between continuous variables, 1.1 against labels. Basis (60 seeds, N = 2,000, k = 3
unless said; the ratio is known to ±9%): Gaussian pairs with I = 0.9 nat in 1+1-D 1.19,
2+2-D 1.23, 5+5-D 1.33, 2+2-D with k = 5 at N = 1,000 1.35; 2-D against three Gaussian
classes (Ross) 1.09. So the scaled error is within about ±10% of the spread on these
data and may miss by more on others; ``se_method="split"`` measures the inflation on the
data themselves from estimates on disjoint blocks (10 to 30 times the cost), ``"clt"``
gives the uncorrected error.
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
    PreparedBlock,
    check_distinct_rows,
    check_enough_neighbours,
    check_k,
    check_positive_radii,
    check_search,
    knn_bias_note,
    knn_estimate_warnings,
    prepare_block,
    prepare_pair,
    record_dropped,
    repeats_at_atoms,
)
from mi_toolkit.estimators._knn_error import check_se_method, knn_mean_and_error
from mi_toolkit.estimators._knn_kernels.dispatch import (
    count_within,
    nearest_neighbors,
    neighbour_extent,
)
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    class_members,
)

TRANSFORMS = ("none", "standardize", "rank", "copula")
VARIANTS = (1, 2)
TIES = ("refuse", "mixed")


@register
@dataclass(frozen=True)
class KSGEstimator(Estimator):
    """KSG estimators 1 and 2, and Ross (2014) against labels; see the module docstring.

    Parameters
    ----------
    k : int
        Neighbour order.
    variant : {1, 2}
        KSG estimator 1 (strict counts within ε_i) or 2 (counts within the neighbours'
        x- and y-extents).
    transform : {"standardize", "rank", "copula", "none"}
        Preprocessing of each column before the search.
    ties : {"refuse", "mixed"}
        Repeated rows are an error ("refuse"), or counted by the rule of Gao et al.
        (2017) for discrete–continuous mixtures ("mixed"; module docstring).
    algorithm : {"auto", "grid", "tree", "brute"}
        The neighbour search.
    device : str or None
        A torch device to run the brute force on instead, with the same numbers.
    progress : bool or None
        Progress lines on stderr during a brute-force search; None: on a terminal from
        50,000 samples on.
    se_method : {"scaled", "split", "clt"}
        How the standard error corrects the CLT one
        (:mod:`mi_toolkit.estimators._knn_error`).
    """

    name = "ksg"
    min_samples = 2
    repeated_rows_ok = False

    k: int = 3
    variant: int = 1
    transform: str = "standardize"
    ties: str = "refuse"
    algorithm: str = "auto"
    device: str | None = None
    progress: bool | None = None
    se_method: str = "scaled"

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", check_k(self.k))
        check_se_method(self.se_method)
        if self.variant not in VARIANTS or isinstance(self.variant, bool):
            raise ValueError(f"variant must be 1 or 2 (KSG's two estimators); got {self.variant!r}")
        check_choice(self.transform, "transform", TRANSFORMS)
        check_choice(self.ties, "ties", TIES)
        if self.ties == "mixed" and self.variant != 1:
            raise ValueError(
                "ties='mixed' (Gao et al. 2017) has one form, built on KSG's variant 1; "
                f"pass variant=1 with it, or ties='refuse'; got variant={self.variant!r}"
            )
        check_search(self.algorithm, self.device, self.progress)

    def entropy(self, x: Variable) -> Estimate:
        raise ValueError(
            "method 'ksg' estimates mutual information only; for an entropy use "
            "estimate_entropy(x, method='kl'), the Kozachenko–Leonenko estimator KSG builds on"
        )

    # -- both continuous ------------------------------------------------------------------

    def _radii_and_counts(
        self, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
        """ε_i, the marginal counts n_x, n_y of this estimator's variant, the engine, and
        the indices of each sample's k joint neighbours (``(n, k)``).

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
        return dist[:, -1], n_x, n_y, engine, index

    def _ksg_terms(
        self, n: int, n_x: np.ndarray, n_y: np.ndarray, k: float | np.ndarray
    ) -> np.ndarray:
        """The per-sample terms of KSG's variant 1 or 2 (module docstring).

        ``k`` is the neighbour order, or per sample k̃_i of the mixed rule (variant 1).
        """
        if self.variant == 1:
            marginal = digamma(n_x + 1) + digamma(n_y + 1)
            constant = digamma(k) + digamma(n)
        else:
            marginal = digamma(n_x) + digamma(n_y)
            constant = digamma(k) - 1.0 / k + digamma(n)
        return constant - marginal

    def _prepare_pair(self, x: Variable, y: Variable) -> tuple[PreparedBlock, PreparedBlock, dict]:
        """Both blocks after dropping constant columns and the transform (see _knn_common)."""
        info: dict = {}
        blocks = prepare_pair(x.values, y.values, self.transform)
        for variable, block in zip((x, y), blocks, strict=True):
            record_dropped(info, variable.name, block)
        return (*blocks, info)

    def _prepared_or_constant(
        self, x: Variable, y: Variable
    ) -> tuple[np.ndarray, np.ndarray, dict, Estimate | None]:
        """Both sides' columns after preparation, the details so far, and the estimate 0
        where a side has only constant columns (then I = 0 exactly), else None."""
        x_block, y_block, info = self._prepare_pair(x, y)
        constant = None
        if not (x_block.values.shape[1] and y_block.values.shape[1]):
            info["constant_variable"] = x.name if not x_block.values.shape[1] else y.name
            constant = Estimate(value=0.0, standard_error=0.0, details=info)
        return x_block.values, y_block.values, info, constant

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        n = x.n_samples
        check_enough_neighbours(n, self.k, "(x, y)")
        x_values, y_values, info, constant = self._prepared_or_constant(x, y)
        if constant is not None:
            return constant
        joint = np.hstack((x_values, y_values))
        if self.ties == "refuse":
            check_distinct_rows(joint, "(x, y)", self.name)
        radius, n_x, n_y, engine, _ = self._radii_and_counts(x_values, y_values)
        k_used: float | np.ndarray = self.k
        if self.ties == "mixed":
            k_used = repeats_at_atoms(joint, radius, self.k)
            n_x = repeats_at_atoms(x_values, radius, n_x)
            n_y = repeats_at_atoms(y_values, radius, n_y)
            info["tied_samples"] = int(np.count_nonzero(radius == 0.0))
        else:
            check_positive_radii(radius, "(x, y)", self.name)
        terms = self._ksg_terms(n, n_x, n_y, k_used)
        value, standard_error = knn_mean_and_error(self, terms, x, y)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=knn_estimate_warnings(value, standard_error, "ksg"),
            details={
                **info,
                "algorithm": engine,
                "mean_count_x": float(n_x.mean()),
                "mean_count_y": float(n_y.mean()),
            },
            bias_note=knn_bias_note("KSG", x.n_features + y.n_features, n),
        )

    # -- continuous against labels (Ross 2014) -------------------------------------------

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        n = continuous.n_samples
        classes = class_members(
            labels,
            self.k + 1,
            f"the k={self.k} nearest neighbours are sought within each class",
            "pass a smaller k or merge rare classes",
        )
        block = prepare_block(continuous.values, self.transform)
        info: dict = {"classes": len(classes)}
        record_dropped(info, continuous.name, block)
        if not block.values.shape[1]:
            info["constant_variable"] = continuous.name
            return Estimate(value=0.0, standard_error=0.0, details=info)
        values = block.values
        # Only repeats within a class put a neighbour at distance 0 (the search is per class).
        codes = labels.groups()[0].astype(np.float64)
        rows_in_class = np.column_stack((values, codes))
        if self.ties == "refuse":
            check_distinct_rows(rows_in_class, f"{continuous.name} within a class", self.name)
        device = resolve_backend(self.device)
        radius = np.empty(n)
        class_size = np.empty(n)
        engine = ""
        for members in classes:
            points = np.ascontiguousarray(values[members])
            dist, _, engine = nearest_neighbors(
                points, self.k, "max", self.algorithm, device, progress=self.progress
            )
            radius[members] = dist[:, -1]
            class_size[members] = members.shape[0]
        inside = count_within(values, radius, False, self.algorithm, device, progress=self.progress)
        k_used: float | np.ndarray = self.k
        if self.ties == "mixed":
            # The mixed rule with the label at distance 0 within a class and ∞ across.
            k_used = repeats_at_atoms(rows_in_class, radius, self.k)
            inside = repeats_at_atoms(values, radius, inside)
            info["tied_samples"] = int(np.count_nonzero(radius == 0.0))
        else:
            check_positive_radii(radius, f"{continuous.name} within a class", self.name)
        terms = digamma(n) + digamma(k_used) - digamma(class_size) - digamma(inside + 1)
        value, standard_error = knn_mean_and_error(self, terms, continuous, labels)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=knn_estimate_warnings(value, standard_error, "ksg"),
            details={**info, "algorithm": engine},
            bias_note=knn_bias_note("KSG (Ross)", continuous.n_features, n),
        )
