"""Data with known MI, and the checks the kNN estimator tests share."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats

from mi_toolkit import estimate_mi

# "Within a few standard errors": 4 SE leaves a seeded test a 1-in-15,000 chance of a
# false alarm while still catching a bias of a fraction of the noise.
Z = 4.0


def gaussian_pairs(pairs: int, n: int, seed: int, rho: float = 0.6):
    """``pairs`` independent standard-normal pairs (x_i, y_i) with correlation rho.

    Returns (x, y, I(x;y)) with I = -(pairs / 2) log(1 - rho^2), the closed form. (The
    same draws as ``mi_toolkit.synthetic.CorrelatedPairs``; built here with numpy so that
    the core's tests do not lean on the synthetic package.)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, pairs))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, pairs))
    return x, y, -0.5 * pairs * math.log1p(-(rho**2))


def rho_for(total_nats: float, pairs: int) -> float:
    """The correlation per pair that gives ``pairs`` pairs ``total_nats`` of MI."""
    return math.sqrt(1.0 - math.exp(-2.0 * total_nats / pairs))


def assert_downward_bias_that_shrinks(
    method: str, pairs: int, seed: int, max_bias: float, **params
):
    """The estimate is clearly below the truth, by at most max_bias at N = 5000, and by
    less at N = 5000 than at N = 1000 (the stated bias of kNN estimators in high d)."""
    errors = []
    for n in (1000, 5000):
        x, y, truth = gaussian_pairs(pairs, n, seed)
        result = estimate_mi(x, y, method, **params)
        errors.append(truth - result.value)
        assert errors[-1] > Z * result.standard_error
    assert errors[1] < max_bias
    assert errors[1] < errors[0]


def two_class_mixture(n: int, separation: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """T | Y=c ~ N(c * separation, 1), Y uniform on {0, 1}; returns (t, labels, I(T;Y))."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    t = rng.standard_normal(n) + separation * labels

    def density(v: float) -> float:
        return 0.5 * (stats.norm.pdf(v) + stats.norm.pdf(v - separation))

    def integrand(v: float) -> float:
        f = density(v)
        return -f * math.log(f) if f > 0 else 0.0

    entropy, _ = integrate.quad(integrand, -12.0, separation + 12.0, limit=200)
    truth = entropy - 0.5 * math.log(2 * math.pi * math.e)
    return t, labels, truth


def assert_about_zero_when_independent(method: str, dim: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, dim)), rng.standard_normal((n, dim))
    result = estimate_mi(x, y, method)
    assert abs(result.value) < Z * result.standard_error
