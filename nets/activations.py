"""Activation functions of the real-valued networks, with their derivatives.

Each activation is a torch module for ordinary models and a pair of tensor functions
(forward, derivative) for the hand-written backward pass of :mod:`.ensemble`.

* ``tanh``: g(x) = tanh x, g' = 1 − g².
* ``relu``: g(x) = max(0, x), g' = 1[x > 0].
* ``hardtanh``: g(x) = clip(x, −1, 1), g' = 1[|x| < 1].
* ``sign-swish``: g(x) = 2σ(βx)(1 + βx(1 − σ(βx))) − 1 (Darabi et al. 2019, "Regularized
  binary network training", arXiv:1812.11800), a smooth double-saturating stand-in for
  sign. With s = σ(βx), g' = 2βs(1 − s)(2 + βx(1 − 2s)) = β(2 − βx·tanh(βx/2))/(1 + cosh βx),
  the swish-sign surrogate gradient of :mod:`.binary`. β (default 5) sets the steepness.
* ``linear``: g(x) = x, g' = 1.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ACTIVATIONS = ("tanh", "relu", "hardtanh", "sign-swish", "linear")
DEFAULT_BETA = 5.0


def check_activation(name: str) -> str:
    """Return ``name`` if it is a known activation, else raise a ValueError listing them."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name


def sign_swish(x: torch.Tensor, beta: float = DEFAULT_BETA) -> torch.Tensor:
    """g(x) = 2σ(βx)(1 + βx(1 − σ(βx))) − 1."""
    s = torch.sigmoid(beta * x)
    return 2 * s * (1 + beta * x * (1 - s)) - 1


def sign_swish_derivative(x: torch.Tensor, beta: float = DEFAULT_BETA) -> torch.Tensor:
    """g'(x) = β(2 − βx·tanh(βx/2)) / (1 + cosh βx), written with σ to avoid overflow."""
    s = torch.sigmoid(beta * x)
    return 2 * beta * s * (1 - s) * (2 + beta * x * (1 - 2 * s))


class SignSwish(nn.Module):
    """The sign-swish activation as a module (see the module docstring)."""

    def __init__(self, beta: float = DEFAULT_BETA) -> None:
        super().__init__()
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_swish(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


def make_activation(name: str, beta: float = DEFAULT_BETA) -> nn.Module:
    """A fresh torch module computing the named activation."""
    modules: dict[str, Callable[[], nn.Module]] = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "hardtanh": nn.Hardtanh,
        "sign-swish": lambda: SignSwish(beta),
        "linear": nn.Identity,
    }
    return modules[check_activation(name)]()


def scale_by_derivative(
    name: str, delta: torch.Tensor, z: torch.Tensor, a: torch.Tensor, beta: float
) -> None:
    """delta ← delta · g'(z) in place, given the pre-activation z and output a = g(z).

    Uses a where it determines g' (tanh, relu, hardtanh) so that z need not be kept.
    """
    if name == "tanh":
        delta.addcmul_(delta, a * a, value=-1.0)
    elif name == "relu":
        delta.mul_(a > 0)
    elif name == "hardtanh":
        delta.mul_(a.abs() < 1)
    elif name == "sign-swish":
        delta.mul_(sign_swish_derivative(z, beta))


def apply_activation(name: str, z: torch.Tensor, out: torch.Tensor, beta: float) -> None:
    """out ← g(z), writing into the preallocated ``out``."""
    if name == "tanh":
        torch.tanh(z, out=out)
    elif name == "relu":
        torch.clamp(z, min=0.0, out=out)
    elif name == "hardtanh":
        torch.clamp(z, -1.0, 1.0, out=out)
    elif name == "sign-swish":
        out.copy_(sign_swish(z, beta))
    else:
        out.copy_(z)
