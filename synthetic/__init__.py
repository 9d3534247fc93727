"""Distributions and data sets with known mutual information.

Every case is a :class:`Task`: ``task.sample(n, seed) -> (x, y)``,
``task.mutual_information`` (nats), ``task.dim_x``, ``task.dim_y``, a name and a
description. :func:`list_tasks` and :func:`get_task` reach them by name; :func:`get_suite`
gives named sets of them (``"quick"`` for CI, ``"full"`` for benchmarks,
``"beyond-normal"`` for the 40 tasks of Czyż et al. 2023, ``"high-mi"``, ``"images"``).

Families, one module each: ``gaussian`` (closed form), ``student`` (multivariate t),
``transforms`` (invertible maps that keep the MI), ``noise`` (additive uniform noise),
``images`` (blob and rectangle images of latent points), ``channels`` (linear Gaussian,
noisy mixture, binary symmetric), ``discrete`` (uniform X through a deterministic map);
``beyond_normal`` registers the "Beyond Normal" benchmark's tasks under their own names.
"""

from mi_toolkit.synthetic.base import Sampler, Task
from mi_toolkit.synthetic.channels import (
    BinarySymmetricChannel,
    LinearGaussianChannel,
    NoisyGaussianMixture,
)
from mi_toolkit.synthetic.datasets import (
    LabelledData,
    load_digits,
    load_mnist,
    load_var_u,
    read_idx,
    train_test_split,
    twelve_bit_task,
)
from mi_toolkit.synthetic.discrete import (
    UniformDiscreteMap,
    UniformPatternsMap,
    all_bit_patterns,
    popcount,
)
from mi_toolkit.synthetic.gaussian import (
    CorrelatedPairs,
    JointGaussian,
    RotatedPairs,
    dense_gaussian,
    gaussian_mutual_information,
    sparse_gaussian,
)
from mi_toolkit.synthetic.images import GaussianBlobImages, RectangleImages
from mi_toolkit.synthetic.noise import AdditiveUniformNoise
from mi_toolkit.synthetic.student import MultivariateStudentT
from mi_toolkit.synthetic.suites import get_suite, list_suites
from mi_toolkit.synthetic.tasks import get_task, list_tasks, register_task
from mi_toolkit.synthetic.transforms import (
    GaussianMixtureMarginal,
    Spiral,
    Standardised,
    Transformed,
    asinh,
    half_cube,
    normal_cdf,
    swiss_roll,
    wiggly,
)

__all__ = [
    "AdditiveUniformNoise",
    "BinarySymmetricChannel",
    "CorrelatedPairs",
    "GaussianBlobImages",
    "GaussianMixtureMarginal",
    "JointGaussian",
    "LabelledData",
    "LinearGaussianChannel",
    "MultivariateStudentT",
    "NoisyGaussianMixture",
    "RectangleImages",
    "RotatedPairs",
    "Sampler",
    "Spiral",
    "Standardised",
    "Task",
    "Transformed",
    "UniformDiscreteMap",
    "UniformPatternsMap",
    "all_bit_patterns",
    "asinh",
    "dense_gaussian",
    "gaussian_mutual_information",
    "get_suite",
    "get_task",
    "half_cube",
    "list_suites",
    "list_tasks",
    "load_digits",
    "load_mnist",
    "load_var_u",
    "normal_cdf",
    "popcount",
    "read_idx",
    "register_task",
    "sparse_gaussian",
    "swiss_roll",
    "train_test_split",
    "twelve_bit_task",
    "wiggly",
]
