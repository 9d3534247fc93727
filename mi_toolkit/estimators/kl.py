r"""Kozachenko–Leonenko (KL) nearest-neighbour entropies, and MI from them.

The Kozachenko & Leonenko (1987) estimate of the differential entropy of N samples
z_i in R^d, with ρ_{k,i} the Euclidean distance from z_i to its k-th nearest other
sample and V_d = π^{d/2} / Γ(d/2 + 1) the volume of the unit ball (Kraskov et al. 2004,
eq. 20), is

.. math::

    \hat H_k(Z) = \frac1N \sum_i h_i, \qquad
    h_i = ψ(N) - ψ(k) + \log V_d + d \log ρ_{k,i},

and the mutual information is assembled from three such entropies,

.. math::

    \hat I(X;Y) = \hat H(X) + \hat H(Y) - \hat H(X,Y)
                = \frac1N \sum_i \big(h^X_i + h^Y_i - h^{XY}_i\big).

Against a discrete side (labels) Y, I(T;Y) = H(T) − Σ_y p(y) H(T | Y = y), each class
entropy being the KL estimate over that class's N_y samples (ψ(N_y) in place of ψ(N)):
per sample, h^T_i − h^{T|y_i}_i. Each class needs more than k samples. Both sides discrete
is an error (use ``method="binning"``).

The standard error starts from the CLT one over the per-sample terms of the combined MI
above (h^X_i + h^Y_i − h^{XY}_i), not a sum of three entropy errors: the three are
strongly correlated and their errors largely cancel. Neighbouring terms share distances,
so that CLT error is too small, and ``se_method`` corrects it
(:mod:`mi_toolkit.estimators._knn_error`). The default ``"scaled"`` multiplies it by the
measured ratio of spread over seeds to mean CLT error: 1.30 for MI between continuous
variables, 1.1 against labels and for entropies. Basis (60 seeds, N = 2,000, k = 3
unless said; the ratio is known to ±9%): Gaussian pairs with I = 0.9 nat in 1+1-D 1.22,
2+2-D 1.30, 5+5-D 1.37, 2+2-D with k = 5 at N = 1,000 1.32; 2-D against three Gaussian
classes 1.10; entropies of N(0, I) in 1, 2, 4 D 1.04–1.20. The ratio falls somewhat with
N (1.23 at N = 500 and 1,000 in 2+2 and 5+5 D), so the scaled error is within about
±10% of the spread on these data and may miss by more on others; ``se_method="split"``
measures the inflation on the data themselves from estimates on disjoint blocks (10 to 30
times the cost), ``"clt"`` gives the uncorrected error.

**Weighted KL** (``weighted=True``; Berrett, Samworth & Yuan 2019, "Efficient multivariate
entropy estimation via k-nearest neighbour distances", Ann. Statist. 47(1)). The estimate
averages the estimators for j = 1..k with weights w_j,

.. math::

    h_i = \sum_{j=1}^{k} w_j \big(ψ(N) - ψ(j) + \log V_d + d \log ρ_{j,i}\big),

chosen to cancel the leading bias terms, which are proportional to
Γ(j + 2l/d) / Γ(j) for l = 1, …, ⌊d/4⌋. The weights satisfy

.. math::

    \sum_j w_j = 1, \qquad \sum_j w_j \frac{Γ(j + 2l/d)}{Γ(j)} = 0 \quad (l = 1..⌊d/4⌋),

and among all such w (supported on j = 1..k) we take the one of least Euclidean norm,
which keeps the variance inflation Σ w_j² smallest (:func:`kl_weights`). The paper writes
log(N − 1) where we write ψ(N); the two differ by less than 1/N.

Which (d, k) have weights: the system has 1 + ⌊d/4⌋ equations in k unknowns, and the
rows are linearly independent, so weights exist exactly when k ≥ 1 + ⌊d/4⌋ (k ≥ 1 for
d ≤ 3, where there is no bias term to cancel and the weights are 1/k each; k ≥ 2 for
d = 4..7; k ≥ 5 for d = 16..19; none with k = 5 from d = 20 on). They grow fast with d:
with k = 5 the largest |w_j| is 1.3 at d = 4, 9.9 at d = 8, 238 at d = 12 and about
11,500 at d = 16. With ``k=None`` each entropy (X, Y and the joint) gets its own k, the
smallest k ≥ 5 (and ≥ 1 + ⌊d/4⌋) whose weights stay within ±10, up to k = 64 and N − 1;
where none does (d ≥ 12 needs k above 64 for ±10), the largest k allowed is taken and a
warning gives the weight size. Large weights inflate the variance by about Σ w_j².

**Whitening** (``whiten=True``; Butakov et al. 2024). Each block (X, Y, the joint, and
each class for labels) is centred and whitened by its own sample covariance Σ = L Lᵀ,
z = L⁻¹(v − v̄), and ½ log det Σ = Σ log L_jj is added back to its entropy, which is exact
for the linear map. The kNN balls are then round in the data's own geometry; on a 2+2-D
Gaussian with I = 10 nats at N = 5000 the 1-NN estimate moves from 8.1 nats to 10.0.
A singular covariance (collinear columns, a class with fewer than d + 1 samples) is an
error with ``whiten=True``.

Preprocessing (``transform=``). ``"standardize"`` (the default) divides each column by its
standard deviation before the search and adds Σ_j log s_j back to each entropy, which is
exact for the linear map; the MI is then the same whatever the units of each column (on
raw data, multiplying x by 1000 took a 0.85-nat estimate to −6.05). ``"none"`` keeps the
raw geometry, rescaled by one exact power of two (and the entropy corrected by d log 2 per
power) so that squared distances neither underflow near 1e-160 nor overflow near 1e300.
``"copula"`` replaces each column by its Gaussian-copula normal scores Φ⁻¹(r / (N + 1))
(average ranks r; Ince et al. 2017): the MI of the population is unchanged, heavy tails
and skewed marginals no longer stretch the kNN balls, and the entropies are those of the
transformed data, so it serves MI only (``estimate_entropy`` refuses it). The scores of
one column are a lattice (the N(0, 1) quantiles), on which a KL entropy is biased up by
0.46 nats at k = 3 for lack of the spread of random samples; a one-column side therefore
gets its exact terms −log φ(s_i) (the scores' density is φ by construction). Blocks of
two or more columns keep a smaller share of the lattice bias: on 2+2-D Gaussian pairs
(I = 0.446, N = 3,000) 0.52 against 0.47 with "standardize", on 3+3-D 0.72 against 0.70
(I = 0.669). Against labels the within-class scores are part of a lattice, with no exact
terms, so ``"copula"`` is refused there (use ``ksg``, whose marginal counts are exact on
ranks, or ``gcmi``).

Warnings where the estimate cannot be right: an MI estimate below 0 by more than 3
standard errors (kind ``"negative_estimate"``; kl gave −3.8 nats on the 50+50-D dense
Gaussian of the Beyond-Normal suite at N = 5,000), and an entropy in more than 10
dimensions whose k-th neighbour balls span more than 0.6 of the data's spread, (k/N)^(1/d)
> 0.6, where the measured bias exceeds a third of a nat (kind ``"knn_entropy_bias"``;
:func:`high_dimension_entropy_warnings` lists the measurements).

Degenerate input, refused or handled before any search rather than answered wrongly:

- a constant column carries no information: it is dropped from the MI (``details``
  lists it; a variable with only constant columns has I = 0 exactly), while
  :func:`~mi_toolkit.estimate_entropy` refuses it, its differential entropy being −∞;
- linearly dependent (collinear) columns, within a variable, across x and y, or within a
  class, put the samples on a lower-dimensional plane where the entropy is −∞: an error
  that names the columns;
- repeated rows, repeated any number of times, are neighbours at distance 0 and log 0:
  an error that says to mark such a variable discrete. Only the k-th distance used to be
  checked, so rows repeated up to k times went through (0.131 nats against 0.853 with
  every row of a 2-D sample doubled).

``algorithm`` picks the neighbour search ("auto": a
quantile cell grid in 2-D, a kd-tree in 1-D and in 3 to 5 dimensions from N = 20,000
on, otherwise numba brute force pruned by kd-leaf bounding boxes), ``device`` runs the
brute force in torch instead, with the same numbers (see :mod:`mi_toolkit.estimators._knn_kernels`).
``k=None`` means k = 3 for the unweighted estimate. ``progress`` prints progress lines on
stderr during a brute-force search (None: on a terminal from 50,000 samples on).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_choice
from mi_toolkit.estimators._device import resolve_backend
from mi_toolkit.estimators._knn_common import (
    PreparedBlock,
    check_distinct_rows,
    check_enough_neighbours,
    check_k,
    check_not_degenerate,
    check_positive_radii,
    check_search,
    knn_bias_note,
    knn_estimate_warnings,
    prepare_block,
    prepare_pair,
    record_dropped,
)
from mi_toolkit.estimators._knn_error import check_se_method, knn_mean_and_error
from mi_toolkit.estimators._knn_kernels.brute import knn_fused_euclidean
from mi_toolkit.estimators._knn_kernels.dispatch import nearest_neighbors, resolve_algorithm
from mi_toolkit.estimators.base import (
    Estimate,
    Estimator,
    class_members,
)
from mi_toolkit.result import EstimateWarning

_DEFAULT_K = 3
#: "rank" is not offered: it preserves MI but not entropies, which KL estimates.
TRANSFORMS = ("standardize", "none", "copula")
# Default k for weighted KL: the smallest k from _MIN_WEIGHTED_K whose weights stay within
# ±_MAX_WEIGHT, searched up to _MAX_WEIGHTED_K.
_MIN_WEIGHTED_K = 5
_MAX_WEIGHTED_K = 64
_MAX_WEIGHT = 10.0


def unit_ball_log_volume(d: int) -> float:
    """log V_d, V_d = π^{d/2} / Γ(d/2 + 1), the volume of the Euclidean unit ball in R^d."""
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)


def weight_constraints(d: int, k: int) -> np.ndarray:
    """The (1 + ⌊d/4⌋, k) matrix A with A w = e_1 the weighted-KL constraints.

    Row 0 is all ones (Σ w_j = 1); row l is Γ(j + 2l/d) / Γ(j) for j = 1..k.
    """
    j = np.arange(1, k + 1, dtype=np.float64)
    rows = [np.ones(k)] + [
        np.exp(gammaln(j + 2.0 * order / d) - gammaln(j)) for order in range(1, d // 4 + 1)
    ]
    return np.array(rows)


@functools.lru_cache(maxsize=256)
def _cached_weights(d: int, k: int) -> tuple[float, ...]:
    constraints = weight_constraints(d, k)
    target = np.zeros(constraints.shape[0])
    target[0] = 1.0
    # lstsq returns the minimum-norm solution of an underdetermined full-rank system.
    weights = np.linalg.lstsq(constraints, target, rcond=None)[0]
    return tuple(float(w) for w in weights)


def kl_weights(d: int, k: int) -> np.ndarray:
    """Minimum-norm weights of the weighted KL estimator (Berrett, Samworth & Yuan 2019).

    Parameters
    ----------
    d : int
        Dimension of the variable whose entropy is estimated.
    k : int
        Largest neighbour order; the weights are w_1..w_k.

    Returns
    -------
    numpy.ndarray
        w of shape (k,) with Σ w_j = 1 and Σ_j w_j Γ(j + 2l/d)/Γ(j) = 0 for l = 1..⌊d/4⌋,
        of least Euclidean norm.

    Raises
    ------
    ValueError
        When k < 1 + ⌊d/4⌋: then there are more constraints than weights and no solution.
    """
    needed = 1 + d // 4
    if k < needed:
        raise ValueError(
            f"weighted KL in d={d} dimensions has {needed} constraints, so it needs k >= "
            f"{needed} (got k={k}); pass a larger k, or k=None to choose it from d"
        )
    return np.array(_cached_weights(d, k))


def default_weighted_k(d: int, n_samples: int) -> int:
    """The k used for weighted KL in d dimensions when ``k=None`` (module docstring)."""
    largest = min(_MAX_WEIGHTED_K, n_samples - 1)
    smallest = max(_MIN_WEIGHTED_K, 1 + d // 4)
    if largest < smallest:
        return max(largest, 1 + d // 4)  # too few samples: the caller reports it
    for k in range(smallest, largest + 1):
        if np.abs(kl_weights(d, k)).max() <= _MAX_WEIGHT:
            return k
    return largest  # the weights shrink as k grows, so this is the best on offer


def _whiten(values: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """Whitened values and ½ log det Σ of their sample covariance."""
    centred = values - values.mean(axis=0)
    covariance = centred.T @ centred / values.shape[0]
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        factor = None
    if factor is None or np.diag(factor).min() <= 1e-12 * np.sqrt(np.diag(covariance).max()):
        raise ValueError(
            f"whiten=True needs a non-singular covariance of {name}, but it is singular "
            "(constant or collinear columns, or no more samples than dimensions); remove "
            "those columns or pass whiten=False"
        ) from None
    whitened = np.linalg.solve(factor, centred.T).T
    return np.ascontiguousarray(whitened), float(np.log(np.diag(factor)).sum())


# Where a KL entropy warns that its bias dominates (see high_dimension_entropy_warnings).
_BIAS_MIN_DIM = 11
_BIAS_RELATIVE_RADIUS = 0.6


def high_dimension_entropy_warnings(d: int, n: int, k: int) -> tuple[EstimateWarning, ...]:
    """Warn where the k-NN bias of a KL entropy dominates: d > 10 and (k/N)^(1/d) > 0.6.

    (k/N)^(1/d) is the typical k-th neighbour distance relative to the spread of the
    data (the ball holding a fraction k/N of the samples). The KL estimate assumes the
    density constant over that ball; measured on N(0, I_d) with k = 3 (bias of the
    entropy): d = 12 +0.43 nats at N = 500 (ratio 0.65) but +0.10 at N = 2,000 (0.58);
    d = 16 +0.96, +0.65, +0.37 at N = 500, 2,000, 8,000 (0.73, 0.67, 0.61); d = 24 +2.2
    to +1.2 and d = 32 +3.4 to +2.3 over the same N (all above 0.7). In 8 or fewer
    dimensions it stayed within 0.1 nats from N = 500 on.
    """
    ratio = (k / n) ** (1.0 / d)
    if d < _BIAS_MIN_DIM or ratio <= _BIAS_RELATIVE_RADIUS:
        return ()
    needed = k * _BIAS_RELATIVE_RADIUS ** (-d)
    return (
        EstimateWarning(
            "knn_entropy_bias",
            f"A Kozachenko–Leonenko entropy in {d} dimensions from {n} samples: the k = {k} "
            f"nearest-neighbour balls span about (k/N)^(1/d) = {ratio:.2f} of the data's "
            "spread, where the estimator's bias dominates (on N(0, I) in 16 dimensions it "
            "was +0.65 nats at N = 2,000 and +0.37 at 8,000; in 24, +1.2 at 8,000). Trust "
            f"it only with about {needed:.3g} samples or more, reduce the dimension first, "
            "or use method 'gaussian' if the data are close to Gaussian.",
        ),
    )


def _exact_for_scores(terms: np.ndarray, values: np.ndarray, transform: str) -> np.ndarray:
    """−log φ(s_i) in place of the kNN terms of a one-column block of normal scores.

    The normal scores of one column are the N(0, 1) quantiles Φ⁻¹(r / (N + 1)): a
    deterministic, evenly filled lattice, whose k-th neighbour distances lack the spread
    of a random sample, and on which the Kozachenko–Leonenko entropy comes out high
    (+0.46 nats at k = 3, N = 3,000). Their density is φ by construction, so the exact
    per-sample term is used instead.
    """
    if transform != "copula" or values.shape[1] != 1:
        return terms
    return 0.5 * math.log(2.0 * math.pi) + 0.5 * values[:, 0] ** 2


def _column_names(name: str, columns: np.ndarray) -> list[str]:
    return [f"{name}[{j}]" for j in columns]


def _constant_side_estimate(constant: Variable, info: dict) -> Estimate:
    """I = 0 exactly: a variable whose every column is constant is independent of all."""
    info["constant_variable"] = constant.name
    return Estimate(value=0.0, standard_error=0.0, details=info)


@register
@dataclass(frozen=True)
class KLEstimator(Estimator):
    """Kozachenko–Leonenko kNN entropies (optionally weighted and whitened); see the module.

    Parameters
    ----------
    k : int or None
        Neighbour order; None means 3 unweighted, and its own k per entropy weighted.
    weighted : bool
        Use the weighted estimator of Berrett, Samworth & Yuan (2019).
    whiten : bool
        Whiten each block by its own sample covariance before the search.
    transform : {"standardize", "none", "copula"}
        Preprocessing of each column before the search.
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

    name = "kl"
    min_samples = 2
    repeated_rows_ok = False

    k: int | None = None
    weighted: bool = False
    whiten: bool = False
    transform: str = "standardize"
    algorithm: str = "auto"
    device: str | None = None
    progress: bool | None = None
    se_method: str = "scaled"

    def __post_init__(self) -> None:
        check_se_method(self.se_method)
        if self.k is None:
            if not self.weighted:
                object.__setattr__(self, "k", _DEFAULT_K)
        else:
            object.__setattr__(self, "k", check_k(self.k))
        for flag in ("weighted", "whiten"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(f"{flag} must be True or False; got {getattr(self, flag)!r}")
        check_choice(self.transform, "transform", TRANSFORMS)
        check_search(self.algorithm, self.device, self.progress)

    # -- one entropy ----------------------------------------------------------------------

    def _weights(self, d: int, n: int, where: str) -> np.ndarray:
        if not self.weighted:
            check_enough_neighbours(n, self.k, where)
            weights = np.zeros(self.k)
            weights[-1] = 1.0
            return weights
        k = default_weighted_k(d, n) if self.k is None else self.k
        check_enough_neighbours(n, k, where)
        return kl_weights(d, k)

    def _entropy_terms(self, values: np.ndarray, where: str, info: dict) -> np.ndarray:
        """Per-sample terms h_i of the KL entropy of ``values``; facts go into ``info``."""
        n, d = values.shape
        k = self._weights(d, n, where).shape[0]
        points, half_log_det = _whiten(values, where) if self.whiten else (values, 0.0)
        dist, _, info["algorithm"] = nearest_neighbors(
            points,
            k,
            "euclidean",
            self.algorithm,
            resolve_backend(self.device),
            progress=self.progress,
        )
        return self._terms_from_distances(dist, d, where, info, half_log_det)

    def _terms_from_distances(
        self, dist: np.ndarray, d: int, where: str, info: dict, half_log_det: float = 0.0
    ) -> np.ndarray:
        """h_i from the (n, k) neighbour distances of a block in d dimensions."""
        n = dist.shape[0]
        weights = self._weights(d, n, where)
        used = weights != 0.0
        check_positive_radii(dist[:, used].min(axis=1), where, self.name)
        orders = np.arange(1, weights.shape[0] + 1)[used]
        log_dist = np.log(dist[:, used]) @ weights[used]
        constant = (
            digamma(n)
            - float(digamma(orders) @ weights[used])
            + unit_ball_log_volume(d)
            + half_log_det
        )
        info.setdefault("k", {})[where] = int(weights.shape[0])
        if self.weighted:
            info.setdefault("max_abs_weight", {})[where] = float(np.abs(weights).max())
        return constant + d * log_dist

    def _fused_terms(
        self, x: np.ndarray, y: np.ndarray, names: tuple[str, str], info: dict
    ) -> tuple[np.ndarray, ...] | None:
        """h^x, h^y, h^xy from one brute-force pass, where that is the search to use.

        Without whitening the joint squared distance is the sum of the marginal ones, so
        one pass over all pairs finds the neighbours in x, in y and jointly: half the
        arithmetic of three searches.
        """
        n = x.shape[0]
        dims = (x.shape[1], y.shape[1], x.shape[1] + y.shape[1])
        if self.whiten or self.device is not None:
            return None
        if resolve_algorithm(self.algorithm, dims[2], n) != "brute":
            return None
        wheres = (*names, "(x, y)")
        ks = [self._weights(d, n, where).shape[0] for d, where in zip(dims, wheres, strict=True)]
        dists = knn_fused_euclidean(x, y, *ks, progress=self.progress)
        info["algorithm"] = "brute (fused)"
        return tuple(
            self._terms_from_distances(dist, d, where, info)
            for dist, d, where in zip(dists, dims, wheres, strict=True)
        )

    def _checked(self, variable: Variable, block: PreparedBlock, info: dict) -> PreparedBlock:
        """The variable's block after dropping constant columns and the transform, checked.

        The checks: no repeated rows and no linearly dependent columns (module docstring).
        """
        record_dropped(info, variable.name, block)
        if block.values.shape[1]:
            check_distinct_rows(block.values, variable.name, self.name)
            names = _column_names(variable.name, block.kept)
            check_not_degenerate(block.values, variable.name, names, self.name)
        return block

    def entropy(self, x: Variable) -> Estimate:
        if self.transform == "copula":
            raise ValueError(
                "method 'kl': transform='copula' maps each column to normal scores, which "
                "keeps mutual information but changes the entropy; pass "
                "transform='standardize' (or 'none') to estimate an entropy"
            )
        info: dict = {}
        block = self._checked(x, prepare_block(x.values, self.transform), info)
        if block.dropped.size:
            columns = ", ".join(_column_names(x.name, block.dropped))
            raise ValueError(
                f"method 'kl': the column(s) {columns} are constant, so x has no density and "
                "its differential entropy is −∞; drop constant columns to estimate the "
                "entropy of the others"
            )
        terms = self._entropy_terms(block.values, x.name, info) + block.log_scale
        value, standard_error = knn_mean_and_error(self, terms, x)
        k = self.k if self.k is not None else info["k"][x.name]
        warnings = self._weight_warnings(info) + high_dimension_entropy_warnings(
            block.values.shape[1], x.n_samples, k
        )
        return Estimate(value, standard_error, warnings, details=info)

    # -- mutual information ---------------------------------------------------------------

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        info: dict = {}
        blocks = prepare_pair(x.values, y.values, self.transform)
        x_block, y_block = (self._checked(v, b, info) for v, b in zip((x, y), blocks, strict=True))
        if not (x_block.values.shape[1] and y_block.values.shape[1]):
            return _constant_side_estimate(x if not x_block.values.shape[1] else y, info)
        names = _column_names(x.name, x_block.kept) + _column_names(y.name, y_block.kept)
        joint = np.hstack((x_block.values, y_block.values))
        check_not_degenerate(joint, "(x, y)", names, self.name)
        fused = self._fused_terms(x_block.values, y_block.values, (x.name, y.name), info)
        if fused is not None:
            h_x, h_y, h_xy = fused
        else:
            h_x = self._entropy_terms(x_block.values, x.name, info)
            h_y = self._entropy_terms(y_block.values, y.name, info)
            h_xy = self._entropy_terms(joint, "(x, y)", info)
        h_x, h_y = (
            _exact_for_scores(h, block.values, self.transform)
            for h, block in ((h_x, x_block), (h_y, y_block))
        )
        value, standard_error = knn_mean_and_error(self, h_x + h_y - h_xy, x, y)
        joint_dim = x.n_features + y.n_features
        # The transform's log-volume change cancels from the MI; the entropies take it back.
        shift_x, shift_y = x_block.log_scale, y_block.log_scale
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=self._weight_warnings(info)
            + knn_estimate_warnings(value, standard_error, "kl"),
            components={
                "H(x)": float(h_x.mean()) + shift_x,
                "H(y)": float(h_y.mean()) + shift_y,
                "H(x,y)": float(h_xy.mean()) + shift_x + shift_y,
            },
            details=info,
            bias_note=knn_bias_note("Kozachenko–Leonenko MI", joint_dim, x.n_samples),
        )

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        if self.transform == "copula":
            raise ValueError(
                "method 'kl' with transform='copula' is for two continuous variables: the "
                "normal scores within a class lie on part of a lattice, where the "
                "Kozachenko–Leonenko entropies are biased (−0.13 nats against 0.11 on a "
                "1-D two-class mixture); use method 'ksg' with transform='copula', or "
                "'gcmi', against labels"
            )
        info: dict = {}
        k_floor = 1 if self.k is None else self.k
        # Classes first: an undefined estimate (one sample per class) fails before any search.
        classes = class_members(
            labels,
            k_floor + 1,
            f"a k={k_floor} nearest-neighbour entropy is estimated within each class",
            "pass a smaller k or merge rare classes",
        )
        block = self._checked(continuous, prepare_block(continuous.values, self.transform), info)
        if not block.values.shape[1]:
            return _constant_side_estimate(continuous, info)
        names = _column_names(continuous.name, block.kept)
        h_all = self._entropy_terms(block.values, continuous.name, info)
        h_within = np.empty_like(h_all)
        for number, members in enumerate(classes):
            where = f"{continuous.name} in class {number} of {labels.name}"
            values = np.ascontiguousarray(block.values[members])
            check_not_degenerate(values, where, names, self.name)
            h_within[members] = self._entropy_terms(values, where, info)
        value, standard_error = knn_mean_and_error(self, h_all - h_within, continuous, labels)
        h = float(h_all.mean()) + block.log_scale
        info["classes"] = len(classes)
        return Estimate(
            value=value,
            standard_error=standard_error,
            warnings=self._weight_warnings(info)
            + knn_estimate_warnings(value, standard_error, "kl"),
            components={
                f"H({continuous.name})": h,
                f"H({continuous.name}|{labels.name})": h - value,
            },
            details=info,
            bias_note=knn_bias_note(
                "Kozachenko–Leonenko MI", continuous.n_features, continuous.n_samples
            ),
        )

    def _weight_warnings(self, info: dict) -> tuple[EstimateWarning, ...]:
        large = {w: m for w, m in info.get("max_abs_weight", {}).items() if m > _MAX_WEIGHT}
        if not large:
            return ()
        where, size = max(large.items(), key=lambda item: item[1])
        return (
            EstimateWarning(
                "large_weights",
                f"The weighted KL weights for {where} reach ±{size:.3g} (k={info['k'][where]}), "
                "which inflates the variance by about the sum of their squares; in this "
                "dimension the bias cancellation needs a larger k or more samples, or use "
                "weighted=False.",
            ),
        )
