"""The mi-toolkit command line and its built-in demo."""

from __future__ import annotations

import math

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
