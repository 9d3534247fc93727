"""Seeded data with known MI, built once for every test that needs it.

Helpers to import (``from _cases import gaussian_pairs``); fixtures live in conftest.py.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

# "Within a few standard errors": 4 SE leaves a seeded test a 1-in-15,000 chance of a
# false alarm while still catching a bias of a fraction of the noise.
Z = 4.0


def gaussian_pairs(
    pairs: int, n: int, seed: int, rho: float = 0.6
) -> tuple[np.ndarray, np.ndarray, float]:
    """``pairs`` independent standard-normal pairs (x_i, y_i) with correlation rho.

    Returns (x, y, I(x;y)) with I = -(pairs / 2) log(1 - rho^2), the closed form; rho = 0
    gives independent standard normals x and y. (The same draws as
    ``mi_toolkit.synthetic.CorrelatedPairs``; built here with numpy so that the core's
    tests do not lean on the synthetic package.)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, pairs))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, pairs))
    return x, y, -0.5 * pairs * math.log1p(-(rho**2))


def rho_for(total_nats: float, pairs: int) -> float:
    """The correlation per pair that gives ``pairs`` pairs ``total_nats`` of MI."""
    return math.sqrt(1.0 - math.exp(-2.0 * total_nats / pairs))


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


def plugin_mi_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in MI from a contingency table, computed independently of the package."""
    a_values, a_codes = np.unique(a, axis=0, return_inverse=True)
    b_values, b_codes = np.unique(b, axis=0, return_inverse=True)
    table = np.zeros((len(a_values), len(b_values)))
    np.add.at(table, (a_codes.ravel(), b_codes.ravel()), 1)
    p = table / table.sum()
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    nonzero = p > 0
    return float((p[nonzero] * np.log(p[nonzero] / outer[nonzero])).sum())


def dense_upper_entropy(t: np.ndarray, variance: float) -> float:
    """H_upper from the full distance matrix, as written in Kolchinsky & Tracey."""
    n, d = t.shape
    lse = logsumexp(-cdist(t, t, "sqeuclidean") / (2 * variance), axis=1)
    return d / 2 - np.mean(lse - math.log(n) - d / 2 * math.log(2 * math.pi * variance))


def relu_channel_mi(sigma: float, points: int = 801) -> float:
    """I(X; ReLU(X + σZ)) for X, Z standard normal, integrated numerically.

    Against the reference measure δ_0 + Lebesgue on [0, ∞): P(Y = 0 | x) = Φ(−x/σ) and
    P(Y = 0) = ½; for y > 0 the densities are φ((y − x)/σ)/σ and φ(y/s)/s, s² = 1 + σ².
    Trapezoids on a grid over x in [−10, 10] and y in [0, 10 + 10σ] (the 2,001-point grid
    and scipy's dblquad agree to 1e-15 at σ = 0.5: 0.58899054).
    """
    s = math.sqrt(1.0 + sigma**2)
    xs = np.linspace(-10.0, 10.0, points)
    ys = np.linspace(0.0, 10.0 + 10.0 * sigma, points)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    log_ratio = stats.norm.logpdf(y, x, sigma) - stats.norm.logpdf(y, 0.0, s)
    density = stats.norm.pdf(x) * stats.norm.pdf(y, x, sigma)
    positive_part = np.trapezoid(np.trapezoid(density * log_ratio, ys, axis=1), xs)
    zero_given_x = stats.norm.cdf(-xs / sigma)
    at_zero = stats.norm.pdf(xs) * zero_given_x * np.log(np.maximum(zero_given_x, 1e-300) / 0.5)
    return float(positive_part + np.trapezoid(at_zero, xs))
