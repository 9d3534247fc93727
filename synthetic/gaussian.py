"""Gaussian samplers, whose MI has the closed form ½ log(det Σ_xx det Σ_yy / det Σ)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mi_toolkit.synthetic.base import Sampler


def _check_correlation(rho: float) -> float:
    rho = float(rho)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"correlations must lie strictly inside (-1, 1); got {rho}")
    return rho


class CorrelatedPairs(Sampler):
    """X_i and Y_i standard normal with corr(X_i, Y_i) = ρ_i, pairs independent.

    I(X;Y) = -½ Σ_i log(1 - ρ_i²).
    """

    def __init__(self, correlations: Sequence[float]) -> None:
        rhos = [_check_correlation(r) for r in np.atleast_1d(correlations)]
        if not rhos:
            raise ValueError("correlations must hold at least one value (one pair)")
        self.correlations = np.array(rhos)
        self.dim_x = self.dim_y = len(rhos)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((n, self.dim_x))
        noise = rng.standard_normal((n, self.dim_y))
        y = self.correlations * x + np.sqrt(1.0 - self.correlations**2) * noise
        return x, y

    def mutual_information(self) -> float:
        return float(-0.5 * np.log1p(-(self.correlations**2)).sum())

    @classmethod
    def with_mutual_information(cls, total_nats: float, pairs: int) -> CorrelatedPairs:
        """Split ``total_nats`` evenly over ``pairs`` correlated pairs."""
        if total_nats < 0:
            raise ValueError(f"mutual information must be >= 0; got {total_nats}")
        rho = math.sqrt(1.0 - math.exp(-2.0 * total_nats / pairs))
        return cls([rho] * pairs)
