"""Named training set-ups from the literature, for ``mi-toolkit train PRESET``.

Each preset is a :class:`~.config.TrainConfig`; command-line options override fields.

* ``12bit-tanh``, ``12bit-relu``, ``12bit-hardtanh``, ``12bit-sign-swish``,
  ``12bit-linear``: the 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby (2017) on the
  12-bit task, 80 % training data (3277 samples), Adam with learning rate 10⁻⁴ and
  mini-batches of 256 for 8000 epochs, recording their 274 log-spaced epochs on all 4096
  inputs, restarting runs below 0.55 training accuracy after 1000 epochs (Lorenzen et al.
  2022, "Information bottleneck: exact analysis of (quantized) neural networks", ICLR).
* ``12bit-bnn-ste``, ``12bit-bnn-approx-sign``, ``12bit-bnn-swish-sign``: the same shape
  with binary weights and activations and the named surrogate gradient.
* ``digits-mlp`` (64-32-16-10, tanh) and ``digits-conv``: scikit-learn's 8×8 digits.
* ``mnist-conv`` and ``mnist-mlp`` (784-1024-20-20-20-10, tanh, as Saxe et al. 2018):
  MNIST from files given with ``--data-path``.
"""

from __future__ import annotations

from dataclasses import replace

from mi_toolkit.nets.activations import ACTIVATIONS
from mi_toolkit.nets.binary import SURROGATES
from mi_toolkit.nets.config import TrainConfig

_TWELVE_BIT = TrainConfig(
    dataset="12bit",
    sizes=(12, 10, 7, 5, 4, 3, 2),
    optimizer="adam",
    lr=1e-4,
    batch_size=256,
    epochs=8000,
    record="log",
    eval_set="all",
    restart_epoch=1000,
)

_IMAGES = {"restart_epoch": None, "lr": 1e-3, "batch_size": 128, "record": "every:1"}

PRESETS: dict[str, TrainConfig] = {
    **{f"12bit-{a}": replace(_TWELVE_BIT, activation=a) for a in ACTIVATIONS},
    **{f"12bit-bnn-{s}": replace(_TWELVE_BIT, model="binary", activation=s) for s in SURROGATES},
    "digits-mlp": TrainConfig(
        dataset="digits", sizes=(64, 32, 16, 10), activation="tanh", epochs=200, **_IMAGES
    ),
    "digits-conv": TrainConfig(
        dataset="digits", model="conv", sizes=None, activation="relu", epochs=50, **_IMAGES
    ),
    "mnist-mlp": TrainConfig(
        dataset="mnist",
        data_path="mnist",
        sizes=(784, 1024, 20, 20, 20, 10),
        activation="tanh",
        epochs=100,
        **_IMAGES,
    ),
    "mnist-conv": TrainConfig(
        dataset="mnist",
        data_path="mnist",
        model="conv",
        sizes=None,
        activation="relu",
        conv_channels=(16, 32),
        conv_hidden=64,
        epochs=20,
        **_IMAGES,
    ),
}


def get_preset(name: str) -> TrainConfig:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
