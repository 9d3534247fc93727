"""The estimators. Importing this package registers every method by name.

The classes can be built directly and passed to :func:`mi_toolkit.estimate_mi` in place of
a method name, e.g. ``estimate_mi(x, y, KSG(k=5))``; the short names below are the ones
:mod:`mi_toolkit` exports.
"""

from mi_toolkit.estimators import (  # noqa: F401  (registration)
    auto,
    binning,
    cca,
    compression,
    gaussian,
    gcmi,
    kde,
    kl,
    ksg,
    lnc,
    neural,
    student_t,
)
from mi_toolkit.estimators.auto import AutoEstimator as Auto
from mi_toolkit.estimators.base import Estimate, Estimator, UndefinedEstimate
from mi_toolkit.estimators.binning import BinningEstimator as Binning
from mi_toolkit.estimators.cca import CCABoundEstimator as CCABound
from mi_toolkit.estimators.compression import CompressionEstimator as Compression
from mi_toolkit.estimators.compression import FittedCompressor, fit_compressor
from mi_toolkit.estimators.gaussian import GaussianEstimator as Gaussian
from mi_toolkit.estimators.gcmi import GaussianCopulaEstimator as GaussianCopula
from mi_toolkit.estimators.kde import KDEEstimator as KDE
from mi_toolkit.estimators.kl import KLEstimator as KL
from mi_toolkit.estimators.ksg import KSGEstimator as KSG
from mi_toolkit.estimators.lnc import LNCEstimator as LNC
from mi_toolkit.estimators.neural import InfoNCEEstimator as InfoNCE
from mi_toolkit.estimators.neural import MINEEstimator as MINE
from mi_toolkit.estimators.neural import NWJEstimator as NWJ
from mi_toolkit.estimators.neural import SMILEEstimator as SMILE
from mi_toolkit.estimators.student_t import StudentTEstimator as StudentT

__all__ = [
    "KDE",
    "KL",
    "KSG",
    "LNC",
    "MINE",
    "NWJ",
    "SMILE",
    "Auto",
    "Binning",
    "CCABound",
    "Compression",
    "Estimate",
    "Estimator",
    "FittedCompressor",
    "Gaussian",
    "GaussianCopula",
    "InfoNCE",
    "StudentT",
    "UndefinedEstimate",
    "fit_compressor",
]
