"""Shared data for the tests. Every random draw is seeded."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def bits12() -> np.ndarray:
    """All 4096 patterns of 12 bits as 0/1 int64 rows."""
    codes = np.arange(4096)
    return ((codes[:, None] >> np.arange(12)[::-1]) & 1).astype(np.int64)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


def correlated_gaussian(n: int, rho: float, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """dim independent pairs (X_i, Y_i) with correlation rho; MI = -dim/2 log(1 - rho^2)."""
    generator = np.random.default_rng(seed)
    x = generator.standard_normal((n, dim))
    y = rho * x + np.sqrt(1 - rho**2) * generator.standard_normal((n, dim))
    return x, y


def gaussian_pairs_mi(rho: float, dim: int) -> float:
    return -0.5 * dim * np.log(1 - rho**2)
