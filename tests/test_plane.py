"""The information plane over recorded activations: values, dumps, resuming, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import dense_upper_entropy

import mi_toolkit.plane as plane_module
from mi_toolkit import estimate_mi
from mi_toolkit.dumps import DumpWriter
from mi_toolkit.plane import InformationPlane, information_plane


@pytest.fixture(scope="module")
def recording(bits12):
    """Three epochs of a 12-5-2 tanh network whose weights grow, plus labels."""
    generator = np.random.default_rng(5)
    w1, w2 = generator.standard_normal((12, 5)), generator.standard_normal((5, 2))
    labels = (bits12.sum(axis=1) > 6).astype(np.int64)
    hidden, output = [], []
    for scale in (0.1, 1.0, 5.0):
        h = np.tanh(scale * (bits12 - 0.5) @ w1)
        hidden.append(h)
        output.append(np.tanh(h @ w2))
    return {"hidden": np.stack(hidden), "output": np.stack(output)}, labels


def test_values_match_estimate_mi(recording, bits12):
    activations, labels = recording
    plane = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    assert plane.layers == ["hidden", "output"]
    assert list(plane.epochs) == [0, 1, 2]
    for row in range(3):
        for column, layer in enumerate(plane.layers):
            t = activations[layer][row]
            i_xt = estimate_mi(bits12, t, "binning", units="bits").value
            i_ty = estimate_mi(t, labels, "binning", units="bits").value
            assert plane.i_xt[row, column] == pytest.approx(i_xt, abs=1e-12)
            assert plane.i_ty[row, column] == pytest.approx(i_ty, abs=1e-12)
    # Data processing: no layer holds more about X than log2 4096 bits, and the output
    # holds no more about X than the hidden layer it is computed from.
    assert (plane.i_xt <= 12 + 1e-9).all()
    assert (plane.i_xt[:, 1] <= plane.i_xt[:, 0] + 1e-9).all()


def test_saturated_estimates_are_marked(recording, bits12):
    activations, labels = recording
    plane = information_plane(
        activations, "kde", x=bits12, y=labels, noise_variance=1e-4, progress=False
    )
    # Small weights keep tanh linear, so the hidden layer tells every input apart and the
    # estimate sits at log2 4096 = 12 bits; weights scaled by 5 saturate tanh to ±1, merging
    # inputs, and the estimate drops below the ceiling.
    # With every input distinct, H(T|X) is the noise's (d/2) log(2πeσ²) and the KDE upper
    # bound is H_upper(T) minus that: 1.7e-4 bits below 12 here, the nearest two hidden
    # vectors being 3.4σ apart.
    assert plane.saturated[0, 0]
    noise_entropy = 5 / 2 * math.log(2 * math.pi * math.e * 1e-4)
    by_hand = dense_upper_entropy(activations["hidden"][0], 1e-4) - noise_entropy
    assert plane.i_xt[0, 0] == pytest.approx(by_hand / math.log(2), abs=1e-9)
    assert not plane.saturated[2, 0]
    assert plane.i_xt[2, 0] < 11.0


def test_reads_a_dump_directory(recording, bits12, tmp_path):
    activations, labels = recording
    writer = DumpWriter(tmp_path / "run", layers=["hidden", "output"], members=2, epochs=[0, 5, 9])
    writer.write_data(labels, x=bits12)
    for row, epoch in enumerate([0, 5, 9]):
        # Member 1 is member 0 reversed in sign: same information, different values.
        writer.write_epoch(epoch, {k: np.stack([a[row], -a[row]]) for k, a in activations.items()})
    writer.finish()
    from_dump = information_plane(tmp_path / "run", "binning", member=1, progress=False)
    from_arrays = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    assert list(from_dump.epochs) == [0, 5, 9]
    # The dump stores float32 activations, which could move a value across a bin edge; here
    # none can: float32 moves these values by at most 3e-8, and the nearest one to an
    # edge of the 29 bins is 7.7e-7 away. So the bins, and the plug-in values, are the same.
    assert from_dump.i_ty == pytest.approx(from_arrays.i_ty, abs=1e-12)
    assert from_dump.i_xt == pytest.approx(from_arrays.i_xt, abs=1e-12)


def test_resume_computes_only_missing_epochs(recording, bits12, tmp_path, monkeypatch):
    activations, labels = recording
    output = tmp_path / "plane.npz"
    first = information_plane(
        activations, "binning", x=bits12, y=labels, epochs=[0, 1], output=output, progress=False
    )
    # An interrupted run leaves epochs 0 and 1 finished; the full run adds epoch 2 only.
    partial = InformationPlane.load(output)
    assert partial.done(0) and partial.done(1)
    calls = []
    real = plane_module.estimate_mi
    monkeypatch.setattr(
        plane_module, "estimate_mi", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    full = information_plane(
        activations, "binning", x=bits12, y=labels, epochs=[0, 1, 2], output=output, progress=False
    )
    assert len(calls) == 2 * 2  # one epoch x two layers x (I(X;T), I(T;Y))
    assert full.i_xt[:2] == pytest.approx(first.i_xt, abs=0)
    assert InformationPlane.load(output).done(2)


def test_resume_refuses_another_analysis(recording, bits12, tmp_path):
    activations, labels = recording
    output = tmp_path / "plane.npz"
    information_plane(activations, "binning", x=bits12, y=labels, output=output, progress=False)
    with pytest.raises(ValueError, match="holds a plane of another analysis"):
        information_plane(
            activations, "binning", x=bits12, y=labels, bin_width=0.5, output=output, progress=False
        )


def test_saved_plane_round_trips(recording, bits12, tmp_path):
    activations, labels = recording
    plane = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    plane.save(tmp_path / "p.npz")
    again = InformationPlane.load(tmp_path / "p.npz")
    assert again.layers == plane.layers
    assert again.params == {"strategy": "fixed_range", "n_bins": 29, "value_range": [-1.0, 1.0]}
    np.testing.assert_array_equal(again.i_xt, plane.i_xt)


def test_without_inputs_each_sample_is_distinct(recording, bits12):
    activations, labels = recording
    with_inputs = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    without = information_plane(activations, "binning", y=labels, progress=False)
    # All 4096 inputs are distinct, so grouping by rows or by index is the same.
    np.testing.assert_allclose(without.i_xt, with_inputs.i_xt, atol=1e-12)
    assert without.units == "bits"
    assert math.isfinite(without.i_ty.sum())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": ["nope"]}, "unknown layer"),
        ({"member": 3}, "member must be in 0..0"),
        ({"y": None}, "no labels"),
        ({"y": np.zeros(10)}, "y has 10 samples but the activations have 4096"),
        ({"noise_variance": 1.0}, "unknown parameter"),
    ],
)
def test_bad_requests(recording, kwargs, message):
    activations, labels = recording
    arguments = {"y": labels, "progress": False, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        information_plane(activations, "binning", **arguments)


def test_activations_must_be_three_dimensional():
    with pytest.raises(ValueError, match=r"must be shaped \(epochs, n_samples, n_units\)"):
        information_plane({"layer": np.zeros((5, 3))}, "binning", y=np.zeros(5), progress=False)


def test_plane_command_prints_saves_and_plots(recording, bits12, tmp_path, capsys):
    from mi_toolkit.cli import main

    activations, labels = recording
    np.savez(tmp_path / "acts.npz", **activations, y=labels)
    output, picture = tmp_path / "plane.npz", tmp_path / "plane.png"
    code = main(
        [
            "plane",
            str(tmp_path / "acts.npz"),
            "--param",
            "bin_width=0.5",
            "--quiet",
            "--output",
            str(output),
            "--plot",
            str(picture),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "'strategy': 'fixed_width', 'bin_width': 0.5" in printed
    saved = InformationPlane.load(output)
    expected = estimate_mi(
        np.arange(4096),
        activations["output"][2],
        "binning",
        units="bits",
        bin_width=0.5,
        discrete_x=True,
    ).value
    assert saved.i_xt[2, 1] == pytest.approx(expected, abs=1e-12)
    assert picture.stat().st_size > 10_000
