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
