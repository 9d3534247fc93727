"""The KDE upper bound at N = 10,000, d = 20.

Issue 2, section 5: ≤ 1 s, where a dense numpy version (full N × N distance matrix and
scipy's logsumexp, about 0.8 GB per matrix) takes about 20 s. Timed through the public
front door, for the entropy bound, for I(X;T) with X grouped by its 10,000 distinct rows,
and for the torch CPU path of the same computation. All must agree with the peer.
"""

from __future__ import annotations

from mi_toolkit import estimate_entropy, estimate_mi
from mi_toolkit.benchmarking.speed import dense_kde_upper_entropy

GOAL_S = 1.0
NOISE_VARIANCE = 0.1
ENTROPY = "kde upper bound H(T+Z), N=10000, d=20"
MUTUAL_INFORMATION = "kde upper bound I(X;T), N=10000, d=20"


def _time_entropy(measure, t, variance: float, group: str, rounds: int) -> None:
    measure(
        lambda: estimate_entropy(t, method="kde", noise_variance=variance).value,
        group=group,
        role="mi-toolkit",
        rounds=rounds,
        goal_s=GOAL_S,
    )


def test_entropy_toolkit(measure, kde_layer) -> None:
    _time_entropy(measure, kde_layer[1], NOISE_VARIANCE, ENTROPY, rounds=5)


def test_entropy_toolkit_torch_cpu(measure, kde_layer) -> None:
    _, t = kde_layer
    measure(
        lambda: (
            estimate_entropy(t, method="kde", noise_variance=NOISE_VARIANCE, device="cpu").value
        ),
        group=ENTROPY,
        role="mi-toolkit torch cpu",
        rounds=3,
    )


def _time_dense_peer(measure, t, variance: float, group: str) -> None:
    # One round: the dense peer takes about 20 s.
    measure(
        lambda: dense_kde_upper_entropy(t, variance),
        group=group,
        role="dense numpy peer",
        rounds=1,
    )


def test_entropy_dense_numpy_peer(measure, kde_layer) -> None:
    _time_dense_peer(measure, kde_layer[1], NOISE_VARIANCE, ENTROPY)


def test_mutual_information_toolkit(measure, kde_layer) -> None:
    x, t = kde_layer
    result = measure(
        lambda: estimate_mi(x, t, method="kde", noise_variance=NOISE_VARIANCE).value,
        group=MUTUAL_INFORMATION,
        role="mi-toolkit",
        rounds=3,
        goal_s=GOAL_S,
    )
    # Distinct inputs whose activations overlap under the noise: well below log N = 9.21.
    assert 5.0 < result < 8.5


def test_mutual_information_toolkit_torch_cpu(measure, kde_layer) -> None:
    x, t = kde_layer
    measure(
        lambda: estimate_mi(x, t, method="kde", noise_variance=NOISE_VARIANCE, device="cpu").value,
        group=MUTUAL_INFORMATION,
        role="mi-toolkit torch cpu",
        rounds=3,
    )


# With σ² = 100 every pair of tanh activations (squared distance ≤ 4·20) is within the
# kernel's reach, so no term can be skipped: the kernel's worst case.
WIDE_NOISE_VARIANCE = 100.0
WORST_CASE = "kde upper bound H(T+Z), N=10000, d=20, every pair counted (σ²=100)"


def test_entropy_every_pair_toolkit(measure, kde_layer) -> None:
    _time_entropy(measure, kde_layer[1], WIDE_NOISE_VARIANCE, WORST_CASE, rounds=3)


def test_entropy_every_pair_dense_numpy_peer(measure, kde_layer) -> None:
    _time_dense_peer(measure, kde_layer[1], WIDE_NOISE_VARIANCE, WORST_CASE)
