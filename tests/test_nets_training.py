"""Training runs of mi_toolkit.nets: accuracy, dumps, ensembles, resuming, errors, CLI."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from mi_toolkit.cli import main
from mi_toolkit.dumps import open_dump
from mi_toolkit.nets import TrainConfig, record_epochs, train

torch.set_num_threads(1)
QUICK = TrainConfig(epochs=30, lr=1e-2, record="every:10", restart_epoch=None)
DIGITS = TrainConfig(
    dataset="digits", sizes=(64, 32, 16, 10), lr=1e-2, batch_size=128, restart_epoch=None
)


def _final(path, metric):
    dump = open_dump(path)
    return dump.metric(metric)[-1]


def test_szt_epoch_grid():
    grid = record_epochs("log", 8000)
    assert len(grid) == 274 and grid[:3] == [0, 1, 2] and grid[-1] == 7999
    assert record_epochs("every:10", 25) == [0, 10, 20, 24]
    assert record_epochs("all", 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="every:K"):
        record_epochs("sometimes", 10)


def test_twelve_bit_tanh_learns_and_dump_is_complete(tmp_path):
    result = train(replace(QUICK, epochs=300, record="every:100"), tmp_path, quiet=True)
    dump = open_dump(tmp_path)
    assert dump.complete and dump.epochs == [0, 100, 200, 299] and result.bad_fits == []
    assert dump.layers == ["layer1", "layer2", "layer3", "layer4", "layer5", "output"]
    # Seeded run: 0.983 train and 0.937 test accuracy after 300 epochs.
    assert dump.metric("train_accuracy")[-1, 0] > 0.95
    assert dump.metric("test_accuracy")[-1, 0] > 0.9
    assert dump.metric("train_loss")[-1, 0] < dump.metric("train_loss")[0, 0]
    widths = [dump.activations(299, name).shape for name in dump.layers]
    assert widths == [(4096, w) for w in (10, 7, 5, 4, 3, 2)]
    np.testing.assert_allclose(dump.activations(299, "output").sum(axis=1), 1.0, rtol=1e-5)
    assert dump.inputs.shape == (4096, 12) and dump.labels.shape == (4096,)
    assert dump.meta["architecture"]["sizes"] == [12, 10, 7, 5, 4, 3, 2]
    grad_std = dump.metric("grad_std/layer1")
    assert (grad_std > 0).all() and (dump.metric("grad_mean/output") > 0).all()


@pytest.mark.parametrize(
    "config,threshold",
    [
        (replace(DIGITS, epochs=30, record="every:10"), 0.93),  # seeded: 0.975
        (replace(DIGITS, model="conv", sizes=None, activation="relu", epochs=5), 0.9),  # 0.947
        (replace(DIGITS, model="binary", sizes=(64, 64, 10), activation="ste", epochs=20), 0.85),
    ],
    ids=["mlp", "conv", "binary"],
)
def test_digits_reach_known_test_accuracy(tmp_path, config, threshold):
    train(replace(config, record=f"every:{config.epochs}"), tmp_path, quiet=True)
    assert _final(tmp_path, "test_accuracy")[0] > threshold


def test_eval_set_selects_rows(tmp_path):
    train(replace(QUICK, epochs=2, record="all", eval_set="test"), tmp_path, quiet=True)
    dump = open_dump(tmp_path)
    assert dump.activations(1, "layer1").shape == (819, 10)
    with np.load(tmp_path / "data.npz") as data:
        assert not data["is_train"].any() and len(data["indices"]) == 819


def test_ensemble_members_equal_single_runs(tmp_path):
    train(replace(QUICK, seeds=(0, 1, 2)), tmp_path / "all", quiet=True)
    train(replace(QUICK, seeds=(1,)), tmp_path / "one", quiet=True)
    together, alone = open_dump(tmp_path / "all"), open_dump(tmp_path / "one")
    assert together.members == 3
    # torch's batched product (bmm) picks its CPU kernel by batch size, and on some CPUs
    # (AMD EPYC, measured) three members and one round differently by a float32 ulp; the
    # member then drifts from the single run by rounding that grows about 1.6e-7 per epoch
    # (4.8e-6 at epoch 29). Elsewhere the two are bitwise equal. Different seeds differ by
    # about 0.1, so 10x the measured drift still tells a mixed-up member at once.
    for epoch in together.epochs:
        for name in together.layers:
            np.testing.assert_allclose(
                together.activations(epoch, name, 1), alone.activations(epoch, name, 0), atol=5e-5
            )
    # Different seeds give different networks.
    assert not np.allclose(together.activations(29, "layer1", 0), alone.activations(29, "layer1"))


@pytest.mark.parametrize(
    "changes",
    [
        {"activation": "relu"},
        # Saxe et al.'s contrast: full-batch gradient descent (here with momentum).
        {"activation": "hardtanh", "optimizer": "sgd", "momentum": 0.9, "batch_size": None},
    ],
    ids=["adam-minibatch", "sgd-full-batch"],
)
def test_hook_recorder_path_matches_built_in_path(tmp_path, changes):
    """The module engine records with forward hooks; the ensemble computes its own."""
    config = replace(QUICK, seeds=(0, 1), dtype="float64", **changes)
    train(replace(config, engine="ensemble"), tmp_path / "built_in", quiet=True)
    train(replace(config, engine="module"), tmp_path / "hooks", quiet=True)
    built_in, hooks = open_dump(tmp_path / "built_in"), open_dump(tmp_path / "hooks")
    for epoch in built_in.epochs:
        ours, theirs = built_in.epoch(epoch), hooks.epoch(epoch)
        assert ours.keys() == theirs.keys()
        for key in ours:
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6, atol=1e-7)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("engine", ["ensemble", "module"])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, engine):
    config = replace(QUICK, record="every:5", seeds=(0, 3), engine=engine)
    train(config, tmp_path / "straight", quiet=True)

    def stop_at_15(epoch, metrics):
        if epoch == 15:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(config, tmp_path / "cut", quiet=True, callback=stop_at_15)
    assert not open_dump(tmp_path / "cut").complete
    assert open_dump(tmp_path / "cut").epochs == [0, 5, 10, 15]
    seen = []
    train(config, tmp_path / "cut", quiet=True, resume=True, callback=lambda e, m: seen.append(e))
    assert seen == [20, 25, 29]
    straight, resumed = open_dump(tmp_path / "straight"), open_dump(tmp_path / "cut")
    assert resumed.complete and resumed.epochs == straight.epochs
    for epoch in straight.epochs:
        for key, value in straight.epoch(epoch).items():
            np.testing.assert_array_equal(resumed.epoch(epoch)[key], value)
    # Resuming a finished run does nothing and keeps it complete.
    again = train(config, tmp_path / "cut", quiet=True, resume=True, callback=seen.append)
    assert seen == [20, 25, 29] and again.seeds == [0, 3]
    assert open_dump(tmp_path / "cut").complete


def test_dump_is_not_overwritten_without_resume(tmp_path):
    train(replace(QUICK, epochs=2, record="all"), tmp_path, quiet=True)
    with pytest.raises(FileExistsError):
        train(replace(QUICK, epochs=2, record="all"), tmp_path, quiet=True)
    with pytest.raises(ValueError, match="config"):
        train(replace(QUICK, epochs=2, record="all", lr=0.5), tmp_path, quiet=True, resume=True)


def test_bad_fits_restart_with_new_seeds(tmp_path):
    # No network reaches accuracy 1.01: every check fails, restarts run out, flags stay.
    config = replace(
        QUICK, epochs=4, record="all", restart_epoch=2, restart_accuracy=1.01, max_restarts=2
    )
    result = train(config, tmp_path, quiet=True)
    assert result.restarts == 2 and result.bad_fits == [0]
    assert result.seeds == [0 + 1_000_003 * 1 + 1_000_003 * 2]
    meta = open_dump(tmp_path).meta
    assert meta["bad_fits"] == [0] and meta["seeds"] == result.seeds
    # A reachable threshold flags nothing.
    good = train(replace(config, restart_accuracy=0.3), tmp_path / "good", quiet=True)
    assert good.restarts == 0 and good.bad_fits == []


def test_noise_injection_trains(tmp_path):
    config = replace(QUICK, epochs=60, record="every:59", noise_std=0.05, noise_at_eval=True)
    train(config, tmp_path / "a", quiet=True)
    assert _final(tmp_path / "a", "train_accuracy")[0] > 0.8
    # The noise is seeded by the run: the same config gives the same activations.
    train(config, tmp_path / "b", quiet=True)
    first, second = open_dump(tmp_path / "a"), open_dump(tmp_path / "b")
    np.testing.assert_array_equal(first.activations(59, "layer2"), second.activations(59, "layer2"))
    # Epoch 0 trains alike with or without noise at evaluation (same seeds, same training
    # noise); only the recording differs, by noise of the injected size.
    train(replace(config, noise_at_eval=False), tmp_path / "clean", quiet=True)
    clean = open_dump(tmp_path / "clean").activations(0, "layer1")
    difference = np.abs(first.activations(0, "layer1") - clean)
    assert 0.001 < difference.mean() < 0.1


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"activation": "gelu"}, "unknown activation 'gelu'"),
        ({"sizes": (10, 5, 2)}, "do not fit dataset '12bit'"),
        ({"sizes": (12, 5, 3)}, "end with 2"),
        ({"model": "conv", "sizes": None}, "needs image data"),
        ({"model": "binary", "activation": "tanh"}, "ste, approx-sign, swish-sign"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"dataset": "mnist"}, "data_path"),
        ({"batch_size": 0}, "batch_size"),
        ({"seeds": (1, 1)}, "distinct"),
        ({"engine": "ensemble", "noise_std": 0.1}, "plain MLPs"),
    ],
)
def test_bad_configs_give_clear_errors(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        train(replace(QUICK, **changes), tmp_path, quiet=True)


def test_train_command(tmp_path, capsys):
    out = tmp_path / "run"
    options = ["--epochs", "20", "--record", "every:10", "--seeds", "0-1", "--quiet"]
    code = main(["train", "12bit-tanh", "--out", str(out), *options])
    assert code == 0
    dump = open_dump(out)
    assert dump.epochs == [0, 10, 19] and dump.members == 2
    assert dump.meta["config"]["lr"] == 1e-4 and dump.meta["activation"] == "tanh"
    assert "wrote" in capsys.readouterr().out


def test_mnist_from_a_user_file(tmp_path):
    rng = np.random.default_rng(0)
    # Two classes told apart by which half of the 28×28 image is bright.
    labels = rng.integers(0, 2, size=60)
    images = rng.integers(0, 60, size=(60, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[:, 14 * label : 14 * label + 14] += 150
    split = {"x_train": images[:40], "y_train": labels[:40]}
    np.savez(tmp_path / "mnist.npz", **split, x_test=images[40:], y_test=labels[40:])
    config = TrainConfig(
        dataset="mnist",
        data_path=str(tmp_path / "mnist.npz"),
        model="conv",
        sizes=None,
        activation="relu",
        lr=1e-2,
        batch_size=16,
        epochs=8,
        record="every:8",
        restart_epoch=None,
    )
    train(config, tmp_path / "run", quiet=True)
    dump = open_dump(tmp_path / "run")
    assert dump.activations(7, "conv1").shape == (60, 8 * 14 * 14)
    assert dump.meta["architecture"]["image_shape"] == [28, 28]
    assert dump.metric("test_accuracy")[-1, 0] > 0.9
