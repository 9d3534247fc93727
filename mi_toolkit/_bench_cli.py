"""``mi-toolkit bench``: benchmarks in one command, ``accuracy`` or ``speed``.

``mi-toolkit bench accuracy`` estimates MI on a suite of tasks with known truth and
writes ``results.csv``, ``report.md`` and plots into ``--output``; running the same
command again computes only the cells not yet there. ``mi-toolkit bench speed`` times
the methods against their peers (:mod:`mi_toolkit.benchmarking.speed`).

Each sub-command's module is imported only when it is chosen, as for the top-level
commands, so that ``accuracy`` does not pay for the speed peers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mi_toolkit._parallel import usable_cores

DEFAULT_METHODS = "ksg,kl,gaussian"
DEFAULT_OUTPUT = "bench-accuracy"
REPORT_NAME = "report.md"


class _LazyParser(argparse.ArgumentParser):
    """A sub-command parser whose arguments are added only when it is chosen."""

    def __init__(self, *args: Any, setup: Callable[[argparse.ArgumentParser], None], **kw: Any):
        super().__init__(*args, **kw)
        self._setup: Callable[[argparse.ArgumentParser], None] | None = setup

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._setup is not None:
            setup, self._setup = self._setup, None
            setup(self)
        return super().parse_known_args(args, namespace)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(
        dest="bench_command", required=True, metavar="{accuracy,speed}", parser_class=_LazyParser
    )
    commands.add_parser(
        "accuracy",
        setup=_add_accuracy_arguments,
        help="estimates against known truth on a suite of tasks: results, report, plots",
        description="Estimate MI on every task × n × seed × method of a suite and score the "
        "estimates against the truth. Resumes: run the same command again after an "
        "interruption to compute only the rest.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands.add_parser(
        "speed",
        setup=_add_speed_arguments,
        help="time each method across n and dimension, against the peers installed",
        description="Time each method across sample size and dimension, with the peers "
        "a user would otherwise pick (where installed) as ratios.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    speed = importlib.import_module("mi_toolkit.benchmarking.speed")
    speed.add_arguments(parser)
    parser.set_defaults(bench_run=speed.run)


def _add_accuracy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(bench_run=_run_accuracy)
    parser.add_argument(
        "--suite",
        help="suite of tasks (quick, full, beyond-normal, a family such as images, ...); "
        "quick when neither --suite nor --tasks is given",
    )
    parser.add_argument(
        "--tasks",
        help="comma-separated task names or patterns such as 'gaussian-*', from --suite if "
        "given, else from every registered task",
    )
    parser.add_argument(
        "--methods",
        default=DEFAULT_METHODS,
        help="comma-separated methods, each with parameters as METHOD:NAME=VALUE,NAME=VALUE "
        "(values are Python literals), e.g. 'ksg:k=10,transform=none,kl,gaussian'",
    )
    parser.add_argument("--n", default="5000", help="sample sizes, comma-separated, e.g. 1000,5000")
    parser.add_argument("--seeds", default="0-2", help="seeds, e.g. 0-9 or 0,3,7")
    parser.add_argument(
        "--jobs",
        type=int,
        default=usable_cores(),
        help="worker processes, one numba thread each (1: run in this process); the default "
        "is the number of cores this process may use",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs mi-toolkit[dask]; "
        "--jobs is then ignored)",
    )
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        help="folder of results.csv, settings.json, report.md and the plots; an existing "
        "one is resumed",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="discard the results in --output and start again"
    )
    parser.add_argument("--no-plots", action="store_true", help="write no plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or notices")


def run(args: argparse.Namespace) -> int:
    return int(args.bench_run(args) or 0)


# -- accuracy -------------------------------------------------------------------------


def _accuracy_run(args: argparse.Namespace) -> Any:
    from mi_toolkit.benchmarking.accuracy import (
        AccuracyRun,
        parse_integers,
        parse_methods,
        select_tasks,
    )

    patterns = [p.strip() for p in (args.tasks or "").split(",") if p.strip()]
    suite = args.suite if args.suite is not None or patterns else "quick"
    return AccuracyRun(
        tasks=tuple(select_tasks(suite, patterns)),
        sizes=tuple(parse_integers(args.n, "--n", minimum=1)),
        seeds=tuple(parse_integers(args.seeds, "--seeds")),
        methods=tuple(parse_methods(args.methods)),
    )


def _plots_available(args: argparse.Namespace) -> bool:
    if args.no_plots:
        return False
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            "note: no plots: matplotlib is not installed (pip install 'mi-toolkit[plot]')",
            file=sys.stderr,
        )
        return False
    return True


def _run_accuracy(args: argparse.Namespace) -> int:
    from mi_toolkit._progress import announce_compilation
    from mi_toolkit.benchmarking.accuracy import count_finished, run_accuracy
    from mi_toolkit.benchmarking.report import (
        markdown_report,
        score_methods,
        score_tasks,
        scores_table,
        write_plots,
    )
    from mi_toolkit.dumps import atomic_write_bytes

    grid = _accuracy_run(args)
    plots = _plots_available(args)
    announce_compilation(quiet=args.quiet)
    try:
        rows = run_accuracy(
            grid,
            args.output,
            jobs=args.jobs,
            scheduler=args.scheduler,
            overwrite=args.overwrite,
            progress=False if args.quiet else None,
        )
    except KeyboardInterrupt:
        results = Path(args.output) / "results.csv"
        saved = count_finished(args.output) if results.exists() else 0
        print(
            f"\nmi-toolkit bench accuracy: interrupted; {saved} finished cells are saved in "
            f"{results}. Run the same command again to compute only the rest.",
            file=sys.stderr,
        )
        return 130
    folder = Path(args.output)
    title = f"Accuracy on suite {args.suite}" if args.suite else "Accuracy"
    atomic_write_bytes(folder / REPORT_NAME, markdown_report(rows, title).encode("utf-8"))
    written = write_plots(rows, folder) if plots else []
    print("\n".join(scores_table(score_methods(score_tasks(rows)))))
    print(f"\nresults: {folder / 'results.csv'}\nreport:  {folder / REPORT_NAME}")
    for path in written:
        print(f"plot:    {path}")
    return 0
