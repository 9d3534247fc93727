"""The BNN-against-DNN experiment (Raj et al. 2020): its rules and its quick run's report."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np

from mi_toolkit import estimate_mi
from mi_toolkit.experiments import bnn, run_experiment
from mi_toolkit.experiments.bnn import (
    EXACT,
    MODELS,
    estimators_by_layer,
    saturation_epoch,
)


def test_saturation_is_the_first_epoch_from_which_the_loss_stays_near_its_end():
    epochs = np.array([0, 1, 3, 7, 15])
    # total fall 1.0, so the band is 0.05 above the end: first inside at epoch 3
    loss = np.array([1.0, 0.6, 0.04, 0.02, 0.0])
    assert saturation_epoch(epochs, loss) == 3
    bumpy = np.array([1.0, 0.01, 0.2, 0.01, 0.0])  # leaves the band again at epoch 3
    assert saturation_epoch(epochs, bumpy) == 7
    assert saturation_epoch(epochs, np.ones(5)) == 0  # never falls: saturated from the start


def test_bnn_docstring_examples():
    result = doctest.testmod(bnn)
    assert result.attempted > 0 and result.failed == 0


def test_binary_hidden_layers_get_the_exact_plug_in_value():
    layers = ["layer1", "layer2", "output"]
    chosen = estimators_by_layer("BNN STE", layers)
    assert chosen["layer1"] == EXACT and chosen["output"] != EXACT
    assert EXACT not in estimators_by_layer("tanh", layers).values()
    # ±1 codes of 3 units, 8 equally likely patterns, each a function of X: H(T) = 3 bits
    rng = np.random.default_rng(0)
    t = np.where(rng.random((4000, 3)) < 0.5, -1.0, 1.0)
    x = np.arange(4000)[:, None]
    value = estimate_mi(x, t, method=EXACT[0], units="bits", **EXACT[1]).value
    shares = np.unique(t, axis=0, return_counts=True)[1] / len(t)
    expected = -np.sum(shares * np.log2(shares))
    assert math.isclose(value, expected, rel_tol=1e-9)


def test_bnn_quick_run_reports_the_numbers_it_names(tmp_path):
    report = run_experiment("bnn", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    numbers = json.loads((tmp_path / "numbers.json").read_text())["numbers"]
    claims = [k for k in numbers if k.startswith("claim.")]
    assert len(claims) == 4 and all(isinstance(numbers[k], bool) for k in claims)
    for model in MODELS:
        tag = model.replace(" ", "_")
        for name in ("loss_saturation_epoch", "start_i_xt_bits", "loss_gap", "accuracy_gap"):
            assert math.isfinite(numbers[f"{tag}.{name}"]), (model, name)
        falls = [v for k, v in numbers.items() if k.startswith(tag + ".") and "fall_bits" in k]
        assert len(falls) == 6 and all(math.isfinite(v) and v >= 0 for v in falls)
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "Rule." in text and "bnn_planes.png" in text
    assert (tmp_path / "bnn_planes.png").stat().st_size > 0
    assert not (tmp_path / "dumps").exists()  # the quick form leaves no dumps behind
