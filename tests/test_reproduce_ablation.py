"""The ablation experiment (Liu, Amjad & Geiger 2018): its helpers and its quick run's report."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")

from mi_toolkit.experiments import EXPERIMENTS, ablation, run_experiment
from mi_toolkit.experiments.ablation import LAYERS, curve_area, within_layer_rank
from mi_toolkit.neurons import ablation_order


def test_ablation_docstring_examples():
    failed, attempted = doctest.testmod(ablation)
    assert attempted >= 2 and failed == 0


def test_curve_area_is_the_mean_accuracy_under_trapezoids():
    assert curve_area(np.array([1.0, 1.0, 1.0])) == 1.0
    # a straight fall from 0.9 to 0.1 over 4 steps has area (0.9 + 0.1) / 2
    assert curve_area(np.linspace(0.9, 0.1, 5)) == pytest.approx(0.5, abs=1e-12)
    assert curve_area(np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(1 / 6)


def test_within_layer_rank_takes_the_same_share_of_each_layer_first():
    mi = {"layer1": np.array([0.3, 0.1, 0.2, 0.4]), "layer2": np.array([2.0, 5.0, 3.0, 1.0])}
    order = ablation_order(within_layer_rank(mi), "descending")
    # the best unit of each layer first (layer1's unit 3, layer2's unit 1 = pooled 5),
    # then the second best of each, whatever the layers' scales
    assert order.tolist() == [3, 5, 0, 6, 2, 4, 1, 7]
    # while the pooled raw values would take all of layer2 first
    pooled = np.concatenate(list(mi.values()))
    assert set(ablation_order(pooled, "descending")[:4].tolist()) == {4, 5, 6, 7}


def test_ablation_quick_run_reports_the_numbers_it_names(tmp_path):
    assert "ablation" in EXPERIMENTS
    report = run_experiment("ablation", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    numbers = json.loads((tmp_path / "numbers.json").read_text())["numbers"]
    for layer in LAYERS:
        for order in ("descending", "random", "ascending"):
            area = numbers[f"{layer}.area.{order}"]
            assert 0.0 <= area <= 1.0
            assert math.isfinite(numbers[f"{layer}.area.{order}_sd"])
            for pct in (25, 50, 75):
                assert 0.0 <= numbers[f"{layer}.accuracy_at_{pct}pct.{order}"] <= 1.0
        assert 0 <= numbers[f"{layer}.seeds_in_order"] <= 2
        for pair in ("descending_below_random", "random_below_ascending"):
            assert numbers[f"{layer}.seeds_in_order"] <= numbers[f"{layer}.seeds_{pair}"] <= 2
        assert isinstance(numbers[f"{layer}.reproduced"], bool)
        assert numbers[f"{layer}.mi_mean_bits"] >= 0
        assert numbers[f"{layer}.mi_max_bits"] <= math.log2(10) + 1e-9
        assert 0 <= numbers[f"{layer}.units_with_zero_mi"] <= 12  # quick: 12 units a layer
    for key in ("global", "per_layer", "random"):
        assert 0.0 <= numbers[f"pooled.area.{key}"] <= 1.0
    assert 0.0 <= numbers["layer2_share_of_pooled_top_half"] <= 1.0
    assert 0.0 < numbers["test_accuracy"] <= 1.0
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "Rule." in text and "ablation_curves.png" in text
    assert (tmp_path / "ablation_curves.png").stat().st_size > 0
