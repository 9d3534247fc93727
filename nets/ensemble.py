"""R fully connected networks trained at once, with a hand-written backward pass.

The studies average the information plane over many seeds (Lorenzen et al. use 50), and
the 12-bit network is so small that a training step is all per-operation overhead. So the
R members are stacked: layer l's weights are one (R, fan_in, fan_out) tensor, every step is
one batched matrix product per layer and direction (``torch.bmm``) for all members, and
the optimiser updates one flat parameter vector. All buffers are allocated once and
contiguous (on CPU, torch's element-wise kernels are ten times slower on strided views);
a step launches about 50 small kernels whatever R is.

The forward pass is a_l = g(a_{l−1} W_l + b_l), logits z_L = a_{L−1} W_L + b_L and
p = softmax(z_L). For the mean cross-entropy over a batch of size B the backward pass is
δ_L = (p − onehot(y))/B, ∂W_l = a_{l−1}ᵀ δ_l, ∂b_l = Σ_rows δ_l and
δ_{l−1} = (δ_l W_lᵀ) ⊙ g'(z_{l−1}); the tests check it against torch.autograd.

Member r is initialised exactly like ``MLP(sizes, activation, init, seed=seeds[r])`` and
draws its mini-batches from its own generator seeded with ``seeds[r]``, so a seed gives the
same network alone or in any ensemble.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from mi_toolkit.nets.activations import (
    DEFAULT_BETA,
    apply_activation,
    check_activation,
    scale_by_derivative,
)
from mi_toolkit.nets.models import MLP, check_sizes


class FlatAdam:
    """Adam (Kingma & Ba 2015) on one flat parameter vector, as torch.optim.Adam computes it.

    m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
    """

    def __init__(
        self,
        params: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = torch.zeros_like(params)
        self.v = torch.zeros_like(params)
        self.denominator = torch.zeros_like(params)
        self.t = 0

    def step(self, grads: torch.Tensor) -> None:
        beta1, beta2 = self.betas
        self.t += 1
        self.m.lerp_(grads, 1 - beta1)
        self.v.mul_(beta2).addcmul_(grads, grads, value=1 - beta2)
        torch.sqrt(self.v, out=self.denominator)
        self.denominator.div_(math.sqrt(1 - beta2**self.t)).add_(self.eps)
        self.params.addcdiv_(self.m, self.denominator, value=-self.lr / (1 - beta1**self.t))

    def state_dict(self) -> dict:
        return {"m": self.m.clone(), "v": self.v.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.m.copy_(state["m"])
        self.v.copy_(state["v"])
        self.t = int(state["t"])


class FlatSGD:
    """SGD with optional momentum (torch.optim.SGD's convention): b ← μb + g, θ ← θ − lr·b."""

    def __init__(self, params: torch.Tensor, lr: float, momentum: float = 0.0) -> None:
        self.params, self.lr, self.momentum = params, lr, momentum
        self.buffer = torch.zeros_like(params)
        self.t = 0

    def step(self, grads: torch.Tensor) -> None:
        self.t += 1
        if self.momentum:
            if self.t == 1:
                self.buffer.copy_(grads)
            else:
                self.buffer.mul_(self.momentum).add_(grads)
            grads = self.buffer
        self.params.add_(grads, alpha=-self.lr)

    def state_dict(self) -> dict:
        return {"buffer": self.buffer.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        self.buffer.copy_(state["buffer"])
        self.t = int(state["t"])


@dataclass
class _Buffers:
    z: list[torch.Tensor]
    a: list[torch.Tensor]
    delta: list[torch.Tensor]


class MLPEnsemble:
    """R MLPs of one shape, one per seed, trained in lockstep.

    Parameters
    ----------
    sizes : sequence of int
        Widths including input and output, e.g. (12, 10, 7, 5, 4, 3, 2).
    activation : str
        Hidden-layer activation (see :mod:`.activations`).
    seeds : sequence of int
        One seed per member; seeds initialisation and batch order.
    init : {"szt", "saxe"}
        The initialisation.
    beta : float
        Sign-swish steepness.
    dtype : torch.dtype
        Torch float type of parameters and activations.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        seeds: Sequence[int] = (0,),
        init: str = "szt",
        beta: float = DEFAULT_BETA,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        check_sizes(sizes)
        if len(seeds) < 1:
            raise ValueError("seeds must name at least one seed")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = check_activation(activation)
        self.seeds = [int(s) for s in seeds]
        self.init, self.beta, self.dtype = init, float(beta), dtype
        self.members = len(self.seeds)
        shapes = list(itertools.pairwise(self.sizes))
        total = sum(self.members * (i * o + o) for i, o in shapes)
        self.params = torch.zeros(total, dtype=dtype)
        self.grads = torch.zeros(total, dtype=dtype)
        self.weights, self.biases = self._views(self.params, shapes)
        self.grad_weights, self.grad_biases = self._views(self.grads, shapes)
        # Per layer, (start, stop) of its weights and of its bias in the flat vectors.
        self._slices = []
        offset = 0
        for i, o in shapes:
            w_end = offset + self.members * i * o
            self._slices.append(((offset, w_end), (w_end, w_end + self.members * o)))
            offset = w_end + self.members * o
        for r, seed in enumerate(self.seeds):
            self.load_member(r, MLP(self.sizes, activation, init, seed, beta).to(dtype))
        self._buffers: dict[int, _Buffers] = {}

    def _views(self, flat: torch.Tensor, shapes) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        weights, biases, offset = [], [], 0
        r = self.members
        for i, o in shapes:
            weights.append(flat[offset : offset + r * i * o].view(r, i, o))
            offset += r * i * o
            biases.append(flat[offset : offset + r * o].view(r, 1, o))
            offset += r * o
        return weights, biases

    def per_member(self, flat: torch.Tensor, layer: int) -> torch.Tensor:
        """A flat vector laid out like ``params``, cut to layer ``layer``: (R, n_params)."""
        (w0, w1), (b0, b1) = self._slices[layer]
        r = self.members
        return torch.cat([flat[w0:w1].view(r, -1), flat[b0:b1].view(r, -1)], dim=1)

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def layer_names(self) -> list[str]:
        """``layer1`` ... ``output``, the names :class:`~.models.MLP` gives its blocks."""
        return [f"layer{i + 1}" for i in range(self.n_layers - 1)] + ["output"]

    def load_member(self, member: int, model: MLP) -> None:
        """Copy the weights of an :class:`~.models.MLP` into member ``member``."""
        linears = [
            m for block in model.layers.values() for m in block if isinstance(m, torch.nn.Linear)
        ]
        with torch.no_grad():
            for layer, linear in enumerate(linears):
                self.weights[layer][member].copy_(linear.weight.T)
                self.biases[layer][member, 0].copy_(linear.bias)

    def to_module(self, member: int = 0) -> MLP:
        """Member ``member`` as an ordinary :class:`~.models.MLP` module (a copy)."""
        model = MLP(self.sizes, self.activation, self.init, self.seeds[member], self.beta)
        model = model.to(self.dtype)
        linears = [
            m for block in model.layers.values() for m in block if isinstance(m, torch.nn.Linear)
        ]
        with torch.no_grad():
            for layer, linear in enumerate(linears):
                linear.weight.copy_(self.weights[layer][member].T)
                linear.bias.copy_(self.biases[layer][member, 0])
        return model

    def _buffers_for(self, batch: int) -> _Buffers:
        if batch not in self._buffers:

            def make() -> list[torch.Tensor]:
                return [
                    torch.empty(self.members, batch, o, dtype=self.dtype) for o in self.sizes[1:]
                ]

            z = make()
            a = z if self.activation == "linear" else make()
            self._buffers[batch] = _Buffers(z, a, make())
        return self._buffers[batch]

    def gradient(self, x: torch.Tensor, onehot: torch.Tensor) -> None:
        """Fill ``self.grads`` with ∂(mean cross-entropy)/∂θ for each member's batch.

        ``x`` is (R, B, d_in) and ``onehot`` (R, B, classes): member r's batch is row r.
        """
        batch = x.shape[1]
        buf = self._buffers_for(batch)
        last = self.n_layers - 1
        a = x
        for layer in range(self.n_layers):
            # bmm then a broadcast add: 40 % quicker than baddbmm, which first copies
            # the broadcast bias into the output.
            torch.bmm(a, self.weights[layer], out=buf.z[layer]).add_(self.biases[layer])
            if layer < last:
                apply_activation(self.activation, buf.z[layer], buf.a[layer], self.beta)
                a = buf.a[layer]
        delta = buf.delta[last]
        _softmax_minus(buf.z[last], onehot, 1.0 / batch, out=delta)
        for layer in range(last, -1, -1):
            a_prev = x if layer == 0 else buf.a[layer - 1]
            torch.bmm(a_prev.transpose(1, 2), buf.delta[layer], out=self.grad_weights[layer])
            torch.sum(buf.delta[layer], dim=1, keepdim=True, out=self.grad_biases[layer])
            if layer > 0:
                below = buf.delta[layer - 1]
                torch.bmm(buf.delta[layer], self.weights[layer].transpose(1, 2), out=below)
                scale_by_derivative(
                    self.activation, below, buf.z[layer - 1], buf.a[layer - 1], self.beta
                )

    @torch.no_grad()
    def forward_all(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Every layer's activations on shared inputs ``x`` (n, d_in), for all members.

        Returns
        -------
        activations : list of torch.Tensor
            (R, n, width) of the hidden layers, then the softmax output.
        logits : torch.Tensor
            (R, n, classes).
        """
        activations = []
        a = x.to(self.dtype)
        for layer in range(self.n_layers):
            z = torch.matmul(a, self.weights[layer]).add_(self.biases[layer])
            if layer < self.n_layers - 1:
                out = torch.empty_like(z)
                apply_activation(self.activation, z, out, self.beta)
                a = out
                activations.append(out)
        activations.append(torch.softmax(z, dim=2))
        return activations, z


def _softmax_minus(z: torch.Tensor, onehot: torch.Tensor, scale: float, out: torch.Tensor) -> None:
    """out ← (softmax(z) − onehot)·scale along the last axis.

    Written out because torch's CPU softmax over a short last axis is slow (0.7 ms for
    (50, 256, 2) against 0.17 ms for these operations).
    """
    torch.sub(z, z.amax(dim=-1, keepdim=True), out=out)
    out.exp_()
    out.div_(out.sum(dim=-1, keepdim=True))
    out.sub_(onehot).mul_(scale)
