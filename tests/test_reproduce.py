"""The studies' experiments: their closed forms and training, and their quick runs' reports."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mi_toolkit import estimate_mi
from mi_toolkit.cli import main
from mi_toolkit.experiments import EXPERIMENTS, run_experiment
from mi_toolkit.experiments.linear import (
    LinearSettings,
    gradient_step,
    layer_information,
    make_student,
    make_teacher,
)


@pytest.fixture(scope="module")
def linear_network():
    settings = LinearSettings(relevant_inputs=2, irrelevant_inputs=1, hidden=3, depth=2)
    rng = np.random.default_rng(0)
    return settings, make_teacher(settings, rng), make_student(settings, rng)


def test_linear_closed_forms_agree_with_the_gaussian_estimator_on_samples(linear_network):
    settings, teacher, weights = linear_network
    rng = np.random.default_rng(1)
    n = 20_000
    x = rng.standard_normal((n, settings.inputs))
    y = x @ teacher.T + settings.teacher_noise * rng.standard_normal((n, settings.outputs))
    t = x @ weights[0].T + settings.mi_noise * rng.standard_normal((n, settings.hidden))
    exact = layer_information(settings, teacher, weights)
    for key, other in (("I(X;T)", x), ("I(T;Y)", y), ("I(X_irr;T)", x[:, 2:])):
        estimate = estimate_mi(t, other, "gaussian")
        # the Gaussian estimator is unbiased to O(d²/n) here; 4 standard errors
        assert abs(estimate.value - exact[key][0]) < 4 * estimate.standard_error + 1e-3, key


def test_linear_gradient_step_matches_finite_differences(linear_network):
    settings, _, weights = linear_network
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, settings.inputs))
    y = rng.standard_normal((7, settings.outputs))

    def loss(ws):
        return 0.5 * np.mean(np.sum((x @ ws[0].T @ ws[1].T - y) ** 2, axis=1))

    stepped = [w.copy() for w in weights]
    gradient_step(stepped, x, y, rate=1.0)
    analytic = weights[0] - stepped[0]
    h, numeric = 1e-6, np.zeros_like(weights[0])
    for index in np.ndindex(weights[0].shape):
        up = [w.copy() for w in weights]
        up[0][index] += h
        down = [w.copy() for w in weights]
        down[0][index] -= h
        numeric[index] = (loss(up) - loss(down)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_linear_quick_run_reports_the_numbers_it_names(tmp_path):
    report = run_experiment("linear", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    saved = json.loads((tmp_path / "numbers.json").read_text())
    numbers = saved["numbers"]
    for init in ("small_init", "standard_init"):
        assert isinstance(numbers[f"{init}.no_compression"], bool)
    falls = [v for k, v in numbers.items() if k.endswith("max_fall_bits")]
    assert len(falls) == 4 * 2 + 2 * 2  # I(X;T) everywhere, I(X_irr;T) where inputs are ignored
    assert all(math.isfinite(v) and v >= 0 for v in falls)
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "Rule." in text and "linear_information.png" in text
    assert (tmp_path / "linear_information.png").stat().st_size > 0


def test_reproduce_lists_the_experiments(capsys):
    assert main(["reproduce"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in EXPERIMENTS)


def test_reproduce_names_the_valid_experiments_for_an_unknown_one(capsys, tmp_path):
    assert main(["reproduce", "nonesuch", "--output", str(tmp_path)]) == 2
    assert "choose one of linear" in capsys.readouterr().err
