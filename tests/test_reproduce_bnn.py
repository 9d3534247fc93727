"""The BNN-against-DNN experiment (Raj et al. 2020): its rules and its quick run's report."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np

from mi_toolkit import estimate_mi
from mi_toolkit.experiments import bnn, run_experiment
from mi_toolkit.experiments.bnn import (
    DIGITS,
    DIGITS_SIZES,
    EXACT,
    FULL,
    MODELS,
    TWELVE_BIT,
    estimators_by_layer,
    input_entropy_bits,
    model_config,
    saturation_epoch,
)
from mi_toolkit.synthetic.datasets import load_digits


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


def test_digits_trains_the_same_six_models_on_the_digits_mlp():
    for model in MODELS:
        digits = model_config(model, DIGITS.full, 5, DIGITS)
        twelve_bit = model_config(model, FULL, 5)
        assert digits.dataset == "digits" and digits.sizes == DIGITS_SIZES
        assert (digits.model, digits.activation) == (twelve_bit.model, twelve_bit.activation)
        assert digits.seeds == tuple(range(5)) and digits.eval_set == "all"
    folders = {task.folder(m) for task in (TWELVE_BIT, DIGITS) for m in MODELS}
    assert len(folders) == 12
    assert TWELVE_BIT.folder("BNN STE") == "12bit-bnn-ste"  # the dumps of earlier runs
    assert DIGITS.folder("BNN STE") == "digits-bnn-ste"


def test_the_ceiling_is_the_entropy_of_the_distinct_inputs():
    # all 1797 digits differ, so the ceiling is log2 1797
    assert math.isclose(input_entropy_bits(load_digits().x), math.log2(1797), rel_tol=1e-12)
    # a repeated input lowers it: shares 1/8, 1/8, 1/8, 5/8
    repeated = np.repeat(np.eye(4), [1, 1, 1, 5], axis=0)
    expected = 3 * (1 / 8) * 3 + (5 / 8) * math.log2(8 / 5)
    assert math.isclose(input_entropy_bits(repeated), expected, rel_tol=1e-12)


def test_bnn_quick_run_reports_the_numbers_it_names(tmp_path):
    report = run_experiment("bnn", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    numbers = json.loads((tmp_path / "numbers.json").read_text())["numbers"]
    # each task under its prefix: 12-bit as before digits were added, digits as "digits."
    for prefix, layers, ceiling in (("", 6, 12.0), ("digits.", 4, math.log2(1797))):
        claims = [k for k in numbers if k.startswith(prefix + "claim.")]
        assert len(claims) == 4 and all(isinstance(numbers[k], bool) for k in claims)
        assert math.isclose(numbers[prefix + "ceiling_bits"], ceiling, rel_tol=1e-12)
        for model in MODELS:
            tag = prefix + model.replace(" ", "_")
            for name in ("loss_saturation_epoch", "start_i_xt_bits", "loss_gap", "accuracy_gap"):
                assert math.isfinite(numbers[f"{tag}.{name}"]), (tag, name)
            falls = [v for k, v in numbers.items() if k.startswith(tag + ".") and "fall_bits" in k]
            assert len(falls) == layers and all(math.isfinite(v) and v >= 0 for v in falls)
            at_ceiling = [k for k in numbers if k.startswith(tag + ".") and "at_ceiling" in k]
            assert len(at_ceiling) == layers and all(0 <= numbers[k] <= 2 for k in at_ceiling)
            # a hidden layer's I(X;T) never exceeds the ceiling it is flagged against
            assert numbers[f"{tag}.start_i_xt_bits"] <= ceiling + 1e-9
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "Rule." in text
    assert "digits task, per model and layer" in text and "10.81 bit ceiling" in text
    for figure in ("bnn_planes.png", "bnn_digits_planes.png", "bnn_digits_losses.png"):
        assert figure in text and (tmp_path / figure).stat().st_size > 0
    assert not (tmp_path / "dumps").exists()  # the quick form leaves no dumps behind
