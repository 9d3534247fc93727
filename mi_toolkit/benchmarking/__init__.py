"""Benchmarks as a product: accuracy against known truth (``mi-toolkit bench accuracy``),
and speed against peers (``mi-toolkit bench speed``, :mod:`.speed`).

The application layer above the core and :mod:`mi_toolkit.synthetic`: the core never
imports this package. ``mi-toolkit bench accuracy`` runs :func:`run_accuracy` over a
suite of tasks and writes a tidy results table and a report (:mod:`.report`).
"""

from mi_toolkit.benchmarking.accuracy import (
    AccuracyRun,
    MethodSpec,
    parse_integers,
    parse_methods,
    run_accuracy,
    select_tasks,
)
from mi_toolkit.benchmarking.report import (
    MethodScore,
    TaskScore,
    markdown_report,
    read_results,
    score_methods,
    score_tasks,
    write_plots,
)

__all__ = [
    "AccuracyRun",
    "MethodScore",
    "MethodSpec",
    "TaskScore",
    "markdown_report",
    "parse_integers",
    "parse_methods",
    "read_results",
    "run_accuracy",
    "score_methods",
    "score_tasks",
    "select_tasks",
    "write_plots",
]
