"""``mi-toolkit demo``: every method against known truth on a few built-in cases.

Each case says which methods estimate its MI. The kde method measures the MI of a noisy
channel X -> T + Z, which equals the case's MI only when T is discrete and the noise
small, so it is run only there.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from mi_toolkit import estimate_mi, list_methods
from mi_toolkit._progress import announce_compilation
from mi_toolkit.result import MIToolkitWarning


@dataclass(frozen=True)
class DemoCase:
    task: str
    n_samples: int
    #: method -> parameters; methods absent here do not estimate this case's MI.
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Use the full enumeration of the inputs instead of random draws.
    enumerate_inputs: bool = False


CASES = (
    DemoCase(
        "gaussian-1d-rho0.9",
        5000,
        {
            "gaussian": {},
            "binning": {"strategy": "equal_mass", "n_bins": 20},
            "kl": {},
            "ksg": {},
            "mine": {},
            "auto": {},
        },
    ),
    DemoCase(
        "gaussian-3x3",
        5000,
        {
            "gaussian": {},
            "binning": {"strategy": "equal_mass", "n_bins": 4},
            "kl": {},
            "ksg": {},
            "mine": {},
            "auto": {},
        },
    ),
    DemoCase(
        # Student-t with identity dispersion: rank correlations are zero, so only the
        # kNN methods and auto (through the radii) see the dependence.
        "student-identity-3-3-2",
        5000,
        {"gaussian": {}, "gcmi": {}, "kl": {}, "ksg": {}, "auto": {}},
    ),
    DemoCase(
        "bits12-identity",
        4096,
        {"binning": {}, "kde": {"noise_variance": 1e-3}, "auto": {}},
        enumerate_inputs=True,
    ),
    DemoCase(
        "bits12-popcount",
        4096,
        {"binning": {}, "kde": {"noise_variance": 1e-3}, "auto": {}},
        enumerate_inputs=True,
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument("--units", choices=("nats", "bits"), default="bits")
    parser.add_argument("--quiet", action="store_true", help="no notice while numba compiles")


def _samples(case: DemoCase, seed: int):
    from mi_toolkit.synthetic import get_task

    task = get_task(case.task)
    if case.enumerate_inputs:
        x = task.sampler.patterns
        return task, x, task.sampler.mapping(x)
    return task, *task.sample(case.n_samples, seed)


def run(args: argparse.Namespace) -> int:
    scale = 1.0 if args.units == "nats" else 1.0 / math.log(2.0)
    # Only the methods some case runs: a column of dashes says nothing.
    used = {method for case in CASES for method in case.methods}
    methods = [m for m in list_methods() if m in used]
    width = max(len(case.task) for case in CASES)
    header = f"{'case':<{width}} {'n':>6} {'truth':>7} " + " ".join(f"{m:>14}" for m in methods)
    print(f"Estimates in {args.units}; '—' marks a method that does not estimate that MI.")
    print(header)
    print("-" * len(header), flush=True)
    announce_compilation(quiet=args.quiet)
    started = time.perf_counter()
    for case in CASES:
        task, x, y = _samples(case, args.seed)
        cells = []
        for method in methods:
            if method not in case.methods:
                cells.append(f"{'—':>14}")
                continue
            with warnings.catch_warnings():
                # Saturation at log N is the expected answer for the identity case.
                warnings.simplefilter("ignore", MIToolkitWarning)
                result = estimate_mi(x, y, method, units=args.units, **case.methods[method])
            error = f"±{result.standard_error:.3f}" if result.standard_error else ""
            cells.append(f"{result.value:>7.3f}{error:>7}")
        truth = task.mutual_information * scale
        print(f"{case.task:<{width}} {len(x):>6} {truth:>7.3f} " + " ".join(cells))
    print(f"\n{len(CASES)} cases in {time.perf_counter() - started:.1f} s.")
    return 0
