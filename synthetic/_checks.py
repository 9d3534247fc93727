"""Parameter checks shared by the samplers: each returns the clean value or raises."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mi_toolkit._validation import check_positive, check_positive_int

__all__ = [
    "check_correlation",
    "check_dimension",
    "check_mutual_information",
    "check_positive",
    "check_positive_int",
    "check_probability",
    "check_square_matrix",
]


def _as_float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return number


def check_correlation(value: Any, name: str = "correlation") -> float:
    """A correlation strictly inside (-1, 1)."""
    rho = _as_float(value, name)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"{name} must lie strictly inside (-1, 1); got {rho}")
    return rho


def check_probability(value: Any, name: str) -> float:
    """A probability in [0, 1]."""
    p = _as_float(value, name)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1]; got {p}")
    return p


def check_mutual_information(value: Any, name: str = "mutual_information") -> float:
    """A finite mutual information >= 0 (nats)."""
    nats = _as_float(value, name)
    if nats < 0:
        raise ValueError(f"{name} must be >= 0 nats; got {nats}")
    return nats


def check_dimension(value: Any, name: str, maximum: int | None = None) -> int:
    """A dimension (feature count) >= 1, and <= ``maximum`` when given."""
    dim = check_positive_int(value, name, " (dimensions start at 1)")
    if maximum is not None and dim > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {dim}")
    return dim


def check_square_matrix(value: Any, name: str, size: int | None = None) -> np.ndarray:
    """A finite square float64 matrix (of side ``size`` when given)."""
    matrix = np.array(value, dtype=np.float64, ndmin=2)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {matrix.shape}")
    if size is not None and matrix.shape[0] != size:
        raise ValueError(f"{name} must be {size}×{size}; got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} must hold only finite numbers")
    return matrix
