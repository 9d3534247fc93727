"""What the kNN estimators ("kl", "ksg") share.

Parameter checks, the preparation of each block of coordinates before a neighbour search,
and bias notes.

Preparing a block (:func:`prepare_block`) is where the trust rules of the kNN methods live:

- constant columns are dropped (they carry no information, and a zero spread would make a
  kNN entropy −∞), and the estimators record which in ``details``;
- ``transform="standardize"`` (the default) divides each column by its spread, which makes
  the estimate scale-invariant per column, as scikit-learn's ``mutual_info_regression``
  and the Beyond-Normal benchmark do; ``"none"`` keeps the raw geometry, scaled only by one
  exact power of two so that squared distances neither underflow (values near 1e-160) nor
  overflow (near 1e300), which changes no neighbour and no count;
- repeated rows (a neighbour at distance 0, log 0) are refused by :func:`check_distinct_rows`
  before any search, whichever neighbour order they would fall on.

Refusals of the data (repeats, degenerate columns) raise
:class:`~mi_toolkit.estimators.base.UndefinedEstimate`, a ``ValueError``: the information
plane records such a layer and epoch as not defined for the method and goes on.

A block keeps the log of the volume change of its map, Σ_j log s_j for the column scales
s_j, so that a Kozachenko–Leonenko entropy of the prepared block plus that sum is the
entropy of the original block (differential entropy moves by log|det A| under x -> A x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mi_toolkit._grouping import group_rows
from mi_toolkit._validation import Variable, check_choice, check_positive_int
from mi_toolkit.estimators._device import check_device
from mi_toolkit.estimators._knn_kernels.dispatch import ALGORITHMS
from mi_toolkit.estimators.base import UndefinedEstimate
from mi_toolkit.result import EstimateWarning


def check_k(k: object) -> int:
    return check_positive_int(k, "k", " (the number of nearest neighbours; 3 is usual)")


def check_search(algorithm: object, device: object, progress: object) -> None:
    """The neighbour-search parameters both kNN estimators share."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    check_device(device)
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True, False or None; got {progress!r}")


def check_enough_neighbours(n: int, k: int, where: str) -> None:
    """A k-th neighbour among the *other* samples needs n >= k + 1."""
    if k >= n:
        raise ValueError(
            f"k={k} neighbours need at least {k + 1} samples in {where}, which has {n}; "
            "pass a smaller k or more samples"
        )


_REPEAT_ADVICE = (
    "kNN estimators assume continuous data, where a repeat has probability 0. For data "
    "with exact repeats (ReLU zeros, quantised values: a mixture of discrete and "
    "continuous parts) use method 'ksg' with ties='mixed', the rule of Gao et al. (2017) "
    "that counts the tied points; or mark a variable with repeated values as discrete "
    "(discrete_x=True / discrete_y=True), or use method 'binning' or 'kde'"
)


def check_positive_radii(radii: np.ndarray, where: str, method: str) -> None:
    """Refuse a zero neighbour distance (a backstop: repeats are refused before searching)."""
    zero = np.flatnonzero(radii <= 0.0)
    if zero.size:
        raise ValueError(
            f"method {method!r}: sample {zero[0]} of {where} (and {zero.size - 1} other(s)) "
            f"has a neighbour at distance 0: rows repeat, or differ below float64's "
            f"resolution. {_REPEAT_ADVICE}"
        )


def check_distinct_rows(values: np.ndarray, where: str, method: str) -> None:
    """Refuse repeated rows: any of them is a neighbour at distance 0 of the others.

    Checking the k-th neighbour's distance alone misses rows repeated fewer than k + 1
    times, which still put log 0 (KL) or a zero-width ball (KSG) among the nearer
    neighbours and bias the estimate silently; so the rows themselves are compared.
    """
    labels, n_groups = group_rows(values)
    if n_groups == values.shape[0]:
        return
    counts = np.bincount(labels, minlength=n_groups)
    first_repeat = int(np.flatnonzero(counts[labels] > 1)[0])
    raise UndefinedEstimate(
        f"method {method!r}: rows repeat: {values.shape[0] - n_groups} row(s) of {where} "
        f"repeat an earlier row (the first repeated row is sample {first_repeat}), so some "
        f"samples have a neighbour at distance 0. {_REPEAT_ADVICE}"
    )


def repeats_at_atoms(
    values: np.ndarray, radius: np.ndarray, otherwise: np.ndarray | int
) -> np.ndarray:
    """Where ρ_i = 0, the number of other rows equal to row i; elsewhere ``otherwise``.

    The mixed rule of Gao et al. (2017) at an atom: a k-th neighbour at distance 0 means
    at least k other rows equal row i, and the rule then counts all of them, both for k̃_i
    (rows of the joint space) and for the marginal counts ("≤ 0" in each marginal, where
    a strict count within a radius of 0 is empty). Distance 0 in the max-norm is equality
    of the rows, so they are counted by grouping identical rows (O(N), no search).
    """
    at_zero = radius == 0.0
    if not at_zero.any():
        return np.broadcast_to(np.asarray(otherwise, dtype=np.float64), radius.shape)
    labels, n_groups = group_rows(values)
    repeats = np.bincount(labels, minlength=n_groups)[labels] - 1
    return np.where(at_zero, repeats, otherwise).astype(np.float64)


@dataclass(frozen=True)
class PreparedBlock:
    """A block of coordinates ready for a neighbour search.

    Attributes
    ----------
    values : numpy.ndarray
        The kept columns after the transform.
    log_scale : float
        Σ_j log s_j, the entropy the map removed (add it back to an entropy of
        ``values``).
    kept, dropped : numpy.ndarray
        The original column indices kept and dropped as constant.
    """

    values: np.ndarray
    log_scale: float
    kept: np.ndarray
    dropped: np.ndarray


def record_dropped(info: dict, name: str, block: PreparedBlock) -> None:
    """List the constant columns dropped from ``name`` in ``details`` (nothing if none)."""
    if block.dropped.size:
        info.setdefault("dropped_constant_columns", {})[name] = block.dropped.tolist()


def _power_of_two_exponents(magnitudes: np.ndarray) -> np.ndarray:
    """e with magnitude · 2^-e in [0.5, 1) (0 for a zero magnitude): an exact rescaling."""
    return np.frexp(magnitudes)[1].astype(np.float64)


def prepare_block(values: np.ndarray, transform: str) -> PreparedBlock:
    """Drop constant columns, then standardise each column or rescale by a power of two.

    ``transform`` is ``"standardize"`` (each column to mean 0 and standard deviation 1,
    computed after an exact power-of-two rescaling so that neither 1e300 nor 1e-300 values
    overflow or underflow), ``"none"`` (one power of two for the whole block, exact:
    distances keep their order and ties), or ``"rank"`` (each column's ranks / N, the
    empirical copula: an MI-preserving map with no entropy correction, for MI only), or
    ``"copula"`` (:func:`copula_normal_scores`, for MI only).
    """
    constant = np.ptp(values, axis=0) == 0.0
    kept = np.flatnonzero(~constant)
    block = values[:, kept]
    if block.shape[1] == 0:
        return PreparedBlock(block, 0.0, kept, np.flatnonzero(constant))
    if transform in ("rank", "copula"):
        scores = copula_normal_scores(block) if transform == "copula" else _ranks(block)
        return PreparedBlock(np.ascontiguousarray(scores), 0.0, kept, np.flatnonzero(constant))
    if transform == "standardize":
        exponents = _power_of_two_exponents(np.abs(block).max(axis=0))
        scaled = np.ldexp(block, -exponents.astype(np.int64))
        spread = scaled.std(axis=0)
        standard = (scaled - scaled.mean(axis=0)) / spread
        log_scale = float(np.sum(np.log(spread)) + math.log(2.0) * exponents.sum())
        return PreparedBlock(
            np.ascontiguousarray(standard), log_scale, kept, np.flatnonzero(constant)
        )
    exponent = int(_power_of_two_exponents(np.abs(block).max()))
    rescaled = np.ascontiguousarray(np.ldexp(block, -exponent))
    return PreparedBlock(
        rescaled, block.shape[1] * exponent * math.log(2.0), kept, np.flatnonzero(constant)
    )


def copula_block(variable: Variable) -> PreparedBlock:
    """:func:`prepare_block` of a variable's values with ``"copula"``, once per variable.

    gcmi and auto's admission checks both read a side's normal scores (ranks of every
    column); kept on the variable, they are computed once.
    """
    return variable.derived("copula block", lambda: prepare_block(variable.values, "copula"))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each column's average ranks (1..N, ties sharing their mean rank) over N."""
    # Imported here: scipy.stats takes 0.7 s to import, and only the rank transforms need it.
    from scipy.stats import rankdata

    return rankdata(values, axis=0) / values.shape[0]


def copula_normal_scores(values: np.ndarray) -> np.ndarray:
    """Per column, Φ⁻¹(r_i / (N + 1)) for the average rank r_i: Gaussian-copula scores.

    Each column becomes standard normal in distribution whatever its marginal (Ince et
    al. 2017), and the map is increasing, so MI is unchanged in the population; tied
    values share their average rank and so stay tied. The dependence structure (the
    copula) is kept; entropies are not (use it for MI only).
    """
    from scipy.special import ndtri

    return ndtri(_ranks(values) * (values.shape[0] / (values.shape[0] + 1.0)))


def prepare_pair(
    x: np.ndarray, y: np.ndarray, transform: str
) -> tuple[PreparedBlock, PreparedBlock]:
    """:func:`prepare_block` for both sides of an MI estimate.

    With ``transform="none"`` one power of two scales x and y together, so that the joint
    space keeps exactly the raw geometry (two different factors would reweigh x against
    y); each block's ``log_scale`` is then its own dimension times that power.
    """
    if transform != "none":
        return prepare_block(x, transform), prepare_block(y, transform)
    joint = prepare_block(np.hstack((x, y)), "none")
    d_x = x.shape[1]
    split = int(np.searchsorted(joint.kept, d_x))
    per_column = joint.log_scale / max(joint.values.shape[1], 1)
    blocks = []
    for columns, offset, dropped in (
        (slice(None, split), 0, joint.dropped[joint.dropped < d_x]),
        (slice(split, None), d_x, joint.dropped[joint.dropped >= d_x] - d_x),
    ):
        values = np.ascontiguousarray(joint.values[:, columns])
        kept = joint.kept[columns] - offset
        blocks.append(PreparedBlock(values, per_column * values.shape[1], kept, dropped))
    return blocks[0], blocks[1]


def check_not_degenerate(values: np.ndarray, where: str, names: list[str], method: str) -> None:
    """Refuse a block whose columns are linearly dependent (its entropy is −∞).

    Points on a lower-dimensional subspace make every kNN ball flat, so a
    Kozachenko–Leonenko entropy falls without bound as N grows. The test is the smallest
    eigenvalue of the columns' correlation matrix (``values`` are standardised or at least
    of one scale), against a tolerance far above rounding and far below any real spread.
    """
    n, d = values.shape
    if d == 1:
        return
    if n <= d:
        raise UndefinedEstimate(
            f"method {method!r}: {where} has {n} sample(s) in {d} dimensions, so its samples "
            "lie on a lower-dimensional plane and its kNN entropy is not defined; pass more "
            f"than {d} samples, or fewer columns"
        )
    centred = values - values.mean(axis=0)
    gram = centred.T @ centred  # one BLAS pass gives every spread and correlation
    spread = np.sqrt(np.diag(gram))
    # A column constant in this block (a class, say) leaves only rounding in `centred`.
    flat = spread <= _DEGENERATE_SPREAD * math.sqrt(n) * np.abs(values).max(axis=0)
    if flat.any():
        involved = [names[j] for j in np.flatnonzero(flat)]
        raise UndefinedEstimate(
            f"method {method!r}: the column(s) {', '.join(involved)} are constant in "
            f"{where}, so its samples lie on a lower-dimensional plane and the differential "
            "entropy is −∞ (the MI may be infinite); remove those columns, or estimate "
            "with method 'binning' or 'kde'"
        )
    correlation = gram / np.outer(spread, spread)
    eigenvalues, vectors = np.linalg.eigh(correlation)
    if eigenvalues[0] > _DEGENERATE_EIGENVALUE:
        return
    weights = np.abs(vectors[:, 0])
    involved = [names[j] for j in np.flatnonzero(weights > 0.1 * weights.max())]
    raise UndefinedEstimate(
        f"method {method!r}: the columns {', '.join(involved)} of {where} are linearly "
        "dependent (collinear), so the samples lie on a lower-dimensional plane and the "
        "differential entropy is −∞ (the MI with the other side may be infinite). Remove "
        "redundant columns (keep one of each dependent set) or reduce the dimension first, "
        "e.g. with PCA"
    )


# Smallest eigenvalue of a correlation matrix (trace d) below which the columns count as
# dependent: exact dependence leaves ~1e-16 from rounding, real data far above 1e-10.
_DEGENERATE_EIGENVALUE = 1e-10
# A column whose spread is below this times its magnitude is constant up to rounding.
_DEGENERATE_SPREAD = 1e-12


# Measured with this package (the report of issue 3): 10+10-D Gaussian pairs with
# ρ = 0.6 per pair, I = 2.23 nats, N = 10,000, k = 3.
_HIGH_DIM_EXAMPLE = (
    "for 10+10-D Gaussians with I = 2.23 nats at N = 10,000 (k = 3) KSG gives 1.21 nats, "
    "Kozachenko–Leonenko 0.89 and whitened Kozachenko–Leonenko 1.47"
)
# Joint dimension from which the underestimate is large enough to state up front.
_HIGH_DIM = 8


def knn_bias_note(method: str, joint_dim: int, n_samples: int) -> str:
    """What theory says about the bias of a kNN MI estimate in this setting."""
    note = (
        f"{method} is consistent but biased at finite N: the k-nearest-neighbour balls are "
        "assumed small against the scale on which the density changes, which fails for "
        "large MI (a thin, strongly dependent joint distribution) and in high dimension, and "
        "the estimate then falls below the truth. For strongly dependent, correlated "
        f"coordinates it saturates near log N = {np.log(n_samples):.3g} nats (Gao, Ver Steeg "
        "& Galstyan 2015) unless the data are whitened first (method 'kl', whiten=True)."
    )
    if joint_dim >= _HIGH_DIM:
        note += (
            f" Here the joint space has {joint_dim} dimensions, where the underestimate is "
            f"strong: {_HIGH_DIM_EXAMPLE}. Treat the value as a lower estimate, compare "
            "with another method, or reduce the dimension first."
        )
    return note


# An MI estimate this many standard errors below 0 is the estimator's bias, not noise.
_NEGATIVE_STANDARD_ERRORS = 3.0


def negative_estimate_warnings(
    value: float, standard_error: float | None, method: str
) -> tuple[EstimateWarning, ...]:
    """Warn when a kNN MI estimate is below 0 by more than 3 standard errors.

    Mutual information is never negative, and sampling noise reaches −3 standard errors
    about once in 700 estimates; further below, the estimator's bias dominates (the
    Kozachenko–Leonenko entropies of the marginals and of the joint space are biased by
    different amounts in high dimension: kl gave −3.8 nats on a 50+50-D Gaussian at
    N = 5,000).
    """
    if standard_error is None or not math.isfinite(standard_error):
        return ()
    if value >= -_NEGATIVE_STANDARD_ERRORS * standard_error:
        return ()
    below = f"{-value / standard_error:.0f} standard errors" if standard_error > 0 else "far"
    return (
        EstimateWarning(
            "negative_estimate",
            f"The {method} estimate ({value:.3g} nats) is below 0 by {below}, but mutual "
            "information is never negative: the estimator's bias dominates here (typically "
            "many dimensions, where the nearest-neighbour balls are large against the scale "
            "on which the density changes), so the value is wrong, not a sign of "
            "independence. Use method 'gcmi' (Gaussian copula, reliable in high dimension "
            "when the dependence is monotone), 'cca' (a lower bound from canonical "
            "projections), 'kl' with whiten=True, or reduce the dimension first.",
        ),
    )


#: A kNN MI estimate above this (nats) is in the range where kNN estimates saturate.
SATURATION_NATS = 5.0


def saturation_warnings(value: float, method: str) -> tuple[EstimateWarning, ...]:
    """Warn when a kNN MI estimate is above 5 nats, where kNN estimates saturate.

    For strongly dependent variables the k-th neighbour sits at a distance set by the
    sample, not by the density's scale, and the estimate levels off near log N whatever
    the truth (Gao, Ver Steeg & Galstyan 2015): measured here, ksg gives 5.1–6.4 nats for
    5×5 Gaussians carrying 10 to 20 nats at N = 5,000.
    """
    if not value > SATURATION_NATS:
        return ()
    return (
        EstimateWarning(
            "knn_saturation",
            f"The {method} estimate ({value:.3g} nats) is above {SATURATION_NATS:g} nats, where "
            "kNN estimates saturate well below the truth unless the sample is huge (Gao, Ver "
            "Steeg & Galstyan 2015): the MI may be much larger. Where the data are a "
            "monotone map of Gaussian columns, method 'gcmi' (or 'auto') stays accurate up "
            "to 20 nats; otherwise no method here measures such MI reliably.",
        ),
    )


def knn_estimate_warnings(
    value: float, standard_error: float | None, method: str
) -> tuple[EstimateWarning, ...]:
    """The warnings a kNN MI estimate carries when theory says it cannot be right."""
    return negative_estimate_warnings(value, standard_error, method) + saturation_warnings(
        value, method
    )
