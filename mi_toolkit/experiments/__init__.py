"""Reproductions of the studies' claims: one named experiment per claim.

Each experiment trains what its study trained, measures the numbers that decide the
claim, and writes ``report.md`` (the claim, the settings, the numbers with their spread
over seeds, the verdict and the rule behind it), ``numbers.json`` and its figures. An
experiment that does not reproduce says so: the verdict comes from a rule stated before
the numbers, not from tuning until they look right.

This package is the application layer (like the command line): it may use
:mod:`mi_toolkit.nets` and :mod:`mi_toolkit.synthetic`, which the core may not. Modules are
imported only when their experiment runs, so listing them costs nothing.
"""

from mi_toolkit.experiments._registry import (
    EXPERIMENTS,
    ExperimentInfo,
    get_experiment,
    run_experiment,
)
from mi_toolkit.experiments._report import Report

__all__ = ["EXPERIMENTS", "ExperimentInfo", "Report", "get_experiment", "run_experiment"]
