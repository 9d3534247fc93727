"""Parameter checks, class splitting and bias notes shared by the kNN estimators."""

from __future__ import annotations

import numpy as np

from mi_toolkit._validation import check_choice, check_positive_int
from mi_toolkit.estimators._device import check_device
from mi_toolkit.estimators._knn_kernels.dispatch import ALGORITHMS


def check_k(k: object) -> int:
    return check_positive_int(k, "k", " (the number of nearest neighbours; 3 is usual)")


def check_search(algorithm: object, device: object, progress: object) -> None:
    """The neighbour-search parameters both kNN estimators share."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    check_device(device)
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True, False or None; got {progress!r}")


def check_enough_neighbours(n: int, k: int, where: str) -> None:
    """A k-th neighbour among the *other* samples needs n >= k + 1."""
    if k >= n:
        raise ValueError(
            f"k={k} neighbours need at least {k + 1} samples in {where}, which has {n}; "
            "pass a smaller k or more samples"
        )


def check_positive_radii(radii: np.ndarray, where: str, method: str) -> None:
    """Refuse a zero neighbour distance: it comes from repeated rows and gives log 0."""
    zero = np.flatnonzero(radii <= 0.0)
    if zero.size:
        raise ValueError(
            f"method {method!r}: sample {zero[0]} of {where} (and {zero.size - 1} other(s)) "
            "has a neighbour at distance 0 among its nearest neighbours, because rows repeat. "
            "kNN estimators assume continuous data: mark a variable with repeated values as "
            "discrete (discrete_x=True / discrete_y=True), or add noise far below the data's "
            "scale, e.g. x + 1e-10 * x.std() * rng.standard_normal(x.shape)"
        )


# Measured with this package (the report of issue 3): 10+10-D Gaussian pairs with
# ρ = 0.6 per pair, I = 2.23 nats, N = 10,000, k = 3.
_HIGH_DIM_EXAMPLE = (
    "for 10+10-D Gaussians with I = 2.23 nats at N = 10,000 (k = 3) KSG gives 1.21 nats, "
    "Kozachenko–Leonenko 0.89 and whitened Kozachenko–Leonenko 1.47"
)
# Joint dimension from which the underestimate is large enough to state up front.
_HIGH_DIM = 8


def knn_bias_note(method: str, joint_dim: int, n_samples: int) -> str:
    """What theory says about the bias of a kNN MI estimate in this setting."""
    note = (
        f"{method} is consistent but biased at finite N: the k-nearest-neighbour balls are "
        "assumed small against the scale on which the density changes, which fails for "
        "large MI (a thin, strongly dependent joint distribution) and in high dimension, and "
        "the estimate then falls below the truth. For strongly dependent, correlated "
        f"coordinates it saturates near log N = {np.log(n_samples):.3g} nats (Gao, Ver Steeg "
        "& Galstyan 2015) unless the data are whitened first (method 'kl', whiten=True)."
    )
    if joint_dim >= _HIGH_DIM:
        note += (
            f" Here the joint space has {joint_dim} dimensions, where the underestimate is "
            f"strong: {_HIGH_DIM_EXAMPLE}. Treat the value as a lower estimate, compare "
            "with another method, or reduce the dimension first."
        )
    return note
