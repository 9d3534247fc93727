"""A labelled Gaussian mixture whose I(T; label) is known by quadrature."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, stats


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
