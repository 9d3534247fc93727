"""Discrete samplers with exactly known MI."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mi_toolkit.synthetic.base import Sampler


def all_bit_patterns(n_bits: int) -> np.ndarray:
    """All 2**n_bits patterns of n_bits bits as 0/1 int64 rows, in counting order."""
    if not 1 <= n_bits <= 24:
        raise ValueError(f"n_bits must be between 1 and 24; got {n_bits}")
    codes = np.arange(2**n_bits)
    return ((codes[:, None] >> np.arange(n_bits)[::-1]) & 1).astype(np.int64)


def popcount(patterns: np.ndarray) -> np.ndarray:
    """Number of ones per row, as an (n, 1) array."""
    return patterns.sum(axis=1, keepdims=True)


class UniformPatternsMap(Sampler):
    """X uniform over all n_bits-bit patterns, Y = f(X) deterministic.

    I(X;Y) = H(f(X)), computed exactly by enumerating the 2**n_bits patterns.
    """

    discrete_x = True
    discrete_y = True

    def __init__(self, n_bits: int, mapping: Callable[[np.ndarray], np.ndarray]) -> None:
        self.patterns = all_bit_patterns(n_bits)
        self.mapping = mapping
        image = np.asarray(mapping(self.patterns)).reshape(len(self.patterns), -1)
        self.dim_x = n_bits
        self.dim_y = image.shape[1]
        _, counts = np.unique(image, axis=0, return_counts=True)
        p = counts / counts.sum()
        self._mi = float(-(p * np.log(p)).sum())

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = self.patterns[rng.integers(0, len(self.patterns), size=n)]
        return x, np.asarray(self.mapping(x)).reshape(n, -1)

    def mutual_information(self) -> float:
        return self._mi
