r"""Additive uniform noise: X ~ U(0, 1), Y = X + U(-ε, ε).

I(X;Y) = h(Y) - h(Y | X) = h(Y) - log 2ε. Y has a trapezoidal density (the convolution
of the two uniforms): slopes of width 2ε at both ends, and a flat top of height 1 (ε <= ½)
or 1/2ε (ε > ½). Integrating -p log p over it gives

.. math::

    I(X;Y) = \begin{cases} ε - \log 2ε, & ε \le \tfrac12, \\
                           \dfrac{1}{4ε}, & ε > \tfrac12, \end{cases}

continuous at ε = ½ (value ½) and tending to 0 as ε → ∞ and to ∞ as ε → 0. This is the
"additive uniform noise" task of the "Beyond Normal" benchmark (Czyż et al., 2023).
"""

from __future__ import annotations

import math

import numpy as np

from mi_toolkit.synthetic._checks import check_dimension, check_positive
from mi_toolkit.synthetic.base import Sampler


def uniform_noise_mutual_information(epsilon: float) -> float:
    """I(X; X + U(-ε, ε)) for X ~ U(0, 1), in nats (see the module docstring)."""
    epsilon = check_positive(epsilon, "epsilon", " (the noise half-width)")
    if epsilon <= 0.5:
        return epsilon - math.log(2.0 * epsilon)
    return 1.0 / (4.0 * epsilon)


class AdditiveUniformNoise(Sampler):
    """X ~ U(0, 1)^d, Y = X + U(-ε, ε)^d, coordinates independent: d times the 1-D MI.

    Parameters
    ----------
    epsilon : float
        Noise half-width ε > 0.
    dim : int
        Number of independent coordinates d (the MI adds up over them).
    """

    def __init__(self, epsilon: float, dim: int = 1) -> None:
        self.epsilon = check_positive(epsilon, "epsilon", " (the noise half-width)")
        self.dim_x = self.dim_y = check_dimension(dim, "dim")

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.random((n, self.dim_x))
        return x, x + rng.uniform(-self.epsilon, self.epsilon, size=(n, self.dim_y))

    def mutual_information(self) -> float:
        return self.dim_x * uniform_noise_mutual_information(self.epsilon)
