"""mi-toolkit: fast, tested mutual-information estimators.

>>> from mi_toolkit import estimate_mi
>>> result = estimate_mi(X, T, method="kde", noise_variance=1e-3)  # doctest: +SKIP
"""

from mi_toolkit.api import estimate_entropy, estimate_mi, list_methods
from mi_toolkit.dumps import open_dump
from mi_toolkit.estimators import KDE, KL, KSG, Binning, Estimator, Gaussian
from mi_toolkit.result import EstimateWarning, MIEstimate, MIToolkitWarning
from mi_toolkit.uncertainty import (
    BootstrapInterval,
    PermutationTest,
    bootstrap_ci,
    permutation_test,
)

__version__ = "0.1.0"

__all__ = [
    "KDE",
    "KL",
    "KSG",
    "Binning",
    "BootstrapInterval",
    "EstimateWarning",
    "Estimator",
    "Gaussian",
    "MIEstimate",
    "MIToolkitWarning",
    "PermutationTest",
    "__version__",
    "bootstrap_ci",
    "estimate_entropy",
    "estimate_mi",
    "list_methods",
    "open_dump",
    "permutation_test",
]
