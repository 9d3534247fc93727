"""The mi-toolkit command line and its built-in demo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit.cli import main
from mi_toolkit.synthetic import get_task


def test_demo_prints_truth_and_estimates(capsys):
    assert main(["demo", "--units", "bits"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {
        line.split()[0]: line.split()[1:] for line in lines if line.startswith(("gaussian", "bits"))
    }
    assert set(rows) == {"gaussian-1d-rho0.9", "gaussian-3x3", "bits12-identity", "bits12-popcount"}
    truth = float(rows["bits12-popcount"][1])
    assert truth == pytest.approx(
        get_task("bits12-popcount").mutual_information / math.log(2), abs=1e-3
    )
    assert rows["bits12-identity"][1] == "12.000"


def test_no_arguments_runs_the_demo(capsys):
    assert main([]) == 0
    assert "truth" in capsys.readouterr().out


def test_unknown_command_fails_with_usage(capsys):
    assert main(["nonsense"]) == 2
    assert "unknown command 'nonsense'" in capsys.readouterr().err


# -- what a person meets: errors, --version, Ctrl-C, the numba notice ----------------


def test_version(capsys):
    from mi_toolkit import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mi-toolkit {__version__}"


@pytest.fixture
def fake_command(monkeypatch):
    """A subcommand 'fake' whose run raises whatever the test puts in ``raised``."""
    import sys
    import types

    import mi_toolkit.cli as cli

    raised = []
    module = types.ModuleType("fake_subcommand")
    module.add_arguments = lambda parser: None

    def run(args):
        raise raised[0]

    module.run = run
    monkeypatch.setitem(sys.modules, "fake_subcommand", module)
    monkeypatch.setitem(cli.SUBCOMMANDS, "fake", ("fake_subcommand", "raises"))
    monkeypatch.delenv("MI_TOOLKIT_DEBUG", raising=False)
    return raised


@pytest.mark.parametrize(
    "error",
    [
        ValueError("seeds must be distinct"),
        FileExistsError("runs/tanh already holds a dump; pass --resume"),
        FileNotFoundError("no MNIST files in ~/data"),
        PermissionError(13, "Permission denied", "/ro/plane.npz"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(fake_command, capsys, error):
    fake_command.append(error)
    assert main(["fake"]) == 2
    err = capsys.readouterr().err
    named = isinstance(error, OSError) and error.filename
    expected = "/ro/plane.npz: Permission denied" if named else str(error)
    assert err == f"mi-toolkit fake: error: {expected}\n"


def test_bugs_keep_their_traceback(fake_command):
    fake_command.append(ZeroDivisionError("a bug"))
    with pytest.raises(ZeroDivisionError):
        main(["fake"])


def test_debug_variable_shows_the_traceback_of_user_errors(fake_command, monkeypatch):
    fake_command.append(ValueError("bad seed"))
    monkeypatch.setenv("MI_TOOLKIT_DEBUG", "1")
    with pytest.raises(ValueError, match="bad seed"):
        main(["fake"])


def test_ctrl_c_exits_130(fake_command, capsys):
    fake_command.append(KeyboardInterrupt())
    assert main(["fake"]) == 130
    assert "mi-toolkit fake: interrupted" in capsys.readouterr().err


def test_compilation_notice_when_the_numba_cache_is_empty(monkeypatch, capsys):
    import mi_toolkit._progress as progress

    monkeypatch.setattr(progress, "kernels_compiled", lambda: False)
    progress.announce_compilation(quiet=False)
    assert "compiling numba kernels (first run only" in capsys.readouterr().err
    progress.announce_compilation(quiet=True)
    assert capsys.readouterr().err == ""


def test_numba_cache_is_detected(monkeypatch, tmp_path, bits12):
    import mi_toolkit._progress as progress
    from mi_toolkit import estimate_mi

    modules = {path.stem for path in progress._kernel_modules()}
    assert modules == {
        "_grouping",
        "_kde_kernels",
        "_shared",
        "base",
        "binning",
        "brute",
        "grid",
        "lnc",
        "sorted1d",
    }
    # Run a kernel of each module, so that numba's cache holds them: kde and binning, KSG
    # on 1-D pairs (grid, sorted counts) and on 2+2-D (brute force), and LNC's boxes.
    t = np.random.default_rng(3).normal(size=(200, 2))
    estimate_mi(t, bits12[:200, 0], "kde")
    estimate_mi(t, bits12[:200, 0], "binning")
    estimate_mi(t[:, :1], t[:, 1:], "ksg")
    estimate_mi(t, t[::-1] + t, "ksg")
    estimate_mi(t[:, :1], t[:, 1:], "lnc")
    assert progress.kernels_compiled()
    monkeypatch.setattr(progress, "_cache_folders", lambda module: [tmp_path])
    assert not progress.kernels_compiled()
