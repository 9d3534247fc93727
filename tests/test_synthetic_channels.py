"""Noisy channels: closed forms against the joint distribution, Monte Carlo against quadrature."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from mi_toolkit import estimate_mi
from mi_toolkit.synthetic import (
    BinarySymmetricChannel,
    LinearGaussianChannel,
    NoisyGaussianMixture,
    UniformDiscreteMap,
    gaussian_mutual_information,
    get_task,
)


def _linear_channel() -> LinearGaussianChannel:
    rng = np.random.default_rng(4)
    weights = rng.standard_normal((3, 4))
    factor = rng.standard_normal((4, 4))
    return LinearGaussianChannel(weights, 0.7, factor @ factor.T / 4 + 0.2 * np.eye(4))


def test_linear_channel_matches_the_joint_gaussian_closed_form():
    channel = _linear_channel()
    w, sigma, cov = channel.weights, channel.noise_std, channel.input_covariance
    joint = np.block([[cov, cov @ w.T], [w @ cov, w @ cov @ w.T + sigma**2 * np.eye(3)]])
    assert channel.mutual_information() == pytest.approx(
        gaussian_mutual_information(joint, 4), rel=1e-10
    )


def test_gaussian_estimator_agrees_with_the_linear_channel():
    channel = _linear_channel()
    n = 20_000
    x, t = channel.sample(n, np.random.default_rng(8))
    result = estimate_mi(x, t, "gaussian")
    bias = channel.dim_x * channel.dim_y / (2 * n)
    assert abs(result.value - channel.mutual_information()) < 4 * result.standard_error + bias


def _mixture_mi_by_quadrature(means, sd, noise):
    spread = math.sqrt(sd**2 + noise**2)

    def density(y):
        return np.mean([norm.pdf(y, m, spread) for m in means])

    def integrand(y):
        p = density(y)
        return -p * math.log(p) if p > 0 else 0.0

    entropy_y = quad(integrand, min(means) - 12 * spread, max(means) + 12 * spread, limit=200)[0]
    return entropy_y - 0.5 * math.log(2 * math.pi * math.e * noise**2)


def test_mixture_monte_carlo_truth_matches_quadrature_within_its_standard_error():
    means, sd, noise = [-2.0, 0.0, 2.0], 0.3, 0.5
    sampler = NoisyGaussianMixture([[m] for m in means], sd, noise, truth_samples=100_000)
    error = sampler.mutual_information_standard_error()
    assert 0 < error < 0.01
    exact = _mixture_mi_by_quadrature(means, sd, noise)
    assert abs(sampler.mutual_information() - exact) < 4 * error


def test_mixture_task_exposes_its_truth_standard_error():
    task = get_task("channel-mixture-3d")
    assert 0 < task.mutual_information_standard_error < 0.01
    # A second Monte-Carlo run from another seed lands within 4·sqrt(2) joint errors.
    other = NoisyGaussianMixture(task.sampler.means, task.sampler.component_stds, 0.5, truth_seed=1)
    difference = abs(other.mutual_information() - task.mutual_information)
    assert difference < 4 * math.sqrt(2) * task.mutual_information_standard_error
    assert get_task("gaussian-3x3").mutual_information_standard_error == 0.0


def test_mixture_samples_follow_the_mixture():
    sampler = NoisyGaussianMixture([[-5.0], [5.0]], 0.0, 0.1, weights=[3, 1], truth_samples=1000)
    x, y = sampler.sample(8000, np.random.default_rng(0))
    share = np.mean(x[:, 0] == -5.0)
    assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 8000)
    assert np.all(np.abs(y - x) < 0.6)


def _plug_in_mi(joint: np.ndarray) -> float:
    px, py = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    mask = joint > 0
    return float((joint[mask] * np.log(joint[mask] / (px @ py)[mask])).sum())


@pytest.mark.parametrize(("p", "q"), [(0.1, 0.5), (0.25, 0.2), (0.0, 0.5), (0.5, 0.3), (1.0, 0.9)])
def test_binary_symmetric_channel_matches_its_joint_table(p, q):
    joint = np.array([[(1 - q) * (1 - p), (1 - q) * p], [q * p, q * (1 - p)]])
    channel = BinarySymmetricChannel(p, n_bits=3, p_one=q)
    assert channel.mutual_information() == pytest.approx(3 * _plug_in_mi(joint), abs=1e-12)


def test_binary_symmetric_channel_flips_at_the_stated_rate():
    x, y = BinarySymmetricChannel(0.1, n_bits=4).sample(10_000, np.random.default_rng(1))
    assert x.dtype == y.dtype == np.int64
    rate = np.mean(x != y)
    assert abs(rate - 0.1) < 4 * math.sqrt(0.1 * 0.9 / 40_000)


def test_uniform_discrete_map_is_the_entropy_of_the_image():
    sampler = UniformDiscreteMap(np.arange(100), lambda x: x % 7)
    counts = np.array([15, 15] + [14] * 5) / 100
    assert sampler.mutual_information() == pytest.approx(-(counts * np.log(counts)).sum())
    x, y = sampler.sample(500, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x % 7)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: LinearGaussianChannel(np.eye(2), 0.0), ValueError, "noise_std"),
        (lambda: LinearGaussianChannel(np.eye(2), 1.0, np.eye(3)), ValueError, "2×2"),
        (lambda: LinearGaussianChannel([[np.nan]], 1.0), ValueError, "finite"),
        (lambda: NoisyGaussianMixture([[0.0]], -1.0, 1.0), ValueError, ">= 0"),
        (lambda: NoisyGaussianMixture([[0.0], [1.0]], 1.0, 1.0, [1, -1]), ValueError, "weights"),
        (lambda: BinarySymmetricChannel(1.5), ValueError, "flip_probability"),
        (lambda: BinarySymmetricChannel(0.1, n_bits=0), ValueError, "n_bits"),
        (lambda: UniformDiscreteMap(np.array([1, 1, 2]), lambda x: x), ValueError, "distinct"),
        (lambda: UniformDiscreteMap(np.arange(4), lambda x: x[:2]), ValueError, "one row"),
    ],
)
def test_bad_channel_parameters_are_refused(build, error, message):
    with pytest.raises(error, match=message):
        build()
