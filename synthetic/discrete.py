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


class UniformDiscreteMap(Sampler):
    """X uniform over the rows of ``support``, Y = f(X) deterministic.

    I(X;Y) = H(f(X)) - H(f(X) | X) = H(f(X)), computed exactly by applying f to every
    support row and taking the entropy of the distinct images' frequencies.

    Parameters
    ----------
    support : numpy.ndarray
        The (m, d) distinct values X takes, each with probability 1/m.
    mapping : callable
        Deterministic f, mapping an (n, d) array of support rows to n rows of Y.
    """

    discrete_x = True
    discrete_y = True

    def __init__(self, support: np.ndarray, mapping: Callable[[np.ndarray], np.ndarray]) -> None:
        support = np.asarray(support)
        support = support.reshape(len(support), -1)
        if len(support) == 0:
            raise ValueError("support must hold at least one row")
        if len(np.unique(support, axis=0)) != len(support):
            raise ValueError("support rows must be distinct (X is uniform over them)")
        self.patterns = support
        self.mapping = mapping
        image = np.asarray(mapping(support))
        if len(image) != len(support):
            raise ValueError("mapping must return one row of Y per row of X")
        image = image.reshape(len(support), -1)
        self.dim_x = support.shape[1]
        self.dim_y = image.shape[1]
        _, counts = np.unique(image, axis=0, return_counts=True)
        p = counts / counts.sum()
        self._mi = float(-(p * np.log(p)).sum())

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = self.patterns[rng.integers(0, len(self.patterns), size=n)]
        return x, np.asarray(self.mapping(x)).reshape(n, -1)

    def mutual_information(self) -> float:
        return self._mi


class UniformPatternsMap(UniformDiscreteMap):
    """X uniform over all n_bits-bit patterns, Y = f(X) deterministic; I(X;Y) = H(f(X)).

    The patterns are in ``self.patterns`` (counting order), f in ``self.mapping``.

    Parameters
    ----------
    n_bits : int
        Number of bits, 1 to 24; X takes each of the 2**n_bits patterns with equal probability.
    mapping : callable
        Deterministic f, mapping an (n, n_bits) array of patterns to n rows of Y.
    """

    def __init__(self, n_bits: int, mapping: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__(all_bit_patterns(n_bits), mapping)
