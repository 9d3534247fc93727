r"""The 40 tasks of the "Beyond Normal" benchmark, under the benchmark's own names.

Czyż, Grabowski, Vogt, Beerenwinkel & Marx, "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023 (the ``benchmark-mi`` package). Every task is
built from this package's families and wrapped in :class:`Standardised`, so each sample
comes rescaled to zero mean and unit variance per column, as the benchmark does before
it estimates. The truths are exact (closed forms), since every transform is injective:

- ``1v1-normal-0.75``: one Gaussian pair with correlation 0.75, I = -½ log(1 - 0.75²)
  = 0.4133 nats; the same under ``normal_cdf``, ``wiggly``, ``half_cube``, the bimodal
  marginals (X onto 0.3·N(0, 1) + 0.7·N(5, 1), Y onto 0.5·N(-1, 1) + 0.5·N(3, 1)) and a
  Swiss roll of X after ``normal_cdf`` (2×1);
- ``1v1-additive-ε``: X ~ U(0, 1), Y = X + U(-ε, ε), ε = 0.1 and 0.75;
- ``multinormal-dense-d-d-0.5``: every correlation 0.5, d = 2, 3, 5, 25, 50;
- ``multinormal-sparse-d-d-2-2.0``: X_i = E_i + 2Z_i, Y_i = F_i + 2Z_i for i = 1, 2
  (correlation 4/5 per pair), the other coordinates independent noise:
  I = -log(1 - 0.8²) = 1.0217 nats at every d; also under ``normal_cdf``, ``half_cube``,
  ``spiral`` and ``spiral`` after ``normal_cdf``, d = 3, 5, 25;
- ``student-identity-d-d-ν``: multivariate t with identity dispersion, whose MI is all
  in the shared chi-square scale; also under ``asinh``.

Where the benchmark's maps differ from ours only in shape, ours are used and the truth is
the same: ``wiggly`` is this package's x + 0.4 sin x + 0.2 sin(1.7x + 1) on both sides,
and the Swiss roll's radius is t / 4.5π rather than t / 21. The spiral follows the
benchmark: x ↦ exp((1/d)‖x‖² A) x with A rotating coordinates (1, 2) of X and (2, 3)
of Y.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mi_toolkit.synthetic.base import Sampler
from mi_toolkit.synthetic.gaussian import CorrelatedPairs, dense_gaussian, sparse_gaussian
from mi_toolkit.synthetic.noise import AdditiveUniformNoise
from mi_toolkit.synthetic.student import MultivariateStudentT
from mi_toolkit.synthetic.tasks import register_task
from mi_toolkit.synthetic.transforms import (
    GaussianMixtureMarginal,
    Spiral,
    Standardised,
    Transform,
    Transformed,
    asinh,
    half_cube,
    normal_cdf,
    rotation_generator,
    swiss_roll,
    wiggly,
)

#: The bimodal marginals: X onto 0.3·N(0, 1) + 0.7·N(5, 1), Y onto 0.5·N(-1, 1) + 0.5·N(3, 1).
BIMODAL_X = GaussianMixtureMarginal([0.3, 0.7], [0.0, 5.0])
BIMODAL_Y = GaussianMixtureMarginal([0.5, 0.5], [-1.0, 3.0])

#: The 40 task names, in the benchmark's order.
BEYOND_NORMAL: list[str] = []


def _add(name: str, description: str, build: Callable[[], Sampler]) -> None:
    """Register ``name`` as the standardised version of what ``build`` makes."""
    BEYOND_NORMAL.append(name)
    register_task(name, f"{description}; standardised per column")(lambda: Standardised(build()))


def _normal_pair() -> CorrelatedPairs:
    return CorrelatedPairs([0.75])


def _both(transform: Transform) -> Callable[[Sampler], Sampler]:
    return lambda sampler: Transformed(sampler, transform, transform)


def _spiral(sampler: Sampler) -> Transformed:
    """The benchmark's spiral: speed 1/d, planes (1, 2) in X and (2, 3) in Y."""
    spiral_x = Spiral(rotation_generator(sampler.dim_x, 0, 1), speed=1.0 / sampler.dim_x)
    spiral_y = Spiral(rotation_generator(sampler.dim_y, 1, 2), speed=1.0 / sampler.dim_y)
    return Transformed(sampler, spiral_x, spiral_y)


def _sparse(dim: int) -> Sampler:
    # X_i = E_i + 2 Z_i, Y_i = F_i + 2 Z_i have correlation 4/5; the rest is noise.
    return sparse_gaussian(dim, dim, 2, 0.8)


def _student(dim: int, dof: int) -> MultivariateStudentT:
    return MultivariateStudentT(np.eye(2 * dim), dim, float(dof))


# One-dimensional tasks (and the 2×1 Swiss roll).
_PAIR = "a Gaussian pair with correlation 0.75"
_add("1v1-normal-0.75", _PAIR, _normal_pair)
_add(
    "normal_cdf-1v1-normal-0.75",
    f"the normal CDF of {_PAIR}",
    lambda: _both(normal_cdf)(_normal_pair()),
)
_add("1v1-additive-0.1", "X ~ U(0, 1), Y = X + U(-0.1, 0.1)", lambda: AdditiveUniformNoise(0.1))
_add("1v1-additive-0.75", "X ~ U(0, 1), Y = X + U(-0.75, 0.75)", lambda: AdditiveUniformNoise(0.75))
_add(
    "1v1-bimodal-0.75",
    f"{_PAIR}, X onto 0.3·N(0,1) + 0.7·N(5,1) and Y onto 0.5·N(-1,1) + 0.5·N(3,1)",
    lambda: Transformed(_normal_pair(), BIMODAL_X, BIMODAL_Y),
)
_add("wiggly-1v1-normal-0.75", f"the wiggly map of {_PAIR}", lambda: _both(wiggly)(_normal_pair()))
_add("half_cube-1v1-normal-0.75", f"x·sqrt|x| of {_PAIR}", lambda: _both(half_cube)(_normal_pair()))
_add("student-identity-1-1-1", "bivariate t, identity dispersion, 1 dof", lambda: _student(1, 1))
_add(
    "asinh-student-identity-1-1-1",
    "asinh of a bivariate t, identity dispersion, 1 dof",
    lambda: _both(asinh)(_student(1, 1)),
)
_add(
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    f"X of {_PAIR} as a 2-D Swiss roll of its normal CDF, Y its normal CDF",
    lambda: Transformed(_normal_pair(), swiss_roll, normal_cdf),
)

for _d in (2, 3, 5, 25, 50):
    _add(
        f"multinormal-dense-{_d}-{_d}-0.5",
        f"{_d}+{_d} Gaussian variables, every correlation 0.5",
        lambda d=_d: dense_gaussian(d, d, 0.5),
    )
for _d in (2, 3, 5, 25):
    _add(
        f"multinormal-sparse-{_d}-{_d}-2-2.0",
        f"two Gaussian pairs with correlation 0.8 among {_d}+{_d} dimensions",
        lambda d=_d: _sparse(d),
    )
for _d, _dof in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3)):
    _add(
        f"student-identity-{_d}-{_d}-{_dof}",
        f"{_d}+{_d} multivariate t, identity dispersion, {_dof} dof",
        lambda d=_d, dof=_dof: _student(d, dof),
    )

_SPARSE_TRANSFORMS: dict[str, tuple[str, Callable[[Sampler], Sampler]]] = {
    "normal_cdf": ("the normal CDF of", _both(normal_cdf)),
    "half_cube": ("x·sqrt|x| of", _both(half_cube)),
    "spiral": ("the spiral of", _spiral),
    "spiral-normal_cdf": (
        "the spiral of the normal CDF of",
        lambda s: _spiral(_both(normal_cdf)(s)),
    ),
}
for _prefix, (_words, _wrap) in _SPARSE_TRANSFORMS.items():
    for _d in (3, 5, 25):
        _add(
            f"{_prefix}-multinormal-sparse-{_d}-{_d}-2-2.0",
            f"{_words} two Gaussian pairs (correlation 0.8) among {_d}+{_d} dimensions",
            lambda d=_d, wrap=_wrap: wrap(_sparse(d)),
        )
for _d, _dof in ((2, 1), (3, 2), (5, 2)):
    _add(
        f"asinh-student-identity-{_d}-{_d}-{_dof}",
        f"asinh of a {_d}+{_d} multivariate t, identity dispersion, {_dof} dof",
        lambda d=_d, dof=_dof: _both(asinh)(_student(d, dof)),
    )
