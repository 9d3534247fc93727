"""Torch autoencoders of the compression estimator (:mod:`mi_toolkit.estimators.compression`).

Imported only when an autoencoder is fitted or used, so that ``import mi_toolkit`` does not
import torch. The architecture, the training and its defaults are described in
:mod:`mi_toolkit.estimators.compression`.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from mi_toolkit._progress import progress_reporter
from mi_toolkit.estimators._device import resolve_backend
from mi_toolkit.estimators._neural_training import _torch_threads

# LeakyReLU's negative slope (Butakov et al. use 0.2).
_SLOPE = 0.2
# Samples encoded per forward pass when encoding (bounds the memory of a conv encoder).
_ENCODE_BLOCK = 4096
# Random directions per training step of the sliced Wasserstein penalty: enough that the
# penalty's noise is small against its value for a 4-D code, cheap against the decoder.
_SLICES = 64


def _image_shape(sample_shape: tuple[int, ...] | None) -> tuple[int, int, int] | None:
    """(c, h, w) of an image sample, or None for vectors."""
    if sample_shape is None:
        return None
    if len(sample_shape) == 2:
        return (1, *sample_shape)
    return tuple(sample_shape)  # type: ignore[return-value]


def _conv_decoder(
    code: int, hidden: int, image: tuple[int, int, int], channels: tuple[int, int]
) -> nn.Module:
    """The encoder's mirror: dense layers to a (c2, h/4, w/4) map, two 2× transposed
    convolutions back to (c, h, w), flattened. Its output is a sum of local 4×4 patterns,
    so edges come out sharp where an MLP decoder blurs them through its ``hidden``-wide
    linear read-out."""
    out_channels, height, breadth = image
    c1, c2 = channels
    return nn.Sequential(
        nn.Linear(code, hidden),
        nn.LeakyReLU(_SLOPE),
        nn.Linear(hidden, c2 * (height // 4) * (breadth // 4)),
        nn.LeakyReLU(_SLOPE),
        nn.Unflatten(1, (c2, height // 4, breadth // 4)),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),
        nn.LeakyReLU(_SLOPE),
        nn.ConvTranspose2d(c1, out_channels, 4, stride=2, padding=1),
        nn.Flatten(),
    )


class Autoencoder(nn.Module):
    """Encoder to a code of ``code_dim``, decoder back to the input's width.

    The code layer is tanh (``config["code_activation"] == "tanh"``, the default, and what
    compressors saved before the choice existed were trained with) or linear.

    Images (c, h, w) are encoded by two 3×3 convolutions with LeakyReLU and 2× max-pooling
    (Butakov et al.'s blocks without batch norm) and a dense layer; vectors by a two-layer
    MLP. The decoder is an MLP, or for images with ``config["decoder"] == "conv"`` the
    encoder's mirror (:func:`_conv_decoder`); compressors saved before that choice existed
    have no ``decoder`` entry and get the MLP they were trained with.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        width, code, hidden = config["input_width"], config["code_dim"], config["hidden"]
        image = _image_shape(config.get("sample_shape"))
        self.image = image
        if image is None:
            body: list[nn.Module] = [nn.Linear(width, hidden), nn.LeakyReLU(_SLOPE)]
        else:
            channels, height, breadth = image
            c1, c2 = config["channels"]
            # Strided convolutions halve the image as 2× max-pooling would, at a quarter
            # of the cost of a full-resolution convolution followed by pooling.
            body = [
                nn.Conv2d(channels, c1, 3, stride=2, padding=1),
                nn.LeakyReLU(_SLOPE),
                nn.Conv2d(c1, c2, 3, stride=2, padding=1),
                nn.LeakyReLU(_SLOPE),
                nn.Flatten(),
                nn.Linear(c2 * (height // 4) * (breadth // 4), hidden),
                nn.LeakyReLU(_SLOPE),
            ]
        self.encoder = nn.Sequential(*body, nn.Linear(hidden, hidden), nn.LeakyReLU(_SLOPE))
        self.code = nn.Linear(hidden, code)
        self.bounded = config.get("code_activation", "tanh") == "tanh"
        if image is not None and config.get("decoder", "mlp") == "conv":
            self.decoder = _conv_decoder(code, hidden, image, config["channels"])
        else:
            self.decoder = nn.Sequential(
                nn.Linear(code, hidden),
                nn.LeakyReLU(_SLOPE),
                nn.Linear(hidden, hidden),
                nn.LeakyReLU(_SLOPE),
                nn.Linear(hidden, width),
            )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.image is not None:
            x = x.reshape(x.shape[0], *self.image)
        code = self.code(self.encoder(x))
        return torch.tanh(code) if self.bounded else code

    def decode(self, code: torch.Tensor, code_noise: float = 0.0) -> torch.Tensor:
        if code_noise > 0:
            code = code + code_noise * torch.randn_like(code)
        return self.decoder(code)

    def forward(self, x: torch.Tensor, code_noise: float = 0.0) -> torch.Tensor:
        return self.decode(self.encode(x), code_noise)


def random_directions(dim: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` directions uniform on the unit sphere of R^dim, as the columns of a matrix."""
    directions = torch.randn(dim, count, generator=generator)
    return directions / directions.norm(dim=0, keepdim=True)


def sliced_wasserstein_to_normal(codes: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    r"""Squared sliced 2-Wasserstein distance between a batch of codes and N(0, I).

    .. math::

        SW_2^2 \approx \frac{1}{L}\sum_{l=1}^{L} \frac{1}{B}\sum_{i=1}^{B}
        \big(\langle c, \theta_l\rangle_{(i)} - \Phi^{-1}((i - 1/2)/B)\big)^2,

    with θ_l the columns of ``directions`` (unit vectors) and ⟨c, θ⟩_(i) the i-th smallest
    projection of the B codes. Every 1-D projection of N(0, I) on a unit vector is N(0, 1),
    and the 1-D 2-Wasserstein distance pairs sorted samples with quantiles, so the target
    needs no samples: its midpoint quantiles stand in for them (less noise than a drawn
    N(0, I) batch). Zero up to O(log B / B) for a batch from N(0, I); |μ|²/dim more on
    average for one shifted by μ (Tolstikhin et al. 2018 regularise an autoencoder's code
    towards its prior with such a distance; Kolouri et al. 2019 use the sliced one).
    """
    batch = codes.shape[0]
    projected = torch.sort(codes @ directions.to(codes), dim=0).values
    levels = (torch.arange(batch, dtype=codes.dtype, device=codes.device) + 0.5) / batch
    quantiles = math.sqrt(2.0) * torch.erfinv(2.0 * levels - 1.0)
    return ((projected - quantiles[:, None]) ** 2).mean()


def _device(device: str | None) -> torch.device:
    resolved = resolve_backend(device)
    return torch.device("cpu" if resolved is None else resolved)


def _validation_losses(
    net: Autoencoder, x: torch.Tensor, directions: torch.Tensor
) -> tuple[float, float]:
    """The held-out mean squared error and the codes' sliced distance to N(0, I)."""
    with torch.no_grad():
        codes = net.encode(x)
        error = float(((net.decode(codes) - x) ** 2).mean())
        return error, float(sliced_wasserstein_to_normal(codes, directions))


#: Optimiser steps a fit gets at least, when its batches allow (the default 60 epochs of 512
#: on the 4,000 training rows of 5,000 samples give 480; 30 epochs gave 240).
_MIN_STEPS = 200


def _batch_size(batch_size: int, n_train: int, max_epochs: int) -> int:
    """``batch_size``, made smaller on small data so that a fit still takes about
    :data:`_MIN_STEPS` steps: 300 samples in batches of 512 would give one step an epoch."""
    return max(1, min(batch_size, n_train, math.ceil(n_train * max_epochs / _MIN_STEPS)))


def fit_autoencoder(
    train: np.ndarray, validation: np.ndarray, config: dict[str, Any], options: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train an autoencoder on ``train`` (scaled rows), stopping early on ``validation``.

    ``config`` fixes the architecture (``input_width``, ``sample_shape``, ``code_dim``,
    ``hidden``, ``channels``, ``decoder``, ``code_activation``); ``options`` the training
    (``max_epochs``, ``batch_size``, ``learning_rate``, ``patience``, ``input_noise``,
    ``code_noise``, ``prior_weight``, ``seed``, ``device``, ``n_threads``, ``progress``,
    ``label``). The loss is the mean squared error plus ``prior_weight`` times the codes'
    :func:`sliced_wasserstein_to_normal` (new directions each step); early stopping watches
    the same sum on ``validation`` (fixed directions). Returns the best weights as numpy
    arrays and what training found (``validation_mse``, ``prior_distance``, ``best_epoch``,
    ``epochs``, ``seconds``, ``device``).
    """
    started = time.perf_counter()
    device = _device(options["device"])
    seed = options["seed"]
    with _torch_threads(options["n_threads"]), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        net = Autoencoder(config).to(device)
        x_train = torch.as_tensor(train, dtype=torch.float32, device=device)
        x_val = torch.as_tensor(validation, dtype=torch.float32, device=device)
        optimiser = torch.optim.Adam(net.parameters(), lr=options["learning_rate"])
        batch = _batch_size(options["batch_size"], x_train.shape[0], options["max_epochs"])
        report = progress_reporter(options["label"], options["max_epochs"], options["progress"])
        weight = options.get("prior_weight", 0.0)
        # A generator of its own, so that the batches of a fit without the penalty are
        # those of the fits made before it existed.
        slicer = torch.Generator().manual_seed(seed + 1)
        held_out_directions = random_directions(config["code_dim"], _SLICES, slicer)
        best = (math.inf, 0, copy.deepcopy(net.state_dict()), math.inf, math.inf)
        epoch = 0
        for epoch in range(1, options["max_epochs"] + 1):
            net.train()
            order = torch.randperm(x_train.shape[0], generator=generator).to(device)
            for start in range(0, x_train.shape[0], batch):
                rows = x_train[order[start : start + batch]]
                noisy = rows + options["input_noise"] * torch.randn_like(rows)
                codes = net.encode(noisy)
                loss = ((net.decode(codes, options["code_noise"]) - rows) ** 2).mean()
                if weight > 0:
                    directions = random_directions(config["code_dim"], _SLICES, slicer)
                    loss = loss + weight * sliced_wasserstein_to_normal(codes, directions)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            net.eval()
            error, distance = _validation_losses(net, x_val, held_out_directions)
            value = error + weight * distance
            report(epoch)
            if value < best[0]:
                best = (value, epoch, copy.deepcopy(net.state_dict()), error, distance)
            elif epoch - best[1] >= options["patience"]:
                break
        report(options["max_epochs"])
    state = {name: tensor.detach().cpu().numpy() for name, tensor in best[2].items()}
    facts = {
        "validation_mse": best[3],
        "prior_distance": best[4],
        "best_epoch": best[1],
        "epochs": epoch,
        "batch_size": batch,
        "seconds": time.perf_counter() - started,
        "device": str(device),
    }
    return state, facts


def _loaded(config: dict[str, Any], state: dict[str, np.ndarray], device: torch.device) -> Any:
    net = Autoencoder(config)
    net.load_state_dict({name: torch.as_tensor(array) for name, array in state.items()})
    return net.to(device).eval()


def run_autoencoder(
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    values: np.ndarray,
    device: str | None = None,
    decode: bool = False,
) -> np.ndarray:
    """Codes (float64, (n, code_dim)) of scaled rows; their reconstructions with ``decode``."""
    torch_device = _device(device)
    net = _loaded(config, state, torch_device)
    out = []
    with torch.no_grad():
        for start in range(0, values.shape[0], _ENCODE_BLOCK):
            block = torch.as_tensor(
                values[start : start + _ENCODE_BLOCK], dtype=torch.float32, device=torch_device
            )
            result = net(block) if decode else net.encode(block)
            out.append(result.double().cpu().numpy())
    if not out:
        return np.empty((0, config["input_width"] if decode else config["code_dim"]))
    return np.concatenate(out)
