r"""The compression estimator: MI of high-dimensional data through PCA or an autoencoder.

Butakov et al. (2024, "Information bottleneck analysis of deep neural networks via lossy
compression", ICLR) estimate the MI of wide variables (images, wide layers), where kNN and
kernel estimators fail, by compressing each side to a few dimensions and estimating there:

.. math::

    \hat I(X;Y) = \hat I_{inner}\big(E_x(X);\, E_y(Y)\big),

with E_x, E_y compressors fitted on each side alone and ``inner`` any registered method or
estimator instance applied to the codes through the one estimation path
(:func:`mi_toolkit.api.mi_of_variables`), minus, by default, the mean of the same estimate on
10 shuffles of y's codes ("Shuffle correction" below).

**Bias.** By the data-processing inequality I(E_x(X); E_y(Y)) ≤ I(X;Y), with equality when
the compressors are injective on the data's support (the lossless case: data on a
low-dimensional manifold, a code at least as wide as it). A lossy compression can only lower
the estimate, and does when the lost part carries the dependence. The result reports the
loss per side as the *unexplained variance*, the share of the side's variance the code does
not reconstruct (1 − the kept explained-variance ratio for PCA, the held-out mean squared
reconstruction error over the variance for an autoencoder), and a warning of kind
``lossy_compression`` when it exceeds ``max_unexplained``. The inner estimator's own bias
and standard error then apply to the codes (its ``bias_note`` is passed on); the standard
error does not include the compressor's fitting noise.

**Compressors**, per side (one value for both, or a pair (x, y)):

- ``"pca"``: scikit-learn's PCA, to ``code_dim`` components, or, with ``code_dim=None``,
  to the fewest that explain ``explained_variance`` of the variance.
- ``"autoencoder"``: a torch autoencoder with a tanh code of ``code_dim`` (required).
  Images, given as (n, h, w) or (n, c, h, w) with h and w multiples of 4, are encoded by two
  3×3 convolutions (8 and 16 channels) with LeakyReLU(0.2) and 2× max-pooling, then dense
  layers; vectors by an MLP. The decoder (``decoder``) is an MLP (``hidden`` units), or for
  images ``"conv"``: the encoder's mirror, dense layers to a (16, h/4, w/4) map and two 2×
  transposed 4×4 convolutions. An MLP decoder's reconstructions lie in the span of its
  last layer's ``hidden`` columns, so it can do no better than PCA to ``hidden``
  components: enough for blobs (16 components leave 0.1% of the variance) but not for the
  sharp edges of 32×32 rectangles (64 leave 7.0%, measured on 5,000 of them). There the
  MLP autoencoder left 18.5% of the held-out variance (with the earlier training of 100
  epochs of 256 at 3e-3, still improving at its 100th epoch; 15.8% with ``batch_size=64``),
  the conv one 8–11% (``batch_size=64``, early-stopped near epoch 50), yet the MI
  estimated on its codes barely moved (−0.33 and 0.34 at true 0 and 1 nats, against −0.34
  and 0.23): on rectangles the inner estimator's bias on the codes,
  not the reconstruction, dominates (benchmarks/results/compression.md). The default stays
  ``"mlp"`` until the conv decoder is measured on the whole images grid. The inputs are scaled
  to unit variance overall (one mean and scale per side, so images keep their contrast).
  It is trained to reconstruct its input under Gaussian noise on the input
  (``input_noise``) and on the code (``code_noise``), which keeps the code smooth and spread
  (Butakov et al.); Adam at ``learning_rate`` with mini-batches of ``batch_size`` and the
  mean squared error, at most ``max_epochs``, stopping after ``patience`` epochs without a
  better validation loss (the best weights kept).
- ``None``: the side as it is. A discrete side (labels) is never compressed.
- A :class:`FittedCompressor` (from an earlier estimate's ``details`` or
  :func:`fit_compressor`, or :meth:`FittedCompressor.load`): used as it is, no fitting.
  This is how a whole training run compresses its inputs X once, not once per epoch.

**Fitting.** On ``fit_x`` / ``fit_y`` when given (same width and sample shape as x and y),
else on the data. The autoencoder's fit samples are put in a canonical order (sorted by
value, so the estimate does not depend on the order of the rows) and split, seeded by
``random_state``, into a training part and a validation part (``validation_fraction``) for
early stopping. The codes of every sample of x and y then go to the inner estimator (each
compressor saw only its own side, so it cannot create dependence between the two).
Fitted compressors are also kept in a small cache (the last :data:`CACHE_SIZE`) keyed on a
hash of the fit data and every setting that shapes the fit, so estimating I(X; T_epoch) for
each epoch of a run with the same X fits X's compressor once (``cache=False`` turns it off).

**Gaussianized codes** (``gaussianize=True``, our addition to the recipe). Before the inner
method, each column of a continuous side is mapped to normal quantiles of its smoothed
empirical CDF, Φ⁻¹(F̂(c)), F̂ the Gaussian-kernel CDF with Silverman's bandwidth (ranks in
place of F̂ would put every column on a fixed grid, whose regular spacings bias kNN
entropies: 1.11 nats for a true 0.22 in 1+1 D). A monotone map of each column leaves the
MI unchanged, and the kNN estimators' biases largely cancel between the joint and the
marginals only for nearly Gaussian marginals, not for the bounded, curved marginals of tanh
codes. Measured at
N = 5,000 on 2+2-D Gaussian latents pushed through tanh(1.5·) (or a bent map
(tanh(a₁ + a₂²), a₂)): weighted whitened KL gives −0.34 (−0.37) nats at a true 0 and 9.82
(9.62) at 10 on the raw codes, −0.15 (−0.23) and 9.90 (9.76) after the map; Gaussian data
are left as they were (−0.004 → 0.001 at 0, 9.996 → 9.988 at 10).

**Codes pulled towards N(0, I)** (``code_activation="linear"``, ``prior_weight`` > 0; opt-in).
A linear code layer and, added to the training loss, ``prior_weight`` times the squared
sliced 2-Wasserstein distance between each batch's codes and N(0, I) (the Wasserstein
autoencoder's regulariser, Tolstikhin et al. 2018, in its sliced form, Kolouri et al. 2019):
random unit directions θ, each projection of the batch sorted and compared with N(0, 1)'s
quantiles. It gives smooth, unbounded codes with unit spread (held-out distance ≈ 0.005 on
32×32 rectangles), but alone no better estimates: their local dimension stays below 4
(median 3.7, as for the tanh codes, against 4.2 for a 4-D Gaussian) and weighted whitened KL
on them is about as biased as on tanh codes (−0.49 at a true 0, 8.87 at 10). With the shuffle
correction below they gave 0.32, 1.26, 2.50, 4.68, 7.38 and 9.46 at true 0, 1, 2.5, 5, 7.5
and 10 nats (seed 0; SE 0.24–0.27), but over three seeds they were no closer than the tanh
codes (7 of 10 estimates within 0.3 from 0 to 5, against 10 of 12;
benchmarks/results/compression.md).

**Shuffle correction** (``shuffle_correction=P``, by default 10; 0 turns it off). The inner
estimate minus the mean of P inner estimates with y's codes shuffled:

.. math::

    \hat I_{corr} = \hat I(c_x; c_y) - \frac{1}{P}\sum_{p=1}^{P} \hat I(c_x; c_y^{(\pi_p)}).

Why it is sound: shuffling y's rows makes the pair independent while keeping each side's
codes, so a shuffled pair is a true 0 with exactly the marginals of the real one, and its
estimate measures the inner estimator's bias on these marginals. For an estimator built
from entropies the marginal terms cancel, leaving the difference of the joint entropy
estimates of the shuffled and the real pairs, so the bias that the codes' marginal shapes
give kNN estimates (−0.7 to −1.2 nats on autoencoder codes of rectangles, ≈ 0 on blobs'
and on Gaussian data) is removed at independence; at high MI the real joint's bias differs
and only part is removed. The standard error adds the shuffles' spread (SD/√P) in
quadrature. It is a bias correction in the spirit of the shuffle corrections of binned
information (Panzeri et al. 2007), here applied to kNN estimates on codes. Cost: P more
inner estimates, about 0.7 s CPU each for weighted whitened KL on 5,000 pairs of 4-D codes
(7.5 s for the ten), against ≈ 25 s per autoencoder fit. Measured with the default
autoencoder (tanh codes, 60 epochs) and inner estimator (k = 10) on 32×32 rectangles,
n = 5,000, seeds 0–2: within 0.3 nats of the truth in 12 of 12 estimates from 0 to 5 nats
(means over the seeds 0.08, 1.07, 2.58, 4.90; without the correction −0.60, 0.42, 1.86,
4.20), 7.16 at 7.5 (seed 0) and 9.33, 9.18, 9.46 at 10 (without: 8.71, 8.43, 8.71); on
16×16 blobs (seed 0) −0.01, 2.61 and 9.70 at 0, 2.5 and 10 (without: −0.15, 2.46, 9.55)
(benchmarks/results/compression.md, fourth and fifth passes). Five shuffles moved the
estimates by at most 0.1.

**Inner estimator.** The default is weighted, whitened KL (``kl`` with ``weighted=True,
whiten=True``), as Butakov et al. chose. On the autoencoder's codes of 16×16 blobs at a true
10 nats it gave 9.57 where plain ``kl`` gave 6.82, whitened ``kl`` 8.98 and ``ksg`` 6.90
(those codes were not gaussianized; ``ksg`` is unbiased at 0 but saturates at high MI: 6.89
and 6.82 at 10 on the tanh and bent data above). Its neighbour order is k = 10 where the
two codes together have at most 11 columns (the weighted estimator's own choice there is 5
to 8; wider joints keep their own, larger k, whose weights stay smaller): on the same
autoencoder codes of 32×32 rectangles (n = 5,000, seeds 0–2, with the shuffle correction)
k = 10 put all 12 estimates from 0 to 5 nats within 0.3 of the truth (k = 5: 10 of 12)
with a stated standard error of 0.15–0.16 instead of 0.23–0.26 (the seeds' spread shrank
alike), gave 9.33, 9.18, 9.46 at 10 (k = 5: 9.37, 9.03, 9.37) and 7.16 at 7.5, and kept
16×16 blobs (−0.01, 2.61, 9.70 at 0, 2.5, 10), at no more CPU.

**Cost and accuracy** on the images tasks: benchmarks/results/compression.md. The
autoencoder is cheaper than Butakov et al.'s (strided convolutions in place of convolution
and pooling, no batch norm, an MLP decoder, at most 60 epochs of mini-batches of 512 at a
learning rate of 6e-3 with early stopping instead of 2,000 full-batch epochs at 1e-3, the
squared error): ≈ 25 s CPU per side on 5,000 32×32 images, against ≈ 55 s for the 100
epochs of 256 at 3e-3 used before (0.21 of the rectangles' variance left unexplained
instead of 0.185). Why 60 epochs and not 30 (≈ 2.3× cheaper, 0.27 left): at a true 10 nats
on 32×32 rectangles 30 epochs gave 9.13, 8.79, 8.91 on seeds 0–2 (goal: within 1 nat) and
60 give 9.37, 9.03, 9.37 (inner k = 5; 9.33, 9.18, 9.46 with today's k = 10), with the
estimates from 0 to 7.5 nats as close as before; the conv decoder at 30 epochs left less
(0.13–0.19) but gave 8.82, 9.01, 8.98 at ≈ 3× the fit's cost. A 4-wide code at 10 nats
carries 2.5 nats per dimension, so each code coordinate must locate its latent to about 1/12
of its spread; a longer fit sharpens it.
On small data the batches shrink so that a fit still takes about 200 optimiser steps (500
samples in batches of 512 gave 30, and codes collapsed to repeated rows).
"""

from __future__ import annotations

import collections
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mi_toolkit._registry import register
from mi_toolkit._validation import (
    Variable,
    as_variable,
    check_choice,
    check_positive,
    check_positive_int,
    check_seed,
)
from mi_toolkit.estimators._device import check_device
from mi_toolkit.estimators.base import Estimate, Estimator, canonical_order
from mi_toolkit.estimators.kl import KLEstimator, default_weighted_k
from mi_toolkit.result import EstimateWarning

COMPRESSORS = ("pca", "autoencoder")
#: The autoencoder's decoders of images (vectors always get the MLP).
DECODERS = ("conv", "mlp")
#: The autoencoder's code layers: bounded by tanh, or linear (for ``prior_weight``).
CODE_ACTIVATIONS = ("tanh", "linear")
#: How many fitted compressors the cache keeps.
CACHE_SIZE = 8
#: The inner estimator by default: weighted, whitened Kozachenko–Leonenko (Butakov et al.'s
#: choice; see "Inner estimator" in the module docstring for the measurements), with
#: :data:`CODE_K` neighbours where its own k would be smaller (:func:`inner_for_codes`).
DEFAULT_INNER = KLEstimator(weighted=True, whiten=True)
#: The default inner estimator's neighbour order on codes (measured on 4+4-wide codes).
CODE_K = 10
# The fewest samples in each of the autoencoder's training and validation parts.
_MIN_PART = 10
# Points at which the smoothed CDF of a code column is evaluated (and interpolated between).
_CDF_GRID = 4096
# The npz format's version, stored in every saved compressor.
_FORMAT = 1


@dataclass(eq=False)
class FittedCompressor:
    """A fitted compressor of one side: encodes rows to codes, saved and reloaded as npz.

    Parameters
    ----------
    kind : {"pca", "autoencoder"}
        What was fitted.
    input_width : int
        Features per sample (pixels for images).
    sample_shape : tuple of int or None
        The shape of one image sample, None for vectors.
    code_dim : int
        Width of the codes.
    unexplained : float
        Share of the fit data's variance the code does not reconstruct (held-out for the
        autoencoder).
    arrays : dict of str to numpy.ndarray
        The fitted numbers: the input's ``shift`` and ``scale``, then the PCA
        ``components`` or the autoencoder's weights (``weight:<name>``).
    config : dict
        The autoencoder's architecture and what training found (JSON-serialisable).
    """

    kind: str
    input_width: int
    sample_shape: tuple[int, ...] | None
    code_dim: int
    unexplained: float
    arrays: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        return (values - self.arrays["shift"]) / self.arrays["scale"]

    def check_input(self, variable: Variable) -> None:
        """Raise unless ``variable`` has this compressor's width and sample shape."""
        if variable.n_features != self.input_width:
            raise ValueError(
                f"{variable.name} has {variable.n_features} features per sample but its "
                f"compressor was fitted on {self.input_width}; fit one on data of this width"
            )
        if self.sample_shape is not None and variable.sample_shape not in (
            None,
            self.sample_shape,
        ):
            raise ValueError(
                f"{variable.name}'s samples have shape {variable.sample_shape} but its "
                f"compressor was fitted on images of shape {self.sample_shape}"
            )

    def encode(self, values: np.ndarray, device: str | None = None) -> np.ndarray:
        """Codes (n, code_dim), float64, of rows (n, input_width)."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        scaled = self._scaled(values)
        if self.kind == "pca":
            return scaled @ self.arrays["components"].T
        from mi_toolkit.estimators._compression_training import run_autoencoder

        return run_autoencoder(self._architecture(), self._weights(), scaled, device)

    def reconstruct(self, values: np.ndarray, device: str | None = None) -> np.ndarray:
        """Rows decoded from their own codes, in the units of ``values``."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        scaled = self._scaled(values)
        if self.kind == "pca":
            components = self.arrays["components"]
            decoded = scaled @ components.T @ components
        else:
            from mi_toolkit.estimators._compression_training import run_autoencoder

            decoded = run_autoencoder(
                self._architecture(), self._weights(), scaled, device, decode=True
            )
        return decoded * self.arrays["scale"] + self.arrays["shift"]

    def _architecture(self) -> dict[str, Any]:
        return {
            "input_width": self.input_width,
            "sample_shape": self.sample_shape,
            "code_dim": self.code_dim,
            "hidden": self.config["hidden"],
            "channels": self.config["channels"],
            "decoder": self.config.get("decoder", "mlp"),
            "code_activation": self.config.get("code_activation", "tanh"),
        }

    def _weights(self) -> dict[str, np.ndarray]:
        prefix = "weight:"
        return {k[len(prefix) :]: v for k, v in self.arrays.items() if k.startswith(prefix)}

    def save(self, path: str | Path) -> None:
        """Write the compressor to an ``.npz`` file (arrays and a JSON header, no pickle)."""
        header = {
            "format": _FORMAT,
            "kind": self.kind,
            "input_width": self.input_width,
            "sample_shape": self.sample_shape,
            "code_dim": self.code_dim,
            "unexplained": self.unexplained,
            "config": self.config,
        }
        with open(path, "wb") as file:
            np.savez(file, header=np.array(json.dumps(header)), **self.arrays)

    @classmethod
    def load(cls, path: str | Path) -> FittedCompressor:
        """Read a compressor written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: data[k] for k in data.files if k != "header"}
        if header.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a compressor file of format {_FORMAT}")
        shape = header["sample_shape"]
        return cls(
            kind=header["kind"],
            input_width=header["input_width"],
            sample_shape=None if shape is None else tuple(shape),
            code_dim=header["code_dim"],
            unexplained=header["unexplained"],
            arrays=arrays,
            config=header["config"],
        )

    def __repr__(self) -> str:
        shape = "" if self.sample_shape is None else f", images {self.sample_shape}"
        return (
            f"FittedCompressor({self.kind!r}, {self.input_width} -> {self.code_dim}{shape}, "
            f"unexplained variance {self.unexplained:.3g})"
        )


def _pair(value: Any, name: str) -> tuple[Any, Any]:
    """One value for both sides, or a pair (x side, y side)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one value or a pair (for x, for y); got {value!r}")
        return tuple(value)  # type: ignore[return-value]
    return value, value


def _check_compressor(value: Any) -> None:
    if value is None or isinstance(value, FittedCompressor):
        return
    if value not in COMPRESSORS:
        raise ValueError(
            f"compressor must be 'pca', 'autoencoder', None (no compression) or a "
            f"FittedCompressor, or a pair of them (for x, for y); got {value!r}"
        )


def _check_fraction(value: Any, name: str) -> float:
    number = check_positive(value, name)
    if number >= 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return number


def _data_key(values: np.ndarray, sample_shape: tuple[int, ...] | None) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(values).view(np.uint8), digest_size=16)
    digest.update(repr((values.shape, sample_shape)).encode())
    return digest.hexdigest()


_CACHE: collections.OrderedDict[tuple[Any, ...], FittedCompressor] = collections.OrderedDict()


def clear_cache() -> None:
    """Forget every cached fitted compressor."""
    _CACHE.clear()


@register
@dataclass(frozen=True)
class CompressionEstimator(Estimator):
    """I(X;Y) ≈ I(E_x(X); E_y(Y)) through PCA or an autoencoder; see the module docstring.

    Parameters
    ----------
    compressor : {"pca", "autoencoder"}, None, FittedCompressor, or a pair of them
        The compressor of each side (one value for both, or (for x, for y)).
    code_dim : int, None, or a pair
        Width of each code; None: for PCA, the fewest components explaining
        ``explained_variance``; an autoencoder needs it.
    inner : str or Estimator
        The method applied to the codes (a registered name or an instance).
    gaussianize : bool
        Map each column of a continuous side's codes through its ranks to standard normal
        quantiles before the inner method (the MI is unchanged; kNN biases shrink).
    explained_variance : float
        The share of variance PCA keeps when ``code_dim`` is None.
    max_unexplained : float
        Unexplained variance of a side above which a ``lossy_compression`` warning says the
        estimate may be low.
    fit_x, fit_y : array_like or None
        Samples to fit each side's compressor on, instead of x and y.
    validation_fraction : float
        Share of the autoencoder's fit samples that early stopping watches.
    hidden : int
        Hidden units of the autoencoder's dense layers.
    decoder : {"conv", "mlp"}
        The autoencoder's decoder of images: transposed convolutions mirroring the encoder,
        or an MLP (vectors always get the MLP).
    max_epochs, batch_size, patience : int
        Autoencoder training: most epochs, mini-batch size, epochs without improvement.
    learning_rate : float
        Adam's learning rate.
    input_noise, code_noise : float
        Standard deviation of the noise on the (scaled) input and on the code.
    code_activation : {"tanh", "linear"}
        The autoencoder's code layer: tanh (codes in (−1, 1)) or linear (unbounded).
    shuffle_correction : int
        Shuffles of y's codes whose mean inner estimate (a true 0 with the codes' own
        marginals) is subtracted from the estimate; 0 turns it off (P fewer inner
        estimates). See "Shuffle correction" in the module docstring.
    prior_weight : float
        Weight of a penalty pulling the autoencoder's codes towards N(0, I): the squared
        sliced 2-Wasserstein distance between each batch's codes and N(0, I) (a
        Wasserstein-autoencoder regulariser); 0 turns it off. Needs
        ``code_activation="linear"``.
    device : str or None
        Where the autoencoder trains and encodes: None or "cpu", "cuda", "cuda:<index>",
        "auto".
    random_state : int
        Seeds the split and the autoencoder's weights, noise and batches.
    progress : bool or None
        A progress bar per autoencoder fit; None shows it on a terminal, False is quiet.
    n_threads : int
        Torch CPU threads during training.
    cache : bool
        Reuse compressors fitted earlier on the same data and settings.
    """

    name = "compression"
    min_samples: ClassVar[int] = 2 * _MIN_PART
    accepts_sample_shape: ClassVar[bool] = True
    # The information plane hands it X as pixels to compress, not as an index of inputs:
    # with noise injection a layer is a noisy function of X and I(X;T) is finite.
    continuous_inputs: ClassVar[bool] = True

    compressor: Any = "pca"
    code_dim: Any = None
    inner: Any = DEFAULT_INNER
    gaussianize: bool = True
    explained_variance: float = 0.99
    max_unexplained: float = 0.05
    fit_x: Any = field(default=None, compare=False, repr=False)
    fit_y: Any = field(default=None, compare=False, repr=False)
    validation_fraction: float = 0.2
    hidden: int = 64
    decoder: str = "mlp"
    max_epochs: int = 60
    batch_size: int = 512
    patience: int = 5
    learning_rate: float = 6e-3
    input_noise: float = 0.1
    code_noise: float = 0.02
    code_activation: str = "tanh"
    prior_weight: float = 0.0
    shuffle_correction: int = 10
    device: str | None = None
    random_state: int = 0
    progress: bool | None = None
    n_threads: int = 1
    cache: bool = True

    def __post_init__(self) -> None:
        for value in _pair(self.compressor, "compressor"):
            _check_compressor(value)
        for compressor, dim in zip(
            _pair(self.compressor, "compressor"), _pair(self.code_dim, "code_dim"), strict=True
        ):
            if dim is not None:
                check_positive_int(dim, "code_dim")
            if compressor == "autoencoder" and dim is None:
                raise ValueError(
                    "compressor='autoencoder' needs code_dim, the width of its code: the "
                    "number of parameters the data varies in (2 for a blob's centre, 4 for "
                    "a rectangle), e.g. code_dim=2"
                )
        self._inner_estimator()  # a bad inner method fails here, not after a fit
        object.__setattr__(
            self,
            "explained_variance",
            _check_fraction(self.explained_variance, "explained_variance"),
        )
        object.__setattr__(
            self, "max_unexplained", _check_fraction(self.max_unexplained, "max_unexplained")
        )
        object.__setattr__(
            self,
            "validation_fraction",
            _check_fraction(self.validation_fraction, "validation_fraction"),
        )
        for name in ("hidden", "max_epochs", "batch_size", "patience", "n_threads"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        object.__setattr__(
            self, "learning_rate", check_positive(self.learning_rate, "learning_rate")
        )
        if self.shuffle_correction != 0 and (
            check_positive_int(self.shuffle_correction, "shuffle_correction") < 2
        ):
            raise ValueError(
                "shuffle_correction must be 0 (off) or at least 2 shuffles, so that their "
                f"spread enters the standard error; got {self.shuffle_correction!r}"
            )
        for name in ("input_noise", "code_noise", "prior_weight"):
            value = getattr(self, name)
            if value != 0:
                check_positive(value, name)
        check_choice(self.decoder, "decoder", DECODERS)
        check_choice(self.code_activation, "code_activation", CODE_ACTIVATIONS)
        if self.prior_weight > 0 and self.code_activation != "linear":
            raise ValueError(
                f"prior_weight={self.prior_weight:g} pulls the codes towards N(0, I), which a "
                "tanh code bounded in (-1, 1) cannot reach; pass code_activation='linear' "
                "with it (or prior_weight=0)"
            )
        check_device(self.device)
        check_seed(self.random_state, "random_state")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True, False or None; got {self.progress!r}")
        for name in ("gaussianize", "cache"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False; got {getattr(self, name)!r}")

    def _inner_estimator(self) -> Estimator:
        # Imported here: mi_toolkit.api imports the estimators package, and so this module.
        from mi_toolkit.api import build_estimator

        if isinstance(self.inner, CompressionEstimator) or self.inner == self.name:
            raise ValueError("inner must be another method than 'compression', e.g. 'kl'")
        return build_estimator(self.inner)

    # -- fitting --------------------------------------------------------------------------

    def _fit_data(self, variable: Variable, given: Any) -> Variable:
        """The samples to fit ``variable``'s compressor on, checked against it."""
        if given is None:
            return variable
        fit = as_variable(given, f"fit_{variable.name}", False, keep_sample_shape=True)
        if fit.n_features != variable.n_features:
            raise ValueError(
                f"fit_{variable.name} has {fit.n_features} features per sample but "
                f"{variable.name} has {variable.n_features}; the fit set must be samples of "
                f"the same variable"
            )
        if fit.sample_shape != variable.sample_shape:
            raise ValueError(
                f"fit_{variable.name}'s samples have shape {fit.sample_shape} but "
                f"{variable.name}'s have shape {variable.sample_shape}; give both as images "
                "of the same shape (or both as rows)"
            )
        return fit

    def _check_side(self, kind: str, dim: int | None, fit: Variable) -> None:
        """Every error a fit would hit, raised before any fitting."""
        if dim is not None and dim > fit.n_features:
            raise ValueError(
                f"code_dim={dim} for {fit.name} is larger than its {fit.n_features} features; "
                "a code must be narrower than the input (or pass compressor=None)"
            )
        if kind == "pca" and fit.n_samples < 2:
            raise ValueError(f"PCA of {fit.name} needs at least 2 samples to fit")
        if kind != "autoencoder":
            return
        n_validation = round(self.validation_fraction * fit.n_samples)
        if min(n_validation, fit.n_samples - n_validation) < _MIN_PART:
            raise ValueError(
                f"the autoencoder of {fit.name} splits its {fit.n_samples} fit samples into "
                f"training and validation parts of {fit.n_samples - n_validation} and "
                f"{n_validation} at validation_fraction={self.validation_fraction}, but each "
                f"needs at least {_MIN_PART}; pass more samples (or fit_{fit.name[-1]}) or "
                "another validation_fraction"
            )
        shape = fit.sample_shape
        if shape is not None and (
            len(shape) not in (2, 3) or shape[-1] % 4 or shape[-2] % 4 or min(shape[-2:]) < 4
        ):
            raise ValueError(
                f"{fit.name}'s samples have shape {shape}; the convolutional autoencoder "
                "takes images (h, w) or (c, h, w) with h and w multiples of 4; pad them, or "
                f"flatten them to rows ({fit.name}.reshape(len({fit.name}), -1)) for the MLP"
            )

    def _settings_key(self, kind: str, dim: int | None) -> tuple[Any, ...]:
        if kind == "pca":
            return (kind, dim, None if dim is not None else self.explained_variance)
        return (
            kind,
            dim,
            self.validation_fraction,
            self.hidden,
            self.decoder,
            self.max_epochs,
            self.batch_size,
            self.patience,
            self.learning_rate,
            self.input_noise,
            self.code_noise,
            self.random_state,
            # Only when used, so that the keys of fits without them (and the file tags
            # benchmarks/compression_images.py derives from them) are those of before.
            *(() if self.prior_weight == 0 else ("prior_weight", self.prior_weight)),
            *(() if self.code_activation == "tanh" else (self.code_activation,)),
        )

    def fit(self, kind: str, dim: int | None, fit: Variable) -> tuple[FittedCompressor, bool]:
        """A compressor of ``kind`` fitted on ``fit``, and whether it came from the cache."""
        self._check_side(kind, dim, fit)
        key = (_data_key(fit.values, fit.sample_shape), *self._settings_key(kind, dim))
        if self.cache and key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key], True
        fitted = fit_side(self, kind, dim, fit)
        if self.cache:
            _CACHE[key] = fitted
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return fitted, False

    # -- the estimate ---------------------------------------------------------------------

    def _compress(
        self, variable: Variable, compressor: Any, dim: Any, given: Any
    ) -> tuple[Variable, dict[str, Any]]:
        if variable.discrete or compressor is None:
            reason = "discrete" if variable.discrete else "compressor=None"
            return variable, {"compressor": None, "reason": reason}
        if isinstance(compressor, FittedCompressor):
            compressor.check_input(variable)
            fitted, source = compressor, "given"
        else:
            fit = self._fit_data(variable, given)
            self._check_side(compressor, dim, fit)
            return variable, {"pending": (compressor, dim, fit)}
        return self._encoded(variable, fitted, source)

    def _encoded(
        self, variable: Variable, fitted: FittedCompressor, source: str
    ) -> tuple[Variable, dict[str, Any]]:
        codes = fitted.encode(variable.values, self.device)
        facts = {
            "compressor": fitted,
            "kind": fitted.kind,
            "code_dim": fitted.code_dim,
            "unexplained_variance": fitted.unexplained,
            "source": source,
        }
        if fitted.kind == "autoencoder":
            facts["training"] = {k: fitted.config[k] for k in ("epochs", "best_epoch", "seconds")}
        return Variable(variable.name, np.ascontiguousarray(codes), False), facts

    def mutual_information(self, x: Variable, y: Variable) -> Estimate:
        from mi_toolkit.api import mi_of_variables

        inner = self._inner_estimator()
        compressors = _pair(self.compressor, "compressor")
        dims = _pair(self.code_dim, "code_dim")
        sides = [
            self._compress(v, c, d, g)
            for v, c, d, g in zip((x, y), compressors, dims, (self.fit_x, self.fit_y), strict=True)
        ]
        # Every check of both sides has passed before either is fitted.
        for index, (variable, facts) in enumerate(sides):
            if "pending" in facts:
                kind, dim, fit = facts["pending"]
                fitted, cached = self.fit(kind, dim, fit)
                sides[index] = self._encoded(variable, fitted, "cache" if cached else "fitted")
        (x_codes, x_facts), (y_codes, y_facts) = sides
        if self.gaussianize:
            x_codes, y_codes = _gaussianized(x_codes), _gaussianized(y_codes)
        if not (x_codes.discrete or y_codes.discrete):  # labels keep the per-group k
            inner = inner_for_codes(inner, x_codes.n_features + y_codes.n_features, y.n_samples)
        result = mi_of_variables(inner, x_codes, y_codes, emit_warnings=False)
        warnings = tuple(result.warnings) + self._loss_warnings(x_facts, y_facts)
        details = {
            "x": x_facts,
            "y": y_facts,
            "inner": result.method,
            "inner_details": result.details,
        }
        value, error, components = result.value, result.standard_error, dict(result.components)
        if self.shuffle_correction:
            nulls = self._shuffled_estimates(inner, x_codes, y_codes)
            details["shuffled_estimates"] = nulls
            components["I(shuffled)"] = float(nulls.mean())
            value -= float(nulls.mean())
            if error is not None:
                error = float(np.hypot(error, nulls.std(ddof=1) / np.sqrt(nulls.size)))
        return Estimate(
            value,
            error,
            warnings,
            components=components,
            details=details,
            bias_note=_bias_note(result.bias_note),
            saturated=result.saturated,
        )

    def _shuffled_estimates(self, inner: Estimator, x: Variable, y: Variable) -> np.ndarray:
        """The inner estimates with y's rows shuffled (seeded by ``random_state``).

        The pairs are first put in a canonical order (sorted by value), so that the same
        seeded permutations pair the same rows whatever order the samples came in.
        """
        from mi_toolkit.api import mi_of_variables

        n = y.n_samples
        pairs = np.column_stack([x.values.reshape(n, -1), y.values.reshape(n, -1)])
        order = canonical_order(pairs)
        x, y = x.subset(order), y.subset(order)
        rng = np.random.default_rng(self.random_state)
        return np.array(
            [
                mi_of_variables(inner, x, y.subset(rng.permutation(n)), emit_warnings=False).value
                for _ in range(self.shuffle_correction)
            ]
        )

    def _loss_warnings(self, *sides: dict[str, Any]) -> tuple[EstimateWarning, ...]:
        lossy = [
            (name, facts["unexplained_variance"])
            for name, facts in zip("xy", sides, strict=True)
            if facts.get("unexplained_variance", 0.0) > self.max_unexplained
        ]
        if not lossy:
            return ()
        listed = ", ".join(f"{name} loses {loss:.1%} of its variance" for name, loss in lossy)
        return (
            EstimateWarning(
                "lossy_compression",
                f"The compression is lossy ({listed}, above max_unexplained="
                f"{self.max_unexplained:g}): compression can only lose information, so the "
                "estimate may be well below the MI. Use a wider code_dim, an autoencoder "
                "instead of PCA, or a longer training.",
            ),
        )

    def entropy(self, x: Variable) -> Estimate:
        raise ValueError(
            "method 'compression' estimates mutual information only: a compressor changes a "
            "variable's entropy (even a lossless one rescales it); estimate the entropy of "
            "the codes instead"
        )


def inner_for_codes(inner: Estimator, width: int, n_samples: int) -> Estimator:
    """The default inner estimator with k = :data:`CODE_K` where the weighted estimator's
    own k for the codes' joint (``width`` columns) is at most that; any other as it is.

    Parameters
    ----------
    inner : Estimator
        The inner estimator as configured.
    width : int
        Columns of the two sides' codes together (the joint's dimension).
    n_samples : int
        Samples the codes have.

    Returns
    -------
    Estimator
        ``inner``, with ``k=CODE_K`` when it is :data:`DEFAULT_INNER` and its own k for
        ``width`` columns would not be larger. Wider joints (12 or more columns) keep their
        own, larger k: there k = 10's weights reach ±64 and more, the estimator's own limit
        being ±10.
    """
    if inner == DEFAULT_INNER and default_weighted_k(width, n_samples) <= CODE_K:
        return replace(inner, k=CODE_K)
    return inner


def _gaussianized(variable: Variable) -> Variable:
    """Each column of a continuous side mapped to normal quantiles of its smoothed CDF.

    A monotone map of each column leaves the MI unchanged, and kNN estimates are far less
    biased on nearly Gaussian marginals than on the bounded, curved ones of tanh codes.
    The CDF is the Gaussian-kernel one (Silverman's bandwidth), not the ranks: ranks put
    every column on a fixed grid of quantiles, whose regular spacings bias kNN entropies
    (1-D: 1.11 nats for a true 0.22).
    """
    if variable.discrete:
        return variable
    from scipy.special import ndtr, ndtri

    values = np.empty_like(variable.values)
    n = variable.n_samples
    for j, column in enumerate(variable.values.T):
        q25, q75 = np.percentile(column, [25, 75])
        spread = min(column.std(), (q75 - q25) / 1.349) or column.std()
        if spread == 0:
            values[:, j] = 0.0
            continue
        bandwidth = 0.9 * spread * n**-0.2
        grid = np.linspace(column.min(), column.max(), _CDF_GRID)
        cdf = np.concatenate(
            [
                ndtr((block[:, None] - column[None, :]) / bandwidth).mean(axis=1)
                for block in np.array_split(grid, _CDF_GRID // 256)
            ]
        )
        values[:, j] = ndtri(np.interp(column, grid, cdf))
    return Variable(variable.name, values, False)


def _bias_note(inner_note: str | None) -> str:
    note = (
        "Compression can only lose information (data-processing inequality), so a lossy "
        "code biases the estimate down; see details['x'] and details['y'] for the loss."
    )
    return note if inner_note is None else f"{note} On the codes: {inner_note}"


# -- fitting one side -----------------------------------------------------------------------


def _pca(dim: int | None, fit: Variable, explained: float) -> FittedCompressor:
    from sklearn.decomposition import PCA

    shift = fit.values.mean(axis=0)
    values = fit.values - shift
    model = PCA(n_components=dim if dim is not None else min(fit.values.shape), svd_solver="full")
    model.fit(values)
    ratios = model.explained_variance_ratio_
    if dim is None:
        dim = min(int(np.searchsorted(np.cumsum(ratios), explained)) + 1, ratios.shape[0])
    kept = float(np.sum(ratios[:dim]))
    return FittedCompressor(
        kind="pca",
        input_width=fit.n_features,
        sample_shape=fit.sample_shape,
        code_dim=dim,
        unexplained=max(0.0, 1.0 - kept),
        arrays={
            "shift": shift,
            "scale": np.ones(1),
            "components": np.ascontiguousarray(model.components_[:dim]),
        },
    )


def _autoencoder(estimator: CompressionEstimator, dim: int, fit: Variable) -> FittedCompressor:
    from mi_toolkit.estimators._compression_training import fit_autoencoder

    values = fit.values[canonical_order(fit.values)]
    shift, scale = values.mean(), values.std()
    scale = scale if scale > 0 else 1.0
    scaled = (values - shift) / scale
    order = np.random.default_rng(estimator.random_state).permutation(values.shape[0])
    n_validation = round(estimator.validation_fraction * values.shape[0])
    config = {
        "input_width": fit.n_features,
        "sample_shape": fit.sample_shape,
        "code_dim": dim,
        "hidden": estimator.hidden,
        "channels": (8, 16),
        "decoder": estimator.decoder,
        "code_activation": estimator.code_activation,
    }
    options = {
        "max_epochs": estimator.max_epochs,
        "batch_size": estimator.batch_size,
        "learning_rate": estimator.learning_rate,
        "patience": estimator.patience,
        "input_noise": estimator.input_noise,
        "code_noise": estimator.code_noise,
        "prior_weight": estimator.prior_weight,
        "seed": estimator.random_state,
        "device": estimator.device,
        "n_threads": estimator.n_threads,
        "progress": estimator.progress,
        "label": f"autoencoder of {fit.name}",
    }
    state, facts = fit_autoencoder(
        scaled[order[n_validation:]], scaled[order[:n_validation]], config, options
    )
    return FittedCompressor(
        kind="autoencoder",
        input_width=fit.n_features,
        sample_shape=fit.sample_shape,
        code_dim=dim,
        # The scaled data have unit variance overall, so the MSE is the unexplained share.
        unexplained=float(facts["validation_mse"]),
        arrays={
            "shift": np.array([shift]),
            "scale": np.array([scale]),
            **{f"weight:{k}": v for k, v in state.items()},
        },
        config={
            "hidden": estimator.hidden,
            "channels": [8, 16],
            "decoder": estimator.decoder,
            "code_activation": estimator.code_activation,
            "prior_weight": estimator.prior_weight,
            **facts,
        },
    )


def fit_side(
    estimator: CompressionEstimator, kind: str, dim: int | None, fit: Variable
) -> FittedCompressor:
    """Fit one side's compressor (no cache, no checks: see :meth:`CompressionEstimator.fit`)."""
    if kind == "pca":
        return _pca(dim, fit, estimator.explained_variance)
    return _autoencoder(estimator, dim, fit)  # type: ignore[arg-type]


def fit_compressor(
    data: Any, compressor: str = "pca", code_dim: int | None = None, **params: Any
) -> FittedCompressor:
    """Fit one compressor on ``data`` (rows, or images (n, h, w) / (n, c, h, w)).

    Parameters
    ----------
    data : array_like
        The samples of one variable.
    compressor : {"pca", "autoencoder"}
        What to fit.
    code_dim : int or None
        Width of the code (None: PCA by ``explained_variance``).
    **params
        Other parameters of :class:`CompressionEstimator` (training settings, ``device``,
        ``random_state``, ``progress``, ...).

    Returns
    -------
    FittedCompressor
        Pass it as ``compressor=`` (or in a pair) to reuse it, or :meth:`~FittedCompressor.save`
        it.
    """
    estimator = CompressionEstimator(compressor=compressor, code_dim=code_dim, **params)
    variable = as_variable(data, "x", False, keep_sample_shape=True)
    return estimator.fit(compressor, code_dim, variable)[0]


__all__ = ["CompressionEstimator", "FittedCompressor", "clear_cache", "fit_compressor"]
