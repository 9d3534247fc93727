"""``mi-toolkit train`` as a person meets it: --help, bad arguments, Ctrl-C and resuming."""

from __future__ import annotations

import argparse
import os
import shlex
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

import mi_toolkit.nets.training as training
from mi_toolkit.cli import main
from mi_toolkit.dumps import open_dump
from mi_toolkit.nets import PRESETS
from mi_toolkit.nets.cli import add_arguments

torch.set_num_threads(1)
QUICK = ["--seeds", "0,3", "--epochs", "20", "--record", "every:5", "--quiet"]


class _WorkStarted(Exception):
    """Raised by a stand-in for train(): every check before it has passed."""


@pytest.fixture(autouse=True)
def errors_keep_their_type(monkeypatch):
    """These tests check which error each bad argument raises, so let it through the
    entry point (which otherwise prints it as one line: test_an_error_is_one_line)."""
    monkeypatch.setenv("MI_TOOLKIT_DEBUG", "1")


def test_an_error_is_one_line(monkeypatch, capsys, no_work, tmp_path):
    monkeypatch.delenv("MI_TOOLKIT_DEBUG")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "12bit-tanh", "--seeds", "5-2", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "mi-toolkit train: error: --seeds '5-2' is an empty range; "
        + err.split("empty range; ", 1)[1]
    )
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture
def no_work(monkeypatch):
    """Replace train() so that reaching it, the start of the work, raises _WorkStarted."""

    def started(*args, **kwargs):
        raise _WorkStarted

    monkeypatch.setattr(training, "train", started)


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "out")]
    assert len(options) == 13
    for action in options:
        assert "(default: " in action.help, action.dest
    assert "--seeds SEEDS" in text and "(default: 0)" in text
    # The table gives the per-preset defaults, e.g. 8000 epochs and lr 1e-4 for 12bit-tanh.
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line[:2] == "  "}
    for name, config in PRESETS.items():
        batch = str(config.batch_size) if config.batch_size else "full"
        assert rows[name][:4] == [config.dataset, str(config.epochs), f"{config.lr:g}", batch]
    assert rows["12bit-tanh"] == ["12bit", "8000", "0.0001", "256", "adam", "log", "0"]


@pytest.mark.parametrize(
    "argv,error,message",
    [
        (["nope"], ValueError, "unknown preset 'nope'; choose one of 12bit-tanh"),
        (["12bit-tanh", "--seeds", "5-2"], ValueError, "--seeds '5-2' is an empty range"),
        (["12bit-tanh", "--seeds", "x"], ValueError, "--seeds must be a range such as 0-49"),
        (["12bit-tanh", "--seeds", "-3"], ValueError, "--seeds must be a range .* got '-3'"),
        (["12bit-tanh", "--seeds", "1,2,1"], ValueError, r"--seeds '1,2,1' names seed\(s\) \[1\]"),
        (["12bit-tanh", "--seeds", "0-20000"], ValueError, "asks for 20001 networks"),
        (["12bit-tanh", "--seeds", "0,4294967296"], ValueError, "seed above 4294967295"),
        (["12bit-tanh", "--epochs", "0"], ValueError, r"--epochs must be a positive integer"),
        (["12bit-tanh", "--epochs", "x"], ValueError, "--epochs must be a whole number"),
        (["12bit-tanh", "--epochs", "2.5"], ValueError, "--epochs must be a whole number"),
        (["12bit-tanh", "--lr", "0"], ValueError, "--lr must be a positive finite number"),
        (["12bit-tanh", "--lr", "fast"], ValueError, "--lr must be a positive number"),
        (["12bit-tanh", "--batch-size", "-1"], ValueError, "--batch-size must be >= 1, or 0"),
        (["12bit-tanh", "--optimizer", "rmsprop"], ValueError, "--optimizer must be one of"),
        (["12bit-tanh", "--eval-set", "val"], ValueError, "--eval-set must be one of"),
        (["12bit-tanh", "--record", "every:0"], ValueError, "--record must be 'all', 'every:K'"),
        (["12bit-tanh", "--threads", "0"], ValueError, "--threads must be a positive integer"),
        (["digits-conv", "--noise-std", "-1"], ValueError, "--noise-std must be a number >= 0"),
        (["digits-conv", "--noise-std", "nan"], ValueError, "--noise-std must be a number >= 0"),
        (["12bit-tanh", "--data-path", "x.npz"], ValueError, "'12bit-tanh' builds its own data"),
        (["mnist-conv"], FileNotFoundError, "--data-path 'mnist' .the default of 'mnist-conv'."),
        (["mnist-mlp", "--data-path", "gone.npz"], FileNotFoundError, "'gone.npz' does not exist"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    tmp_path, monkeypatch, no_work, argv, error, message
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        main(["train", *argv, "--out", "run"])
    assert not (tmp_path / "run").exists()


def test_good_arguments_reach_the_work(tmp_path, no_work):
    (tmp_path / "mnist.npz").touch()
    options = ["--seeds", "0-49", "--epochs", "7", "--lr", "1e-3", "--batch-size", "0"]
    options += ["--optimizer", "sgd", "--eval-set", "test", "--record", "log:3", "--threads", "2"]
    with pytest.raises(_WorkStarted):
        main(["train", "12bit-relu", "--out", str(tmp_path / "run"), *options])
    with pytest.raises(_WorkStarted):
        main(
            [
                "train",
                "mnist-conv",
                "--out",
                str(tmp_path),
                "--data-path",
                str(tmp_path / "mnist.npz"),
                "--noise-std",
                "0.1",
                "--noise-at-eval",
            ]
        )


def test_out_folder_that_cannot_take_the_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "12bit-tanh", "--out", out, "--epochs", "2", "--quiet"]) == 0
    with pytest.raises(FileExistsError, match="already holds a dump; add --resume"):
        main(["train", "12bit-tanh", "--out", out, "--epochs", "2", "--quiet"])
    with pytest.raises(ValueError, match=r"other settings \(epochs 2 there, 3 here\)"):
        main(["train", "12bit-tanh", "--out", out, "--epochs", "3", "--quiet", "--resume"])
    with pytest.raises(FileExistsError, match=r"meta\.json' is a file; choose a folder"):
        main(["train", "12bit-tanh", "--out", f"{out}/meta.json", "--quiet"])
    # Resuming a finished run with its own settings leaves it as it is.
    assert main(["train", "12bit-tanh", "--out", out, "--epochs", "2", "--quiet", "--resume"]) == 0
    assert open_dump(out).complete


@contextmanager
def _without_root():
    """Act as user nobody when root, whom permission bits do not stop; else as oneself."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX users and permissions")
def test_read_only_out_folder(no_work):
    # Under the system's temporary folder, which every user may enter (pytest's is private).
    with tempfile.TemporaryDirectory() as name:
        locked, open_ = Path(name), Path(name) / "open"
        open_.mkdir()
        open_.chmod(0o777)
        locked.chmod(0o555)
        try:
            with _without_root():
                with pytest.raises(
                    PermissionError,
                    match=r"--out '.*' cannot be written: '.*' is read-only for you",
                ):
                    main(["train", "12bit-tanh", "--out", str(locked / "run")])
                with pytest.raises(_WorkStarted):
                    main(["train", "12bit-tanh", "--out", str(open_ / "run")])
        finally:
            locked.chmod(0o700)


def test_ctrl_c_prints_how_to_resume_and_the_resumed_run_is_exact(tmp_path, monkeypatch, capsys):
    straight = str(tmp_path / "straight")
    assert main(["train", "12bit-tanh", "--out", straight, *QUICK]) == 0
    real_train = training.train

    def interrupted_at_10(*args, **kwargs):
        def press_ctrl_c(epoch, metrics):
            if epoch == 10:
                raise KeyboardInterrupt

        return real_train(*args, **kwargs, callback=press_ctrl_c)

    monkeypatch.setattr(training, "train", interrupted_at_10)
    out = str(tmp_path / "cut dir")
    capsys.readouterr()
    assert main(["train", "12bit-tanh", "--out", out, *QUICK]) == 130
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    kept = "kept 3 recorded epoch(s), the last 10, and a checkpoint in"
    assert lines[0].startswith(f"mi-toolkit train: interrupted; {kept} '{out}'; resume with: ")
    command = shlex.split(lines[0].split("resume with: ")[1])
    assert command == ["mi-toolkit", "train", "12bit-tanh", "--out", out, *QUICK, "--resume"]
    monkeypatch.setattr(training, "train", real_train)
    assert main(command[1:]) == 0
    first, resumed = open_dump(straight), open_dump(out)
    assert resumed.complete and resumed.epochs == first.epochs == [0, 5, 10, 15, 19]
    for epoch in first.epochs:
        for key, value in first.epoch(epoch).items():
            np.testing.assert_array_equal(resumed.epoch(epoch)[key], value)
