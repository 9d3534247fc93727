"""Time the information plane of a dump: this checkout against a baseline checkout.

Run as a script (pytest does not collect it)::

    python benchmarks/plane_speed.py runs/tanh --baseline /tmp/base
    python benchmarks/plane_speed.py runs/tanh --baseline /tmp/base --method kde \\
        --param noise_variance=1e-3 --jobs 1 2

The baseline is another checkout of mi-toolkit (e.g. ``git archive <commit> | tar -x -C
/tmp/base``); its ``information_plane`` runs in a subprocess over every member of the
dump, the same work as this checkout's ``plane_table``. Both warm up their numba kernels
on one epoch first, so compilation is not timed. The two are measured in the same run,
so their ratio holds on a busy machine; the values of both are compared, and the largest
difference printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_BASELINE_SCRIPT = """
import json, sys, time, warnings
import numpy as np
from mi_toolkit.dumps import open_dump
from mi_toolkit.plane import information_plane
dump_path, method, params, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
dump = open_dump(dump_path)
every = int(sys.argv[5])
epochs = dump.epochs[::every]
warnings.simplefilter("ignore")
information_plane(dump, method, epochs=dump.epochs[-1:], progress=False, **params)  # warm-up
start, cpu = time.perf_counter(), time.process_time()
planes = [
    information_plane(dump, method, member=m, epochs=epochs, progress=False, **params)
    for m in range(dump.members)
]
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
np.savez(out, i_xt=np.stack([p.i_xt for p in planes]), i_ty=np.stack([p.i_ty for p in planes]))
print(json.dumps({"seconds": seconds, "cpu": cpu}))
"""


def _parse_param(text: str) -> tuple[str, object]:
    from mi_toolkit._parameters import parse_parameter

    return parse_parameter(text)


def time_baseline(
    baseline: Path, dump: str, method: str, params: dict, folder: Path, every: int
) -> dict:
    """Seconds of the baseline's planes of every member, and its values."""
    out = folder / "baseline.npz"
    environment = {
        **os.environ,
        "PYTHONPATH": str(baseline),
        # Its own numba cache: the baseline's kernels must not meet this checkout's.
        "NUMBA_CACHE_DIR": str(folder / "numba-baseline"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _BASELINE_SCRIPT,
            dump,
            method,
            json.dumps(params),
            str(out),
            str(every),
        ],
        env=environment,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(out) as values:
        return {**timing, "i_xt": values["i_xt"], "i_ty": values["i_ty"]}


def time_here(dump: str, method: str, params: dict, jobs: int, every: int) -> dict:
    """Seconds of this checkout's table of every member, and its values as arrays."""
    from mi_toolkit.dumps import open_dump
    from mi_toolkit.plane_table import plane_table

    opened = open_dump(dump)
    warm = Path(tempfile.mkdtemp()) / "warm"
    # Warm-up on a one-epoch copy: compiles the kernels here (the workers of jobs > 1
    # load them from numba's cache).
    _one_epoch_copy(dump, opened.epochs[-1], warm)
    plane_table(warm, (method, params), progress=False)
    start, cpu = time.perf_counter(), time.process_time()
    epochs = opened.epochs[::every]
    table = plane_table(dump, (method, params), epochs=epochs, jobs=jobs, progress=False)
    # CPU seconds of this process only (jobs > 1 adds its workers' unseen).
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    shape = (opened.members, len(epochs), len(opened.layers))
    arrays = {name: np.full(shape, np.nan) for name in ("i_xt", "i_ty")}
    epoch_row = {e: r for r, e in enumerate(epochs)}
    for row in table.rows:
        where = (row["member"], epoch_row[row["epoch"]], opened.layers.index(row["layer"]))
        for name in arrays:
            arrays[name][where] = row[name]
    return {"seconds": seconds, "cpu": cpu, **arrays}


def _one_epoch_copy(dump: str, epoch: int, target: Path) -> None:
    import shutil

    from mi_toolkit.dumps import epoch_filename

    target.mkdir(parents=True)
    meta = json.loads((Path(dump) / "meta.json").read_text())
    meta["epochs"] = [epoch]
    (target / "meta.json").write_text(json.dumps(meta))
    shutil.copy(Path(dump) / "data.npz", target / "data.npz")
    shutil.copy(Path(dump) / epoch_filename(epoch), target / epoch_filename(epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", help="an activation dump directory (mi-toolkit train --out)")
    parser.add_argument("--baseline", type=Path, help="another checkout to time against")
    parser.add_argument("--method", default="binning")
    parser.add_argument("--param", type=_parse_param, action="append", default=[])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1], help="worker counts to time")
    parser.add_argument(
        "--every", type=int, default=1, help="time every K-th recorded epoch only (default: all)"
    )
    args = parser.parse_args()
    params = dict(args.param)
    folder = Path(tempfile.mkdtemp())
    print(f"dump {args.dump}, every {args.every}. epoch, method {args.method} {params}")
    reference = None
    if args.baseline is not None:
        reference = time_baseline(args.baseline, args.dump, args.method, params, folder, args.every)
        print(
            f"baseline ({args.baseline}): {reference['seconds']:.2f} s "
            f"(CPU {reference['cpu']:.2f} s)"
        )
    for jobs in args.jobs:
        here = time_here(args.dump, args.method, params, jobs, args.every)
        line = f"this checkout, jobs={jobs}: {here['seconds']:.2f} s (CPU {here['cpu']:.2f} s)"
        if reference is not None:
            ratio = reference["seconds"] / here["seconds"]
            gap = max(
                float(np.nanmax(np.abs(here[name] - reference[name]))) for name in ("i_xt", "i_ty")
            )
            cpu_ratio = reference["cpu"] / here["cpu"]
            line += (
                f" ({ratio:.2f}x faster, CPU {cpu_ratio:.2f}x; largest difference in value "
                f"{gap:.2e} bits)"
            )
        print(line, flush=True)
    # Wall times on a shared machine mean little without the load they ran under.
    print(f"load average over the last minute: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
