"""Properties every registered method must have, checked for each one in the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit import estimate_mi, list_methods


@pytest.fixture(scope="module")
def sample():
    generator = np.random.default_rng(11)
    x = generator.standard_normal((400, 2))
    t = np.tanh(x @ generator.standard_normal((2, 3)) + 0.3 * generator.standard_normal((400, 3)))
    labels = (x[:, 0] > 0).astype(int)
    return x, t, labels, generator.permutation(400)


@pytest.mark.parametrize("method", list_methods())
@pytest.mark.parametrize("pairing", ["continuous", "labels"])
def test_permuting_samples_leaves_the_estimate_unchanged(method, pairing, sample):
    x, t, labels, order = sample
    first = x if pairing == "continuous" else labels
    before = estimate_mi(first, t, method=method)
    after = estimate_mi(first[order], t[order], method=method)
    assert after.value == pytest.approx(before.value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", list_methods())
def test_bits_are_nats_divided_by_ln2(method, sample):
    x, t, _, _ = sample
    nats = estimate_mi(x, t, method=method).value
    bits = estimate_mi(x, t, method=method, units="bits").value
    assert bits == pytest.approx(nats / math.log(2), rel=1e-12)
