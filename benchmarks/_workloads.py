"""Seeded data for the speed benchmarks: realistic activations without training.

The information-plane workload mimics the 12-bit task of Shwartz-Ziv & Tishby (2017):
all 4096 patterns of {0,1}^12 through a 12-10-7-5-4-3-2 network with tanh hidden layers
and a softmax output, recorded over 274 epochs. Instead of training, the weights drift
along a fixed random direction and grow in norm, so that the hidden layers saturate
more and more with the epochs, as trained tanh layers do; the binned entropies then
change over the epochs much as in a real run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

LAYER_WIDTHS = (12, 10, 7, 5, 4, 3, 2)
N_EPOCHS = 274
N_BITS = 12

# Weight norm multiplier reached at the last epoch; tanh layers end mostly saturated.
_FINAL_GROWTH = 4.0
# Size of each epoch's random-walk step relative to the initial weights.
_STEP = 0.02


def twelve_bit_inputs() -> np.ndarray:
    """All 4096 patterns of {0,1}^12 as an int64 (4096, 12) array, one bit per column."""
    codes = np.arange(2**N_BITS, dtype=np.int64)
    return (codes[:, None] >> np.arange(N_BITS - 1, -1, -1)) & 1


def binary_labels(n: int, seed: int = 1) -> np.ndarray:
    """Seeded balanced-ish binary labels, int64 (n,)."""
    return np.random.default_rng(seed).integers(0, 2, size=n, dtype=np.int64)


def _forward(inputs: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]):
    layers = []
    h = inputs
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        if k < len(weights) - 1:
            h = np.tanh(z)
        else:
            z = z - z.max(axis=1, keepdims=True)  # softmax output, shifted for stability
            e = np.exp(z)
            h = e / e.sum(axis=1, keepdims=True)
        layers.append(np.ascontiguousarray(h))
    return layers


def drifting_network_activations(
    inputs: np.ndarray,
    n_epochs: int = N_EPOCHS,
    widths: tuple[int, ...] = LAYER_WIDTHS,
    seed: int = 0,
) -> Iterator[list[np.ndarray]]:
    """Per epoch, the float64 activations of every layer after the input.

    W_l(e) = g(e) · (W_l(0) + s(e) D_l + R_l(e)), with s = e / (n_epochs - 1) the training
    progress, g(e) = 1 + (growth - 1) s the norm growth, D_l a fixed drift direction and
    R_l a seeded random walk; biases drift the same way.
    """
    rng = np.random.default_rng(seed)
    pairs = list(itertools.pairwise(widths))
    w0 = [rng.normal(0.0, 1.0 / np.sqrt(m), size=(m, k)) for m, k in pairs]
    drift = [rng.normal(0.0, 1.0 / np.sqrt(m), size=(m, k)) for m, k in pairs]
    b0 = [rng.normal(0.0, 0.1, size=k) for _, k in pairs]
    walk = [np.zeros((m, k)) for m, k in pairs]
    x = inputs.astype(np.float64) * 2.0 - 1.0  # bits as ±1 inputs, centred
    for epoch in range(n_epochs):
        progress = epoch / max(n_epochs - 1, 1)
        growth = 1.0 + (_FINAL_GROWTH - 1.0) * progress
        for r, (m, k) in zip(walk, pairs, strict=True):
            r += rng.normal(0.0, _STEP / np.sqrt(m), size=(m, k))
        weights = [growth * (w + progress * d + r) for w, d, r in zip(w0, drift, walk, strict=True)]
        biases = [growth * b for b in b0]
        yield _forward(x, weights, biases)


def information_plane_activations(seed: int = 0) -> list[list[np.ndarray]]:
    """The whole 274-epoch × 6-layer activation record (about 280 MB of float64)."""
    return list(drifting_network_activations(twelve_bit_inputs(), seed=seed))


def tanh_layer(n: int, d: int, latent: int = 3, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, latent) and the (n, d) tanh activations of one random dense layer on them.

    The inputs are Gaussian on a low-dimensional space, as real data lie near a
    low-dimensional manifold, and a gain of 2 saturates a fair share of units. With
    σ² = 0.1 the KDE estimate of I(X;T) then sits well inside (0, log N) (about 6.7 of
    9.2 nats at N = 10,000, d = 20) instead of at the log N ceiling, as it would for
    activations spread over all d dimensions.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, latent))
    weights = rng.normal(0.0, 2.0 / np.sqrt(latent), size=(latent, d))
    return inputs, np.tanh(inputs @ weights)
