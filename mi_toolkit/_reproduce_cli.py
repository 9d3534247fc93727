"""``mi-toolkit reproduce``: the studies' claims, one command each.

Without a name it lists the experiments; with one it runs it and writes ``report.md``,
``numbers.json`` and the figures into ``--output/NAME``. ``--quick`` gives the smoke
settings (seconds), whose numbers are not evidence; the full settings take minutes.
"""

from __future__ import annotations

import argparse
import sys

from mi_toolkit.experiments import EXPERIMENTS, run_experiment

DEFAULT_OUTPUT = "reproduce"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name",
        nargs="?",
        help=f"experiment to run: {', '.join(EXPERIMENTS)} or all; none lists them",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke settings (seconds, not evidence)"
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (default: the experiment's)"
    )
    parser.add_argument(
        "--output", default=DEFAULT_OUTPUT, help="folder of one subfolder per experiment"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if args.name is None:
        width = max(map(len, EXPERIMENTS))
        for info in EXPERIMENTS.values():
            print(f"{info.name:<{width}}  {info.study}: {info.claim}")
        return 0
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        report = run_experiment(
            name,
            f"{args.output}/{name}",
            quick=args.quick,
            seeds=args.seeds,
            progress=False if args.quiet else None,
        )
        print(
            f"{name}: {report.verdict} ({report.elapsed_s:.1f} s) -> {args.output}/{name}/report.md"
        )
    sys.stdout.flush()
    return 0
