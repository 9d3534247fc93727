"""``mi-toolkit plane`` as a person meets it: checks before work, damaged files, Ctrl-C."""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest

import mi_toolkit.plane as plane_module
from mi_toolkit import list_methods
from mi_toolkit._parameters import parse_parameter as _parameter
from mi_toolkit.cli import main
from mi_toolkit.dumps import DumpWriter, epoch_filename
from mi_toolkit.plane import InformationPlane

EPOCHS = (0, 5, 9)


@pytest.fixture
def dump(bits12, tmp_path):
    """A dump of a 12-4-2 ReLU network over three epochs: values above 1 get clipped."""
    generator = np.random.default_rng(11)
    w1, w2 = generator.standard_normal((12, 4)), generator.standard_normal((4, 2))
    writer = DumpWriter(tmp_path / "run", ["hidden", "output"], 1, list(EPOCHS))
    writer.write_data((bits12.sum(axis=1) > 6).astype(np.int64), x=bits12)
    for scale, epoch in zip((0.5, 1.0, 2.0), EPOCHS, strict=True):
        hidden = np.maximum(scale * (bits12 - 0.5) @ w1, 0.0)
        writer.write_epoch(epoch, {"hidden": hidden[None], "output": (hidden @ w2)[None]})
    writer.finish()
    return tmp_path / "run"


@pytest.fixture
def no_estimates(monkeypatch):
    """Fail the test if any estimate is computed (for errors that must come first)."""

    def refuse(*args, **kwargs):
        raise AssertionError("an estimate was computed before the arguments were checked")

    monkeypatch.setattr(plane_module, "mi_of_layer", refuse)


def _plane(*words: str) -> int:
    return main(["plane", *map(str, words), "--quiet"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "nbins=3"], "unknown parameter(s) 'nbins' for method 'binning'"),
        (["--param", "n_bins=2.5"], "n_bins must be a positive integer; got 2.5"),
        (["--member", "4"], "member must be in 0..0; got 4"),
        (["--output", "{tmp}/missing/plane.npz"], "the folder {tmp}/missing does not exist"),
        (["--plot", "{tmp}/plane.pnj"], "unknown image type 'pnj'"),
        (["--plot", "{tmp}/missing/plane.png"], "the folder {tmp}/missing does not exist"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_work(
    dump, tmp_path, capsys, no_estimates, extra, message
):
    words = [word.replace("{tmp}", str(tmp_path)) for word in extra]
    assert _plane(dump, *words) == 2
    err = capsys.readouterr().err
    assert err.startswith("mi-toolkit plane: error: ") and err.count("\n") == 1
    assert message.replace("{tmp}", str(tmp_path)) in err


def test_missing_dump_and_unknown_method(tmp_path, capsys, no_estimates):
    assert _plane(tmp_path / "nothing") == 2
    assert f"error: no dump at {tmp_path / 'nothing'}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_code:
        _plane(tmp_path, "--method", "copula")
    assert exit_code.value.code == 2
    assert (
        f"invalid choice: 'copula' (choose from {', '.join(map(repr, list_methods()))})"
        in capsys.readouterr().err
    )


def test_unwritable_output_folder(dump, tmp_path, capsys, monkeypatch, no_estimates):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert _plane(dump, "--output", tmp_path / "plane.npz") == 2
    err = capsys.readouterr().err
    assert f"cannot write in {tmp_path} (Permission denied); choose another folder" in err


def test_parameters_are_typed_like_python_literals():
    assert _parameter("k=5") == ("k", 5) and type(_parameter("k=5")[1]) is int
    assert _parameter("noise_variance=1e-3") == ("noise_variance", 1e-3)
    assert _parameter("value_range=(-2, 2)") == ("value_range", (-2, 2))
    assert _parameter("bound=lower") == ("bound", "lower")
    # A quoted number would reach the estimator as a string: refused for every name.
    for text in ("k='5'", "noise_variance='1e-3'"):
        with pytest.raises(argparse.ArgumentTypeError, match="is a quoted number"):
            _parameter(text)


def test_help_shows_defaults_and_methods(capsys):
    with pytest.raises(SystemExit):
        main(["plane", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(list_methods()) + "}" in text
    assert "(default: binning)" in text and "(default: bits)" in text


def test_warnings_are_shown_once_each_at_the_end(dump, capsys):
    assert _plane(dump) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "clipped" in line]
    assert notes, "ReLU activations above 1 must be reported"
    assert notes[0].startswith("note: ") and " of 3 epochs: " in notes[0]
    assert len(notes) == len(set(notes)) <= 2


def test_continuous_method_exits_0_with_i_ty_and_a_note(dump, capsys):
    assert _plane(dump, "--method", "gaussian") == 0
    captured = capsys.readouterr()
    assert "— / 0." in captured.out
    assert "hidden, output, I(X;T): undefined in 3 of 3 epochs: not defined" in captured.err


def _truncate(path):
    path.write_bytes(path.read_bytes()[:500])


def test_truncated_epoch_file_names_it_and_keeps_what_was_done(dump, tmp_path, capsys):
    good = tmp_path / "good.npz"
    shutil.copy(dump / epoch_filename(5), good)
    _truncate(dump / epoch_filename(5))
    output = tmp_path / "plane.npz"
    assert _plane(dump, "--output", output) == 2
    err = capsys.readouterr().err
    assert f"error: epoch 5: cannot read {dump / epoch_filename(5)}" in err
    assert "--skip-bad" in err
    assert list(InformationPlane.load(output).finished) == [True, False, False]
    # --skip-bad finishes the rest, reports the skipped epoch and exits 1 (work missing).
    assert _plane(dump, "--output", output, "--skip-bad") == 1
    assert "skipped: epoch 5: cannot read" in capsys.readouterr().err
    saved = InformationPlane.load(output)
    assert list(saved.finished) == [True, False, True] and np.isnan(saved.i_xt[1]).all()
    # Once the file is whole again, a rerun computes only that epoch.
    shutil.copy(good, dump / epoch_filename(5))
    assert _plane(dump, "--output", output) == 0
    assert InformationPlane.load(output).finished.all()


def test_damaged_meta_json_is_named(dump, capsys):
    (dump / "meta.json").write_text('{"format": ')
    assert _plane(dump) == 2
    assert f"error: {dump / 'meta.json'} is not valid JSON" in capsys.readouterr().err


def test_empty_epoch_file(dump, capsys):
    (dump / epoch_filename(9)).write_bytes(b"")
    assert _plane(dump) == 2
    assert f"epoch 9: cannot read {dump / epoch_filename(9)}" in capsys.readouterr().err


def test_ctrl_c_says_what_was_saved_and_how_to_resume(dump, tmp_path, capsys, monkeypatch):
    calls = []
    real = plane_module.mi_of_layer

    def interrupted_in_epoch_9(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # 2 layers per epoch: the first of epoch 9
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(plane_module, "mi_of_layer", interrupted_in_epoch_9)
    output = tmp_path / "plane.npz"
    assert _plane(dump, "--output", output) == 130
    err = capsys.readouterr().err
    assert f"interrupted; 2 of 3 epochs are saved in {output}" in err
    assert "Run the same command again (same --output" in err
    calls.clear()
    assert _plane(dump, "--output", output) == 0
    assert len(calls) == 2  # only epoch 9


def test_another_dump_is_refused_with_what_to_do(dump, tmp_path, capsys):
    output = tmp_path / "plane.npz"
    assert _plane(dump, "--output", output) == 0
    other = tmp_path / "other"
    shutil.copytree(dump, other)
    arrays = dict(np.load(other / epoch_filename(0)))
    arrays["act/hidden"] = arrays["act/hidden"] * 2
    np.savez(other / epoch_filename(0), **arrays)
    capsys.readouterr()
    assert _plane(other, "--output", output) == 2
    err = capsys.readouterr().err
    assert "holds a plane of another dump: the data of epoch 0 differ" in err
    assert "--overwrite" in err
    assert _plane(other, "--output", output, "--overwrite") == 0
