"""Inner estimators and code transformations compared on the SAME autoencoder codes (issue 11).

Each images task (family, truth; n = 5,000, seed 0) is encoded once by the autoencoders of
``compression_images.py`` (fitted there and kept in its folder, so nothing is refitted when
they exist), then every variant below is applied to those codes and printed as a tab-
separated row: family, truth, variant, estimate, standard error, CPU and wall seconds.
All variants are injective maps of each side (or none), so none changes the true MI.

Usage::

    .venv/bin/python -W ignore benchmarks/compression_inner_variants.py \
        rectangles32:0 rectangles32:1 blobs16:10 --variants default,rbig20,ksg
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from compression_images import (
    AUTOENCODER,
    COMPRESSORS,
    FAMILIES,
    fitted_autoencoders,
    parse_settings,
)

from mi_toolkit import estimate_mi
from mi_toolkit._validation import Variable
from mi_toolkit.estimators.compression import DEFAULT_INNER, _gaussianized
from mi_toolkit.estimators.kl import KLEstimator

# Just inside the tanh box, so that arctanh stays finite.
_EDGE = 1.0 - 1e-6


def gaussianized(codes: np.ndarray) -> np.ndarray:
    """The estimator's own per-column Gaussianization (smoothed CDF, normal quantiles)."""
    return _gaussianized(Variable("codes", np.ascontiguousarray(codes), False)).values


def jointly_gaussianized(codes: np.ndarray, rounds: int, seed: int) -> np.ndarray:
    """Rotation-based iterative Gaussianization (Laparra et al. 2011): per-column
    Gaussianization alternated with random rotations, which drives the whole block (not only
    its columns) towards N(0, I). Each round is an injective map, so the MI is unchanged."""
    rng = np.random.default_rng(seed)
    values = gaussianized(codes)
    for _ in range(rounds):
        q, r = np.linalg.qr(rng.standard_normal((codes.shape[1], codes.shape[1])))
        values = gaussianized(values @ (q * np.sign(np.diag(r))))
    return values


#: Permutations of y whose mean estimate the shuffle correction subtracts.
SHUFFLES = 3


def shuffle_corrected(x_codes: np.ndarray, y_codes: np.ndarray, inner: object):
    """The inner estimate minus its mean over y's rows shuffled (a true 0 with the same
    marginals); it comes to the difference of the joint entropies of the shuffled and the
    real pairs, since the marginal entropies' terms cancel. Returns (value, standard error)."""
    real = estimate_mi(x_codes, y_codes, method=inner)
    rng = np.random.default_rng(12345)
    nulls = [
        estimate_mi(x_codes, y_codes[rng.permutation(len(y_codes))], method=inner).value
        for _ in range(SHUFFLES)
    ]
    spread = np.std(nulls, ddof=1) / np.sqrt(SHUFFLES)
    return real.value - np.mean(nulls), float(np.hypot(real.standard_error or 0.0, spread))


def _arctanh(codes: np.ndarray) -> np.ndarray:
    return np.arctanh(np.clip(codes, -_EDGE, _EDGE))


#: name: (transformation of one side's codes (codes, side index), inner method)
VARIANTS: dict[str, tuple[Callable[[np.ndarray, int], np.ndarray], object]] = {
    "default": (lambda c, _: gaussianized(c), DEFAULT_INNER),
    "raw": (lambda c, _: c, DEFAULT_INNER),
    "arctanh": (lambda c, _: _arctanh(c), DEFAULT_INNER),
    "rbig5": (lambda c, side: jointly_gaussianized(c, 5, side), DEFAULT_INNER),
    "rbig20": (lambda c, side: jointly_gaussianized(c, 20, side), DEFAULT_INNER),
    "kl-whiten-k1": (lambda c, _: gaussianized(c), KLEstimator(k=1, whiten=True)),
    "kl-whiten-k3": (lambda c, _: gaussianized(c), KLEstimator(k=3, whiten=True)),
    "ksg": (lambda c, _: gaussianized(c), "ksg"),
    "gcmi": (lambda c, _: c, "gcmi"),
    "shuffled": (lambda c, _: gaussianized(c), DEFAULT_INNER),
    "ksg-shuffled": (lambda c, _: gaussianized(c), "ksg"),
}


def codes_of(family: str, truth: float, n: int = 5000, seed: int = 0):
    """Both sides' codes under the kept (or newly fitted) default autoencoders."""
    sampler_class, width, code_dim = FAMILIES[family]
    x, y = sampler_class(truth, width).sample(n, np.random.default_rng(seed))
    x, y = x.reshape(n, width, width), y.reshape(n, width, width)
    key = f"{family}-{truth:g}-{seed}-{n}"
    (fx, fy), _ = fitted_autoencoders(x, y, code_dim, key, COMPRESSORS)
    for side, fitted in (("x", fx), ("y", fy)):
        facts = fitted.config
        print(
            f"# {key} {side}: unexplained {fitted.unexplained:.3f}, prior distance "
            f"{facts.get('prior_distance', float('nan')):.4f}, epochs "
            f"{facts['best_epoch']}/{facts['epochs']}, fit {facts['seconds']:.0f} s",
            flush=True,
        )
    return fx.encode(x.reshape(n, -1)), fy.encode(y.reshape(n, -1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="+", help="family:truth, e.g. rectangles32:1")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--autoencoder", default="", help="as in compression_images.py, e.g. 'prior_weight=1'"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    AUTOENCODER.update(parse_settings(args.autoencoder))
    for task in args.tasks:
        family, truth = task.split(":")
        x_codes, y_codes = codes_of(family, float(truth), seed=args.seed)
        for name in args.variants.split(","):
            transform, inner = VARIANTS[name]
            wall, cpu = time.perf_counter(), time.process_time()
            pair = transform(x_codes, 0), transform(y_codes, 1)
            if name.endswith("shuffled"):
                value, error = shuffle_corrected(*pair, inner)
            else:
                result = estimate_mi(*pair, method=inner)
                value, error = result.value, result.standard_error or 0.0
            print(
                f"{family}\t{truth}\t{name}\t{value:.3f}\t"
                f"{error:.3f}\t{time.process_time() - cpu:.1f}\t"
                f"{time.perf_counter() - wall:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
