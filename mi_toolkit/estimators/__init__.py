"""The estimators. Importing this package registers every method by name."""

from mi_toolkit.estimators import binning, gaussian, kde, kl, ksg  # noqa: F401  (registration)
from mi_toolkit.estimators.base import Estimate, Estimator

__all__ = ["Estimate", "Estimator"]
