"""The two engines that train a run's networks, behind one protocol.

:class:`TrainingEngine` is what the run loop in :mod:`~.training` needs: one epoch of
training with optional gradient statistics, an evaluation of every layer, and a state to
checkpoint and restore. Two engines implement it:

* :class:`EnsembleEngine`: plain MLPs without noise train as one
  :class:`~.ensemble.MLPEnsemble`, all seeds at once with a hand-written backward pass
  (fast);
* :class:`ModuleEngine`: binary and convolutional networks, and anything with noise
  injection, train as ordinary torch modules with autograd and ``torch.optim``, seeds in
  lockstep, and are recorded with :class:`~.recorder.ActivationRecorder`.

Both give a member the same initialisation and batch order for the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from mi_toolkit.nets.binary import BinaryMLP, clip_latent_weights
from mi_toolkit.nets.config import PreparedData, TrainConfig
from mi_toolkit.nets.ensemble import FlatAdam, FlatSGD, MLPEnsemble
from mi_toolkit.nets.models import MLP, ConvNet, GaussianNoise
from mi_toolkit.nets.recorder import ActivationRecorder, model_layers
from mi_toolkit.synthetic.datasets import LabelledData

# Layer name -> (‖E_b[g]‖, ‖Std_b[g]‖) per member, from one epoch's mini-batches.
GradientNorms = dict[str, tuple[np.ndarray, np.ndarray]]


class TrainingEngine(Protocol):
    """What trains one run's members (one per seed) in lockstep.

    Attributes
    ----------
    layer_names : list of str
        The recorded layers in forward order, the output last.
    """

    layer_names: list[str]

    def train_epoch(
        self, x: torch.Tensor, onehot: torch.Tensor, track: bool
    ) -> GradientNorms | None:
        """One pass over the training set ``x`` with one-hot labels ``onehot``.

        With ``track``, return each layer's gradient norms over the epoch's mini-batches.
        """
        ...

    def evaluate(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Every layer's activations and the logits on inputs ``x``.

        Returns
        -------
        activations : list of torch.Tensor
            (members, samples, width) per layer, the output as softmax.
        logits : torch.Tensor
            (members, samples, classes).
        """
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything that continues training bit for bit: weights, optimiser, batch order."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        ...


def make_engine(
    config: TrainConfig, seeds: Sequence[int], prepared: PreparedData
) -> TrainingEngine:
    """The engine ``config.engine`` names; ``"auto"`` takes the ensemble for plain MLPs."""
    plain_mlp = config.model == "mlp" and config.noise_std == 0
    if config.engine == "ensemble" or (config.engine == "auto" and plain_mlp):
        return EnsembleEngine(config, seeds, prepared.data.n_classes)
    return ModuleEngine(config, seeds, prepared.data)


def _generators(seeds: Sequence[int]) -> list[torch.Generator]:
    # Batch order has its own stream, so it does not depend on how init drew numbers.
    return [torch.Generator().manual_seed(10_000_019 + int(s)) for s in seeds]


def _epoch_order(generators: Sequence[torch.Generator], n: int) -> torch.Tensor:
    return torch.stack([torch.randperm(n, generator=g) for g in generators])


def _batches(n: int, batch_size: int | None) -> list[tuple[int, int]]:
    size = n if batch_size is None else min(batch_size, n)
    return [(start, min(start + size, n)) for start in range(0, n, size)]


class EnsembleEngine:
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

    def train_epoch(
        self, x: torch.Tensor, onehot: torch.Tensor, track: bool
    ) -> GradientNorms | None:
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

    def state_dict(self) -> dict[str, Any]:
        return {
            "params": self.net.params.clone(),
            "optimizer": self.optimizer.state_dict(),
            "generators": [g.get_state() for g in self.generators],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.params.copy_(state["params"])
        self.optimizer.load_state_dict(state["optimizer"])
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)


def _gradient_norms(
    total: torch.Tensor, squares: torch.Tensor, n_batches: int
) -> tuple[np.ndarray, np.ndarray]:
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


class ModuleEngine:
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

    def train_epoch(
        self, x: torch.Tensor, onehot: torch.Tensor, track: bool
    ) -> GradientNorms | None:
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

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": [m.state_dict() for m in self.models],
            "optimizers": [o.state_dict() for o in self.optimizers],
            "generators": [g.get_state() for g in self.generators],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for m, s in zip(self.models, state["models"], strict=True):
            m.load_state_dict(s)
        for o, s in zip(self.optimizers, state["optimizers"], strict=True):
            o.load_state_dict(s)
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
