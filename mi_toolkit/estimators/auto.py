r"""Method "auto": the estimator chosen from the data, by a choice that cannot inflate it.

Every single estimator fails somewhere: KSG collapses in high dimension and on
heavy-tailed dependence; the Gaussian and copula forms see only what shows in
correlations; variational bounds are slow and sit below the truth. "auto" estimates
with several candidates that each are, in the population, a lower bound on I(X;Y) or
close to the truth where they apply, and keeps the largest. The candidates (the
decision table):

======================================  ================================================
the data                                candidates
======================================  ================================================
both sides discrete                     plug-in MI less Miller's bias (1955), alone
continuous, d_x + d_y ≤ 10              ``ksg`` (k = 3; ``ties="mixed"`` when rows repeat)
any continuous                          ``gcmi`` (Gaussian copula, Ince et al. 2017)
continuous, d_x + d_y ≤ 10, and the     ``lnc`` on normal scores (KSG with the local
pair not jointly Gaussian as values     non-uniformity correction, Gao et al. 2015), only
nor as normal scores (Mardia z > 5)     on a half where ≥ 90% of the joint neighbourhoods
                                        are thin and each side's own are not (≤ 20%)
a side with 2 or more columns           ``ksg`` on the radii: I(ρ(X); ρ(Y)) with ρ the log
                                        of the norm after a robust standardisation
continuous, d_x + d_y ≤ 20              ``student-t`` (fitted multivariate t, bias-
                                        corrected), chosen only on a half where a t fits
                                        (KS p ≥ 1%) with ν < 100
one side discrete (labels)              ``ksg`` (Ross 2014) when d ≤ 10, and ``gcmi``
``neural=True`` and d_x + d_y ≥ 4       also ``infonce`` (the neural bound)
======================================  ================================================

Why these. KSG is nearly unbiased in low dimension on any smooth density, and the mixed
rule (Gao et al. 2017) keeps it consistent on repeated rows (ReLU zeros, quantised
values). The Gaussian-copula estimate is exact for any monotone map of the columns of a
Gaussian, in any dimension and up to high MI, where kNN estimates saturate, and it is a
lower bound for one-dimensional sides whatever the copula. The radii expose dependence
that no correlation shows: for a spherical Student-t pair (shared χ² scale, identity
dispersion) the directions are independent of everything else, so I(X;Y) = I(‖X‖; ‖Y‖)
exactly, where rank correlations are zero. By the data-processing inequality
I(f(X); g(Y)) ≤ I(X;Y) for the radii as for any fixed features, so a large value there is
not an artefact of the features (the robust standardisation, median and interquartile
range per column, is fitted on all samples: a negligible dependence on the data). LNC is for
strong dependence that no Gaussian form reads: where every joint neighbourhood is a thin
sheet, KSG saturates near log N and LNC measures the sheet's thinness by local PCA (a
spiral of a 5 + 5-D Gaussian at 10 nats, N = 2,500: KSG 4.8 with k = 3, 3.4 with k = 17,
the Gaussian closed form 6.8, LNC 9.3).
It reads the normal scores, so that like the MI it does not change under monotone maps
of the columns (monotone maps of a 5 + 5-D Gaussian at 20 nats, N = 2,500: 18.2 on the
scores for all four maps, 12.8–16.7 on the standardised values, gcmi 16.4).
Its correction is a heuristic, so it joins only where no Gaussian form is exact (the pair
is not jointly Gaussian either way) and is admitted only where its regime holds: nearly
every joint neighbourhood thin, and no side thin on its own (a side on a curve or sheet
of its own makes thin joint neighbourhoods without dependence: LNC read 2.8 nats at a
true 0.41 on a Swiss roll).

Admission. A closed form is trusted only where its model holds, and is otherwise not
eligible on that half (listed in ``details["not_admitted"]`` with the reason): the
Student-t form where a t fits; ``gcmi`` on vector sides (total dimension ≤ 10) only where
each side's normal scores look jointly Gaussian, since I(X;Y) = I_gcmi + J_xy − J_x − J_y
with J the negentropies of the scores, and a side with J well above the kNN entropy's
bias (0.15 nats plus 3 standard errors) lets gcmi exceed the MI (a 3-D Gaussian mixture:
2.33 against a true 2.14 nats). These checks look at each side, or at the fit of a
model, not at the value of the estimate.

The choice cannot inflate the estimate (cross-fitting). The samples are split in two
halves by a hash of each row (:func:`~mi_toolkit.estimators.cca.hash_halves`, independent
of the order of the samples). Every candidate estimates the MI on each half. The
candidate with the largest value on the first half is then read on the second, and the
one with the largest value on the second half is read on the first; the estimate is the
mean of these two held-out readings, with standard error ½ √(se₁² + se₂²). So the value
reported was never used to choose: under independence its mean is that of the chosen
candidates' own, 0 up to their bias (tested), where a maximum over candidates on the same
data would be biased upwards by about a standard error per candidate. The price is that
every estimate is made on N/2 samples, which raises a kNN estimate's bias a little.

Bias. That of the chosen candidate at N/2 samples: KSG's (downward in high MI and high
dimension), the copula form's (none for a Gaussian copula, downward otherwise), the
neural bound's (downward), LNC's (within ±0.1 nats on strongly dependent Gaussians,
0.6–0.7 nats low on the spiral at 10 nats; not in the standard error). The chosen
candidates, their values on both halves and the reason for each choice are in
``details``. Above about 5 nats a Gaussian-copula structure is measured reliably, and
strong dependence of another shape only through LNC's heuristic correction; a kNN
estimate up there carries a warning (``knn_saturation``), and so does a Gaussian form
read on a pair whose values (or normal scores) are not jointly Gaussian
(``not_jointly_gaussian``, Mardia's kurtosis z > 5; the value is unchanged): with
Gaussian sides it is then a lower bound, 6.8 nats for a spiral of Gaussian data at a
true 10.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_seed
from mi_toolkit.estimators._knn_common import copula_block
from mi_toolkit.estimators.base import Estimate, Estimator, UndefinedEstimate
from mi_toolkit.estimators.binning import BinningEstimator
from mi_toolkit.estimators.cca import hash_halves
from mi_toolkit.estimators.gaussian import GaussianEstimator
from mi_toolkit.estimators.gcmi import GaussianCopulaEstimator, gaussian_mi_bias
from mi_toolkit.estimators.kl import KLEstimator
from mi_toolkit.estimators.ksg import KSGEstimator
from mi_toolkit.estimators.lnc import LNCEstimator, corrected_fraction
from mi_toolkit.estimators.student_t import StudentTEstimator
from mi_toolkit.result import EstimateWarning

#: KSG joins the candidates up to this total dimension: beyond it its downward bias makes
#: it lose to the others anyway, and its cost grows.
KNN_MAX_DIMENSION = 10
#: The neural bound joins from this total dimension, where the others start to fail.
NEURAL_MIN_DIMENSION = 4
#: A candidate leading every other by this many standard errors of the difference on both
#: halves is chosen by the distribution, not by the noise: it is then read on all samples.
CLEAR_LEAD = 3.0
#: Level of the normality test that admits the Gaussian closed form (Bonferroni over columns).
NORMALITY_LEVEL = 0.01
#: A first-order correction larger than this (nats) says that higher orders may matter too.
LARGE_CORRECTION_NATS = 0.05
#: Fewer samples per half than this leave the choice to noise.
MIN_SAMPLES_PER_HALF = 50
#: The Student-t closed form joins up to this total dimension (its fit is iterative).
STUDENT_MAX_DIMENSION = 20
#: A fitted t with this many degrees of freedom or more is a Gaussian, left to "gaussian".
STUDENT_MAX_DOF = 100.0
#: Mardia's joint kurtosis z above which a pair read by a Gaussian form is not Gaussian
#: (one-sided; a Gaussian pair exceeds it with probability 3e-7).
JOINT_KURTOSIS_Z = 5.0
#: LNC is admitted on a half where at least this fraction of joint neighbourhoods is
#: thin (strong dependence: 1.00 at 10 nats in 5 + 5-D; 0.05–0.35 up to 2 nats)...
LNC_MIN_CORRECTED = 0.9
#: ...and each side's own neighbourhoods are thin for at most this fraction (0.02–0.08
#: for sides that fill their space; 1.00 for a Swiss roll).
LNC_MAX_SIDE_CORRECTED = 0.2
#: Copula negentropy (nats) a side's kNN entropy may show on Gaussian scores (its bias).
NEGENTROPY_ALLOWANCE = 0.15
#: A side whose normal scores' correlation has min/max eigenvalue below this lies near a
#: lower-dimensional manifold (images: 1e-6 to 1e-8; the Gaussian tasks: above 1e-2).
MANIFOLD_CONDITION = 1e-4
#: Rows TwoNN reads to tell whether a side lies near a manifold, and the seed of the
#: Gaussian reference it is compared with.
TWONN_ROWS = 2000
TWONN_REFERENCE_SEED = 17
#: From this many columns a side is checked for lying near a manifold of at most half the
#: dimension TwoNN reads on a Gaussian of as many columns, and then compressed first.
MANIFOLD_MIN_COLUMNS = 4

Measure = Callable[[Variable, Variable], Estimate]


@dataclass(frozen=True)
class Refusal:
    """Why a candidate is not eligible on a half, and a warning for the result, if any."""

    reason: str
    warning: EstimateWarning | None = None


#: Returns why a candidate's estimate on a half cannot be trusted there, or None.
Admission = Callable[[Variable, Variable, Estimate], "Refusal | None"]


@dataclass(frozen=True)
class Candidate:
    """One estimator auto may choose: a label, why it is tried, and how it estimates.

    ``admit``, when given, looks at the half and the estimate made on it and returns why
    the estimate cannot be trusted there (a closed form whose model the data reject), or
    None; a candidate not admitted on a half cannot be chosen on it.
    """

    label: str
    reason: str
    measure: Measure
    admit: Admission | None = None


def robust_radius(values: np.ndarray) -> np.ndarray:
    """log ‖(x − median) / (IQR / 1.349)‖ per row: a scale feature robust to heavy tails.

    Columns are centred on their medians and scaled by their interquartile ranges (1.349
    IQR is one standard deviation of a Gaussian), so one heavy-tailed column cannot drown
    the others as with the standard deviation. A constant column (IQR 0) is left out.
    Returns an (n, 1) array.
    """
    centred = values - np.median(values, axis=0)
    q75, q25 = np.percentile(values, [75.0, 25.0], axis=0)
    spread = (q75 - q25) / 1.349
    kept = spread > 0
    scaled = centred[:, kept] / spread[kept]
    norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    # A row exactly at the median has norm 0; the smallest positive norm stands in.
    positive = norms[norms > 0]
    floor = positive.min() if positive.size else 1.0
    return np.log(np.maximum(norms, floor))[:, None]


def _radii(variable: Variable) -> Variable:
    return Variable(variable.name, np.ascontiguousarray(robust_radius(variable.values)), False)


def _marginals_look_gaussian(x: Variable, y: Variable) -> bool:
    """Whether no column of x or y fails D'Agostino's normality test (level 1%, Bonferroni).

    A statistic of each column alone, blind to the dependence between x and y, so using
    it to admit a candidate cannot inflate the estimate.
    """
    from scipy.stats import normaltest

    columns = np.column_stack([x.values, y.values])
    if columns.shape[0] < 20 or np.any(np.ptp(columns, axis=0) == 0):
        return False
    return bool(np.min(normaltest(columns, axis=0).pvalue) > NORMALITY_LEVEL / columns.shape[1])


def _bias_corrected(estimator: Estimator) -> Measure:
    """A closed form less the ψ bias of its fitted covariance (as in gcmi), which reaches
    0.5 nats at 50×50.

    Uncorrected, a fitted-covariance MI (Gaussian or Student-t) is biased upwards by about
    d_x d_y / 2N and would win the choice on high-dimensional data for that reason alone.
    """

    def measure(x: Variable, y: Variable) -> Estimate:
        plain = estimator.mutual_information(x, y)
        bias = gaussian_mi_bias(x.n_features, y.n_features, x.n_samples)
        return dataclasses.replace(
            plain,
            value=plain.value - bias,
            bias_note="bias-corrected as in gcmi (Ince et al. 2017)",
        )

    return measure


def copula_negentropy(variable: Variable) -> tuple[float, float]:
    """J = H_Gauss − H of one side's normal scores (kNN entropy), and its standard error.

    With J_x, J_y and J_xy the negentropies of the scores of x, y and (x, y),
    I(X;Y) = I_gcmi + J_xy − J_x − J_y. For a one-dimensional side J = 0 exactly (the
    scores are Gaussian), so gcmi is then a lower bound; for a vector side whose scores
    are not jointly Gaussian (a mixture, say), J_x > 0 and gcmi may exceed the MI by up to
    J_x + J_y. The kNN entropy is biased by a few hundredths of a nat in 5 dimensions.
    """
    scores = copula_block(variable).values
    if scores.shape[1] < 2:
        return 0.0, 0.0
    covariance = np.cov(scores.T)
    gaussian = 0.5 * float(np.linalg.slogdet(2 * math.pi * math.e * covariance)[1])
    knn = KLEstimator().entropy(Variable("scores", scores, False))
    return gaussian - knn.value, float(knn.standard_error or 0.0)


def score_condition(variable: Variable) -> float:
    """Smallest over largest eigenvalue of the correlation of a side's normal scores."""
    scores = copula_block(variable).values
    if scores.shape[1] < 2:
        return 1.0
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(scores.T))
    return float(max(eigenvalues[0], 0.0) / eigenvalues[-1])


def _gcmi_admission(x: Variable, y: Variable, estimate: Estimate) -> Refusal | None:
    """Refuse gcmi on a half where a side's copula is clearly not Gaussian: its columns
    lie near a lower-dimensional manifold, or (up to 10 dimensions) its scores have a
    large negentropy."""
    for side in (x, y):
        condition = score_condition(side)
        if condition < MANIFOLD_CONDITION:
            reason = (
                f"the columns of {side.name} lie near a lower-dimensional manifold (their "
                f"normal scores' correlation has eigenvalues spanning {1 / condition:.1e}): "
                "the Gaussian form then reads near-deterministic directions as information "
                "and can be arbitrarily high"
            )
            return Refusal(
                reason,
                EstimateWarning(
                    "ill_conditioned",
                    f"{reason[0].upper()}{reason[1:]}. The Gaussian-copula candidate was left "
                    "out, and the remaining candidates may be far below the MI: compress "
                    "first (method='compression'), or give images as (n, h, w) arrays.",
                ),
            )
    if x.n_features + y.n_features > KNN_MAX_DIMENSION:
        return None  # the kNN entropies are too biased up there to tell
    for side in (x, y):
        negentropy, error = copula_negentropy(side)
        if negentropy > NEGENTROPY_ALLOWANCE + CLEAR_LEAD * error:
            return Refusal(
                f"the normal scores of {side.name} are not jointly Gaussian (negentropy "
                f"{negentropy:.2f} ± {error:.2f} nats), so gcmi may exceed the MI"
            )
    return None


def _student_admission(x: Variable, y: Variable, estimate: Estimate) -> Refusal | None:
    """Admit the t closed form where a t fits (KS test) with a finite-looking ν."""
    p_value, dof = estimate.details["fit_p_value"], estimate.details["dof"]
    if p_value < NORMALITY_LEVEL:
        return Refusal(f"the data do not look multivariate t (KS p = {p_value:.2g})")
    if dof >= STUDENT_MAX_DOF:
        return Refusal(f"the fitted t has {dof:.0f} degrees of freedom: a Gaussian, not a t")
    return None


def joint_kurtosis_z(values: np.ndarray) -> float:
    """Mardia's multivariate kurtosis of the rows as a z-score (Mardia 1970).

    b₂ = mean((z_iᵀ S⁻¹ z_i)²) over the centred rows z_i, S their covariance; under a
    d-dimensional Gaussian E[b₂] = d(d + 2)(N − 1)/(N + 1) and Var[b₂] ≈ 8d(d + 2)/N.
    Directions of S below 1e-12 of its largest eigenvalue are left out (d counts the rest).
    """
    centred = values - values.mean(axis=0)
    n = centred.shape[0]
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred / n)
    kept = eigenvalues > 1e-12 * eigenvalues.max()
    whitened = (centred @ vectors[:, kept]) / np.sqrt(eigenvalues[kept])
    d = int(kept.sum())
    b2 = float(np.mean(np.einsum("ij,ij->i", whitened, whitened) ** 2))
    expected = d * (d + 2) * (n - 1) / (n + 1)
    return (b2 - expected) / math.sqrt(8 * d * (d + 2) / n)


def _not_jointly_gaussian(x: Variable, y: Variable) -> bool:
    """Whether neither the values nor the normal scores of (x, y) look jointly Gaussian
    (Mardia's kurtosis z above ``JOINT_KURTOSIS_Z`` for both)."""
    values = np.column_stack([x.values, y.values])
    if joint_kurtosis_z(values) <= JOINT_KURTOSIS_Z:
        return False
    scores = np.column_stack([copula_block(x).values, copula_block(y).values])
    return joint_kurtosis_z(scores) > JOINT_KURTOSIS_Z


def _lnc_may_apply(x: Variable, y: Variable) -> bool:
    """LNC joins where KSG does (up to 10 joint columns) and no Gaussian form is exact:
    where the pair is jointly Gaussian as values or as normal scores, the closed forms are
    exact at any MI and LNC would only add its noise."""
    dimension = x.n_features + y.n_features
    return dimension <= KNN_MAX_DIMENSION and _not_jointly_gaussian(x, y)


def _lnc_admission(x: Variable, y: Variable, estimate: Estimate) -> Refusal | None:
    """Admit LNC on a half where nearly every joint neighbourhood is thin (strong
    dependence) and no side is thin on its own (a side on a curve or sheet, which LNC
    would read as dependence)."""
    fraction = estimate.details["corrected_fraction"]
    if fraction < LNC_MIN_CORRECTED:
        return Refusal(
            f"only {fraction:.0%} of the joint neighbourhoods are thin: the dependence is "
            "not strong enough for LNC's correction, whose bias is unknown in between"
        )
    for side in (x, y):
        if side.n_features < 2:
            continue
        own = corrected_fraction(copula_block(side).values)
        if own > LNC_MAX_SIDE_CORRECTED:
            return Refusal(
                f"{own:.0%} of the neighbourhoods of {side.name} alone are thin: it lies near "
                "a curve or sheet of its own, which LNC would read as dependence"
            )
    return None


def _with_joint_gaussian_check(result: Estimate, x: Variable, y: Variable) -> Estimate:
    """Warn where a Gaussian form was chosen but the pair it reads is not jointly Gaussian.

    With each side Gaussian, h(X) and h(Y) are those of the Gaussian with the same
    covariance and h(X, Y) is at most that Gaussian's, so the closed form is a lower bound
    on the MI; how far below, only a joint statistic can tell. On a norm-dependent
    rotation (spiral) of 5+5-D Gaussian data at a true 10 nats, each side is exactly
    Gaussian, the closed form reads 6.8 nats, and the joint kurtosis z is 104 (Gaussian
    tasks: −4 to 1.3). The check adds a warning, not a choice: the value is unchanged.
    """
    chosen = set(result.details.get("chosen", ()))
    if not chosen & {"gaussian", "gcmi"}:
        return result
    if "gaussian" in chosen:
        pair, reading = np.column_stack([x.values, y.values]), "values"
    else:
        pair = np.column_stack([copula_block(x).values, copula_block(y).values])
        reading = "normal scores"
    z = joint_kurtosis_z(pair)
    if z <= JOINT_KURTOSIS_Z:
        return result
    warning = EstimateWarning(
        "not_jointly_gaussian",
        f"auto read this pair with {' and '.join(sorted(chosen & {'gaussian', 'gcmi'}))}, "
        f"which assumes the {reading} of x and y jointly Gaussian, but they are not "
        f"(Mardia's multivariate kurtosis z = {z:.0f}). Where each side is Gaussian the "
        "estimate is a lower bound, and the MI may be well above it (a spiral of Gaussian "
        "data at a true 10 nats reads 6.8). Compare method 'lnc' (KSG corrected for "
        "strong dependence) and treat a high value as a lower bound.",
    )
    return dataclasses.replace(result, warnings=(*result.warnings, warning))


def _has_repeats(variable: Variable) -> bool:
    return variable.groups()[1] < variable.n_samples


@register
@dataclass(frozen=True)
class AutoEstimator(Estimator):
    """The largest of several candidate estimates, chosen by cross-fitting (module docstring).

    Parameters
    ----------
    neural : bool
        Let the InfoNCE bound join the candidates when d_x + d_y ≥ 4 (a few seconds per
        half on a CPU). Off by default: on the Beyond-Normal suite it changes few choices.
    seed : int
        Salt of the hash that splits the samples into halves.
    """

    name = "auto"
    min_samples = 2 * MIN_SAMPLES_PER_HALF
    accepts_sample_shape: ClassVar[bool] = True

    neural: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.neural, bool):
            raise ValueError(f"neural must be True or False; got {self.neural!r}")
        check_seed(self.seed, "seed")

    def entropy(self, x: Variable) -> Estimate:
        raise ValueError(
            "method 'auto' chooses among MI estimators only; for an entropy use "
            "estimate_entropy(x, method='kl') (continuous) or 'binning' (discrete)"
        )

    def mi_discrete(self, x: Variable, y: Variable) -> Estimate:
        return _miller_madow(BinningEstimator().mutual_information(x, y), x.n_samples)

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        manifold = tuple(_is_manifold(v, self.seed) for v in (x, y))
        if any(manifold):
            return self._through_compression(x, y, manifold)
        ties = _has_repeats(x) or _has_repeats(y)
        candidates = [
            Candidate(
                "gcmi",
                "the Gaussian copula: exact for monotone maps of Gaussian columns, any dimension",
                GaussianCopulaEstimator().mutual_information,
                _gcmi_admission,
            )
        ]
        if _marginals_look_gaussian(x, y):
            candidates.append(
                Candidate(
                    "gaussian",
                    "every column passes a normality test: the closed form on the raw "
                    "values (bias-corrected), which ranks cannot match at high MI",
                    _bias_corrected(GaussianEstimator()),
                )
            )
        if x.n_features + y.n_features <= STUDENT_MAX_DIMENSION:
            candidates.append(
                Candidate(
                    "student-t",
                    "a multivariate t fits: its closed form includes the MI of the shared "
                    "scale (heavy tails), which correlations and ranks miss",
                    _bias_corrected(StudentTEstimator()),
                    _student_admission,
                )
            )
        if x.n_features + y.n_features <= KNN_MAX_DIMENSION:
            ksg = KSGEstimator(ties="mixed") if ties else KSGEstimator()
            candidates.append(
                Candidate(
                    "ksg",
                    "KSG in low dimension" + (" (mixed rule: rows repeat)" if ties else ""),
                    ksg.mutual_information,
                )
            )
        if not ties and _lnc_may_apply(x, y):
            candidates.append(
                Candidate(
                    "lnc",
                    "the pair is not jointly Gaussian (as values or as normal scores): KSG "
                    "with the local non-uniformity correction on the normal scores, for "
                    "strong dependence that no Gaussian form reads",
                    LNCEstimator(transform="copula").mutual_information,
                    _lnc_admission,
                )
            )
        if max(x.n_features, y.n_features) >= 2:
            radial = KSGEstimator(ties="mixed")
            candidates.append(
                Candidate(
                    "ksg on radii",
                    "the norms expose scale dependence that correlations miss (Student-t)",
                    lambda a, b: radial.mutual_information(_radii(a), _radii(b)),
                )
            )
        if self.neural and x.n_features + y.n_features >= NEURAL_MIN_DIMENSION:
            candidates.append(_neural_candidate(self.seed))
        result = self._cross_fitted(candidates, x, y, key=y.values)
        return _with_joint_gaussian_check(result, x, y)

    def _through_compression(
        self, x: Variable, y: Variable, manifold: tuple[bool, bool]
    ) -> Estimate:
        """Images and other data near a low-dimensional manifold: each such side through an
        autoencoder (convolutional for images given as (n, h, w) or (n, c, h, w)) whose code
        is as wide as the intrinsic dimension of a first code as wide as the data's
        (:func:`_code_width`), then the compression estimator's inner method on the codes."""
        from mi_toolkit.estimators.compression import CompressionEstimator

        sides = (x, y)
        compressors = tuple("autoencoder" if m else None for m in manifold)
        probe = CompressionEstimator(compressor="autoencoder", code_dim=1, random_state=self.seed)
        widths = [
            _code_width(probe, v, self.seed) if m else None
            for v, m in zip(sides, manifold, strict=True)
        ]
        dimensions = tuple(None if w is None else w["chosen"] for w in widths)
        estimator = CompressionEstimator(
            compressor=compressors, code_dim=dimensions, random_state=self.seed
        )
        try:
            result = estimator.mutual_information(x, y)
        except UndefinedEstimate:
            # Saturated tanh codes can repeat exactly, which the default inner kNN method
            # refuses; the mixed rule counts the ties (the fitted compressors are cached).
            estimator = dataclasses.replace(estimator, inner=KSGEstimator(ties="mixed"))
            result = estimator.mutual_information(x, y)
        reason = (
            "images, or columns near a lower-dimensional manifold (where the Gaussian forms "
            "read near-deterministic directions as information): an autoencoder per such "
            "side, its code as wide as the intrinsic dimension (TwoNN, Facco et al. 2017) "
            "of a first, wider code, then the compression estimator's inner method"
        )
        details = {
            **result.details,
            "chosen": ["compression"],
            "reasons": {"compression": reason},
            "code_dims": list(dimensions),
            "code_widths": widths,
        }
        return dataclasses.replace(result, details=details)

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        candidates = [
            Candidate(
                "gcmi",
                "the Gaussian copula per class",
                GaussianCopulaEstimator().mutual_information,
            )
        ]
        if continuous.n_features <= KNN_MAX_DIMENSION and not _has_repeats(continuous):
            candidates.append(
                Candidate(
                    "ksg", "KSG within classes (Ross 2014)", KSGEstimator().mutual_information
                )
            )
        return self._cross_fitted(candidates, continuous, labels, key=labels.values)

    def _cross_fitted(
        self, candidates: list[Candidate], x: Variable, y: Variable, key: np.ndarray
    ) -> Estimate:
        first = hash_halves(np.column_stack([x.values, key]), self.seed)
        halves = (np.flatnonzero(first), np.flatnonzero(~first))
        if min(h.shape[0] for h in halves) < MIN_SAMPLES_PER_HALF:
            raise ValueError(
                f"method 'auto' chooses on one half of the samples and estimates on the other, "
                f"and needs at least {MIN_SAMPLES_PER_HALF} in each half, but they hold "
                f"{halves[0].shape[0]} and {halves[1].shape[0]}; pass more samples or choose "
                "a method yourself"
            )
        # values[h][c]: candidate c's estimate on half h.
        estimates = [
            [c.measure(x.subset(rows), y.subset(rows)) for c in candidates] for rows in halves
        ]
        values = np.array([[e.value for e in half] for half in estimates])
        refusals = {
            (h, i): c.admit(x.subset(rows), y.subset(rows), estimates[h][i])
            for h, rows in enumerate(halves)
            for i, c in enumerate(candidates)
            if c.admit is not None
        }
        eligible = np.ones(values.shape, dtype=bool)
        for (h, i), refusal in refusals.items():
            eligible[h, i] = refusal is None
        chosen = [int(np.argmax(np.where(eligible[h], values[h], -np.inf))) for h in (0, 1)]
        details = {
            "chosen": [candidates[c].label for c in chosen],
            "reasons": {c.label: c.reason for c in candidates},
            "candidates": {
                c.label: [float(values[0, i]), float(values[1, i])]
                for i, c in enumerate(candidates)
            },
            "half_sizes": [int(h.shape[0]) for h in halves],
        }
        refused = {
            candidates[i].label: [
                r.reason if r else None for r in (refusals[(0, i)], refusals[(1, i)])
            ]
            for i, c in enumerate(candidates)
            if c.admit is not None and any(refusals[(h, i)] for h in (0, 1))
        }
        if refused:
            details["not_admitted"] = refused
        refusal_warnings = [r.warning for r in refusals.values() if r and r.warning]
        if chosen[0] == chosen[1] and all(
            _leads_clearly(estimates[h], chosen[h], eligible[h]) for h in (0, 1)
        ):
            result = candidates[chosen[0]].measure(x, y)
            details["read_on"] = (
                "all samples: the same candidate led every other by more than "
                f"{CLEAR_LEAD} standard errors on both halves"
            )
            return _finished(
                result.value,
                result.standard_error,
                [*result.warnings, *refusal_warnings],
                details,
            )
        # The candidate chosen on half h is read on the other half, 1 − h.
        readings = [estimates[1 - h][chosen[h]] for h in (0, 1)]
        errors = [r.standard_error if r.standard_error is not None else math.nan for r in readings]
        details["read_on"] = "the other half: each half's choice read on the other half"
        details["readings"] = [float(r.value) for r in readings]
        return _finished(
            float(np.mean([r.value for r in readings])),
            float(np.sqrt(np.sum(np.square(errors))) / 2.0),
            [*(w for r in readings for w in r.warnings), *refusal_warnings],
            details,
        )


def intrinsic_dimension(values: np.ndarray, seed: int = 0, max_rows: int = 2000) -> float:
    """TwoNN estimate of the dimension of the manifold the rows lie on (Facco, d'Errico,
    Rodriguez & Laio 2017): with r₁, r₂ each row's first and second neighbour distances,
    μ = r₂/r₁ follows a Pareto law of index d, whose maximum-likelihood estimate is
    d = n / Σ log μ. Rows with a repeated neighbour (r₁ = 0) are left out; at most
    ``max_rows`` rows, a seeded subset, are used.
    """
    from sklearn.neighbors import NearestNeighbors

    rows = values
    if rows.shape[0] > max_rows:
        rows = rows[np.random.default_rng(seed).choice(rows.shape[0], max_rows, replace=False)]
    distances, _ = NearestNeighbors(n_neighbors=3).fit(rows).kneighbors(rows)
    first, second = distances[:, 1], distances[:, 2]
    kept = first > 0
    ratios = np.log(second[kept] / first[kept])
    return float(kept.sum() / ratios.sum()) if ratios.sum() > 0 else 1.0


#: Widest autoencoder code auto gives an image side.
MAX_CODE_WIDTH = 8


def _is_manifold(variable: Variable, seed: int) -> bool:
    """Images, or rows on a manifold of at most half as many dimensions as a full-rank
    Gaussian of as many columns reads (TwoNN, from 4 columns; :func:`gaussian_twonn`), or
    a side whose normal scores' correlation is ill-conditioned: data for compression
    first, since the Gaussian forms read its near-deterministic directions as information
    (a 1-D curve in 12 columns: gcmi 2.01 against a true 0.83 nats)."""
    if variable.sample_shape is not None:
        return True
    d = variable.n_features
    if d < MANIFOLD_MIN_COLUMNS:
        return False
    if score_condition(variable) < MANIFOLD_CONDITION:
        return True
    rows = min(variable.n_samples, TWONN_ROWS)
    return intrinsic_dimension(variable.values, seed, TWONN_ROWS) <= gaussian_twonn(d, rows) / 2


@functools.lru_cache(maxsize=64)
def gaussian_twonn(columns: int, rows: int) -> float:
    """TwoNN's reading of a standard Gaussian in ``columns`` dimensions on ``rows`` rows.

    TwoNN reads low in many dimensions at a few thousand rows: a 100-D Gaussian reads 49
    on 2,000 rows (25-D: 20; 12-D: 11.5), so "half the columns" alone would send a
    full-rank 100-D side to compression. A side counts as near a manifold where its own
    reading is at most half of this one.
    """
    reference = np.random.default_rng(TWONN_REFERENCE_SEED).standard_normal((rows, columns))
    return intrinsic_dimension(reference, 0, rows)


#: A code's TwoNN estimate is rounded up unless it lies this little above an integer.
ROUND_DOWN_WITHIN = 0.25
#: Rows of the codes TwoNN reads (codes are narrow, so their neighbours are cheap): on
#: 5,000 rather than 2,000 the rectangles' estimates spread over 3.51–3.71, not 3.24–3.87.
CODE_TWONN_ROWS = 10_000


def _code_width(probe: Any, variable: Variable, seed: int) -> dict[str, Any]:
    """The autoencoder code width for ``variable``: the intrinsic dimension of its codes.

    TwoNN on the data gives a first width w₀ (at most :data:`MAX_CODE_WIDTH`); the data's
    own estimate can be too high: 32×32 anti-aliased rectangles, a 4-parameter family whose
    pixels are piecewise linear in the parameters, read 5.5–5.7, and a code wider than the
    manifold leaves the codes on a lower-dimensional set inside it, where the kNN entropies
    of the inner estimate no longer cancel (4, 5 and 6 wide at a true 10 nats: 9.13, 11.0
    and 12.9, benchmarks/results/auto.md). The codes of the w₀-wide autoencoder are smooth
    functions of the manifold, and their TwoNN estimate is its dimension: 3.5–3.7 for the
    rectangles (18 fits: 3 seeds, 3 MIs, 2 sides), 1.92–2.00 for blobs (1.96–2.07 from
    4- to 8-wide codes). TwoNN reads a bounded 4-dimensional set low at these sizes, so
    the estimate is rounded up unless it lies within :data:`ROUND_DOWN_WITHIN` above an
    integer (3.51 → 4, 2.07 → 2). The w₀ fit is cached: the estimate reuses it where the
    widths agree.
    """
    data_dimension = intrinsic_dimension(variable.values, seed)
    first = int(min(MAX_CODE_WIDTH, max(1, round(data_dimension))))
    facts: dict[str, Any] = {"data_twonn": data_dimension, "first": first, "chosen": first}
    if first == 1:
        return facts
    fitted, _ = probe.fit("autoencoder", first, variable)
    codes = fitted.encode(variable.values, probe.device)
    code_dimension = intrinsic_dimension(codes, seed, max_rows=CODE_TWONN_ROWS)
    chosen = int(min(first, max(1, math.ceil(code_dimension - ROUND_DOWN_WITHIN))))
    return {**facts, "code_twonn": code_dimension, "chosen": chosen}


def _leads_clearly(estimates: list[Estimate], winner: int, eligible: np.ndarray) -> bool:
    """Whether candidate ``winner`` exceeds every other eligible one by CLEAR_LEAD
    standard errors."""
    best = estimates[winner]
    for i, other in enumerate(estimates):
        if i == winner or not eligible[i]:
            continue
        spread = math.hypot(best.standard_error or math.nan, other.standard_error or math.nan)
        if not best.value - other.value > CLEAR_LEAD * spread:  # False for a NaN spread
            return False
    return True


def _finished(
    value: float, standard_error: float | None, warnings: list, details: dict
) -> Estimate:
    unique = tuple(dict.fromkeys(warnings))
    note = (
        "Chosen on halves of the samples, so that the choice does not inflate the "
        "estimate: read on the other half, or on all samples when one candidate led "
        "clearly on both halves; the chosen estimator's own bias applies."
    )
    if "lnc" in details.get("chosen", ()):
        note += (
            " LNC's correction is a heuristic whose bias the standard error does not "
            "include: within ±0.1 nats on strongly dependent Gaussians, 0.6–0.7 nats low on "
            "a spiral of Gaussian data at 10 nats."
        )
    return Estimate(
        value=value,
        standard_error=standard_error,
        warnings=unique,
        details=details,
        bias_note=note,
    )


def _neural_candidate(seed: int) -> Candidate:
    from mi_toolkit.estimators.neural import InfoNCEEstimator

    # The separable critic, as measured for this candidate (README): InfoNCE's default
    # "auto" critic trains two critics, about 3x the time, in each of auto's halves.
    neural = InfoNCEEstimator(critic="separable", random_state=seed, progress=False)
    return Candidate(
        "infonce",
        "a neural lower bound, for dependence the other candidates cannot see",
        neural.mutual_information,
    )


def _miller_madow(plug_in: Estimate, n: int) -> Estimate:
    """The plug-in MI less Miller's (1955) first-order bias, (K_xy − K_x − K_y + 1) / 2N.

    K are the occupied cells. The plug-in value is that of the sample; the population MI
    is what auto estimates, and undersampling biases the plug-in (upwards for a noisy
    channel, downwards when every cell holds about one sample, as for an identity map of
    more symbols than samples). The correction removes the first-order term only, so a
    correction above LARGE_CORRECTION_NATS also warns.

    A plug-in at the log N ceiling (every sample of a side distinct, e.g. all 4,096 inputs
    of the 12-bit task given once) is returned as it is: its ceiling warning says what it
    means, and a correction would lift it above log N, which the sample cannot support.
    """
    if plug_in.saturated:
        details = {
            **plug_in.details,
            "chosen": ["binning"],
            "reasons": {"binning": "both sides discrete, at the log N ceiling: the plug-in"},
        }
        return dataclasses.replace(plug_in, details=details)
    cells = plug_in.details
    k_x, k_y, k_xy = (cells[f"occupied_bins_{s}"] for s in ("x", "y", "joint"))
    correction = (k_xy - k_x - k_y + 1) / (2 * n)
    warnings = plug_in.warnings
    if abs(correction) > LARGE_CORRECTION_NATS:
        warnings += (
            EstimateWarning(
                "undersampled",
                f"{n} samples fill {k_xy} joint cells ({n / k_xy:.1f} per cell), and Miller's "
                f"first-order correction of the plug-in MI is {-correction:+.3g} nats: the "
                "higher orders it leaves out may be large too, so the MI may be far from this "
                "value. More samples, or fewer symbols (coarser bins), are needed.",
            ),
        )
    details = {
        **cells,
        "chosen": ["binning"],
        "reasons": {"binning": "both sides discrete: the plug-in value less Miller's bias"},
        "plug_in": plug_in.value,
        "miller_madow_correction": -correction,
    }
    return dataclasses.replace(
        plug_in,
        value=max(plug_in.value - correction, 0.0),
        warnings=warnings,
        details=details,
        bias_note="Plug-in MI less Miller's (1955) first-order bias (K_xy − K_x − K_y + 1)/2N.",
    )
