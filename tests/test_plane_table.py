"""Planes of many runs as one table: values, resuming, damaged files, Dask, seed spread."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import mi_toolkit.plane_table as table_module
from mi_toolkit import estimate_mi
from mi_toolkit.cli import main
from mi_toolkit.dumps import DumpWriter, epoch_filename
from mi_toolkit.plane_table import PlaneTable, plane_table, spread_over_seeds

EPOCHS = (0, 3, 8)
LAYERS = ("hidden", "output")
KDE = ("kde", {"noise_variance": 0.05})
# 8-bit inputs keep every estimate small: 256 samples.
INPUTS = ((np.arange(256)[:, None] >> np.arange(8)[::-1]) & 1).astype(np.int64)
LABELS = (INPUTS.sum(axis=1) > 4).astype(np.int64)


def _activations(seed: int, epoch: int) -> dict[str, np.ndarray]:
    """An 8-4-2 tanh network whose weights grow with the epoch, one set per seed."""
    generator = np.random.default_rng(seed)
    w1, w2 = generator.standard_normal((8, 4)), generator.standard_normal((4, 2))
    hidden = np.tanh((0.2 + epoch) * (INPUTS - 0.5) @ w1)
    return {"hidden": hidden, "output": np.tanh(hidden @ w2)}


def _write_dump(path, seeds):
    writer = DumpWriter(path, list(LAYERS), len(seeds), list(EPOCHS), {"seeds": list(seeds)})
    writer.write_data(LABELS, x=INPUTS)
    for epoch in EPOCHS:
        per_seed = [_activations(seed, epoch) for seed in seeds]
        layers = {name: np.stack([a[name] for a in per_seed]) for name in LAYERS}
        metrics = {
            "train_loss": [1.0 / (1 + epoch + s) for s in seeds],
            "test_accuracy": [0.5 + 0.01 * (epoch + s) for s in seeds],
            "grad_mean/hidden": [float(epoch + 10 * s) for s in seeds],
        }
        writer.write_epoch(epoch, layers, metrics)
    writer.finish()
    return path


@pytest.fixture
def runs(tmp_path):
    """Two dumps, of seeds (0, 1) and (2,)."""
    return [_write_dump(tmp_path / "a", (0, 1)), _write_dump(tmp_path / "b", (2,))]


def _by_key(table):
    return {(r["run"], r["member"], r["epoch"], r["layer"], r["method"]): r for r in table.rows}


def _text(rows):
    """Rows as exact text (repr keeps every bit of a float; NaN equals NaN here)."""
    return [tuple(repr(row[name]) for name in table_module.COLUMNS) for row in rows]


def test_rows_equal_direct_estimates(runs):
    table = plane_table(runs, ["binning", KDE], progress=False)
    # 3 seeds x 3 epochs x 2 layers x 2 methods.
    assert len(table) == 36 and not table.failures
    rows = _by_key(table)
    for run, seeds in ((runs[0], (0, 1)), (runs[1], (2,))):
        for member, seed in enumerate(seeds):
            for epoch in EPOCHS:
                for layer in LAYERS:
                    # The dump stores float32, so the direct call gets the same values.
                    t = _activations(seed, epoch)[layer].astype(np.float32)
                    for method, params in (("binning", {}), KDE):
                        row = rows[(str(run), member, epoch, layer, method)]
                        xt = estimate_mi(INPUTS, t, method, units="bits", **params)
                        ty = estimate_mi(t, LABELS, method, units="bits", **params)
                        assert row["i_xt"] == pytest.approx(xt.value, abs=1e-12)
                        assert row["i_ty"] == pytest.approx(ty.value, abs=1e-12)
                        assert row["i_ty_error"] == pytest.approx(ty.standard_error, abs=1e-12)
                        assert row["train_loss"] == 1.0 / (1 + epoch + seed)
                        expected = float(epoch + 10 * seed) if layer == "hidden" else math.nan
                        assert row["grad_mean"] == pytest.approx(expected, nan_ok=True)
                        assert math.isnan(row["train_accuracy"])  # not in these dumps


def test_continuous_method_leaves_i_xt_undefined_with_a_note(runs):
    table = plane_table(runs[1], "gaussian", progress=False)
    assert np.isnan(table.column("i_xt")).all() and np.isfinite(table.column("i_ty")).all()
    assert all("I(X;T) undefined: not defined" in row["warnings"] for row in table.rows)


def test_resume_computes_only_what_is_missing(runs, tmp_path, monkeypatch):
    output = tmp_path / "table.csv"
    first = plane_table(runs[0], "binning", output=output, progress=False)
    calls = []
    real = table_module.layer_estimates
    monkeypatch.setattr(
        table_module, "layer_estimates", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    # Another run and another method: only their rows are computed; the first run's kept.
    both = plane_table(runs, ["binning", KDE], output=output, progress=False)
    assert len(calls) == 36 - 12 and len(both) == 36
    assert _text(PlaneTable.read_csv(output).rows) == _text(both.rows)
    kept = _by_key(both)
    for key, row in _by_key(first).items():
        assert _text([kept[key]]) == _text([row])  # the CSV gives back every bit
    # A crash mid-write leaves a half line; it is dropped and its rows recomputed.
    lines = output.read_text().splitlines(keepends=True)
    output.write_text("".join(lines[:-2]) + lines[-2][:30])
    calls.clear()
    again = plane_table(runs, ["binning", KDE], output=output, progress=False)
    assert len(calls) == 2 and _text(again.rows) == _text(both.rows)


def test_rows_of_changed_data_are_refused(runs, tmp_path):
    output = tmp_path / "table.csv"
    plane_table(runs[0], "binning", output=output, progress=False)
    arrays = dict(np.load(runs[0] / epoch_filename(3)))
    arrays["act/hidden"] = arrays["act/hidden"] * 2
    np.savez(runs[0] / epoch_filename(3), **arrays)
    with pytest.raises(ValueError, match="at epoch 3 computed from other data"):
        plane_table(runs[0], "binning", output=output, progress=False)
    with pytest.raises(ValueError, match="holds values in bits, not nats"):
        plane_table(runs[1], "binning", output=output, units="nats", progress=False)
    assert len(plane_table(runs[0], "binning", output=output, overwrite=True, progress=False)) == 12


def test_damaged_epoch_file_is_reported_and_the_rest_finished(runs, tmp_path):
    output = tmp_path / "table.csv"
    good = tmp_path / "good.npz"
    shutil.copy(runs[0] / epoch_filename(3), good)
    (runs[0] / epoch_filename(3)).write_bytes(good.read_bytes()[:300])
    (runs[1] / epoch_filename(8)).unlink()
    table = plane_table(runs, "binning", output=output, progress=False)
    assert len(table.failures) == 2
    assert (
        f"epoch 3: cannot read {runs[0] / epoch_filename(3)}"
        in table.failures[0] + (table.failures[1])
    )
    assert any(
        f"{runs[1]}: epoch 8: its file {epoch_filename(8)} is missing" in line
        for line in table.failures
    )
    # Everything else is there: 3 seeds x 3 epochs x 2 layers, less 2 seeds' epoch 3 and
    # one seed's epoch 8.
    assert len(table) == 18 - 4 - 2
    shutil.copy(good, runs[0] / epoch_filename(3))
    repaired = plane_table(runs, "binning", output=output, progress=False)
    assert len(repaired) == 16 and len(repaired.failures) == 1


def test_dask_gives_the_same_table(runs):
    distributed = pytest.importorskip("distributed")
    local = plane_table(runs, ["binning", KDE], progress=False)
    with distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as cluster:
        on_dask = plane_table(runs, ["binning", KDE], scheduler=cluster, progress=False)
    assert _text(on_dask.rows) == _text(local.rows)


def test_spread_over_seeds(runs):
    table = plane_table(runs, ["binning", KDE], progress=False)
    with pytest.raises(ValueError, match="holds several analyses"):
        spread_over_seeds(table)
    spread = spread_over_seeds(table, "i_ty", method="kde")
    assert list(spread.epochs) == list(EPOCHS) and spread.layers == list(LAYERS)
    values = [
        row["i_ty"]
        for row in table.rows
        if row["method"] == "kde" and (row["epoch"], row["layer"]) == (3, "output")
    ]
    assert spread.count[1, 1] == 3
    assert spread.mean[1, 1] == pytest.approx(np.mean(values), abs=1e-12)
    assert spread.std[1, 1] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    assert spread.low[1, 1] == min(values) and spread.high[1, 1] == max(values)


def test_parquet_holds_the_csv_table(runs, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    table = plane_table(runs[1], "binning", progress=False)
    table.to_parquet(tmp_path / "t.parquet")
    read = parquet.read_table(tmp_path / "t.parquet").to_pydict()
    np.testing.assert_array_equal(read["i_xt"], table.column("i_xt"))
    assert read["layer"] == list(table.column("layer"))


def test_command_many_dumps_resumes_and_reports_a_damaged_file(runs, tmp_path, capsys):
    output = tmp_path / "table.csv"
    words = ["plane", *map(str, runs), "--output", str(output), "--quiet"]
    assert main(words) == 0
    printed = capsys.readouterr().out
    assert "18 rows (run, member, epoch, layer, method)" in printed
    # The phases of both runs' two layers, printed and saved, and the planes side by side.
    phases = (tmp_path / "table.phases.txt").read_text().splitlines()
    assert len(phases) == 2 * 2 and all("I(X;T) peaks at epoch" in line for line in phases)
    assert phases[0] in printed
    assert (tmp_path / "table.png").stat().st_size > 0
    (runs[1] / epoch_filename(0)).write_bytes(b"")
    assert main([*words, "--method", "kde", "--param", "noise_variance=0.05"]) == 1
    captured = capsys.readouterr()
    assert f"error: {runs[1]}: epoch 0: cannot read {runs[1] / epoch_filename(0)}" in captured.err
    assert "34 rows" in captured.out and "16 computed now, 18 kept from before" in captured.out
    assert main(["plane", *map(str, runs), "--quiet"]) == 2
    assert "2 dumps give one table: pass --output FILE.csv" in capsys.readouterr().err
