"""The two-phases experiment (Shwartz-Ziv & Tishby 2017): quick run and verdict rule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mi_toolkit.experiments import run_experiment
from mi_toolkit.experiments.two_phases import _report, log_distance
from mi_toolkit.phases import layer_phases
from mi_toolkit.plane_table import PlaneTable

LAYERS = ("layer1", "layer2", "layer3", "layer4", "layer5", "output")


def test_two_phases_quick_run_reports_the_numbers_it_names(tmp_path):
    report = run_experiment("two-phases", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    numbers = json.loads((tmp_path / "numbers.json").read_text())["numbers"]
    for layer in LAYERS:
        assert numbers[f"{layer}.seeds_with_transition"] in (0, 1, 2)
        assert numbers[f"{layer}.seeds_peak_at_ceiling"] in (0, 1, 2)
        assert math.isfinite(numbers[f"{layer}.peak_epoch_median"])
    assert 0 <= numbers["layers_coinciding"] <= numbers["layers_tested"] <= len(LAYERS)
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "two_phases_gradients.png" in text
    assert 0 < (tmp_path / "two_phases_gradients.png").stat().st_size < 150_000


def test_log_distance_in_decades():
    assert log_distance(9, 999) == pytest.approx(2.0)
    assert log_distance(99, 9) == pytest.approx(1.0)
    assert math.isnan(log_distance(None, 9))


def _phases(transition: int, peak: int) -> list:
    """Two seeds of one layer: I(X;T) peaking at ``peak``, the gradient SNR 10 before
    ``transition`` and 0.1 from it on."""
    epochs = np.unique(np.logspace(0, 3, 60).astype(int)) - 1
    i_xt = np.where(epochs <= peak, 1.0 + epochs / 1000, 1.0 + peak / 1000 - 0.5)
    i_xt = np.where(epochs == peak, i_xt + 5.0, i_xt)  # a sharp peak the smoothing keeps
    mean = np.where(epochs < transition, 10.0, 0.1)
    curves = np.stack([i_xt, i_xt])[..., None]
    gradients = np.stack([mean, mean])[..., None]
    return layer_phases(epochs, curves, None, gradients, np.ones_like(gradients))


def test_two_phases_verdict_follows_its_rule():
    table = PlaneTable(rows=[])
    coinciding = _report(_phases(100, 120), table, 2, True, {"epochs": 1000, "record": "x"}, 60, [])
    assert coinciding.numbers["layers_coinciding"] == 1
    assert coinciding.verdict == "reproduced"
    apart = _report(_phases(10, 500), table, 2, True, {"epochs": 1000, "record": "x"}, 60, [])
    assert apart.numbers["layer0.median_distance_decades"] > 1
    assert apart.verdict == "not reproduced"
