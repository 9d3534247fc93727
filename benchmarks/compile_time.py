"""Numba compile time apart from run time, and a check that the on-disk cache works.

Usage::

    python benchmarks/compile_time.py

Every numba kernel of mi-toolkit is ``@njit(cache=True)``: the first call ever compiles
it and writes the machine code to the cache, and later processes load it from there.
For each workload below, with ``NUMBA_CACHE_DIR`` pointed at a fresh empty directory,
this script starts

1. a process on the empty cache: its first call is (a) compile + run, and the best of
   its later calls is (c) the steady-state run;
2. a second process on the cache the first one filled: its first call is (b) cache
   load + run.

So a − c is the compile time and b − c the cache-load time. The script exits with
status 1 if the cache did not cut the first call to under a quarter of the cold one
(b ≥ a / 4), or if nothing was written to the cache directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

CASES = {
    "group_rows": "row-grouping kernel, 4096 × 6 int64 bins",
    "binning": "estimate_mi(X, T, 'binning'), 4096 × 12 bits, 4096 × 10 tanh",
    "kde": "estimate_entropy(T, 'kde'), 2000 × 20 tanh",
}
STEADY_REPEATS = 5
# A working cache must make the first call at least this many times faster.
REQUIRED_SPEED_UP = 4.0


def _workload(case: str):
    """The call to time for ``case``, built from seeded data; imports mi-toolkit."""
    from _workloads import tanh_layer, twelve_bit_inputs

    if case == "group_rows":
        from mi_toolkit._grouping import group_rows

        bins = np.random.default_rng(0).integers(0, 29, size=(4096, 6), dtype=np.int64)
        return lambda: group_rows(bins)
    from mi_toolkit import estimate_entropy, estimate_mi

    if case == "binning":
        x = twelve_bit_inputs()
        _, t = tanh_layer(len(x), 10)
        return lambda: estimate_mi(x, t, method="binning")
    _, t = tanh_layer(2000, 20)
    return lambda: estimate_entropy(t, method="kde")


def _start_numba() -> None:
    """Pay numba's once-per-process set-up (type system, LLVM target) up front.

    Any process pays it on its first jitted call, cached or not; compiling a trivial
    function here keeps it out of the kernels' compile and cache-load figures.
    """
    from numba import njit

    njit(lambda: 0)()


def _child(case: str) -> None:
    """Run inside a fresh process: time the import, the first call and steady calls."""
    warnings.simplefilter("ignore")  # ceiling warnings are beside the point here
    start = time.perf_counter()
    call = _workload(case)
    imported = time.perf_counter()
    _start_numba()
    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    steady = []
    for _ in range(STEADY_REPEATS):
        tick = time.perf_counter()
        call()
        steady.append(time.perf_counter() - tick)
    timings = {
        "import_s": imported - start,
        "numba_start_s": started - imported,
        "first_s": first,
        "steady_s": min(steady),
    }
    print(json.dumps(timings))


def _run_child(case: str, cache_dir: str) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", case],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {case!r} child process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(case: str) -> dict[str, float]:
    """Cold, warm-cache and steady-state timings of one workload, in seconds."""
    with tempfile.TemporaryDirectory(prefix="mi-toolkit-numba-cache-") as cache_dir:
        cold = _run_child(case, cache_dir)
        cached_files = sum(1 for _ in Path(cache_dir).rglob("*.nbi"))
        warm = _run_child(case, cache_dir)
    return {
        "import_s": cold["import_s"],
        "numba_start_s": min(cold["numba_start_s"], warm["numba_start_s"]),
        "cold_first_s": cold["first_s"],
        "warm_first_s": warm["first_s"],
        "steady_s": min(cold["steady_s"], warm["steady_s"]),
        "cache_index_files": cached_files,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0
    header = (
        f"{'workload':<11} {'import':>8} {'start-up':>9} {'(a) cold':>9} {'(b) cache':>10} "
        f"{'(c) run':>9} {'compile':>9} {'load':>8} {'a/b':>6}  cached"
    )
    print(header)
    print("-" * len(header))
    failures = []
    for case in CASES:
        m = measure(case)
        compile_s = m["cold_first_s"] - m["steady_s"]
        load_s = m["warm_first_s"] - m["steady_s"]
        speed_up = m["cold_first_s"] / m["warm_first_s"]
        print(
            f"{case:<11} {m['import_s']:7.3f}s {m['numba_start_s']:8.3f}s "
            f"{m['cold_first_s']:8.3f}s {m['warm_first_s']:9.3f}s {m['steady_s']:8.4f}s "
            f"{compile_s:8.3f}s {load_s:7.3f}s {speed_up:5.0f}×  {m['cache_index_files']} kernels",
            flush=True,
        )
        if m["cache_index_files"] == 0 or speed_up < REQUIRED_SPEED_UP:
            failures.append(case)
    print()
    for case, description in CASES.items():
        print(f"{case:<11} {description}")
    print(
        "import: importing mi-toolkit (numba included); start-up: numba's once-per-process "
        "set-up, paid by any first jitted call and kept out of (a) and (b);\n"
        "compile = (a) − (c); load = (b) − (c); cached: kernels indexed in the cache directory"
    )
    if failures:
        print(f"the numba cache did not work for: {', '.join(failures)}", file=sys.stderr)
        return 1
    print(
        f"the numba cache works: each first call in a new process is ≥ {REQUIRED_SPEED_UP:g}× "
        "faster than on an empty cache"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
