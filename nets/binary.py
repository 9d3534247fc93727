"""Binary neural networks: weights and activations in {−1, +1}.

The forward pass uses sign(x) with sign(0) = +1. Its derivative is zero almost everywhere,
so training back-propagates a surrogate d/dx instead, chosen by name:

* ``"ste"``, the straight-through estimator (Courbariaux et al. 2016, "Binarized neural
  networks", arXiv:1602.02830): 1 on |x| ≤ 1, else 0;
* ``"approx-sign"`` (Liu et al. 2018, "Bi-Real Net", ECCV): 2 − 2|x| on |x| ≤ 1, else 0;
* ``"swish-sign"`` (Darabi et al. 2019, arXiv:1812.11800):
  β(2 − βx·tanh(βx/2)) / (1 + cosh βx), β = 5 by default.

Weights are binarised with the STE, and their latent real values are clipped to [−1, 1]
after every optimiser step (:func:`clip_latent_weights`), as Courbariaux et al. do.
Between the binary affine map and the sign sits a batch normalisation, as in their
networks, so that the integer pre-activations are centred where the surrogates are
non-zero; the output layer is a binary affine map plus batch normalisation, giving logits.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

from mi_toolkit.nets.models import Block, Classifier, check_sizes, init_linear

SURROGATES = ("ste", "approx-sign", "swish-sign")
SWISH_BETA = 5.0


def sign(x: torch.Tensor) -> torch.Tensor:
    """sign with sign(0) = +1."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def ste_grad(x: torch.Tensor) -> torch.Tensor:
    """1 on |x| ≤ 1, else 0."""
    return (x.abs() <= 1).to(x.dtype)


def approx_sign_grad(x: torch.Tensor) -> torch.Tensor:
    """2 − 2|x| on |x| ≤ 1, else 0."""
    return torch.clamp(2 - 2 * x.abs(), min=0.0)


def swish_sign_grad(x: torch.Tensor, beta: float = SWISH_BETA) -> torch.Tensor:
    """β(2 − βx·tanh(βx/2)) / (1 + cosh βx), computed as 2βs(1−s)(2 + βx(1−2s)), s = σ(βx).

    The σ form is the same function (1/(1 + cosh u) = 2s(1−s), tanh(u/2) = 2s − 1) but
    does not overflow for large |βx|.
    """
    s = torch.sigmoid(beta * x)
    return 2 * beta * s * (1 - s) * (2 + beta * x * (1 - 2 * s))


def _surrogate(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    grads = {"ste": ste_grad, "approx-sign": approx_sign_grad, "swish-sign": swish_sign_grad}
    if name not in grads:
        raise ValueError(
            f"unknown binary surrogate {name!r}; choose one of {', '.join(SURROGATES)}"
        )
    return grads[name]


class _Sign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, grad_fn: Callable) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.grad_fn = grad_fn
        return sign(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_output * ctx.grad_fn(x), None


def binarize(x: torch.Tensor, surrogate: str = "ste") -> torch.Tensor:
    """sign(x) forward, the named surrogate derivative backward."""
    return _Sign.apply(x, _surrogate(surrogate))


class BinarySign(nn.Module):
    """The binary activation as a module."""

    def __init__(self, surrogate: str = "ste") -> None:
        super().__init__()
        self.surrogate = surrogate
        self._grad = _surrogate(surrogate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Sign.apply(x, self._grad)

    def extra_repr(self) -> str:
        return f"surrogate={self.surrogate!r}"


class BinaryLinear(nn.Linear):
    """Affine map with weights sign(W) in {−1, +1}; W is the latent real weight."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, binarize(self.weight, "ste"), self.bias)


class BinaryMLP(Classifier):
    """MLP with binary weights and activations (see the module docstring).

    Each hidden layer is BinaryLinear → BatchNorm → sign; its recorded activations are in
    {−1, +1}.

    Parameters
    ----------
    sizes : sequence of int
        The widths including input and output, as for :class:`MLP`.
    surrogate : {"ste", "approx-sign", "swish-sign"}
        The surrogate derivative of sign (module docstring).
    init : {"szt", "saxe"}
        Initialisation of the latent weights, as for :class:`MLP`.
    seed : int
        Seeds the initialisation.
    """

    def __init__(
        self, sizes: Sequence[int], surrogate: str = "ste", init: str = "szt", seed: int = 0
    ) -> None:
        super().__init__()
        check_sizes(sizes)
        _surrogate(surrogate)
        generator = torch.Generator().manual_seed(seed)
        blocks = {}
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            linear = BinaryLinear(fan_in, fan_out, bias=False)
            init_linear(linear, init, generator)
            norm = nn.BatchNorm1d(fan_out)
            act = [] if last else [BinarySign(surrogate)]
            blocks["output" if last else f"layer{i + 1}"] = Block(linear, norm, *act)
        self.layers = nn.ModuleDict(blocks)
        self.sizes = tuple(int(s) for s in sizes)

    def clip_latent_weights(self) -> None:
        """Clip the latent real weights to [−1, 1] (call after each optimiser step)."""
        clip_latent_weights(self)


def clip_latent_weights(model: nn.Module) -> None:
    """Clip every :class:`BinaryLinear` latent weight of ``model`` to [−1, 1]."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, BinaryLinear):
                module.weight.clamp_(-1.0, 1.0)
