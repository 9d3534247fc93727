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
from mi_toolkit.result import MIToolkitWarning


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
    real = plane_module.mi_of_layer
    monkeypatch.setattr(
        plane_module, "mi_of_layer", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    full = information_plane(
        activations, "binning", x=bits12, y=labels, epochs=[0, 1, 2], output=output, progress=False
    )
    assert len(calls) == 2  # one epoch x two layers, each I(X;T) and I(T;Y) at once
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
        ({"y": np.zeros(10)}, "'hidden' at epoch 0 has 4096 samples but y has 10"),
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
    # 6 x 4.5 in at 300 dpi: sized for a paper, not a screen.
    from matplotlib.image import imread

    assert imread(picture).shape[:2] == (1350, 1800)


def test_plot_reads_well_in_a_paper(recording, bits12):
    from matplotlib.colors import LogNorm, to_rgb

    from mi_toolkit._plane_cli import draw_plane

    activations, labels = recording
    plane = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    figure = draw_plane(plane)
    axes = figure.axes[0]
    assert "member 0" in axes.get_title()
    assert "binning: strategy=fixed_range, n_bins=29, value_range=(-1.0, 1.0)" in axes.get_title()
    # Epochs are log-spaced: the colour scale is logarithmic (epoch + 1, so 0 fits).
    assert isinstance(axes.collections[0].norm, LogNorm)
    assert max(to_rgb(line.get_color())[0] for line in axes.lines) <= 0.5
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["hidden", "output"]
    texts = [axes.title, axes.xaxis.label, *axes.get_xticklabels(), *axes.get_legend().get_texts()]
    assert min(t.get_fontsize() for t in texts) >= 8


# -- the dump's identity, warnings, undefined quantities, one estimation path ---------


def _network(bits12, seed, activation=np.tanh, epochs=(0, 5, 9)):
    """Activations of a 12-5-2 network over epochs whose weights grow, per layer."""
    generator = np.random.default_rng(seed)
    w1, w2 = generator.standard_normal((12, 5)), generator.standard_normal((5, 2))
    hidden, output = [], []
    for scale in np.linspace(0.2, 3.0, len(epochs)):
        h = activation(scale * (bits12 - 0.5) @ w1)
        hidden.append(h)
        output.append(activation(h @ w2))
    return {"hidden": np.stack(hidden), "output": np.stack(output)}


def _write_dump(path, activations, labels, x, epochs=(0, 5, 9), meta=None):
    writer = DumpWriter(path, list(activations), 1, list(epochs), meta or {"preset": "toy"})
    writer.write_data(labels, x=x)
    for row, epoch in enumerate(epochs):
        writer.write_epoch(epoch, {k: a[row][None] for k, a in activations.items()})
    writer.finish()
    return path


def _labels(bits12):
    return (bits12.sum(axis=1) > 6).astype(np.int64)


def test_resume_refuses_a_plane_of_another_dump(bits12, tmp_path):
    # Two training runs of the same layout (same metadata, same x and y), other weights.
    labels = _labels(bits12)
    tanh = _write_dump(tmp_path / "tanh", _network(bits12, 1), labels, bits12)
    other = _write_dump(tmp_path / "other", _network(bits12, 2), labels, bits12)
    output = tmp_path / "plane.npz"
    first = information_plane(tanh, "binning", output=output, progress=False)
    with pytest.raises(ValueError, match=r"another dump: the data of epoch 0 differ.*--overwrite"):
        information_plane(other, "binning", output=output, progress=False)
    replaced = information_plane(other, "binning", output=output, overwrite=True, progress=False)
    fresh = information_plane(other, "binning", progress=False)
    np.testing.assert_array_equal(replaced.i_xt, fresh.i_xt)
    assert not np.array_equal(replaced.i_xt, first.i_xt)
    # The same dump resumes, and the plane records where it came from.
    again = information_plane(other, "binning", output=output, progress=False)
    np.testing.assert_array_equal(again.i_xt, fresh.i_xt)
    assert again.meta["preset"] == "toy" and len(again.fingerprints[0]) == 32


def test_resume_refuses_other_labels_or_metadata(bits12, tmp_path):
    labels = _labels(bits12)
    activations = _network(bits12, 1)
    output = tmp_path / "plane.npz"
    dump = _write_dump(tmp_path / "a", activations, labels, bits12)
    information_plane(dump, "binning", output=output, progress=False)
    with pytest.raises(ValueError, match=r"another dump \(the labels y differ"):
        information_plane(dump, "binning", y=1 - labels, output=output, progress=False)
    relabelled = _write_dump(tmp_path / "b", activations, labels, bits12, meta={"preset": "other"})
    with pytest.raises(ValueError, match=r"another dump \(the dump's metadata differ"):
        information_plane(relabelled, "binning", output=output, progress=False)


def test_resume_continues_a_dump_that_grew(bits12, tmp_path):
    # Analysed while training ran (two epochs, meta 'complete': false), resumed after.
    labels, activations = _labels(bits12), _network(bits12, 1)
    writer = DumpWriter(tmp_path / "run", list(activations), 1, [0, 5, 9], {"preset": "toy"})
    writer.write_data(labels, x=bits12)
    for row, epoch in enumerate([0, 5]):
        writer.write_epoch(epoch, {k: a[row][None] for k, a in activations.items()})
    output = tmp_path / "plane.npz"
    partial = information_plane(tmp_path / "run", "binning", output=output, progress=False)
    writer.write_epoch(9, {k: a[2][None] for k, a in activations.items()})
    writer.finish(restarts=0)
    full = information_plane(tmp_path / "run", "binning", output=output, progress=False)
    np.testing.assert_array_equal(full.i_xt[:2], partial.i_xt)
    assert full.finished.all()


def test_warnings_are_collected_per_layer_and_kind(bits12, tmp_path):
    # ReLU activations exceed the default value_range [-1, 1] of binning: clipped.
    labels = _labels(bits12)
    activations = _network(bits12, 3, activation=lambda v: np.maximum(v, 0.0))
    outside = [
        [int(((a[row] < -1) | (a[row] > 1)).any()) for row in range(3)]
        for a in activations.values()
    ]
    with pytest.warns(MIToolkitWarning, match=r"I\(X;T\) and I\(T;Y\): clipped in \d of 3 epochs"):
        plane = information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    clipped = {(w["layer"], w["quantity"]): w for w in plane.warnings if w["kind"] == "clipped"}
    for column, layer in enumerate(plane.layers):
        expected = [e for e, hit in zip([0, 1, 2], outside[column], strict=True) if hit]
        for quantity in ("I(X;T)", "I(T;Y)"):
            assert clipped[(layer, quantity)]["epochs"] == expected
    assert sum(outside[1]) >= 1  # the case exercises clipping
    first = clipped[("output", "I(X;T)")]
    assert (
        f"output, I(X;T) and I(T;Y): clipped in {len(first['epochs'])} of 3 epochs: "
        in "\n".join(plane.warning_lines())
    )
    # Saved with the plane, and kept for the finished epochs on resume.
    output = tmp_path / "plane.npz"
    information_plane(
        activations, "binning", x=bits12, y=labels, epochs=[0, 1, 2], output=output, progress=False
    )
    resumed = information_plane(
        activations, "binning", x=bits12, y=labels, output=output, progress=False
    )
    assert resumed.warnings == plane.warnings
    assert InformationPlane.load(output).warnings == plane.warnings


@pytest.mark.parametrize("method", ["gaussian", "kl", "ksg"])
def test_continuous_methods_give_i_ty_and_say_i_xt_is_undefined(recording, bits12, method):
    activations, labels = recording
    plane = information_plane(activations, method, x=bits12, y=labels, progress=False)
    assert np.isnan(plane.i_xt).all() and plane.finished.all()
    for column, layer in enumerate(plane.layers):
        expected = estimate_mi(activations[layer][2], labels, method, units="bits").value
        assert plane.i_ty[2, column] == pytest.approx(expected, abs=1e-12)
    undefined = [w for w in plane.warnings if w["kind"] == "undefined"]
    assert {(w["layer"], w["quantity"]) for w in undefined} == {
        ("hidden", "I(X;T)"),
        ("output", "I(X;T)"),
    }
    (line,) = [line for line in plane.warning_lines() if "undefined" in line]
    assert line.startswith("hidden, output, I(X;T): undefined in 3 of 3 epochs")


def test_a_knn_plane_goes_on_past_repeated_rows(recording, bits12):
    # Saturated float32 units repeat rows; a kNN estimate is then not defined (a neighbour
    # at distance 0), so that entry is NaN with a note and every other one is computed.
    activations, labels = recording
    saturated = {name: a.copy() for name, a in activations.items()}
    saturated["hidden"][1, :40] = saturated["hidden"][1, 40:80]
    plane = information_plane(saturated, "ksg", x=bits12, y=labels, progress=False)
    hidden = plane.layers.index("hidden")
    assert np.isnan(plane.i_ty[1, hidden])
    assert np.isfinite(np.delete(plane.i_ty, hidden, axis=1)).all()
    assert np.isfinite(plane.i_ty[[0, 2], hidden]).all()
    (note,) = [w for w in plane.warnings if w["kind"] == "undefined" and w["quantity"] == "I(T;Y)"]
    assert note["layer"] == "hidden" and note["epochs"] == [1] and "rows repeat" in note["message"]


def test_x_and_y_are_grouped_once(recording, bits12, monkeypatch):
    import mi_toolkit._grouping as grouping
    import mi_toolkit._validation as validation

    activations, labels = recording
    grouped = []
    real = grouping.group_rows

    def counting(values):
        grouped.append(values)
        return real(values)

    monkeypatch.setattr(grouping, "group_rows", counting)
    monkeypatch.setattr(validation, "group_rows", counting)
    information_plane(activations, "binning", x=bits12, y=labels, progress=False)
    x_values, y_values = bits12.astype(float), labels.astype(float)[:, None]
    assert sum(v.shape == x_values.shape and np.array_equal(v, x_values) for v in grouped) == 1
    assert sum(v.shape == y_values.shape and np.array_equal(v, y_values) for v in grouped) == 1
    # Binning groups each layer's bins and the joint cells: two per estimate, at most.
    n_estimates = 2 * 3 * 2
    assert len(grouped) <= 2 + 2 * n_estimates
