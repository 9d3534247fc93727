"""The task protocol: samplers with a known mutual information, and named tasks.

A *sampler* knows how to draw (x, y) and what I(X;Y) is. A *task* is a sampler plus a
name and a description, the unit the benchmarks and tests iterate over. This module
imports nothing else of ours.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class Sampler(ABC):
    """A distribution of (X, Y) with known mutual information."""

    #: Feature counts of X and Y.
    dim_x: int
    dim_y: int
    #: Whether samples of X / Y are discrete (integer-valued) by nature.
    discrete_x: bool = False
    discrete_y: bool = False

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` samples, returned as ``(n, dim_x)`` and ``(n, dim_y)`` arrays."""

    @abstractmethod
    def mutual_information(self) -> float:
        """The true I(X;Y) in nats."""

    def mutual_information_standard_error(self) -> float:
        """Standard error (nats) of :meth:`mutual_information`: 0.0 for exact truths.

        Samplers whose truth is itself a Monte-Carlo estimate override this.
        """
        return 0.0


@dataclass(frozen=True)
class Task:
    """A named sampler: ``task.sample(n, seed)`` and ``task.mutual_information`` (nats)."""

    name: str
    description: str
    sampler: Sampler

    @property
    def mutual_information(self) -> float:
        return self.sampler.mutual_information()

    @property
    def mutual_information_standard_error(self) -> float:
        """Standard error (nats) of the truth: 0.0 unless it is computed by Monte Carlo."""
        return self.sampler.mutual_information_standard_error()

    @property
    def dim_x(self) -> int:
        return self.sampler.dim_x

    @property
    def dim_y(self) -> int:
        return self.sampler.dim_y

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` samples; the same seed always gives the same samples.

        Parameters
        ----------
        n : int
            Number of samples, at least 1.
        seed : int
            Seed of the random generator.

        Returns
        -------
        x : numpy.ndarray
            ``(n, dim_x)`` samples of X.
        y : numpy.ndarray
            ``(n, dim_y)`` samples of Y.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        return self.sampler.sample(int(n), np.random.default_rng(seed))
