"""The saturation experiment (Saxe et al. 2018): its quick run's report and its verdict rule."""

from __future__ import annotations

import json
import math

from mi_toolkit.experiments import run_experiment
from mi_toolkit.experiments.saturation import ESTIMATORS, QUICK_LAYERS, _report


def test_saturation_quick_run_reports_the_numbers_it_names(tmp_path):
    report = run_experiment("saturation", tmp_path, quick=True, seeds=2, progress=False)
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    numbers = json.loads((tmp_path / "numbers.json").read_text())["numbers"]
    for activation in ("tanh", "relu"):
        for estimator in ESTIMATORS:
            tag = f"{activation}.{estimator}"
            assert numbers[f"{tag}.layers"] == len(QUICK_LAYERS)
            for layer in QUICK_LAYERS:
                fall = numbers[f"{tag}.{layer}.fall_bits"]
                assert math.isfinite(fall) and fall >= 0
                assert math.isfinite(numbers[f"{tag}.{layer}.fall_bits_sd"])
                assert numbers[f"{tag}.{layer}.seeds_compressing"] in (0, 1, 2)
    for estimator in ESTIMATORS:
        assert isinstance(numbers[f"{estimator}.tanh_compresses_relu_does_not"], bool)
    text = (tmp_path / "report.md").read_text()
    assert "quick settings" in text and "Rule." in text
    for name in ("saturation_kde.png", "saturation_binning.png"):
        assert name in text and 0 < (tmp_path / name).stat().st_size < 150_000


def _layer(compressed: int, members: int = 4) -> dict:
    return {
        "layer": "layer1",
        "members": members,
        "compressed": compressed,
        "at_ceiling": 0,
        "peak_epoch_mean": 10.0,
        "peak_epoch_std": 1.0,
        "fall_mean": 0.5,
        "fall_std": 0.1,
        "fall_fraction_mean": 0.1,
        "fall_fraction_std": 0.01,
    }


def test_saturation_verdict_follows_its_rule():
    schedule = {"epochs": 10, "record": "log:3"}

    def verdict(tanh: dict, relu: dict) -> str:
        summaries = {
            "tanh": {name: [tanh[name]] for name in ESTIMATORS},
            "relu": {name: [relu[name]] for name in ESTIMATORS},
        }
        return _report(summaries, 4, True, schedule, 3, []).verdict

    # half the seeds is enough for a layer to compress; fewer is not
    both = {name: _layer(2) for name in ESTIMATORS}
    none = {name: _layer(1) for name in ESTIMATORS}
    assert verdict(both, none) == "reproduced"
    assert verdict(both, both) == "not reproduced"
    assert verdict(none, none) == "not reproduced"
    one = {"KDE": _layer(2), "binning": _layer(0)}
    assert verdict(one, none) == "partly reproduced"
