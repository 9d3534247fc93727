"""Real-valued models: MLPs, small convolutional classifiers, optional noise injection.

Every model is a torch module whose ``forward`` returns logits and whose recorded layers
are the children of ``model.layers`` (an ``nn.ModuleDict``), in forward order; the last
is ``"output"``, whose recorded activation is the softmax of the logits.

Initialisation (:func:`init_linear`):

* ``"szt"``: weights from a normal distribution truncated at ±2 standard deviations, std
  1/√fan_in, biases 0 (Shwartz-Ziv & Tishby 2017, who used TensorFlow's truncated normal).
* ``"saxe"``: the same truncated normal with std 1/√width, width being the number of units
  of the layer (fan_out), biases 0 (Saxe et al. 2018).

Noise injection (:class:`GaussianNoise`, Goldfeld et al. 2019, "Estimating information
flow in deep neural networks", ICML; Butakov et al. 2024) adds ε ~ N(0, σ²) to the input
of every layer, with σ fixed or σ·|input| when ``relative``, during training and, if
``at_eval``, also when the layer is evaluated and recorded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from mi_toolkit.nets.activations import DEFAULT_BETA, make_activation

INITS = ("szt", "saxe")


def init_std(init: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the weights for the named initialisation."""
    if init == "szt":
        return 1.0 / math.sqrt(fan_in)
    if init == "saxe":
        return 1.0 / math.sqrt(fan_out)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


def truncated_normal_(tensor: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Fill with N(0, std²) truncated at ±2 std, by resampling, from ``generator``."""
    with torch.no_grad():
        values = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)
        outside = values.abs() > 2
        while outside.any():
            values[outside] = torch.randn(
                int(outside.sum()), generator=generator, dtype=tensor.dtype
            )
            outside = values.abs() > 2
        return tensor.copy_(values * std)


def init_linear(layer: nn.Linear | nn.Conv2d, init: str, generator: torch.Generator) -> None:
    """Initialise one layer's weights (see the module docstring) and zero its bias."""
    fan_in = layer.weight[0].numel()
    fan_out = layer.weight.shape[0]
    truncated_normal_(layer.weight, init_std(init, fan_in, fan_out), generator)
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.zero_()


class GaussianNoise(nn.Module):
    """Adds N(0, σ²) noise (σ·|x| when ``relative``) in training, and at eval if asked."""

    def __init__(self, std: float, relative: bool = False, at_eval: bool = False) -> None:
        super().__init__()
        if not std >= 0:
            raise ValueError(f"noise std must be >= 0; got {std}")
        self.std, self.relative, self.at_eval = float(std), relative, at_eval

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.std == 0 or not (self.training or self.at_eval):
            return x
        scale = self.std * x.abs() if self.relative else self.std
        return x + scale * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"std={self.std}, relative={self.relative}, at_eval={self.at_eval}"


class Block(nn.Sequential):
    """One recorded layer: optional input noise, an affine map, an activation."""


def _noise(noise: GaussianNoise | None) -> list[nn.Module]:
    if noise is None:
        return []
    return [GaussianNoise(noise.std, noise.relative, noise.at_eval)]


class Classifier(nn.Module):
    """Base of our models: ``layers`` in order, ``forward`` gives logits."""

    layers: nn.ModuleDict

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers.values():
            x = layer(x)
        return x


class MLP(Classifier):
    """Fully connected classifier: ``sizes[0]`` inputs, hidden layers, ``sizes[-1]`` classes.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. (12, 10, 7, 5, 4, 3, 2), the
        network of Shwartz-Ziv & Tishby.
    activation : str
        One of :data:`~mi_toolkit.nets.activations.ACTIVATIONS`.
    init : {"szt", "saxe"}
        The initialisation (module docstring).
    seed : int
        Seeds the initialisation.
    beta : float
        Steepness of sign-swish.
    noise : GaussianNoise or None
        A :class:`GaussianNoise` template added before every layer, or None.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        init: str = "szt",
        seed: int = 0,
        beta: float = DEFAULT_BETA,
        noise: GaussianNoise | None = None,
    ) -> None:
        super().__init__()
        check_sizes(sizes)
        generator = torch.Generator().manual_seed(seed)
        blocks = {}
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            linear = nn.Linear(fan_in, fan_out)
            init_linear(linear, init, generator)
            act = [] if last else [make_activation(activation, beta)]
            blocks["output" if last else f"layer{i + 1}"] = Block(*_noise(noise), linear, *act)
        self.layers = nn.ModuleDict(blocks)
        self.sizes = tuple(int(s) for s in sizes)


def check_sizes(sizes: Sequence[int]) -> None:
    """Layer widths must be at least input and output, all positive integers."""
    if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(
            f"sizes must list at least the input and output widths as positive integers; "
            f"got {tuple(sizes)}"
        )


class ConvNet(Classifier):
    """Small convolutional classifier for square single-channel images (digits, MNIST).

    conv1 (3×3, ``channels[0]``) → activation → 2×2 max-pool → conv2 (3×3, ``channels[1]``)
    → activation → 2×2 max-pool → dense (``hidden`` units) → activation → output.
    Convolutions keep the size (padding 1); recorded activations are flattened per sample.

    Parameters
    ----------
    image_shape : tuple of int
        (height, width) of the images.
    n_classes : int
        Number of classes (output units).
    channels : tuple of int
        Channels of conv1 and conv2.
    hidden : int
        Units of the dense layer.
    activation, init, seed, beta, noise
        As for :class:`MLP`.
    """

    def __init__(
        self,
        image_shape: tuple[int, int],
        n_classes: int,
        channels: tuple[int, int] = (8, 16),
        hidden: int = 32,
        activation: str = "relu",
        init: str = "szt",
        seed: int = 0,
        beta: float = DEFAULT_BETA,
        noise: GaussianNoise | None = None,
    ) -> None:
        super().__init__()
        height, width = image_shape
        if height < 4 or width < 4:
            raise ValueError(f"ConvNet needs images of at least 4×4 pixels; got {image_shape}")
        generator = torch.Generator().manual_seed(seed)
        conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        flat = channels[1] * (height // 4) * (width // 4)
        dense, output = nn.Linear(flat, hidden), nn.Linear(hidden, n_classes)
        for layer in (conv1, conv2, dense, output):
            init_linear(layer, init, generator)
        self.image_shape = (height, width)
        self.layers = nn.ModuleDict(
            {
                "conv1": Block(
                    *_noise(noise), conv1, make_activation(activation, beta), nn.MaxPool2d(2)
                ),
                "conv2": Block(
                    *_noise(noise), conv2, make_activation(activation, beta), nn.MaxPool2d(2)
                ),
                "dense": Block(
                    nn.Flatten(), *_noise(noise), dense, make_activation(activation, beta)
                ),
                "output": Block(*_noise(noise), output),
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(len(x), 1, *self.image_shape))
