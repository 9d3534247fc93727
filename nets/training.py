"""Train networks and record every layer's activations over the epochs.

:func:`train` takes a :class:`TrainConfig` and writes an activation dump (format in
:mod:`mi_toolkit.dumps`). At every recorded epoch it stores, for each ensemble member
(seed): the activations of every layer, the output's softmax included, on the chosen
evaluation set; train and test loss and accuracy; and for each layer the norms of the
mean and of the standard deviation of its parameters' gradient across the mini-batches
of that epoch, ‖E_b[g]‖ and ‖Std_b[g]‖ (the drift and diffusion phases of Shwartz-Ziv &
Tishby 2017, their Fig. 4).

Epochs are counted from 0: recorded epoch e holds the state after e + 1 passes over the
training set, and the gradient statistics of pass e. Two engines do the work:

* plain MLPs without noise train as one :class:`~.ensemble.MLPEnsemble`, all seeds at
  once with a hand-written backward pass (fast);
* binary and convolutional networks, and anything with noise injection, train as ordinary
  torch modules with autograd and ``torch.optim``, seeds in lockstep, and are recorded with
  :class:`~.recorder.ActivationRecorder`.

Both give a member the same initialisation and batch order for the same seed.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from mi_toolkit.dumps import DumpWriter, atomic_write_bytes
from mi_toolkit.nets.activations import ACTIVATIONS, DEFAULT_BETA
from mi_toolkit.nets.binary import SURROGATES, BinaryMLP, clip_latent_weights
from mi_toolkit.nets.ensemble import FlatAdam, FlatSGD, MLPEnsemble
from mi_toolkit.nets.models import INITS, MLP, ConvNet, GaussianNoise
from mi_toolkit.nets.recorder import ActivationRecorder, model_layers
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
# Store the inputs x in the dump only up to this many numbers (12-bit: 49 152).
_MAX_STORED_INPUTS = 20_000_000


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
    dataset : ``"12bit"``, ``"var_u"`` (needs ``data_path``), ``"digits"`` or ``"mnist"``
        (``data_path``: IDX directory or .npz, see :func:`~mi_toolkit.synthetic.load_mnist`).
    model : ``"mlp"``, ``"binary"`` (weights and activations ±1) or ``"conv"``.
    sizes : layer widths from input to output for ``mlp`` and ``binary``; they must match
        the data's input dimension and number of classes.
    activation : for ``mlp``/``conv`` one of tanh, relu, hardtanh, sign-swish, linear; for
        ``binary`` the surrogate gradient: ste, approx-sign, swish-sign.
    beta : sign-swish steepness.
    init : ``"szt"`` (std 1/√fan_in) or ``"saxe"`` (std 1/√width).
    optimizer, lr, momentum : ``"adam"`` or ``"sgd"`` with its learning rate.
    batch_size : mini-batch size; None trains full-batch (gradient descent).
    epochs : passes over the training set.
    record : which epochs to record, see :func:`record_epochs`.
    eval_set : samples whose activations are recorded: ``"all"``, ``"train"``, ``"test"``.
    seeds : one network per seed, trained together.
    train_fraction, split_seed : the stratified train/test split (shared by all seeds).
    noise_std, noise_relative, noise_at_eval : Gaussian noise on every layer's input.
    conv_channels, conv_hidden : shape of the ``conv`` model.
    restart_epoch, restart_accuracy, max_restarts : after ``restart_epoch`` epochs, a
        member whose training accuracy is below ``restart_accuracy`` is a bad fit
        (Lorenzen et al. use 1000 and 0.55): the run restarts from scratch with a new
        seed for that member, up to ``max_restarts`` times; bad fits left are flagged
        in the metadata. None turns the check off.
    num_threads : torch threads during training (None: leave torch's setting). The
        default 1 is fastest for small networks, whose steps are all per-operation
        overhead that a thread hand-off only adds to (on 2 shared cores a 256×10 tanh
        takes 2 µs on one thread and up to 2 ms on two); raise it for large models.
    engine : ``"auto"`` (ensemble for plain MLPs, else modules), ``"ensemble"`` or
        ``"module"`` (autograd on torch modules, any model).
    dtype : ``"float32"`` or ``"float64"``.
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
class TrainResult:
    """What :func:`train` did: the dump's path, the seeds used, flagged bad fits."""

    path: Path
    seeds: list[int]
    bad_fits: list[int]
    restarts: int
    seconds: float = 0.0


@contextmanager
def _threads(n: int | None):
    """Run with ``n`` torch threads and denormal floats flushed to zero, then restore.

    Saturated tanh networks produce gradients small enough to be denormal, on which CPU
    arithmetic is tens of times slower; flushing them changes values below 1e-38 only.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n or before)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.set_flush_denormal(False)


def _generators(seeds: Sequence[int]) -> list[torch.Generator]:
    # Batch order has its own stream, so it does not depend on how init drew numbers.
    return [torch.Generator().manual_seed(10_000_019 + int(s)) for s in seeds]


def _epoch_order(generators: Sequence[torch.Generator], n: int) -> torch.Tensor:
    return torch.stack([torch.randperm(n, generator=g) for g in generators])


def _batches(n: int, batch_size: int | None) -> list[tuple[int, int]]:
    size = n if batch_size is None else min(batch_size, n)
    return [(start, min(start + size, n)) for start in range(0, n, size)]


class _EnsembleEngine:
    """Plain MLPs: all seeds as one :class:`MLPEnsemble`."""

    def __init__(self, config: TrainConfig, seeds: Sequence[int], n_classes: int) -> None:
        self.net = MLPEnsemble(
            config.sizes, config.activation, seeds, config.init, config.beta, config.torch_dtype
        )
        if config.optimizer == "adam":
            self.optimizer = FlatAdam(self.net.params, config.lr)
        else:
            self.optimizer = FlatSGD(self.net.params, config.lr, config.momentum)
        self.generators = _generators(seeds)
        self.n_classes = n_classes
        self.batch_size = config.batch_size
        self.layer_names = self.net.layer_names()
        self.grad_sum = torch.zeros_like(self.net.grads)
        self.grad_squares = torch.zeros_like(self.net.grads)

    def train_epoch(self, x: torch.Tensor, onehot: torch.Tensor, track: bool) -> dict | None:
        order = _epoch_order(self.generators, len(x))
        # index_select into contiguous tensors: 3× quicker than x[order].
        xs = torch.index_select(x, 0, order.view(-1)).view(*order.shape, -1)
        ys = torch.index_select(onehot, 0, order.view(-1)).view(*order.shape, -1)
        batches = _batches(len(x), self.batch_size)
        if track:
            self.grad_sum.zero_()
            self.grad_squares.zero_()
        for start, stop in batches:
            self.net.gradient(xs[:, start:stop], ys[:, start:stop])
            if track:
                self.grad_sum.add_(self.net.grads)
                self.grad_squares.addcmul_(self.net.grads, self.net.grads)
            self.optimizer.step(self.net.grads)
        if not track:
            return None
        return {
            name: _gradient_norms(
                self.net.per_member(self.grad_sum, layer),
                self.net.per_member(self.grad_squares, layer),
                len(batches),
            )
            for layer, name in enumerate(self.layer_names)
        }

    def evaluate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        return self.net.forward_all(x)

    def state_dict(self) -> dict:
        return {
            "params": self.net.params.clone(),
            "optimizer": self.optimizer.state_dict(),
            "generators": [g.get_state() for g in self.generators],
        }

    def load_state_dict(self, state: dict) -> None:
        self.net.params.copy_(state["params"])
        self.optimizer.load_state_dict(state["optimizer"])
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)


def _gradient_norms(total: torch.Tensor, squares: torch.Tensor, n_batches: int):
    """(‖mean‖, ‖std‖) per member, from (members, params) sums of g and g² over batches."""
    mean = total / n_batches
    variance = (squares / n_batches - mean * mean).clamp_min(0.0)
    return mean.norm(dim=1).double().numpy(), variance.sqrt().norm(dim=1).double().numpy()


def _build_module(config: TrainConfig, seed: int, data: LabelledData) -> nn.Module:
    noise = None
    if config.noise_std > 0:
        noise = GaussianNoise(config.noise_std, config.noise_relative, config.noise_at_eval)
    if config.model == "conv":
        if data.image_shape is None:
            raise ValueError(f"model 'conv' needs image data; dataset {config.dataset!r} is not")
        return ConvNet(
            data.image_shape,
            data.n_classes,
            tuple(config.conv_channels),
            config.conv_hidden,
            config.activation,
            config.init,
            seed,
            config.beta,
            noise,
        )
    if config.model == "binary":
        return BinaryMLP(config.sizes, config.activation, config.init, seed)
    return MLP(config.sizes, config.activation, config.init, seed, config.beta, noise)


class _ModuleEngine:
    """Any of our torch models, trained with autograd; seeds in lockstep."""

    def __init__(self, config: TrainConfig, seeds: Sequence[int], data: LabelledData) -> None:
        dtype = config.torch_dtype
        # Noise injection draws from torch's global generator: seed it from the run's
        # seeds so that a run is reproducible (checkpoints save and restore its state).
        torch.manual_seed(20_000_003 + sum(int(s) for s in seeds))
        self.models = [_build_module(config, s, data).to(dtype) for s in seeds]
        if config.optimizer == "adam":
            self.optimizers = [torch.optim.Adam(m.parameters(), lr=config.lr) for m in self.models]
        else:
            self.optimizers = [
                torch.optim.SGD(m.parameters(), lr=config.lr, momentum=config.momentum)
                for m in self.models
            ]
        self.binary = config.model == "binary"
        self.generators = _generators(seeds)
        self.batch_size = config.batch_size
        self.layer_names = list(self.models[0].layers)
        self.recorders = [ActivationRecorder(m, model_layers(m)) for m in self.models]

    def train_epoch(self, x: torch.Tensor, onehot: torch.Tensor, track: bool) -> dict | None:
        labels = onehot.argmax(dim=1)
        order = _epoch_order(self.generators, len(x))
        batches = _batches(len(x), self.batch_size)
        sums: dict[str, list] = {name: [] for name in self.layer_names}
        for r, (model, optimizer) in enumerate(zip(self.models, self.optimizers, strict=True)):
            model.train()
            layer_params = {n: list(b.parameters()) for n, b in model.layers.items()}
            total = {n: 0.0 for n in self.layer_names}
            squares = {n: 0.0 for n in self.layer_names}
            for start, stop in batches:
                rows = order[r, start:stop]
                optimizer.zero_grad(set_to_none=False)
                loss = nn.functional.cross_entropy(model(x[rows]), labels[rows])
                loss.backward()
                if track:
                    for name, params in layer_params.items():
                        g = torch.cat([p.grad.reshape(-1) for p in params])
                        total[name] = total[name] + g
                        squares[name] = squares[name] + g * g
                optimizer.step()
                if self.binary:
                    clip_latent_weights(model)
            for name in self.layer_names:
                sums[name].append((total[name], squares[name]))
        if not track:
            return None
        return {
            name: _gradient_norms(
                torch.stack([t for t, _ in pairs]), torch.stack([s for _, s in pairs]), len(batches)
            )
            for name, pairs in sums.items()
        }

    def evaluate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        per_member = []
        logits = []
        for recorder in self.recorders:
            raw = recorder.record(x)
            out = torch.from_numpy(raw["layers.output"])
            logits.append(out)
            raw["layers.output"] = torch.softmax(out, dim=1).numpy()
            per_member.append([torch.from_numpy(raw[f"layers.{n}"]) for n in self.layer_names])
        layers = [torch.stack([m[i] for m in per_member]) for i in range(len(self.layer_names))]
        return layers, torch.stack(logits)

    def state_dict(self) -> dict:
        return {
            "models": [m.state_dict() for m in self.models],
            "optimizers": [o.state_dict() for o in self.optimizers],
            "generators": [g.get_state() for g in self.generators],
        }

    def load_state_dict(self, state: dict) -> None:
        for m, s in zip(self.models, state["models"], strict=True):
            m.load_state_dict(s)
        for o, s in zip(self.optimizers, state["optimizers"], strict=True):
            o.load_state_dict(s)
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy per member; logits (R, n, C), labels y (n,)."""
    log_p = torch.log_softmax(logits.double(), dim=2)
    loss = -log_p.gather(2, y.view(1, -1, 1).expand(len(logits), -1, 1)).mean(dim=(1, 2))
    accuracy = (logits.argmax(dim=2) == y).double().mean(dim=1)
    return loss.numpy(), accuracy.numpy()


@dataclass
class _Prepared:
    data: LabelledData
    x_all: torch.Tensor
    y_all: torch.Tensor
    is_train: np.ndarray
    x_train: torch.Tensor
    onehot_train: torch.Tensor
    eval_rows: np.ndarray


def _prepare(config: TrainConfig) -> _Prepared:
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
    return _Prepared(
        data,
        torch.from_numpy(data.x).to(dtype),
        torch.from_numpy(data.y),
        is_train,
        torch.from_numpy(train_part.x).to(dtype),
        nn.functional.one_hot(y_train, data.n_classes).to(dtype),
        eval_rows,
    )


def _engine(config: TrainConfig, seeds: Sequence[int], prepared: _Prepared):
    plain_mlp = config.model == "mlp" and config.noise_std == 0
    if config.engine == "ensemble" or (config.engine == "auto" and plain_mlp):
        return _EnsembleEngine(config, seeds, prepared.data.n_classes)
    return _ModuleEngine(config, seeds, prepared.data)


def _architecture(config: TrainConfig, data: LabelledData) -> dict[str, Any]:
    if config.model == "conv":
        return {
            "type": "conv",
            "image_shape": list(data.image_shape),
            "channels": list(config.conv_channels),
            "hidden": config.conv_hidden,
            "classes": data.n_classes,
        }
    return {"type": config.model, "sizes": list(config.sizes)}


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    quiet: bool = False,
    callback: Callable[[int, dict[str, np.ndarray]], None] | None = None,
) -> TrainResult:
    """Train the networks of ``config`` and write their activation dump to ``out``.

    Parameters
    ----------
    config : the run (see :class:`TrainConfig`).
    out : directory of the dump (format in :mod:`mi_toolkit.dumps`).
    resume : continue an interrupted run in ``out`` from its last checkpoint (saved at
        every recorded epoch); a completed dump is left as is.
    quiet : no progress bar.
    callback : called as ``callback(epoch, metrics)`` after each recorded epoch is written.

    Returns
    -------
    TrainResult with the seeds finally used and the members flagged as bad fits.
    """
    started = time.perf_counter()
    out = Path(out)
    finished = _completed_meta(out, config) if resume else None
    if finished is not None:
        return _result(out, finished, started)
    with _threads(config.num_threads):
        prepared = _prepare(config)
        checkpoint = _load_checkpoint(out) if resume else None
        state = _RunState(list(config.seeds)) if checkpoint is None else checkpoint["state"]
        while True:
            engine = _engine(config, state.seeds, prepared)
            writer = _open_writer(config, out, engine, state.seeds, prepared, resume)
            first = 0
            if checkpoint is not None:
                engine.load_state_dict(checkpoint["engine"])
                torch.set_rng_state(checkpoint["torch_rng"])
                first, checkpoint = checkpoint["epoch"] + 1, None
            run = _Run(config, engine, writer, prepared, state, quiet, callback)
            if run.epochs_from(first) and state.restarts < config.max_restarts:
                state.restart(config.max_restarts)
                _clear(out)
                resume = False
                continue
            writer.finish(bad_fits=state.bad, seeds=state.seeds, restarts=state.restarts)
            (out / "checkpoint.pt").unlink(missing_ok=True)
            return _result(out, writer.meta, started)


@dataclass
class _RunState:
    """What survives a restart or an interruption besides the networks."""

    seeds: list[int]
    restarts: int = 0
    bad: list[int] = field(default_factory=list)

    def restart(self, limit: int) -> None:
        # A deterministic fresh seed per restart for each bad member only.
        self.restarts += 1
        self.seeds = [
            s + 1_000_003 * self.restarts if r in self.bad else s for r, s in enumerate(self.seeds)
        ]
        self.bad = []


def _completed_meta(out: Path, config: TrainConfig) -> dict | None:
    """The metadata of a finished dump of this configuration in ``out``, else None."""
    meta_path = out / "meta.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if not meta.get("complete"):
        return None
    if meta.get("config") != config.to_json():
        raise ValueError(f"cannot resume {out}: it holds a finished run of another config")
    return meta


def _result(out: Path, meta: dict, started: float) -> TrainResult:
    return TrainResult(
        out,
        meta["seeds"],
        meta.get("bad_fits", []),
        meta.get("restarts", 0),
        seconds=time.perf_counter() - started,
    )


def _open_writer(config, out, engine, seeds, prepared, resume) -> DumpWriter:
    data = prepared.data
    meta = {
        "dataset": data.name,
        "dataset_description": data.description,
        "architecture": _architecture(config, data),
        "activation": config.activation,
        "seeds": list(seeds),
        "eval_set": config.eval_set,
        "config": config.to_json(),
        "versions": {"torch": torch.__version__},
    }
    epochs = record_epochs(config.record, config.epochs)
    writer = DumpWriter(out, engine.layer_names, len(seeds), epochs, meta, resume=resume)
    rows = prepared.eval_rows
    extra = {"indices": rows, "is_train": prepared.is_train[rows]}
    if rows.size * data.x.shape[1] <= _MAX_STORED_INPUTS:
        extra["x"] = data.x[rows]
    writer.write_data(data.y[rows], **extra)
    return writer


@dataclass
class _Run:
    config: TrainConfig
    engine: Any
    writer: DumpWriter
    prepared: _Prepared
    state: _RunState
    quiet: bool
    callback: Callable | None

    def epochs_from(self, first: int) -> list[int]:
        """Train from epoch ``first`` to the end, or until a bad-fit check calls for a
        restart; return the members found to be bad fits."""
        config, state = self.config, self.state
        recorded = set(self.writer.meta["epochs"])
        check = config.restart_epoch - 1 if config.restart_epoch else None
        prepared = self.prepared
        with tqdm(
            total=config.epochs,
            initial=first,
            desc=f"{config.dataset}/{config.model}",
            unit="epoch",
            disable=self.quiet,
            mininterval=0.5,
        ) as progress:
            for epoch in range(first, config.epochs):
                track = epoch in recorded
                grads = self.engine.train_epoch(prepared.x_train, prepared.onehot_train, track)
                if track or epoch == check:
                    metrics = _evaluate_and_write(self.engine, self.writer, prepared, epoch, grads)
                    if epoch == check:
                        accuracy = metrics["train_accuracy"]
                        state.bad = [
                            int(r) for r in np.flatnonzero(accuracy < config.restart_accuracy)
                        ]
                        if state.bad and state.restarts < config.max_restarts:
                            return state.bad
                    if track:
                        _save_checkpoint(self.writer.path, epoch, self.engine, state)
                        if self.callback is not None:
                            self.callback(epoch, metrics)
                progress.update(1)
        return state.bad


def _evaluate_and_write(engine, writer, prepared, epoch, grads) -> dict[str, np.ndarray]:
    layers, logits = engine.evaluate(prepared.x_all)
    metrics = {}
    for part, mask in (("train", prepared.is_train), ("test", ~prepared.is_train)):
        rows = torch.from_numpy(np.flatnonzero(mask))
        loss, accuracy = _cross_entropy(logits[:, rows], prepared.y_all[rows])
        metrics[f"{part}_loss"], metrics[f"{part}_accuracy"] = loss, accuracy
    if grads is not None:
        for name, (mean_norm, std_norm) in grads.items():
            metrics[f"grad_mean/{name}"], metrics[f"grad_std/{name}"] = mean_norm, std_norm
    if epoch in writer.meta["epochs"]:
        rows = prepared.eval_rows
        whole = len(rows) == len(prepared.is_train)
        activations = {
            name: (a if whole else a[:, torch.from_numpy(rows)]).numpy()
            for name, a in zip(engine.layer_names, layers, strict=True)
        }
        writer.write_epoch(epoch, activations, metrics)
    return metrics


def _save_checkpoint(path: Path, epoch: int, engine, run_state: _RunState) -> None:
    state = {
        "epoch": epoch,
        "engine": engine.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "state": run_state,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path / "checkpoint.pt", buffer.getvalue())


def _load_checkpoint(path: Path) -> dict | None:
    file = path / "checkpoint.pt"
    if not file.exists():
        return None
    return torch.load(file, weights_only=False)


def _clear(out: Path) -> None:
    for file in out.glob("epoch_*.npz"):
        file.unlink()
    for name in ("meta.json", "checkpoint.pt"):
        (out / name).unlink(missing_ok=True)
