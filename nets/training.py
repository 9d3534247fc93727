"""Train networks and record every layer's activations over the epochs.

:func:`train` takes a :class:`~.config.TrainConfig` and writes an activation dump (format
in :mod:`mi_toolkit.dumps`). At every recorded epoch it stores, for each ensemble member
(seed): the activations of every layer, the output's softmax included, on the chosen
evaluation set; train and test loss and accuracy; and for each layer the norms of the
mean and of the standard deviation of its parameters' gradient across the mini-batches
of that epoch, ‖E_b[g]‖ and ‖Std_b[g]‖ (the drift and diffusion phases of Shwartz-Ziv &
Tishby 2017, their Fig. 4).

Epochs are counted from 0: recorded epoch e holds the state after e + 1 passes over the
training set, and the gradient statistics of pass e. This module is the run loop: it
restarts bad fits with new seeds and checkpoints at every recorded epoch, so that a run
resumed after an interruption ends bit for bit where an uninterrupted one would. The
configuration lives in :mod:`~.config` and the engines that do the training in
:mod:`~.engines`.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from mi_toolkit.dumps import DumpWriter, atomic_write_bytes
from mi_toolkit.nets.config import (
    DATASETS,
    EVAL_SETS,
    MODELS,
    OPTIMIZERS,
    PreparedData,
    TrainConfig,
    load_data,
    prepare_data,
    record_epochs,
)
from mi_toolkit.nets.engines import GradientNorms, TrainingEngine, make_engine
from mi_toolkit.synthetic.datasets import LabelledData

__all__ = [
    "DATASETS",
    "EVAL_SETS",
    "MODELS",
    "OPTIMIZERS",
    "TrainConfig",
    "TrainResult",
    "load_data",
    "record_epochs",
    "train",
]

# Store the inputs x in the dump only up to this many numbers (12-bit: 49 152).
_MAX_STORED_INPUTS = 20_000_000


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


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy per member; logits (R, n, C), labels y (n,)."""
    log_p = torch.log_softmax(logits.double(), dim=2)
    loss = -log_p.gather(2, y.view(1, -1, 1).expand(len(logits), -1, 1)).mean(dim=(1, 2))
    accuracy = (logits.argmax(dim=2) == y).double().mean(dim=1)
    return loss.numpy(), accuracy.numpy()


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
    config : TrainConfig
        The run (see :class:`TrainConfig`).
    out : str or pathlib.Path
        Directory of the dump (format in :mod:`mi_toolkit.dumps`).
    resume : bool
        Continue an interrupted run in ``out`` from its last checkpoint (saved at
        every recorded epoch); a completed dump is left as is.
    quiet : bool
        No progress bar.
    callback : callable or None
        Called as ``callback(epoch, metrics)`` after each recorded epoch is written.

    Returns
    -------
    TrainResult
        The seeds finally used and the members flagged as bad fits.
    """
    started = time.perf_counter()
    out = Path(out)
    finished = _completed_meta(out, config) if resume else None
    if finished is not None:
        return _result(out, finished, started)
    with _threads(config.num_threads):
        prepared = prepare_data(config)
        checkpoint = _load_checkpoint(out) if resume else None
        state = _RunState(list(config.seeds)) if checkpoint is None else checkpoint["state"]
        while True:
            engine = make_engine(config, state.seeds, prepared)
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


def _open_writer(
    config: TrainConfig,
    out: Path,
    engine: TrainingEngine,
    seeds: list[int],
    prepared: PreparedData,
    resume: bool,
) -> DumpWriter:
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
    engine: TrainingEngine
    writer: DumpWriter
    prepared: PreparedData
    state: _RunState
    quiet: bool
    callback: Callable | None

    def epochs_from(self, first: int) -> list[int]:
        """Train from epoch ``first`` to the end, or until a bad-fit check calls for a restart.

        Returns
        -------
        list of int
            The members found to be bad fits.
        """
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


def _evaluate_and_write(
    engine: TrainingEngine,
    writer: DumpWriter,
    prepared: PreparedData,
    epoch: int,
    grads: GradientNorms | None,
) -> dict[str, np.ndarray]:
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


def _save_checkpoint(path: Path, epoch: int, engine: TrainingEngine, run_state: _RunState) -> None:
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
