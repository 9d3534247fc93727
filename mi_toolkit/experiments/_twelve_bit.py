"""The 12-bit task's networks (Shwartz-Ziv & Tishby 2017), trained once per process.

The ``saturation`` and ``two-phases`` experiments study the same tanh ensemble; when both
run in one process (``mi-toolkit reproduce all``) the second reuses the first's dump
instead of training it again.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from mi_toolkit.nets.config import TrainConfig, record_epochs
from mi_toolkit.nets.presets import get_preset
from mi_toolkit.nets.training import train

#: log N of the task in bits: 4096 distinct inputs, the most I(X;T) can be.
CEILING_BITS = math.log2(4096)

# Dumps trained in this process, by configuration.
_TRAINED: dict[TrainConfig, Path] = {}


def twelve_bit_config(activation: str, seeds: int, epochs: int, record: str) -> TrainConfig:
    """The preset ``12bit-<activation>`` with seeds 0 … seeds − 1 as one ensemble.

    Parameters
    ----------
    activation : str
        ``"tanh"``, ``"relu"``, ... (a preset ``12bit-<activation>`` must exist).
    seeds : int
        Ensemble members.
    epochs : int
        Passes over the training set.
    record : str
        Recorded epochs, as :func:`mi_toolkit.nets.config.record_epochs` reads them.
    """
    return replace(
        get_preset(f"12bit-{activation}"),
        seeds=tuple(range(seeds)),
        epochs=epochs,
        record=record,
    )


def train_once(config: TrainConfig, folder: Path, progress: bool | None) -> Path:
    """The dump of ``config``: trained into ``folder``, or the one this process trained.

    Parameters
    ----------
    config : TrainConfig
        The run.
    folder : pathlib.Path
        Where to write the dump when it has not been trained yet.
    progress : bool or None
        Progress bar (None: when stderr is a terminal).

    Returns
    -------
    pathlib.Path
        The dump's folder.
    """
    known = _TRAINED.get(config)
    if known is not None and known.exists():
        return known
    quiet = progress is False
    train(config, folder, quiet=quiet)
    _TRAINED[config] = folder
    return folder


def recorded_count(config: TrainConfig) -> int:
    """How many epochs ``config`` records."""
    return len(record_epochs(config.record, config.epochs))
