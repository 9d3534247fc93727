"""What a training run is: its configuration, the epochs it records and its data.

:class:`TrainConfig` holds every setting of a run and checks them when built;
:func:`record_epochs` turns its ``record`` specification into epochs; :func:`load_data`
and :func:`prepare_data` turn its data set into the tensors the engines train on, split
into training and test samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mi_toolkit.nets.activations import ACTIVATIONS, DEFAULT_BETA
from mi_toolkit.nets.binary import SURROGATES
from mi_toolkit.nets.models import INITS
from mi_toolkit.synthetic.datasets import (
    LabelledData,
    load_digits,
    load_mnist,
    load_var_u,
    train_test_split,
    twelve_bit_task,
)

DATASETS = ("12bit", "var_u", "digits", "mnist")
MODELS = ("mlp", "binary", "conv")
OPTIMIZERS = ("adam", "sgd")
EVAL_SETS = ("all", "train", "test")


def record_epochs(spec: str, n_epochs: int) -> list[int]:
    """The epochs to record, from a specification.

    * ``"all"``: every epoch 0 .. n_epochs − 1;
    * ``"every:K"``: 0, K, 2K, ... and the last epoch;
    * ``"log"`` or ``"log:N"``: Shwartz-Ziv & Tishby's grid,
      unique(⌊2^u⌋ for N values u evenly spaced in [0, log₂ n_epochs]) − 1, N = 400 by
      default, which gives 274 epochs out of 8000.
    """
    if n_epochs < 1:
        raise ValueError(f"epochs must be >= 1; got {n_epochs}")
    kind, _, arg = spec.partition(":")
    if kind == "all" and not arg:
        return list(range(n_epochs))
    if kind == "every" and arg.isdigit() and int(arg) >= 1:
        return sorted(set(range(0, n_epochs, int(arg))) | {n_epochs - 1})
    if kind == "log" and (not arg or (arg.isdigit() and int(arg) >= 2)):
        points = int(arg) if arg else 400
        grid = np.logspace(0, math.log2(n_epochs), points, base=2, dtype=np.int64)
        return [int(e) for e in np.unique(grid) - 1]
    raise ValueError(f"record must be 'all', 'every:K' or 'log[:N]'; got {spec!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the dump's metadata).

    Attributes
    ----------
    dataset : {"12bit", "var_u", "digits", "mnist"}
        The data set; ``"var_u"`` and ``"mnist"`` need ``data_path``.
    data_path : str or None
        The file of ``"var_u"``, or for ``"mnist"`` an IDX directory or .npz (see
        :func:`~mi_toolkit.synthetic.load_mnist`).
    model : {"mlp", "binary", "conv"}
        ``"binary"`` has weights and activations ±1.
    sizes : tuple of int or None
        Layer widths from input to output for ``mlp`` and ``binary``; they must match
        the data's input dimension and number of classes.
    activation : str
        For ``mlp``/``conv`` one of tanh, relu, hardtanh, sign-swish, linear; for
        ``binary`` the surrogate gradient: ste, approx-sign, swish-sign.
    beta : float
        Sign-swish steepness.
    init : {"szt", "saxe"}
        ``"szt"`` (std 1/√fan_in) or ``"saxe"`` (std 1/√width).
    optimizer : {"adam", "sgd"}
        The optimiser.
    lr : float
        Its learning rate.
    momentum : float
        Momentum of ``"sgd"``.
    batch_size : int or None
        Mini-batch size; None trains full-batch (gradient descent).
    epochs : int
        Passes over the training set.
    record : str
        Which epochs to record, see :func:`record_epochs`.
    eval_set : {"all", "train", "test"}
        Samples whose activations are recorded.
    seeds : tuple of int
        One network per seed, trained together.
    train_fraction : float
        Share of the samples in the stratified training split (shared by all seeds).
    split_seed : int
        Seed of that split.
    noise_std : float
        Standard deviation of the Gaussian noise on every layer's input.
    noise_relative : bool
        Noise standard deviation σ·|input| instead of σ.
    noise_at_eval : bool
        Noise also when the layers are evaluated and recorded.
    conv_channels : tuple of int
        Channels of the two convolutions of the ``conv`` model.
    conv_hidden : int
        Dense hidden units of the ``conv`` model.
    restart_epoch : int or None
        After ``restart_epoch`` epochs, a member whose training accuracy is below
        ``restart_accuracy`` is a bad fit (Lorenzen et al. use 1000 and 0.55): the run
        restarts from scratch with a new seed for that member, up to ``max_restarts``
        times; bad fits left are flagged in the metadata. None turns the check off.
    restart_accuracy : float
        See ``restart_epoch``.
    max_restarts : int
        See ``restart_epoch``.
    num_threads : int or None
        Torch threads during training (None: leave torch's setting). The default 1 is
        fastest for small networks, whose steps are all per-operation overhead that a
        thread hand-off only adds to (on 2 shared cores a 256×10 tanh takes 2 µs on one
        thread and up to 2 ms on two); raise it for large models.
    engine : {"auto", "ensemble", "module"}
        ``"auto"`` (ensemble for plain MLPs, else modules), ``"ensemble"`` or
        ``"module"`` (autograd on torch modules, any model).
    dtype : {"float32", "float64"}
        Torch float type of parameters and activations.
    """

    dataset: str = "12bit"
    data_path: str | None = None
    model: str = "mlp"
    sizes: tuple[int, ...] | None = (12, 10, 7, 5, 4, 3, 2)
    activation: str = "tanh"
    beta: float = DEFAULT_BETA
    init: str = "szt"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    batch_size: int | None = 256
    epochs: int = 8000
    record: str = "log"
    eval_set: str = "all"
    seeds: tuple[int, ...] = (0,)
    train_fraction: float = 0.8
    split_seed: int = 0
    noise_std: float = 0.0
    noise_relative: bool = False
    noise_at_eval: bool = False
    conv_channels: tuple[int, int] = (8, 16)
    conv_hidden: int = 32
    restart_epoch: int | None = 1000
    restart_accuracy: float = 0.55
    max_restarts: int = 3
    num_threads: int | None = 1
    engine: str = "auto"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        _choice("dataset", self.dataset, DATASETS)
        _choice("model", self.model, MODELS)
        allowed = SURROGATES if self.model == "binary" else ACTIVATIONS
        _choice("activation", self.activation, allowed, f" for model {self.model!r}")
        _choice("init", self.init, INITS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("eval_set", self.eval_set, EVAL_SETS)
        _choice("dtype", self.dtype, ("float32", "float64"))
        _choice("engine", self.engine, ("auto", "ensemble", "module"))
        plain_mlp = self.model == "mlp" and self.noise_std == 0
        if self.engine == "ensemble" and not plain_mlp:
            raise ValueError("engine 'ensemble' trains plain MLPs only (model 'mlp', no noise)")
        if self.dataset in ("var_u", "mnist") and not self.data_path:
            raise ValueError(f"dataset {self.dataset!r} is read from a file: set data_path")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0; got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None (full batch); got {self.batch_size}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct seeds; got {self.seeds}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0; got {self.noise_std}")
        record_epochs(self.record, self.epochs)
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if self.sizes is not None:
            object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _choice(what: str, value: str, allowed: Sequence[str], where: str = "") -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}{where}; choose one of {', '.join(allowed)}")


def load_data(config: TrainConfig) -> LabelledData:
    """The whole data set a configuration names (before the train/test split)."""
    if config.dataset == "12bit":
        return twelve_bit_task()
    if config.dataset == "var_u":
        return load_var_u(config.data_path)
    if config.dataset == "digits":
        return load_digits()
    return load_mnist(config.data_path, "all")


@dataclass
class PreparedData:
    """A run's data as tensors in the run's dtype, split once for all seeds.

    Attributes
    ----------
    data : LabelledData
        The whole data set.
    x_all, y_all : torch.Tensor
        Every sample's inputs and labels (evaluation runs on all of them).
    is_train : numpy.ndarray
        Boolean mask of the training samples.
    x_train, onehot_train : torch.Tensor
        The training inputs and their one-hot labels.
    eval_rows : numpy.ndarray
        Indices of the samples whose activations are recorded (``eval_set``).
    """

    data: LabelledData
    x_all: torch.Tensor
    y_all: torch.Tensor
    is_train: np.ndarray
    x_train: torch.Tensor
    onehot_train: torch.Tensor
    eval_rows: np.ndarray


def prepare_data(config: TrainConfig) -> PreparedData:
    """Load the data of ``config``, check it fits the layer sizes, split it."""
    data = load_data(config)
    if config.model != "conv":
        expected = (data.x.shape[1], data.n_classes)
        if config.sizes is None or (config.sizes[0], config.sizes[-1]) != expected:
            raise ValueError(
                f"sizes {config.sizes} do not fit dataset {config.dataset!r}: it has "
                f"{expected[0]} inputs and {expected[1]} classes, so sizes must start with "
                f"{expected[0]} and end with {expected[1]}"
            )
    train_part, _ = train_test_split(data, config.train_fraction, config.split_seed)
    is_train = np.zeros(len(data), dtype=bool)
    is_train[train_part.indices] = True
    dtype = config.torch_dtype
    eval_rows = {
        "all": np.arange(len(data)),
        "train": np.flatnonzero(is_train),
        "test": np.flatnonzero(~is_train),
    }[config.eval_set]
    y_train = torch.from_numpy(train_part.y)
    return PreparedData(
        data,
        torch.from_numpy(data.x).to(dtype),
        torch.from_numpy(data.y),
        is_train,
        torch.from_numpy(train_part.x).to(dtype),
        nn.functional.one_hot(y_train, data.n_classes).to(dtype),
        eval_rows,
    )
