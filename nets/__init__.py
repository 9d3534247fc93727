"""Train deep and binary networks and record their layers' activations (torch).

* :func:`train` with a :class:`TrainConfig` (or ``mi-toolkit train PRESET``) trains MLPs,
  binary networks or small convnets, many seeds at once, and writes an activation dump
  (format in :mod:`mi_toolkit.dumps`, read with :func:`mi_toolkit.dumps.open_dump`).
* :class:`ActivationRecorder` records any torch model's named modules with forward hooks.
"""

from mi_toolkit.nets.activations import ACTIVATIONS, SignSwish, sign_swish
from mi_toolkit.nets.binary import SURROGATES, BinaryMLP, binarize
from mi_toolkit.nets.config import TrainConfig, record_epochs
from mi_toolkit.nets.ensemble import MLPEnsemble
from mi_toolkit.nets.models import MLP, ConvNet, GaussianNoise
from mi_toolkit.nets.presets import PRESETS, get_preset
from mi_toolkit.nets.recorder import ActivationRecorder
from mi_toolkit.nets.training import TrainResult, train

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "PRESETS",
    "SURROGATES",
    "ActivationRecorder",
    "BinaryMLP",
    "ConvNet",
    "GaussianNoise",
    "MLPEnsemble",
    "SignSwish",
    "TrainConfig",
    "TrainResult",
    "binarize",
    "get_preset",
    "record_epochs",
    "sign_swish",
    "train",
]
