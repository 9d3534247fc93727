"""The compression-plane experiment (Butakov et al. 2024): X compressed once per run, and
its quick run's report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mi_toolkit.estimators import compression
from mi_toolkit.experiments import run_experiment
from mi_toolkit.experiments.compression_plane import (
    HIDDEN,
    PhaseFindings,
    verdict_of,
)
from mi_toolkit.plane import information_plane
from mi_toolkit.plane_table import PlaneTable


def _findings(compressed, peak, saturation=(5, 5)) -> PhaseFindings:
    compressed = np.array(compressed, dtype=bool)
    peak = np.array(peak, dtype=float)
    saturation = np.array(saturation)
    return PhaseFindings(
        layers=[*HIDDEN, "output"],
        peak_epoch=peak,
        fall_bits=np.ones_like(peak),
        threshold_bits=np.ones_like(peak),
        compressed=compressed,
        fit_then_compress=compressed & (peak > 0),
        after_saturation=compressed & (peak >= saturation[:, None]),
        saturation=saturation,
    )


@pytest.mark.parametrize(
    ("compressed", "peak", "verdict"),
    [
        # every hidden layer compresses after a rise in one of two seeds (half): reproduced
        ([[1, 1, 1, 0], [0, 0, 0, 0]], [[3, 3, 3, 3], [3, 3, 3, 3]], "reproduced"),
        # the output layer does not count; dense peaks at the first epoch: no rise first
        ([[1, 1, 1, 1], [1, 1, 1, 1]], [[3, 3, 0, 3], [3, 3, 0, 3]], "partly reproduced"),
        ([[0, 0, 0, 1], [0, 0, 0, 1]], [[3, 3, 3, 3], [3, 3, 3, 3]], "not reproduced"),
    ],
)
def test_verdict_counts_hidden_layers_that_rise_then_fall(compressed, peak, verdict):
    assert verdict_of(_findings(compressed, peak)) == verdict


def test_quick_run_compresses_x_once_and_reports_the_numbers_it_names(tmp_path, monkeypatch):
    fitted_widths: list[int] = []
    real_fit = compression.fit_side

    def counting_fit(estimator, kind, dim, fit):
        fitted_widths.append(fit.n_features)
        return real_fit(estimator, kind, dim, fit)

    monkeypatch.setattr(compression, "fit_side", counting_fit)
    compression.clear_cache()
    report = run_experiment("compression-plane", tmp_path, quick=True, seeds=2, progress=False)
    # The quick run: 2 members × 2 epochs × 4 layers through plane_table. X (64 pixels) is
    # fitted once for the whole run; each layer once per member and epoch, shared by its
    # I(X;T) and I(T;Y) (conv2 is 64 wide too: 2 × 2 of its fits are also 64 wide).
    assert len(fitted_widths) == 2 * 2 * 4 + 1
    assert fitted_widths.count(64) == 2 * 2 + 1
    table = PlaneTable.read_csv(tmp_path / "plane.csv")
    assert len(table) == 16 and np.isfinite(table.column("i_xt")).all()
    assert report.verdict in ("reproduced", "partly reproduced", "not reproduced")
    payload = json.loads((tmp_path / "numbers.json").read_text())
    numbers = payload["numbers"]
    for layer in (*HIDDEN, "output"):
        for name in ("peak_epoch", "fall_bits", "threshold_bits", "final_i_ty_bits"):
            assert math.isfinite(numbers[f"{layer}.{name}"]), (layer, name)
        for name in ("compressed_seeds", "fit_then_compress_seeds", "after_saturation_seeds"):
            assert 0 <= numbers[f"{layer}.{name}"] <= 2
        # I(T;Y) cannot exceed H(Y) = log2 10 bits by more than the estimator's noise
        assert numbers[f"{layer}.final_i_ty_bits"] < math.log2(10) + 0.5
    for name in ("loss_saturation_epoch", "final_train_accuracy", "final_test_accuracy"):
        assert math.isfinite(numbers[name])
    assert numbers["hidden_layers_with_phases"] in range(4)
    text = (tmp_path / "report.md").read_text()
    assert "compression-plane" in text and "fits, then compresses" in text
    figure = tmp_path / "compression_plane.png"
    assert figure.exists() and figure.stat().st_size < 150_000


def test_the_plane_gives_compression_the_inputs_as_data():
    # X ~ N(0, I_3), T = X + N(0, 0.5² I): I(X;T) = 3/2 ln(1 + 1/0.25) nats, finite, where
    # X taken as an index of distinct inputs would leave it undefined (NaN).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 3))
    t = x + 0.5 * rng.standard_normal(x.shape)
    labels = (x[:, 0] > 0).astype(np.int64)
    plane = information_plane(
        {"t": t[None]},
        "compression",
        x=x,
        y=labels,
        units="nats",
        progress=False,
        code_dim=3,
        gaussianize=False,
    )
    truth = 1.5 * math.log(5.0)
    value, error = plane.i_xt[0, 0], plane.i_xt_error[0, 0]
    assert abs(value - truth) < 4 * error, (value, truth, error)
