"""The "Beyond Normal" suite: its 40 names, standardised samples, and each truth checked.

Each truth is checked against an independent computation: for Gaussian-based tasks the
transforms are undone with their own inverses (written here, not the package's) back to
the exact Gaussian draw, on which the ``gaussian`` estimator must land within 4 standard
errors of the truth; for Student-t tasks a Monte-Carlo mean of log density ratios (scipy's
multivariate t) within 4 standard errors; the additive-noise closed form is checked by
quadrature in ``test_synthetic_noise``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import brentq
from scipy.special import log_ndtr, ndtr, ndtri
from scipy.stats import kstest, multivariate_t

from mi_toolkit import estimate_mi
from mi_toolkit.synthetic import (
    AdditiveUniformNoise,
    GaussianMixtureMarginal,
    JointGaussian,
    MultivariateStudentT,
    Spiral,
    Standardised,
    Transformed,
    get_suite,
    get_task,
    half_cube,
    normal_cdf,
    swiss_roll,
    wiggly,
)
from mi_toolkit.synthetic.beyond_normal import BIMODAL_X, BIMODAL_Y
from mi_toolkit.synthetic.gaussian import CorrelatedPairs
from mi_toolkit.synthetic.noise import uniform_noise_mutual_information
from mi_toolkit.synthetic.transforms import asinh

_SPARSE = [f"multinormal-sparse-{d}-{d}-2-2.0" for d in (3, 5, 25)]
EXPECTED_NAMES = [
    "1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "1v1-additive-0.1",
    "1v1-additive-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1",
    "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    *[f"multinormal-dense-{d}-{d}-0.5" for d in (2, 3, 5, 25, 50)],
    *[f"multinormal-sparse-{d}-{d}-2-2.0" for d in (2, 3, 5, 25)],
    *[f"student-identity-{s}" for s in ("2-2-1", "2-2-2", "3-3-2", "3-3-3", "5-5-2", "5-5-3")],
    *[f"normal_cdf-{name}" for name in _SPARSE],
    *[f"half_cube-{name}" for name in _SPARSE],
    *[f"spiral-{name}" for name in _SPARSE],
    *[f"spiral-normal_cdf-{name}" for name in _SPARSE],
    *[f"asinh-student-identity-{s}" for s in ("2-2-1", "3-3-2", "5-5-2")],
]
GAUSSIAN_BASED = [
    name for name in EXPECTED_NAMES if "normal" in name.split("-")[-4:] or "multinormal" in name
]
GAUSSIAN_BASED += ["1v1-bimodal-0.75"]
STUDENT_BASED = [name for name in EXPECTED_NAMES if "student" in name]


def test_the_suite_holds_exactly_the_benchmarks_40_tasks():
    suite = get_suite("beyond-normal")
    assert len(EXPECTED_NAMES) == len(set(EXPECTED_NAMES)) == 40
    assert [task.name for task in suite] == EXPECTED_NAMES
    # Every task is one of the three kinds whose truth is checked below.
    additive = {"1v1-additive-0.1", "1v1-additive-0.75"}
    assert set(GAUSSIAN_BASED) | set(STUDENT_BASED) | additive == set(EXPECTED_NAMES)
    assert not set(GAUSSIAN_BASED) & set(STUDENT_BASED)


def test_the_closed_forms_of_the_gaussian_families():
    one_pair = -0.5 * math.log(1 - 0.75**2)
    for name in ("1v1-normal-0.75", "1v1-bimodal-0.75", "swissroll_x-normal_cdf-1v1-normal-0.75"):
        assert get_task(name).mutual_information == pytest.approx(one_pair, rel=1e-14)
    # Two pairs of correlation 4/5 (X_i = E_i + 2 Z_i, Y_i = F_i + 2 Z_i): -log(1 - 0.64).
    for name in [n for n in EXPECTED_NAMES if "sparse" in n]:
        assert get_task(name).mutual_information == pytest.approx(-math.log(0.36), rel=1e-13)
    # Dense, ρ = 0.5: det of (1-ρ)I + ρ11ᵀ in k dimensions is (1-ρ)^(k-1) (1 + (k-1)ρ).
    for d in (2, 3, 5, 25, 50):

        def log_det(k: int) -> float:
            return (k - 1) * math.log(0.5) + math.log(1 + (k - 1) * 0.5)

        expected = 0.5 * (2 * log_det(d) - log_det(2 * d))
        truth = get_task(f"multinormal-dense-{d}-{d}-0.5").mutual_information
        assert truth == pytest.approx(expected, rel=1e-12)


def test_every_sample_is_standardised_and_an_affine_image_of_the_raw_sample():
    for task in get_suite("beyond-normal"):
        assert isinstance(task.sampler, Standardised)
        x, y = task.sample(300, seed=4)
        raw_x, raw_y = task.sampler.sampler.sample(300, np.random.default_rng(4))
        for values, raw in ((x, raw_x), (y, raw_y)):
            np.testing.assert_allclose(values.mean(axis=0), 0.0, atol=1e-12)
            np.testing.assert_allclose(values.std(axis=0), 1.0, rtol=1e-12)
            # Per column, values = (raw - mean) / std: an invertible affine map.
            rebuilt = values * raw.std(axis=0) + raw.mean(axis=0)
            np.testing.assert_allclose(rebuilt, raw, rtol=1e-9, atol=1e-12 * np.abs(raw).max())


# Inverses written here, independently of the package's own.
def _mixture_to_normal(mixture: GaussianMixtureMarginal, t: np.ndarray) -> np.ndarray:
    cdf = sum(w * ndtr(t - m) for w, m in zip(mixture.weights, mixture.means, strict=True))
    return ndtri(cdf)


def _invert(transform, values: np.ndarray) -> np.ndarray:
    if transform is None:
        return values
    if transform is normal_cdf:
        return ndtri(values)
    if transform is half_cube:
        return np.sign(values) * np.abs(values) ** (2 / 3)
    if transform is asinh:
        return np.sinh(values)
    if transform is wiggly:
        grid = np.linspace(-12.0, 12.0, 240_001)
        return np.interp(values, wiggly(grid), grid)
    if transform is swiss_roll:
        t = np.hypot(values[:, 0::2], values[:, 1::2]) * 4.5 * np.pi
        return ndtri((t / (1.5 * np.pi) - 1) / 2)
    if isinstance(transform, Spiral):
        return _unspiral(transform, values)
    if isinstance(transform, GaussianMixtureMarginal):
        return _mixture_to_normal(transform, values)
    raise AssertionError(f"no inverse for {transform!r}")


def _unspiral(spiral: Spiral, values: np.ndarray) -> np.ndarray:
    # A = E_ji - E_ij rotates the plane (i, j): exp(θA) sends (u_i, u_j) to
    # (u_i cos θ - u_j sin θ, u_i sin θ + u_j cos θ). Undo with θ = -s‖y‖².
    (i, j), *rest = np.argwhere(spiral.generator == -1.0)
    assert not rest and spiral.generator[j, i] == 1.0
    theta = -spiral.speed * np.einsum("ij,ij->i", values, values)
    out = values.copy()
    out[:, i] = np.cos(theta) * values[:, i] - np.sin(theta) * values[:, j]
    out[:, j] = np.sin(theta) * values[:, i] + np.cos(theta) * values[:, j]
    return out


def test_the_plane_rotation_inverse_matches_the_matrix_exponential():
    spiral = get_task("spiral-multinormal-sparse-5-5-2-2.0").sampler.sampler.transform_y
    values = np.random.default_rng(1).standard_normal((10, 5))
    expected = [expm(-spiral.speed * (row @ row) * spiral.generator) @ row for row in values]
    np.testing.assert_allclose(_unspiral(spiral, values), expected, atol=1e-12)


def _undo(sampler, x: np.ndarray, y: np.ndarray):
    """Undo every transform down to the untransformed sampler's own draw."""
    while isinstance(sampler, Transformed):
        x, y = _invert(sampler.transform_x, x), _invert(sampler.transform_y, y)
        sampler = sampler.sampler
    return sampler, x, y


@pytest.mark.parametrize("name", GAUSSIAN_BASED)
def test_gaussian_based_truth_on_the_undone_sample(name):
    task = get_task(name)
    # The plain Gaussians check the base truth on 20,000 draws; the transformed ones mostly
    # check the undoing, and the estimator's bias d_x d_y / 2n is allowed for below. From
    # 25 dimensions that bias swamps the check at any quick n, and the closed forms above
    # are the independent check there: only the undoing is checked, on 2,000 draws.
    high_dimensional = task.dim_y >= 25
    n = 2_000 if high_dimensional else 20_000 if name.startswith(("1v1", "multi")) else 5_000
    x, y = task.sampler.sampler.sample(n, np.random.default_rng(11))
    base, undone_x, undone_y = _undo(task.sampler.sampler, x, y)
    assert isinstance(base, (JointGaussian, CorrelatedPairs))
    base_x, base_y = base.sample(n, np.random.default_rng(11))
    # The transforms are undone exactly, so the task's truth is the Gaussian's.
    np.testing.assert_allclose(undone_x, base_x, atol=1e-6)
    np.testing.assert_allclose(undone_y, base_y, atol=1e-6)
    if high_dimensional:
        return
    result = estimate_mi(undone_x, undone_y, "gaussian")
    # Within 4 standard errors plus the estimator's stated upward bias d_x d_y / 2n.
    bias = base.dim_x * base.dim_y / (2 * n)
    assert abs(result.value - task.mutual_information) < 4 * result.standard_error + bias


@pytest.mark.parametrize(
    "name", [n for n in STUDENT_BASED if not n.startswith("asinh")], ids=lambda n: n
)
def test_student_truth_against_a_monte_carlo_of_log_density_ratios(name):
    task = get_task(name)
    sampler = task.sampler.sampler
    assert isinstance(sampler, MultivariateStudentT)
    n, d = 20_000, sampler.dim_x
    x, y = sampler.sample(n, np.random.default_rng(5))
    dof = sampler.dof
    ratios = (
        multivariate_t(shape=np.eye(2 * d), df=dof).logpdf(np.hstack([x, y]))
        - np.reshape(multivariate_t(shape=np.eye(d), df=dof).logpdf(x), n)
        - np.reshape(multivariate_t(shape=np.eye(d), df=dof).logpdf(y), n)
    )
    standard_error = ratios.std(ddof=1) / math.sqrt(n)
    assert abs(ratios.mean() - task.mutual_information) < 4 * standard_error


@pytest.mark.parametrize("name", [n for n in STUDENT_BASED if n.startswith("asinh")])
def test_asinh_student_tasks_undo_to_their_student_t(name):
    task, plain = get_task(name), get_task(name.removeprefix("asinh-"))
    assert task.mutual_information == plain.mutual_information
    x, y = task.sampler.sampler.sample(1000, np.random.default_rng(2))
    base, undone_x, undone_y = _undo(task.sampler.sampler, x, y)
    base_x, base_y = base.sample(1000, np.random.default_rng(2))
    np.testing.assert_allclose(undone_x, base_x, rtol=1e-9)
    np.testing.assert_allclose(undone_y, base_y, rtol=1e-9)


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_tasks_are_the_checked_closed_form(eps):
    task = get_task(f"1v1-additive-{eps}")
    assert isinstance(task.sampler.sampler, AdditiveUniformNoise)
    assert task.sampler.sampler.epsilon == eps
    assert task.mutual_information == uniform_noise_mutual_information(eps)


def _reference_solution(mixture: GaussianMixtureMarginal, z: float) -> float:
    # Solve F(t) = Φ(z) by Brent's method on log tail probabilities (exact in both tails).
    weights, means = mixture.weights, mixture.means
    if z <= 0:

        def gap(t: float) -> float:
            return float(np.log(weights @ ndtr(t - means)) - log_ndtr(z))
    else:

        def gap(t: float) -> float:
            return float(log_ndtr(-z) - np.log(weights @ ndtr(means - t)))

    return brentq(gap, z + means.min() - 1, z + means.max() + 1, xtol=1e-14, rtol=1e-15)


@pytest.mark.parametrize("mixture", [BIMODAL_X, BIMODAL_Y], ids=["x", "y"])
def test_the_bimodal_map_solves_the_mixture_cdf_to_its_stated_precision(mixture):
    z = np.concatenate([np.linspace(-8.0, 8.0, 81), [-30.0, -12.5, 0.0, 12.5, 30.0]])
    expected = np.array([_reference_solution(mixture, value) for value in z])
    np.testing.assert_allclose(mixture(z), expected, rtol=0, atol=4 * mixture.TOLERANCE)
    np.testing.assert_allclose(mixture.inverse(mixture(z)), z, atol=1e-9)
    grid = np.linspace(-8.0, 8.0, 20_001)
    assert np.all(np.diff(mixture(grid)) > 0)
    assert mixture(grid.reshape(-1, 1)).shape == (20_001, 1)


def test_the_bimodal_marginals_follow_their_mixtures():
    z = np.random.default_rng(8).standard_normal(20_000)

    def mixture_cdf(t, weights, means):
        return sum(w * ndtr(t - m) for w, m in zip(weights, means, strict=True))

    # Kolmogorov-Smirnov against the mixtures written out: p below 1e-3 would be a defect.
    assert kstest(BIMODAL_X(z), lambda t: mixture_cdf(t, (0.3, 0.7), (0.0, 5.0))).pvalue > 1e-3
    assert kstest(BIMODAL_Y(z), lambda t: mixture_cdf(t, (0.5, 0.5), (-1.0, 3.0))).pvalue > 1e-3
    # And they are not standard normal.
    assert kstest(BIMODAL_X(z), ndtr).pvalue < 1e-10


def test_bad_mixtures_and_tiny_standardised_samples_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixtureMarginal([0.3, 0.6], [0.0, 5.0])
    with pytest.raises(ValueError, match="same length"):
        GaussianMixtureMarginal([0.5, 0.5], [0.0])
    with pytest.raises(ValueError, match="means must be finite"):
        GaussianMixtureMarginal([1.0], [np.inf])
    with pytest.raises(ValueError, match="n must be at least 2"):
        get_task("1v1-normal-0.75").sample(1)
    with pytest.raises(ValueError, match="constant"):
        Standardised(Transformed(CorrelatedPairs([0.5]), np.zeros_like)).sample(
            10, np.random.default_rng(0)
        )
    with pytest.raises(TypeError, match="Sampler"):
        Standardised(CorrelatedPairs)
