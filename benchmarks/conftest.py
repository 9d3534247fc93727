"""Shared fixtures and the ratio report for the speed benchmarks.

Run with ``make bench`` (``pytest benchmarks``). Files here are named ``bench_*.py`` and
are collected only when ``benchmarks`` (or a file in it) is named on the command line,
so a plain ``pytest`` (``make test``) never runs them, even where ``testpaths`` finds no
``tests/`` and pytest falls back to the whole repository.

Each benchmark records its times under a group; at the end of the session each group is
printed with the ratio of each peer's time to mi-toolkit's, measured in the same run.
The machine is shared and its load comes and goes, so the report gives, per role, the
best round (load only ever adds time), the median round, and the CPU seconds the
process used per round (all threads, spin-waiting included; close to wall time for
single-threaded code on an idle machine, and much less sensitive to other users' load).
Ratios use the best rounds and the CPU seconds; goals are judged on the best round.
"""

from __future__ import annotations

import resource
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _workloads import (
    binary_labels,
    information_plane_activations,
    tanh_layer,
    twelve_bit_inputs,
)

from mi_toolkit import estimate_entropy, estimate_mi
from mi_toolkit.result import MIToolkitWarning

_HERE = Path(__file__).resolve().parent
TOOLKIT = "mi-toolkit"


def _named_on_command_line(config: pytest.Config) -> bool:
    for arg in config.args:
        target = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if target == _HERE or _HERE in target.parents:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    # A file named on the command line is collected by pytest itself; taking it here too
    # would run every benchmark in it twice.
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
        and _named_on_command_line(parent.config)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


# -- the ratio report ---------------------------------------------------------------


@dataclass(frozen=True)
class _Timing:
    best_s: float
    median_s: float
    cpu_s: float


@dataclass
class _Group:
    goal_s: float | None = None
    timings: dict[str, _Timing] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_GROUPS: dict[str, _Group] = {}


@pytest.fixture
def measure(benchmark: Any) -> Callable[..., Any]:
    """Time ``fn`` under ``group`` as ``role`` and record its timings for the report.

    The fixture is a function ``run(fn, *, group, role, rounds, goal_s=None, rtol=1e-9)``
    that returns what ``fn`` returns. When two roles of a group return values, they are
    checked to agree (``rtol``), so that a fast answer is also the right one.

    Parameters
    ----------
    benchmark : Any
        pytest-benchmark's fixture.

    Returns
    -------
    callable
        ``run``: ``fn`` is called ``rounds`` times and timed under ``group`` as ``role``;
        ``goal_s`` is the issue's target for mi-toolkit in that group.
    """

    def run(
        fn: Callable[[], Any],
        *,
        group: str,
        role: str,
        rounds: int,
        goal_s: float | None = None,
        rtol: float = 1e-9,
    ) -> Any:
        benchmark.group = group
        benchmark.extra_info["role"] = role
        cpu_before = _cpu_seconds()
        result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
        cpu_per_round = (_cpu_seconds() - cpu_before) / rounds
        entry = _GROUPS.setdefault(group, _Group())
        if goal_s is not None:
            entry.goal_s = goal_s
        if benchmark.stats is not None:  # None under --benchmark-disable
            stats = benchmark.stats.stats
            entry.timings[role] = _Timing(stats.min, stats.median, cpu_per_round)
        for other, value in entry.values.items():
            np.testing.assert_allclose(
                np.asarray(result, dtype=float),
                np.asarray(value, dtype=float),
                rtol=rtol,
                atol=1e-12,
                err_msg=f"{role} disagrees with {other} in {group!r}",
            )
        entry.values[role] = result
        return result

    return run


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _GROUPS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("mi-toolkit speed in this run (ratios: peer time / mi-toolkit's)")
    write(
        f"    {'':<30} {'best':>9} {'median':>9} {'cpu/round':>10} "
        f"{'ratio best':>11} {'ratio cpu':>10}"
    )
    for name, group in _GROUPS.items():
        write(name)
        ours = group.timings.get(TOOLKIT)
        for role, timing in group.timings.items():
            line = (
                f"    {role:<30} {timing.best_s:8.3f}s {timing.median_s:8.3f}s {timing.cpu_s:9.3f}s"
            )
            if ours is not None and role != TOOLKIT:
                line += f" {timing.best_s / ours.best_s:10.2f}× {timing.cpu_s / ours.cpu_s:9.2f}×"
            write(line)
        if group.goal_s is not None and ours is not None:
            verdict = "met" if ours.best_s <= group.goal_s else "MISSED"
            write(f"    goal: mi-toolkit ≤ {group.goal_s:g} s (best round): {verdict}")


# -- data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """Inputs, labels and per-epoch, per-layer activations of the 12-bit workload."""

    inputs: np.ndarray
    labels: np.ndarray
    activations: list[list[np.ndarray]]

    @property
    def n_estimates(self) -> int:
        return 2 * sum(len(layers) for layers in self.activations)


@pytest.fixture(scope="session")
def plane() -> Plane:
    inputs = twelve_bit_inputs()
    return Plane(inputs, binary_labels(len(inputs)), information_plane_activations())


@pytest.fixture(scope="session")
def kde_layer() -> tuple[np.ndarray, np.ndarray]:
    """N = 10,000 three-dimensional inputs and their d = 20 tanh activations."""
    return tanh_layer(10_000, 20)


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """Compile (or load from cache) every numba kernel once, outside the timings.

    Compile time is measured on its own by ``benchmarks/compile_time.py``.
    """
    x = twelve_bit_inputs()[:64]
    t = np.tanh(np.linspace(-2.0, 2.0, x.size).reshape(x.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MIToolkitWarning)
        estimate_mi(x, t, method="binning")
        estimate_mi(x, t, method="kde")
        estimate_entropy(t, method="kde")
