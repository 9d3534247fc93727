"""mi-toolkit's neural bounds against torch-mist's ``estimate_mi``, in one process.

torch-mist 0.2.17 needs numpy<2 (and pyro-ppl, hydra-core), so it lives in a venv of its
own with this package installed beside it: ``make torch-mist-env``, then::

    .venv-torch-mist/bin/python benchmarks/torch_mist_peer.py --output DIR

For each Beyond-Normal task and seed, the same N samples go to mi-toolkit (``infonce``
and ``mine`` with their defaults, which split off their own validation and test parts)
and to torch-mist's ``estimate_mi`` with its documented defaults for the same estimator
(``"infonce"`` / ``"mine"``: hidden_dims [128], batch 128, Adam, up to 5,000 iterations,
10% validation with early stopping). torch-mist is given the first 70% as training data
and the last 30% as ``test_data``: by default it evaluates on the data it trained on,
which biases upward. Both run on one torch thread. Each estimate's wall time and process
CPU time are recorded; the CPU time is far less sensitive to other users of a shared
machine, and the ratios (torch-mist's time over mi-toolkit's) use it.

Writes ``results.csv`` and ``report.md`` to ``--output``.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from mi_toolkit import estimate_mi
from mi_toolkit.synthetic import get_suite, get_task

# A stated subset: torch-mist takes tens of seconds per estimate here. One task of each
# kind: low and high dimension, Gaussian, heavy-tailed and transformed.
DEFAULT_TASKS = (
    "1v1-normal-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "student-identity-2-2-1",
    "multinormal-dense-5-5-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
    "multinormal-dense-25-25-0.5",
    "multinormal-sparse-25-25-2-2.0",
)
# torch-mist's estimate_mi takes its test data as a separate argument.
TORCH_MIST_TEST_SHARE = 0.3
COLUMNS = ("task", "seed", "truth", "tool", "method", "estimate", "wall_s", "cpu_s", "error")


def _timed(run, method: str, x: np.ndarray, y: np.ndarray, seed: int):
    """``run(method, x, y, seed)``'s value (NaN where it raises), wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        value, error = float(run(method, x, y, seed)), ""
    except Exception as err:  # a peer that breaks is a row with its error, not a crash
        value, error = math.nan, f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
    return value, time.perf_counter() - wall, time.process_time() - cpu, error


def _ours(method: str, x: np.ndarray, y: np.ndarray, seed: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate_mi(x, y, method, random_state=seed, progress=False).value


def _torch_mist(method: str, x: np.ndarray, y: np.ndarray, seed: int) -> float:
    import torch_mist

    torch.manual_seed(seed)
    n_train = round((1.0 - TORCH_MIST_TEST_SHARE) * x.shape[0])
    as_tensors = [torch.as_tensor(v, dtype=torch.float32) for v in (x, y)]
    train = {"x": as_tensors[0][:n_train], "y": as_tensors[1][:n_train]}
    test = {"x": as_tensors[0][n_train:], "y": as_tensors[1][n_train:]}
    return torch_mist.estimate_mi(
        data=train, estimator=method, test_data=test, verbose=False, logger=False
    )


def _rows(tasks, seeds, n, methods):
    for name in tasks:
        task = get_task(name)
        for seed in seeds:
            x, y = task.sample(n, seed)
            for method in methods:
                for tool, run in (("mi-toolkit", _ours), ("torch-mist", _torch_mist)):
                    value, wall, cpu, error = _timed(run, method, x, y, seed)
                    row = {"task": name, "seed": seed, "truth": task.mutual_information}
                    row.update(tool=tool, method=method, estimate=value, wall_s=wall)
                    row.update(cpu_s=cpu, error=error)
                    print(
                        f"{name:42s} s{seed} {method:8s} {tool:10s} truth "
                        f"{task.mutual_information:.3f} est {value:.3f} wall {wall:.1f}s "
                        f"cpu {cpu:.1f}s {error}",
                        flush=True,
                    )
                    yield row


def _summary(rows: list[dict], methods) -> list[str]:
    lines = [
        "| method | tool | estimates | within 0.1 nat | median abs error | median CPU s "
        "| median wall s | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        for tool in ("mi-toolkit", "torch-mist"):
            mine = [r for r in rows if r["method"] == method and r["tool"] == tool]
            good = [r for r in mine if math.isfinite(r["estimate"])]
            errors = [abs(r["estimate"] - r["truth"]) for r in good]
            within = sum(e <= 0.1 for e in errors)
            lines.append(
                f"| {method} | {tool} | {len(mine)} | {within} | "
                f"{statistics.median(errors) if errors else math.nan:.3f} | "
                f"{statistics.median(r['cpu_s'] for r in mine):.2f} | "
                f"{statistics.median(r['wall_s'] for r in mine):.2f} | {len(mine) - len(good)} |"
            )
        ratios = _ratios(rows, method)
        if ratios:
            lines.append(
                f"| {method} | ratio torch-mist / mi-toolkit CPU time | median "
                f"{statistics.median(ratios):.2f}, range {min(ratios):.2f}–{max(ratios):.2f} "
                "| | | | | |"
            )
    return lines


def _ratios(rows: list[dict], method: str) -> list[float]:
    by_key: dict[tuple, dict[str, float]] = {}
    for r in rows:
        if r["method"] == method:
            by_key.setdefault((r["task"], r["seed"]), {})[r["tool"]] = r["cpu_s"]
    return [t["torch-mist"] / t["mi-toolkit"] for t in by_key.values() if len(t) == 2]


def _per_task(rows: list[dict]) -> list[str]:
    lines = [
        "| task | seed | truth | method | mi-toolkit | CPU s | torch-mist | CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pairs: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        pairs.setdefault((r["task"], r["seed"], r["method"]), {})[r["tool"]] = r
    for (task, seed, method), tools in pairs.items():
        ours, peer = tools.get("mi-toolkit"), tools.get("torch-mist")
        cells = [f"{t['estimate']:.3f} | {t['cpu_s']:.1f}" if t else "– | –" for t in (ours, peer)]
        truth = (ours or peer)["truth"]
        lines.append(f"| {task} | {seed} | {truth:.3f} | {method} | {cells[0]} | {cells[1]} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="'all': the suite")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--methods", default="infonce,mine")
    parser.add_argument("--output", default="bench-torch-mist")
    args = parser.parse_args()
    tasks = (
        [t.name for t in get_suite("beyond-normal")]
        if args.tasks == "all"
        else args.tasks.split(",")
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    torch.set_num_threads(1)
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(folder / "results.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS)
        writer.writeheader()
        for row in _rows(tasks, seeds, args.n, methods):
            writer.writerow(row)
            stream.flush()
            rows.append(row)
    import torch_mist

    report = [
        f"# mi-toolkit against torch-mist {torch_mist.__version__} (estimate_mi), one process",
        "",
        f"N = {args.n}, seeds {args.seeds}, {len(tasks)} Beyond-Normal tasks, one torch "
        f"thread, torch {torch.__version__}, numpy {np.__version__}.",
        "",
        *_summary(rows, methods),
        "",
        *_per_task(rows),
        "",
    ]
    (folder / "report.md").write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
