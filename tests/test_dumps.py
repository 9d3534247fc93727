"""The activation-dump format: round trips, other layouts, atomic and resumable writes."""

import json

import numpy as np
import pytest

from mi_toolkit.dumps import DumpWriter, atomic_savez, epoch_filename, open_dump


def _arrays(rng, members=2, n=5):
    return {"layer1": rng.normal(size=(members, n, 3)), "output": rng.random((members, n, 2))}


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    writer = DumpWriter(tmp_path / "run", ["layer1", "output"], 2, [0, 3], {"dataset": "toy"})
    y = np.arange(5) % 2
    writer.write_data(y, x=np.eye(5))
    written = {}
    for epoch in (0, 3):
        written[epoch] = _arrays(rng)
        writer.write_epoch(epoch, written[epoch], {"train_loss": [0.5, 0.25]})
    writer.finish(seeds=[7, 8])
    dump = open_dump(tmp_path / "run")
    assert dump.layers == ["layer1", "output"] and dump.epochs == [0, 3] and dump.members == 2
    assert dump.complete and dump.meta["dataset"] == "toy" and dump.meta["seeds"] == [7, 8]
    assert "numpy" in dump.meta["versions"]
    np.testing.assert_array_equal(dump.labels, y)
    np.testing.assert_array_equal(dump.inputs, np.eye(5))
    for epoch, arrays in written.items():
        np.testing.assert_array_equal(
            dump.activations(epoch, "layer1", 1), arrays["layer1"][1].astype(np.float32)
        )
    np.testing.assert_array_equal(dump.metric("train_loss"), [[0.5, 0.25], [0.5, 0.25]])
    with pytest.raises(KeyError, match="not recorded"):
        dump.epoch(1)


def test_files_are_readable_with_numpy_alone(tmp_path):
    writer = DumpWriter(tmp_path, ["a"], 1, [0])
    writer.write_epoch(0, {"a": np.ones((1, 4, 2))})
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["format"] == "mi-toolkit-dump" and meta["complete"] is False
    with np.load(tmp_path / epoch_filename(0)) as arrays:
        assert arrays["act/a"].shape == (1, 4, 2) and arrays["act/a"].dtype == np.float32


def test_incomplete_dump_and_leftover_temp_files(tmp_path):
    writer = DumpWriter(tmp_path, ["a"], 1, [0, 1, 2])
    writer.write_epoch(0, {"a": np.zeros((1, 3, 1))})
    # A crash in the middle of writing epoch 1 leaves only its temporary file.
    (tmp_path / f".{epoch_filename(1)}.tmp").write_bytes(b"PK\x03\x04 half")
    dump = open_dump(tmp_path)
    assert dump.epochs == [0] and not dump.complete


def test_atomic_savez_leaves_no_temporary(tmp_path):
    atomic_savez(tmp_path / "a.npz", {"x": np.arange(3)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def test_writer_refuses_to_overwrite_and_checks_resume(tmp_path):
    DumpWriter(tmp_path, ["a"], 1, [0, 1], {"config": {"lr": 1}})
    with pytest.raises(FileExistsError):
        DumpWriter(tmp_path, ["a"], 1, [0, 1], {"config": {"lr": 1}})
    DumpWriter(tmp_path, ["a"], 1, [0, 1], {"config": {"lr": 1}}, resume=True)
    with pytest.raises(ValueError, match="config"):
        DumpWriter(tmp_path, ["a"], 1, [0, 1], {"config": {"lr": 2}}, resume=True)


def test_missing_layer_is_an_error(tmp_path):
    writer = DumpWriter(tmp_path, ["a", "b"], 1, [0])
    with pytest.raises(ValueError, match="b"):
        writer.write_epoch(0, {"a": np.zeros((1, 2, 2))})


def test_directory_of_per_epoch_npz(tmp_path):
    rng = np.random.default_rng(1)
    layers = {e: {"h": rng.normal(size=(6, 4)), "out": rng.normal(size=(6, 2))} for e in (0, 5, 12)}
    for epoch, arrays in layers.items():
        np.savez(tmp_path / f"acts_{epoch:04d}.npz", y=np.arange(6), **arrays)
    dump = open_dump(tmp_path)
    assert dump.epochs == [0, 5, 12] and dump.members == 1
    assert sorted(dump.layers) == ["h", "out"]
    np.testing.assert_array_equal(dump.activations(5, "h"), layers[5]["h"])
    np.testing.assert_array_equal(dump.labels, np.arange(6))


def test_single_npz_of_epoch_stacks(tmp_path):
    rng = np.random.default_rng(2)
    h = rng.normal(size=(3, 6, 4))
    np.savez(tmp_path / "acts.npz", h=h, epochs=np.array([1, 10, 100]), labels=np.ones(6))
    dump = open_dump(tmp_path / "acts.npz")
    assert dump.epochs == [1, 10, 100] and dump.layers == ["h"]
    np.testing.assert_array_equal(dump.activations(10, "h"), h[1])
    np.savez(tmp_path / "bad.npz", h=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="epochs, n, d"):
        open_dump(tmp_path / "bad.npz")


def test_unknown_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_dump(tmp_path / "nothing")


def test_failed_write_keeps_the_old_file(tmp_path):
    atomic_savez(tmp_path / "a.npz", {"x": np.arange(3)})

    class Unsaveable:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_savez(tmp_path / "a.npz", {"x": np.arange(5), "y": Unsaveable()})
    with np.load(tmp_path / "a.npz") as arrays:
        np.testing.assert_array_equal(arrays["x"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


@pytest.mark.parametrize("whole_file_limit", [0, 2**30])
def test_large_and_small_files_read_alike(tmp_path, monkeypatch, whole_file_limit):
    """Member by member (large files) or from one read (small files): the same arrays,
    and a truncated file is a BadDumpFile that names it either way."""
    import mi_toolkit.dumps as dumps

    monkeypatch.setattr(dumps, "_READ_WHOLE_BYTES", whole_file_limit)
    rng = np.random.default_rng(1)
    writer = DumpWriter(tmp_path / "run", ["layer1", "output"], 2, [0, 1], {})
    writer.write_data(np.arange(5) % 2)
    written = {epoch: _arrays(rng) for epoch in (0, 1)}
    for epoch, arrays in written.items():
        writer.write_epoch(epoch, arrays, {"train_loss": [0.5, 0.25]})
    writer.finish(seeds=[0, 1])
    dump = open_dump(tmp_path / "run")
    np.testing.assert_array_equal(dump.epoch(1)["output"], written[1]["output"].astype(np.float32))
    path = tmp_path / "run" / epoch_filename(0)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(dumps.BadDumpFile, match=f"epoch 0: cannot read {path}"):
        dump.epoch(0)
