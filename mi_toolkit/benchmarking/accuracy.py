"""The accuracy runner: every (task, n, seed, method) cell of a grid, estimated once.

A *cell* is one estimate: task ``task`` sampled with ``n`` rows and seed ``seed``, given
to one method with its parameters. The cells that share (task, n, seed) form a *unit*,
sampled once and handed to each method in turn; units run in parallel processes (one
numba thread and one BLAS thread each, so that ``--jobs`` processes use ``--jobs``
cores), or on a Dask cluster, with the same numbers either way.

Everything is checked before the first estimate: the tasks, every method and parameter
(each estimator is built once), the sample sizes against each method's minimum, and the
output folder. Finished cells are appended to ``results.csv`` as they arrive, flushed
to disk, so an interrupted run loses nothing finished; ``settings.json`` beside it ties
the file to its inputs, and running the same command again computes only the rest.

Every estimate goes through the core's one path: :func:`mi_toolkit.api.build_estimator`,
:func:`mi_toolkit.api.prepare_pair` and :func:`mi_toolkit.api.mi_of_variables`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fnmatch
import io
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from mi_toolkit._parallel import check_jobs, run_all
from mi_toolkit._parameters import parse_parameter
from mi_toolkit._progress import progress_reporter
from mi_toolkit.api import build_estimator, mi_of_variables, prepare_pair
from mi_toolkit.dumps import atomic_write_bytes
from mi_toolkit.estimators.base import Estimator

RESULTS_NAME = "results.csv"
SETTINGS_NAME = "settings.json"
#: Bumped when the meaning of a column changes, so old files are not mixed with new.
FORMAT_VERSION = 1
COLUMNS = (
    "task",
    "family",
    "dim_x",
    "dim_y",
    "true_mi",
    "n",
    "seed",
    "method",
    "params",
    "estimate",
    "standard_error",
    "seconds",
    "warnings",
    "error",
)
# Rows of the warm-up estimate that loads a method's numba kernels before timing it.
_WARM_UP_ROWS = 200


# -- what to run ----------------------------------------------------------------------


@dataclass(frozen=True)
class MethodSpec:
    """A method and the parameters given for it, e.g. ``ksg:k=10,transform=none``.

    Attributes
    ----------
    method : str
        A registered method name.
    params : tuple of (str, object)
        The parameters given, sorted by name.
    """

    method: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """The canonical text of the spec, the ``method`` column of the results."""
        if not self.params:
            return self.method
        given = ",".join(f"{name}={_format_value(value)}" for name, value in self.params)
        return f"{self.method}:{given}"

    def build(self) -> Estimator:
        """The estimator, its parameters checked (a bad one raises ``ValueError``)."""
        try:
            return build_estimator(self.method, **dict(self.params))
        except (TypeError, ValueError) as error:  # an unknown name, or a value out of range
            raise ValueError(f"--methods {self.label}: {error}") from None


def _format_value(value: Any) -> str:
    """A parameter value as the parser reads it back: bare words stay bare."""
    if isinstance(value, str):
        with contextlib.suppress(argparse.ArgumentTypeError):
            if parse_parameter(f"v={value}") == ("v", value):
                return value
    return repr(value)


def _split_top_level(text: str) -> list[str]:
    """Split at the commas outside brackets and quotes (``value_range=(-2,2)`` stays whole)."""
    pieces, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return pieces


def parse_methods(text: str) -> list[MethodSpec]:
    """Method specs from ``--methods`` text such as ``ksg:k=10,transform=none,kl,gaussian``.

    A piece with ``=`` before any ``:`` is a parameter of the method before it; any
    other piece starts a method (``name`` or ``name:param=value``). Values are Python
    literals, or bare words, as for ``mi-toolkit plane --param``. Only the syntax is
    checked here; :meth:`MethodSpec.build` checks names and values.

    Parameters
    ----------
    text : str
        The comma-separated specs.

    Returns
    -------
    list of MethodSpec
        In the order given.
    """
    specs: list[tuple[str, list[tuple[str, Any]]]] = []
    for piece in _split_top_level(text):
        if not piece:
            raise ValueError(f"--methods {text!r}: an empty method name (two commas in a row?)")
        colon, equals = piece.find(":"), piece.find("=")
        if equals != -1 and (colon == -1 or equals < colon):
            if not specs:
                raise ValueError(
                    f"--methods {text!r}: parameter {piece!r} comes before any method; "
                    "write METHOD:NAME=VALUE, e.g. ksg:k=10"
                )
            specs[-1][1].append(_method_parameter(piece, text))
            continue
        name, _, first = piece.partition(":")
        specs.append((name.strip(), [_method_parameter(first, text)] if first.strip() else []))
    parsed = []
    for name, params in specs:
        names = [p for p, _ in params]
        repeated = sorted({p for p in names if names.count(p) > 1})
        if repeated:
            raise ValueError(f"--methods {text!r}: {name} is given {repeated[0]!r} twice")
        parsed.append(MethodSpec(name, tuple(sorted(params))))
    return parsed


def _method_parameter(piece: str, text: str) -> tuple[str, Any]:
    try:
        return parse_parameter(piece)
    except argparse.ArgumentTypeError as error:
        raise ValueError(f"--methods {text!r}: {error}") from None


def parse_integers(text: str, option: str, minimum: int = 0) -> list[int]:
    """Integers from ``0-9``, ``1000,5000`` or a mix (``0-2,7``), in order, without repeats.

    Parameters
    ----------
    text : str
        Comma-separated integers and inclusive ranges ``a-b``.
    option : str
        The option's name, for the error message.
    minimum : int, optional
        The smallest value allowed.

    Returns
    -------
    list of int
        The values.
    """
    values: list[int] = []
    for piece in text.split(","):
        first, dash, last = piece.strip().partition("-")
        try:
            low = int(first)
            high = int(last) if dash else low
        except ValueError:
            raise ValueError(
                f"{option} {text!r}: expected integers or ranges such as 0-9 or 1000,5000"
            ) from None
        if low > high:
            raise ValueError(f"{option} {text!r}: range {piece.strip()} runs backwards")
        if low < minimum:
            raise ValueError(f"{option} {text!r}: values must be {minimum} or more")
        values.extend(v for v in range(low, high + 1) if v not in values)
    return values


def select_tasks(suite: str | None = None, patterns: Sequence[str] = ()) -> list[str]:
    """Task names from a suite, a list of names or ``*`` patterns, or both.

    With ``suite`` alone, its tasks; with ``patterns`` alone, the registered tasks they
    name; with both, the suite's tasks that the patterns name. A pattern that names no
    task is an error that lists the valid ones.

    Parameters
    ----------
    suite : str or None
        A suite name of :func:`mi_toolkit.synthetic.get_suite`; None for all tasks.
    patterns : sequence of str
        Task names or shell patterns such as ``gaussian-*``.

    Returns
    -------
    list of str
        The task names, in suite order (then in the order of ``patterns``).
    """
    from mi_toolkit.synthetic import get_suite, list_suites, list_tasks

    if suite is not None and suite not in list_suites():
        raise ValueError(f"unknown suite {suite!r}; valid suites: {', '.join(list_suites())}")
    pool = [task.name for task in get_suite(suite)] if suite is not None else list_tasks()
    if not patterns:
        return pool
    chosen: list[str] = []
    for pattern in patterns:
        matches = [name for name in pool if fnmatch.fnmatchcase(name, pattern)]
        if not matches:
            where = f"suite {suite!r}" if suite is not None else "the registry"
            raise ValueError(
                f"--tasks: no task in {where} matches {pattern!r}; valid tasks: {', '.join(pool)}"
            )
        chosen.extend(name for name in matches if name not in chosen)
    return chosen


@dataclass(frozen=True)
class AccuracyRun:
    """The grid to run: every task × sample size × seed × method.

    Attributes
    ----------
    tasks : tuple of str
        Task names (see :func:`select_tasks`).
    sizes : tuple of int
        Sample sizes n.
    seeds : tuple of int
        Seeds of the samples; seed s of a task is the same sample for every method.
    methods : tuple of MethodSpec
        The methods with their parameters.
    """

    tasks: tuple[str, ...]
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    methods: tuple[MethodSpec, ...]

    def cell_keys(self) -> list[tuple[str, int, int, str]]:
        """(task, n, seed, method label) of every cell, in the order they are reported."""
        return [
            (task, n, seed, spec.label)
            for task in self.tasks
            for n in self.sizes
            for seed in self.seeds
            for spec in self.methods
        ]


# -- checks before any work -----------------------------------------------------------


@dataclass(frozen=True)
class _TaskFacts:
    family: str
    dim_x: int
    dim_y: int
    true_mi: float


def _family(task: Any) -> str:
    from mi_toolkit.synthetic.suites import FAMILIES

    declared = getattr(task, "family", None) or getattr(task.sampler, "family", None)
    if declared:
        return str(declared)
    for family, prefixes in FAMILIES.items():
        if task.name.startswith(prefixes):
            return family
    return task.name.split("-", 1)[0]


def _task_facts(names: Iterable[str]) -> dict[str, _TaskFacts]:
    from mi_toolkit.synthetic import get_task

    facts = {}
    for name in names:
        task = get_task(name)
        facts[name] = _TaskFacts(
            _family(task), task.dim_x, task.dim_y, float(task.mutual_information)
        )
    return facts


def _build_all(run: AccuracyRun) -> dict[str, Estimator]:
    """Every estimator of the run, built once; a bad method or parameter fails here."""
    if not run.methods:
        raise ValueError("--methods: give at least one method, e.g. --methods ksg,kl,gaussian")
    estimators: dict[str, Estimator] = {}
    for spec in run.methods:
        if spec.label in estimators:
            raise ValueError(f"--methods: {spec.label} is given twice")
        estimator = spec.build()
        for label, other in estimators.items():
            if _params_text(other) == _params_text(estimator) and other.name == estimator.name:
                raise ValueError(
                    f"--methods: {label} and {spec.label} are the same estimator (every "
                    "parameter equal, defaults included); give it once"
                )
        too_small = [n for n in run.sizes if n < estimator.min_samples]
        if too_small:
            raise ValueError(
                f"--n {too_small[0]}: method {spec.method!r} needs at least "
                f"{estimator.min_samples} samples"
            )
        estimators[spec.label] = estimator
    return estimators


def _params_text(estimator: Estimator) -> str:
    """Every parameter the estimator uses, defaults included, as canonical JSON."""
    return json.dumps(dict(estimator.params()), sort_keys=True, default=repr)


def _settings(run: AccuracyRun, estimators: dict[str, Estimator], facts: dict) -> dict:
    from mi_toolkit import __version__

    return {
        "format": FORMAT_VERSION,
        "mi_toolkit": __version__,
        "methods": {label: _params_text(e) for label, e in estimators.items()},
        "tasks": {name: [f.dim_x, f.dim_y, f.true_mi] for name, f in facts.items()},
    }


def _check_output_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output {folder}: this is a file; give a folder for the results")
    parent = folder.resolve().parent
    if not parent.is_dir():
        raise FileNotFoundError(f"--output {folder}: the folder {parent} does not exist; create it")
    if not os.access(parent if not folder.exists() else folder, os.W_OK):
        raise PermissionError(f"--output {folder}: cannot write there; choose another folder")


def _merge_settings(old: dict, new: dict, folder: Path) -> dict:
    """The settings of a resumed file, or an error when its finished cells do not fit."""
    advice = f"run with --overwrite to start again, or choose another --output than {folder}"
    if old.get("format") != new["format"] or old.get("mi_toolkit") != new["mi_toolkit"]:
        raise ValueError(
            f"the results in {folder} were written by mi-toolkit {old.get('mi_toolkit')} "
            f"(format {old.get('format')}), this is {new['mi_toolkit']} (format "
            f"{new['format']}): its numbers may differ; {advice}"
        )
    for label, params in new["methods"].items():
        if label in old["methods"] and old["methods"][label] != params:
            raise ValueError(
                f"the results in {folder} ran {label} with the parameters {old['methods'][label]}"
                f", now it means {params}; {advice}"
            )
    for name, facts in new["tasks"].items():
        before = old["tasks"].get(name)
        if before is not None and (
            before[:2] != facts[:2] or not math.isclose(before[2], facts[2], rel_tol=1e-9)
        ):
            raise ValueError(
                f"the results in {folder} have task {name} with dims and truth {before}, now "
                f"{facts}: the task changed; {advice}"
            )
    return {
        **new,
        "methods": {**old["methods"], **new["methods"]},
        "tasks": {**old["tasks"], **new["tasks"]},
    }


# -- the results file -----------------------------------------------------------------


def _format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # round-trips exactly, so a resumed table equals a fresh one
    return str(value)


class ResultsFile:
    """``results.csv``: one row per finished cell, appended and flushed as it arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict[str, str]]:
        """The rows written so far; a last line cut short by a crash is dropped."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a row half-written when the run stopped
            atomic_write_bytes(self.path, text.encode("utf-8"))
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is not None and tuple(reader.fieldnames) != COLUMNS:
            raise ValueError(
                f"{self.path} is not a results table of this version (columns "
                f"{reader.fieldnames}); run with --overwrite or choose another --output"
            )
        return list(reader)

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append rows and flush them to disk before returning."""
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            if new_file:
                writer.writerow(COLUMNS)
            writer.writerows([_format_cell(row[c]) for c in COLUMNS] for row in rows)
            stream.flush()
            os.fsync(stream.fileno())

    def rewrite_sorted(self) -> None:
        """Put the rows in a stable order (parallel runs finish in any order), atomically."""
        rows = self.read()
        rows.sort(key=lambda r: (r["task"], int(r["n"]), int(r["seed"]), r["method"]))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([row[c] for c in COLUMNS] for row in rows)
        atomic_write_bytes(self.path, buffer.getvalue().encode("utf-8"))


# -- one unit of work: a sample and every method still missing for it ----------------


@dataclass(frozen=True)
class Unit:
    """One (task, n, seed) sample and the methods still to run on it."""

    task: str
    n: int
    seed: int
    methods: tuple[MethodSpec, ...]


@cache
def _cached_task(name: str) -> Any:
    from mi_toolkit.synthetic import get_task

    return get_task(name)


_ESTIMATORS: dict[str, Estimator] = {}
_WARMED: set[tuple[Any, ...]] = set()


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Numba and BLAS on one thread: a process per core, and sums in one fixed order."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(before)


def compute_unit(unit: Unit) -> list[dict[str, Any]]:
    """Estimate every method of ``unit`` on its sample (runs in a worker process).

    A method that raises records the error in its row; a bug elsewhere propagates.

    Parameters
    ----------
    unit : Unit
        The sample and the methods.

    Returns
    -------
    list of dict
        Per method: ``method``, ``params``, ``estimate``, ``standard_error``,
        ``seconds``, ``warnings`` and ``error``.
    """
    task = _cached_task(unit.task)
    x, y = task.sample(unit.n, unit.seed)
    discrete_x = True if task.sampler.discrete_x else None
    discrete_y = True if task.sampler.discrete_y else None
    with _one_thread():
        return [_estimate_cell(spec, x, y, discrete_x, discrete_y) for spec in unit.methods]


def _estimate_cell(
    spec: MethodSpec, x: np.ndarray, y: np.ndarray, discrete_x: Any, discrete_y: Any
) -> dict[str, Any]:
    if spec.label not in _ESTIMATORS:
        _ESTIMATORS[spec.label] = spec.build()
    estimator = _ESTIMATORS[spec.label]
    _warm_up(spec.label, estimator, x, y, discrete_x, discrete_y)
    row: dict[str, Any] = {
        "method": spec.label,
        "params": _params_text(estimator),
        "estimate": math.nan,
        "standard_error": None,
        "warnings": "",
        "error": "",
    }
    start = time.perf_counter()
    try:
        shaped = estimator.accepts_sample_shape
        x_var, y_var = prepare_pair(x, y, discrete_x, discrete_y, shaped)
        result = mi_of_variables(estimator, x_var, y_var, emit_warnings=False)
    except Exception as error:  # the method refused or broke: a failed run, shown in the table
        row["seconds"] = time.perf_counter() - start
        row["error"] = f"{type(error).__name__}: {' '.join(str(error).split())}"
        return row
    row["seconds"] = time.perf_counter() - start
    row["estimate"] = float(result.value)
    row["standard_error"] = result.standard_error
    row["warnings"] = ";".join(sorted(set(result.warning_kinds)))
    failed = result.details.get("failed")
    if failed:  # an estimator (a neural one) that says its own run did not converge
        # The warnings say why (diverged, collapsed, ...); a bare flag would not.
        reason = failed if isinstance(failed, str) else row["warnings"] or "no reason given"
        row["error"] = f"failed: {reason}"
    return row


def _warm_up(label: str, estimator: Estimator, x, y, discrete_x, discrete_y) -> None:
    """Load the method's numba kernels on a small slice, so that ``seconds`` excludes it."""
    key = (label, x.shape[1:], y.shape[1:], x.dtype.kind, y.dtype.kind, discrete_x, discrete_y)
    if key in _WARMED:
        return
    _WARMED.add(key)
    rows = min(_WARM_UP_ROWS, len(x))
    with contextlib.suppress(Exception):  # the real call reports any error
        shaped = estimator.accepts_sample_shape
        x_var, y_var = prepare_pair(x[:rows], y[:rows], discrete_x, discrete_y, shaped)
        mi_of_variables(estimator, x_var, y_var, emit_warnings=False)


# -- the run --------------------------------------------------------------------------


def _units(run: AccuracyRun, finished: set[tuple[str, int, int, str]]) -> list[Unit]:
    units = []
    for task in run.tasks:
        for n in run.sizes:
            for seed in run.seeds:
                missing = tuple(
                    spec for spec in run.methods if (task, n, seed, spec.label) not in finished
                )
                if missing:
                    units.append(Unit(task, n, seed, missing))
    return units


def _key(row: dict[str, str]) -> tuple[str, int, int, str]:
    return row["task"], int(row["n"]), int(row["seed"]), row["method"]


def _prepare(run: AccuracyRun, folder: Path, overwrite: bool) -> tuple[ResultsFile, dict]:
    """Every check before the first estimate; returns the results file and its settings."""
    if not run.tasks:
        raise ValueError("no tasks selected; see --suite and --tasks")
    if not run.sizes or not run.seeds:
        raise ValueError("give at least one sample size (--n) and one seed (--seeds)")
    estimators = _build_all(run)
    facts = _task_facts(run.tasks)
    _check_output_folder(folder)
    settings = _settings(run, estimators, facts)
    results = ResultsFile(folder / RESULTS_NAME)
    settings_path = folder / SETTINGS_NAME
    if not overwrite and results.path.exists():
        if not settings_path.exists():
            raise ValueError(
                f"{results.path} has no {SETTINGS_NAME} beside it, so its settings are "
                "unknown; run with --overwrite or choose another --output"
            )
        settings = _merge_settings(json.loads(settings_path.read_text()), settings, folder)
        results.read()  # checks the columns, drops a half-written last row
    return results, {"settings": settings, "facts": facts}


def run_accuracy(
    run: AccuracyRun,
    output: str | os.PathLike,
    *,
    jobs: int = 1,
    scheduler: Any = None,
    overwrite: bool = False,
    progress: bool | None = None,
    on_rows: Callable[[list[dict]], None] | None = None,
) -> list[dict[str, str]]:
    """Run every cell of ``run`` not yet in ``output``, and return the grid's rows.

    Parameters
    ----------
    run : AccuracyRun
        The grid.
    output : str or path
        Folder of ``results.csv`` and ``settings.json``; created if missing. An
        existing results file is resumed (its finished cells are kept) when its
        settings fit; otherwise an error says what to do.
    jobs : int, optional
        Worker processes (1: run here, in this process).
    scheduler : str or object, optional
        Address of a Dask scheduler (``tcp://host:8786``) or a Dask cluster object; the
        units then run on its workers and ``jobs`` is ignored.
    overwrite : bool, optional
        Start again, discarding the results in ``output``.
    progress : bool or None, optional
        Progress bar on stderr; None shows it when stderr is a terminal.
    on_rows : callable, optional
        Called with each unit's rows after they are on disk.

    Returns
    -------
    list of dict
        The rows of ``results.csv`` (as text) that belong to this grid, in the order
        of :meth:`AccuracyRun.cell_keys`.
    """
    check_jobs(jobs)
    folder = Path(output)
    results, prepared = _prepare(run, folder, overwrite)
    folder.mkdir(exist_ok=True)
    if overwrite:
        results.path.unlink(missing_ok=True)
    atomic_write_bytes(
        folder / SETTINGS_NAME, json.dumps(prepared["settings"], indent=1).encode("utf-8")
    )
    finished = {_key(row) for row in results.read()}
    units = _units(run, finished)
    total = sum(len(unit.methods) for unit in units)
    report = progress_reporter("accuracy cells", total, progress if total else False)
    stream = run_all(compute_unit, units, jobs=jobs, scheduler=scheduler)
    done = 0
    with contextlib.closing(stream):
        for unit, cells in stream:
            rows = [_task_row(unit, prepared["facts"][unit.task], cell) for cell in cells]
            results.append(rows)
            done += len(rows)
            report(done)
            if on_rows is not None:
                on_rows(rows)
    results.rewrite_sorted()
    by_key = {_key(row): row for row in results.read()}
    return [by_key[key] for key in run.cell_keys()]


def _task_row(unit: Unit, facts: _TaskFacts, cell: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": unit.task,
        "family": facts.family,
        "dim_x": facts.dim_x,
        "dim_y": facts.dim_y,
        "true_mi": facts.true_mi,
        "n": unit.n,
        "seed": unit.seed,
        **cell,
    }


def count_finished(output: str | os.PathLike) -> int:
    """Number of finished cells saved in ``output`` (for the message after Ctrl-C)."""
    return len(ResultsFile(Path(output) / RESULTS_NAME).read())
