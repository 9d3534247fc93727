"""The registry of named tasks, and the catalogue of every family's tasks.

Names start with their family (``gaussian-``, ``student-``, ``transform-``,
``uniform-noise-``, ``images-``, ``channel-``, ``bits12-``, ``discrete-``), so that
:mod:`mi_toolkit.synthetic.suites` can group them; the "Beyond Normal" tasks
(:mod:`mi_toolkit.synthetic.beyond_normal`) keep that benchmark's names instead.
Building a task is deferred until :func:`get_task` asks for it, so importing the
registry costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mi_toolkit.synthetic.base import Sampler, Task
from mi_toolkit.synthetic.channels import (
    BinarySymmetricChannel,
    LinearGaussianChannel,
    NoisyGaussianMixture,
)
from mi_toolkit.synthetic.discrete import UniformDiscreteMap, UniformPatternsMap, popcount
from mi_toolkit.synthetic.gaussian import (
    CorrelatedPairs,
    RotatedPairs,
    dense_gaussian,
    pairs_covariance,
    sparse_gaussian,
)
from mi_toolkit.synthetic.images import GaussianBlobImages, RectangleImages
from mi_toolkit.synthetic.noise import AdditiveUniformNoise
from mi_toolkit.synthetic.student import MultivariateStudentT
from mi_toolkit.synthetic.transforms import (
    Spiral,
    Transformed,
    asinh,
    half_cube,
    normal_cdf,
    rotation_generator,
    swiss_roll,
    wiggly,
)

_TASKS: dict[str, Callable[[], Task]] = {}


def register_task(name: str, description: str) -> Callable:
    """Decorator: register a zero-argument function that builds a task's sampler.

    Parameters
    ----------
    name : str
        Unique task name, starting with its family's prefix (see the module docstring).
    description : str
        One line saying what the task is.

    Returns
    -------
    callable
        The decorator; it returns the build function unchanged.
    """

    def wrap(build: Callable) -> Callable:
        if name in _TASKS:
            raise RuntimeError(f"two tasks claim the name {name!r}")
        _TASKS[name] = lambda: Task(name, description, build())
        return build

    return wrap


def get_task(name: str) -> Task:
    """The task registered under ``name``."""
    try:
        return _TASKS[name]()
    except KeyError:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(list_tasks())}") from None


def list_tasks() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(_TASKS)


@register_task("gaussian-1d-rho0.9", "one correlated Gaussian pair, ρ = 0.9")
def _gaussian_1d() -> CorrelatedPairs:
    return CorrelatedPairs([0.9])


@register_task("gaussian-3x3", "three correlated Gaussian pairs, ρ = 0.6, 0.7, 0.8")
def _gaussian_3x3() -> CorrelatedPairs:
    return CorrelatedPairs([0.6, 0.7, 0.8])


@register_task("bits12-identity", "X uniform over the 4096 12-bit patterns, Y = X")
def _bits_identity() -> UniformPatternsMap:
    return UniformPatternsMap(12, lambda patterns: patterns)


@register_task("bits12-popcount", "X uniform over 12-bit patterns, Y = number of ones in X")
def _bits_popcount() -> UniformPatternsMap:
    return UniformPatternsMap(12, popcount)


def _add(name: str, description: str, build: Callable[[], Sampler]) -> None:
    register_task(name, description)(build)


# Gaussian: dense, sparse and rotated, dimensions 1 to 100, MI up to 20 nats.
for _d in (2, 5, 25, 50):
    _add(
        f"gaussian-dense-{_d}x{_d}-rho0.5",
        f"{_d}+{_d} Gaussian variables, every correlation 0.5",
        lambda d=_d: dense_gaussian(d, d, 0.5),
    )
for _d, _k in ((5, 2), (25, 2), (50, 5), (100, 10)):
    _add(
        f"gaussian-sparse-{_d}x{_d}-k{_k}-rho0.8",
        f"{_k} Gaussian pairs with correlation 0.8 among {_d}+{_d} dimensions of noise",
        lambda d=_d, k=_k: sparse_gaussian(d, d, k, 0.8),
    )
_ROTATED = ((1, 1), (2, 1), (5, 2), (5, 5), (5, 10), (5, 15), (5, 20), (25, 10), (50, 10))
for _d, _mi in (*_ROTATED, (2, 20), (100, 20)):
    _add(
        f"gaussian-rotated-{_d}x{_d}-mi{_mi}",
        f"{_mi} nats split over {_d} Gaussian pairs, random rotation within X and within Y",
        lambda d=_d, mi=_mi: RotatedPairs(mi, d, d),
    )

# Student-t: the Gaussian part from correlation 0.5 per pair, or none at all.
for _d, _dof, _rho in ((1, 1, 0.5), (1, 3, 0.5), (2, 3, 0.5), (5, 5, 0.5), (2, 3, 0.0)):
    _add(
        f"student-{_d}x{_d}-dof{_dof}-rho{_rho}",
        f"multivariate t, {_dof} degrees of freedom, {_d} pairs with correlation {_rho}",
        lambda d=_d, dof=_dof, rho=_rho: MultivariateStudentT(pairs_covariance([rho] * d), d, dof),
    )

# Invertible transforms of a 1-nat rotated Gaussian (or a Student-t): the truth is kept.
_TRANSFORMS = {
    "normalcdf": ("the normal CDF", normal_cdf),
    "halfcube": ("x·sqrt|x|", half_cube),
    "asinh": ("asinh", asinh),
    "wiggly": ("x + 0.4 sin x + 0.2 sin(1.7x + 1)", wiggly),
}
for _label, (_words, _transform) in _TRANSFORMS.items():
    _add(
        f"transform-{_label}-gaussian-2x2-mi1",
        f"{_words} applied to both sides of a 1-nat rotated Gaussian, 2+2 dimensions",
        lambda t=_transform: Transformed(RotatedPairs(1.0, 2, 2), t, t),
    )
# The same maps at high MI: a 5+5 rotated Gaussian carrying 10 and 20 nats.
for _label, (_words, _transform) in _TRANSFORMS.items():
    for _mi in (10, 20):
        _add(
            f"transform-{_label}-gaussian-5x5-mi{_mi}",
            f"{_words} applied to both sides of a {_mi}-nat rotated Gaussian, 5+5 dimensions",
            lambda t=_transform, mi=_mi: Transformed(RotatedPairs(mi, 5, 5), t, t),
        )
_add(
    "transform-spiral-gaussian-5x5-mi10",
    "the spiral exp(0.2‖x‖²A)x (A rotating the first plane) on X of a 10-nat rotated Gaussian",
    lambda: Transformed(RotatedPairs(10.0, 5, 5), Spiral(rotation_generator(5), speed=0.2)),
)
_add(
    "transform-asinh-student-2x2-dof1",
    "asinh applied to both sides of a Cauchy-tailed multivariate t (ν = 1), 2+2 dimensions",
    lambda: Transformed(MultivariateStudentT(pairs_covariance([0.5] * 2), 2, 1.0), asinh, asinh),
)
_add(
    "transform-spiral-gaussian-3x3-mi1",
    "the spiral exp(0.5‖x‖²A)x (A rotating the first plane) on X of a 1-nat rotated Gaussian",
    lambda: Transformed(RotatedPairs(1.0, 3, 3), Spiral(rotation_generator(3), speed=0.5)),
)
_add(
    "transform-swissroll-gaussian-1x1-mi1",
    "X of a 1-nat Gaussian pair embedded in 2-D as a Swiss roll (Y stays 1-D)",
    lambda: Transformed(CorrelatedPairs.with_mutual_information(1.0, 1), swiss_roll),
)

# Additive uniform noise, on both branches of the formula.
for _eps in (0.1, 0.5, 0.75, 2.0):
    _add(
        f"uniform-noise-eps{_eps:g}",
        f"X ~ U(0, 1), Y = X + U(-{_eps:g}, {_eps:g})",
        lambda eps=_eps: AdditiveUniformNoise(eps),
    )

# Images of latent points (Butakov et al. 2024).
for _mi in (1, 5, 10):
    for _width in (16, 32):
        _add(
            f"images-blobs{_width}-mi{_mi}",
            f"{_width}×{_width} Gaussian-blob images of 2-D latents sharing {_mi} nats",
            lambda mi=_mi, w=_width: GaussianBlobImages(mi, w),
        )
    _add(
        f"images-rectangles32-mi{_mi}",
        f"32×32 anti-aliased rectangle images of 4-D latents sharing {_mi} nats",
        lambda mi=_mi: RectangleImages(mi, 32),
    )

# Noisy channels.
_add(
    "channel-linear-gaussian-5to3",
    "X ~ N(0, I_5), T = W X + 0.5 Z with a fixed random 3×5 matrix W",
    lambda: LinearGaussianChannel(
        np.random.default_rng(0).standard_normal((3, 5)) / np.sqrt(5), 0.5
    ),
)
_add(
    "channel-mixture-1d",
    "X from three 1-D Gaussians at -2, 0, 2 (sd 0.3), Y = X + N(0, 0.5²); MC truth",
    lambda: NoisyGaussianMixture([[-2.0], [0.0], [2.0]], 0.3, 0.5),
)
_add(
    "channel-mixture-3d",
    "X from four 3-D Gaussians (sd 0.5) at fixed random means, Y = X + N(0, 0.5² I); MC truth",
    lambda: NoisyGaussianMixture(2.0 * np.random.default_rng(0).standard_normal((4, 3)), 0.5, 0.5),
)
_add(
    "channel-bsc-p0.1",
    "one fair bit through a binary symmetric channel flipping with probability 0.1",
    lambda: BinarySymmetricChannel(0.1),
)
_add(
    "channel-bsc-p0.1-bits8",
    "eight fair bits, each through a binary symmetric channel with flip probability 0.1",
    lambda: BinarySymmetricChannel(0.1, n_bits=8),
)
_add(
    "discrete-uniform100-mod7",
    "X uniform over 0..99, Y = X mod 7",
    lambda: UniformDiscreteMap(np.arange(100), lambda x: x % 7),
)
