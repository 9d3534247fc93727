r"""Information planes of many runs as one tidy table, resumable, here or on Dask.

:func:`plane_table` takes any number of activation dumps (each with any number of
ensemble members, i.e. seeds) and any number of methods, and estimates I(X;T) and
I(T;Y) for every recorded epoch and layer, exactly as :func:`mi_toolkit.information_plane`
does for one (the same :func:`mi_toolkit.plane.layer_estimates`, through
:func:`mi_toolkit.api.mi_of_layer`). The result has one row per
(run, member, epoch, layer, method), with the columns of :data:`COLUMNS`: the two MI
values and their standard errors, the estimates' warnings, and the training metrics the
dump stores for that epoch and member (losses, accuracies, and the layer's gradient mean
and standard deviation; NaN where the dump has none).

The work is split into one piece per (run, epoch): the epoch's file is read once and
every member, layer and method estimated from it, and each run's X is grouped once per
worker. The pieces run in this process, in ``jobs`` local processes, or on a Dask
cluster (``scheduler=``), with the same numbers either way.

With ``output=`` a CSV file, finished rows are appended as they arrive, so an
interrupted analysis keeps them, and a later call computes only the rows that are not
there yet. Each row records its run's identity (a hash of the dump's metadata, x and y)
and its epoch file's fingerprint (:meth:`mi_toolkit.dumps.Dump.fingerprint`); rows of a
run whose data have since changed are refused, not silently mixed. An epoch file that
cannot be read, or that a finished dump lacks, is reported in
:attr:`PlaneTable.failures` while every other epoch is finished.

:func:`spread_over_seeds` gives the mean and spread per (epoch, layer) over the members
and runs of one method, for a band in a plot.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mi_toolkit._parallel import check_jobs, run_all
from mi_toolkit._progress import progress_reporter
from mi_toolkit._validation import Variable
from mi_toolkit.api import build_estimator
from mi_toolkit.dumps import BadDumpFile, Dump, atomic_write_bytes, epoch_filename, open_dump
from mi_toolkit.estimators.base import Estimator
from mi_toolkit.plane import (
    _fingerprint,
    _hash_json,
    _inputs_and_labels,
    _jsonable,
    _source_identity,
    layer_estimates,
    layer_variable,
)
from mi_toolkit.result import unit_scale

#: Training metrics copied into each row; ``grad_mean`` and ``grad_std`` are the row's
#: layer's (stored as ``grad_mean/<layer>`` in the dump).
METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "grad_mean", "grad_std")
#: The table's columns, in order.
COLUMNS = (
    "run",
    "member",
    "epoch",
    "layer",
    "method",
    "params",
    "units",
    "i_xt",
    "i_xt_error",
    "i_ty",
    "i_ty_error",
    "i_xt_saturated",
    "warnings",
    *METRICS,
    "run_id",
    "fingerprint",
)
_INTEGER_COLUMNS = ("member", "epoch")
_FLOAT_COLUMNS = ("i_xt", "i_xt_error", "i_ty", "i_ty_error", *METRICS)
# What makes a row: one estimate pair of one layer of one member at one epoch.
_KEY = ("run", "member", "epoch", "layer", "method", "params")
_WHAT_TO_DO = "pass another output file, or overwrite=True (--overwrite) to start again"


@dataclass
class PlaneTable:
    """The rows of :func:`plane_table` (dicts with the keys of :data:`COLUMNS`).

    Attributes
    ----------
    rows : list of dict
        One per (run, member, epoch, layer, method), sorted by those.
    failures : list of str
        One plain-words line per epoch that could not be analysed (an unreadable or
        missing file); its rows are absent, and a later call computes them.
    """

    rows: list[dict[str, Any]]
    failures: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> np.ndarray:
        """One column as an array (floats as float64, members and epochs as int64)."""
        if name not in COLUMNS:
            raise KeyError(f"no column {name!r}; columns: {', '.join(COLUMNS)}")
        values = [row[name] for row in self.rows]
        if name in _FLOAT_COLUMNS:
            return np.asarray(values, dtype=np.float64)
        if name in _INTEGER_COLUMNS:
            return np.asarray(values, dtype=np.int64)
        return np.asarray(values)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write every row to a CSV file, atomically."""
        atomic_write_bytes(path, _csv_text(self.rows).encode("utf-8"))

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write every row to a Parquet file (needs pyarrow: ``mi-toolkit[parquet]``)."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(
                "Parquet output needs pyarrow: pip install 'mi-toolkit[parquet]' (or pip "
                "install pyarrow); the CSV holds the same table"
            ) from None
        arrays = {name: self.column(name) for name in COLUMNS}
        arrays["i_xt_saturated"] = arrays["i_xt_saturated"].astype(bool)
        pq.write_table(pa.table(arrays), path)

    @classmethod
    def read_csv(cls, path: str | os.PathLike) -> PlaneTable:
        """The rows of a CSV file written by :meth:`to_csv` or :func:`plane_table`."""
        return cls(_read_rows(Path(path)))


@dataclass(frozen=True)
class SeedSpread:
    """Mean and spread of one quantity per (epoch, layer) over seeds and runs.

    Attributes
    ----------
    epochs : numpy.ndarray
        ``(E,)`` the epochs, sorted.
    layers : list of str
        The layers, in the order first seen.
    mean, std, low, high : numpy.ndarray
        ``(E, L)`` mean, sample standard deviation (ddof = 1; NaN for a single value),
        minimum and maximum over the finite values.
    count : numpy.ndarray
        ``(E, L)`` how many finite values each cell has.
    """

    epochs: np.ndarray
    layers: list[str]
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray


def spread_over_seeds(
    table: PlaneTable, quantity: str = "i_xt", method: str | None = None, params: Any = None
) -> SeedSpread:
    """Mean and spread of ``quantity`` per (epoch, layer) over every member of every run.

    Parameters
    ----------
    table : PlaneTable
        The table.
    quantity : str
        A numeric column: ``"i_xt"``, ``"i_ty"``, a metric such as ``"train_loss"``...
    method : str, optional
        Which method's rows (needed when the table holds several).
    params : dict or str, optional
        Which parameters of that method (needed when the table holds several settings).

    Returns
    -------
    SeedSpread
        The statistics, for a mean line and a band (``mean ± std`` or ``low``–``high``).
    """
    if quantity not in _FLOAT_COLUMNS:
        raise ValueError(f"quantity must be one of {', '.join(_FLOAT_COLUMNS)}; got {quantity!r}")
    rows = _rows_of_one_analysis(table.rows, method, params)
    epochs = np.array(sorted({row["epoch"] for row in rows}), dtype=np.int64)
    layers = list(dict.fromkeys(row["layer"] for row in rows))
    values: dict[tuple[int, str], list[float]] = {}
    for row in rows:
        values.setdefault((row["epoch"], row["layer"]), []).append(float(row[quantity]))
    shape = (len(epochs), len(layers))
    stats = {name: np.full(shape, np.nan) for name in ("mean", "std", "low", "high")}
    count = np.zeros(shape, dtype=np.int64)
    for (epoch, layer), cell in values.items():
        finite = np.asarray([v for v in cell if math.isfinite(v)])
        where = (int(np.searchsorted(epochs, epoch)), layers.index(layer))
        count[where] = finite.size
        if finite.size:
            stats["mean"][where] = finite.mean()
            stats["low"][where], stats["high"][where] = finite.min(), finite.max()
        if finite.size > 1:
            stats["std"][where] = finite.std(ddof=1)
    return SeedSpread(epochs, layers, count=count, **stats)


def _rows_of_one_analysis(
    rows: list[dict[str, Any]], method: str | None, params: Any
) -> list[dict[str, Any]]:
    if isinstance(params, dict):
        params = _params_text(params)
    chosen = [
        row
        for row in rows
        if (method is None or row["method"] == method)
        and (params is None or row["params"] == params)
    ]
    analyses = sorted({(row["method"], row["params"]) for row in chosen})
    if len(analyses) > 1:
        listed = "; ".join(f"{m} {p}" for m, p in analyses)
        raise ValueError(
            f"the table holds several analyses ({listed}); pick one with method= and params="
        )
    if not chosen:
        raise ValueError(f"no rows for method {method!r} with params {params!r}")
    return chosen


# -- one piece of work: one epoch of one run ------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """Everything a worker needs to analyse one epoch of one run."""

    run: str
    path: str
    run_id: str
    epoch: int
    fingerprint: str
    units: str
    estimators: tuple[Estimator, ...]
    #: (member, layer, index into estimators) of each row still to compute.
    wanted: tuple[tuple[int, str, int], ...]


@lru_cache(maxsize=8)
def _opened(path: str, run_id: str) -> tuple[Dump, Variable, Variable]:
    """A run's dump with X and Y validated once per worker (X's groups are cached on it).

    ``run_id`` is in the key so that a dump rewritten with other data is opened again.
    """
    dump = open_dump(path)
    x, y = _inputs_and_labels(dump, None, None)
    return dump, x, y


def _analyse_piece(piece: _Piece) -> dict[str, Any]:
    """The rows of one piece, or ``{"failure": message}`` when its file cannot be read."""
    dump, x, y = _opened(piece.path, piece.run_id)
    if piece.epoch not in dump.epochs:  # written after this worker opened the dump
        _opened.cache_clear()
        dump, x, y = _opened(piece.path, piece.run_id)
    try:
        arrays = dump.epoch(piece.epoch)
    except BadDumpFile as error:
        return {"failure": f"{piece.run}: {error}"}
    rows = []
    params_text = [_params_text(estimator.params()) for estimator in piece.estimators]
    for member, layer, index in piece.wanted:
        estimator = piece.estimators[index]
        t = layer_variable(arrays[layer][member], layer, piece.epoch, y)
        xt, ty, notes = layer_estimates(estimator, x, t, y, piece.units)
        rows.append(
            {
                "run": piece.run,
                "member": member,
                "epoch": piece.epoch,
                "layer": layer,
                "method": estimator.name,
                "params": params_text[index],
                "units": piece.units,
                "i_xt": _value(xt),
                "i_xt_error": _error(xt),
                "i_ty": _value(ty),
                "i_ty_error": _error(ty),
                "i_xt_saturated": bool(xt is not None and xt.saturated),
                "warnings": " | ".join(f"{q} {kind}: {message}" for q, kind, message in notes),
                **_metrics(arrays, member, layer),
                "run_id": piece.run_id,
                "fingerprint": piece.fingerprint,
            }
        )
    return {"rows": rows}


def _value(result: Any) -> float:
    return math.nan if result is None else float(result.value)


def _error(result: Any) -> float:
    if result is None or result.standard_error is None:
        return math.nan
    return float(result.standard_error)


def _metrics(arrays: dict[str, np.ndarray], member: int, layer: str) -> dict[str, float]:
    found = {}
    for name in METRICS:
        stored = arrays.get(f"{name}/{layer}", arrays.get(name))
        found[name] = math.nan if stored is None else float(np.asarray(stored).reshape(-1)[member])
    return found


def _params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=_jsonable)


# -- the table file -------------------------------------------------------------------


def _csv_text(rows: Iterable[dict[str, Any]], header: bool = True) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(row[name]) for name in COLUMNS})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    # repr keeps every bit of a float, so values read back are the values computed.
    return repr(value) if isinstance(value, float) else value


def _parsed(row: dict[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = dict(row)
    for name in _INTEGER_COLUMNS:
        parsed[name] = int(row[name])
    for name in _FLOAT_COLUMNS:
        parsed[name] = float(row[name])
    parsed["i_xt_saturated"] = row["i_xt_saturated"] == "True"
    return parsed


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The whole rows of a table file; a half-written last line (a crash) is dropped."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or tuple(reader.fieldnames) != COLUMNS:
        raise ValueError(
            f"{path} is not a table of information planes (its columns are "
            f"{reader.fieldnames}); {_WHAT_TO_DO}"
        )
    try:
        return [_parsed(row) for row in reader]
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} holds a damaged row ({error}); {_WHAT_TO_DO}") from None


def _sort_key(row: dict[str, Any]) -> tuple:
    return (row["run"], row["method"], row["params"], row["member"], row["epoch"], row["layer"])


# -- planning -------------------------------------------------------------------------


@dataclass
class _Run:
    label: str
    path: str
    dump: Dump
    run_id: str
    fingerprints: dict[int, str]


def _open_run(path: str | os.PathLike) -> _Run:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no dump at {path}; train one with 'mi-toolkit train'")
    dump = open_dump(path)
    x, y = _inputs_and_labels(dump, None, None)
    identity = _hash_json(_source_identity(dump, x, y))
    fingerprints = {epoch: _fingerprint(dump, epoch) for epoch in dump.epochs}
    label = str(Path(path))
    return _Run(label, str(Path(path).resolve()), dump, identity, fingerprints)


def _missing_epochs(run: _Run) -> list[str]:
    """Epochs a finished dump planned but whose files are gone."""
    if not run.dump.meta.get("complete"):
        return []
    gone = sorted(set(run.dump.meta.get("epochs", [])) - set(run.dump.epochs))
    return [
        f"{run.label}: epoch {epoch}: its file {epoch_filename(epoch)} is missing from the "
        "finished dump (deleted or never copied); restore it and run again to add its rows"
        for epoch in gone
    ]


def _check_previous(rows: list[dict[str, Any]], runs: list[_Run], units: str, path: Any) -> None:
    """Refuse a table of other data or units: its rows would be mixed with these."""
    by_label = {run.label: run for run in runs}
    for row in rows:
        if row["units"] != units:
            raise ValueError(f"{path} holds values in {row['units']}, not {units}; {_WHAT_TO_DO}")
        run = by_label.get(row["run"])
        if run is None:
            continue  # another run's rows are kept as they are
        if row["run_id"] != run.run_id:
            raise ValueError(
                f"{path} holds rows of another dump under the name {run.label} (its metadata, "
                f"inputs or labels differ); {_WHAT_TO_DO}"
            )
        now = run.fingerprints.get(row["epoch"])
        if now and row["fingerprint"] != now and _readable(run.dump, row["epoch"]):
            raise ValueError(
                f"{path} holds rows of {run.label} at epoch {row['epoch']} computed from other "
                f"data than its file now holds; {_WHAT_TO_DO}"
            )


def _readable(dump: Dump, epoch: int) -> bool:
    """Whether an epoch's file reads; a damaged file has not changed its data, and the
    rows computed before it was damaged stay (the reading reports it)."""
    try:
        dump.epoch(epoch)
    except BadDumpFile:
        return False
    return True


def _pieces(
    runs: list[_Run],
    estimators: tuple[Estimator, ...],
    units: str,
    epochs: Sequence[int] | None,
    layers: Sequence[str] | None,
    members: Sequence[int] | None,
    done: set[tuple],
) -> list[_Piece]:
    pieces = []
    for run in runs:
        chosen_layers = list(run.dump.layers if layers is None else layers)
        unknown = sorted(set(chosen_layers) - set(run.dump.layers))
        if unknown:
            raise ValueError(
                f"{run.label}: unknown layer(s) {unknown}; recorded layers: {run.dump.layers}"
            )
        chosen_members = list(range(run.dump.members) if members is None else members)
        bad = [m for m in chosen_members if not 0 <= m < run.dump.members]
        if bad:
            raise ValueError(
                f"{run.label}: member must be in 0..{run.dump.members - 1}; got {bad[0]}"
            )
        params = [_params_text(e.params()) for e in estimators]
        chosen_epochs = [e for e in run.dump.epochs if epochs is None or e in set(epochs)]
        for epoch in chosen_epochs:
            wanted = tuple(
                (member, layer, index)
                for index, estimator in enumerate(estimators)
                for member in chosen_members
                for layer in chosen_layers
                if (run.label, member, epoch, layer, estimator.name, params[index]) not in done
            )
            if wanted:
                pieces.append(
                    _Piece(
                        run.label,
                        run.path,
                        run.run_id,
                        epoch,
                        run.fingerprints[epoch],
                        units,
                        estimators,
                        wanted,
                    )
                )
    return pieces


def _estimators(methods: Any) -> tuple[Estimator, ...]:
    """Built estimators from a method, or a list of names, instances or (name, params)."""
    if isinstance(methods, (str, Estimator)) or (
        isinstance(methods, tuple) and len(methods) == 2 and isinstance(methods[1], dict)
    ):
        methods = [methods]
    built = []
    for method in methods:
        if isinstance(method, tuple):
            name, params = method
            built.append(build_estimator(name, **params))
        else:
            built.append(build_estimator(method))
    if not built:
        raise ValueError("methods is empty; pass at least one, e.g. methods='binning'")
    return tuple(built)


def plane_table(
    runs: str | os.PathLike | Sequence[str | os.PathLike],
    methods: Any = "binning",
    *,
    units: str = "bits",
    epochs: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    members: Sequence[int] | None = None,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    jobs: int = 1,
    scheduler: Any = None,
    progress: bool | None = None,
) -> PlaneTable:
    """I(X;T) and I(T;Y) of every epoch, layer and member of many dumps, as one table.

    Parameters
    ----------
    runs : path or sequence of paths
        Activation dumps in any layout :func:`mi_toolkit.dumps.open_dump` reads; each
        must hold its labels (and, where it has them, its inputs).
    methods : str, Estimator, (str, dict) or a list of them
        The methods, e.g. ``["binning", ("kde", {"noise_variance": 1e-3})]``.
    units : {"bits", "nats"}
        Units of the MI columns.
    epochs : sequence of int, optional
        Which recorded epochs (default: all; epochs a run did not record are left out).
    layers : sequence of str, optional
        Which layers (default: every recorded one).
    members : sequence of int, optional
        Which ensemble members (default: all).
    output : str or os.PathLike, optional
        A CSV file: rows are appended as they are finished, and the rows already in it
        are kept and not computed again. Rows of the same run name computed from other
        data, or in other units, are refused.
    overwrite : bool
        Start ``output`` again instead of resuming it.
    jobs : int
        Local worker processes (1: here, in this process).
    scheduler : str or object, optional
        A Dask scheduler address (``tcp://host:8786``), or a Dask cluster or client: the
        epochs are analysed on its workers, which must see the dumps at the same paths.
    progress : bool or None
        A progress bar on stderr; None shows it when stderr is a terminal.

    Returns
    -------
    PlaneTable
        Every row of these runs (and, with ``output``, any other rows in it), and the
        epochs that could not be analysed.
    """
    unit_scale(units)
    check_jobs(jobs)
    estimators = _estimators(methods)  # bad methods and parameters fail before any work
    paths = [runs] if isinstance(runs, (str, os.PathLike)) else list(runs)
    if not paths:
        raise ValueError("no runs given; pass one or more dump paths")
    opened = [_open_run(path) for path in paths]
    labels = [run.label for run in opened]
    if len(set(labels)) != len(labels):
        raise ValueError(f"a run is given twice: {sorted(labels)}")
    previous: list[dict[str, Any]] = []
    if output is not None and Path(output).exists() and not overwrite:
        previous = _read_rows(Path(output))
        _check_previous(previous, opened, units, output)
    done = {tuple(row[k] for k in _KEY) for row in previous}
    pieces = _pieces(opened, estimators, units, epochs, layers, members, done)
    failures = [line for run in opened for line in _missing_epochs(run)]
    rows = list(previous)
    if output is not None:
        # The previous rows are rewritten whole: a half-written last line is dropped.
        atomic_write_bytes(output, _csv_text(rows).encode("utf-8"))
    report = progress_reporter("information planes", len(pieces), progress if pieces else False)
    stream = run_all(_analyse_piece, pieces, jobs=jobs, scheduler=scheduler)
    with contextlib.closing(stream):
        for finished, (_, result) in enumerate(stream, start=1):
            if "failure" in result:
                failures.append(result["failure"])
            else:
                rows.extend(result["rows"])
                _append(output, result["rows"])
            report(finished)
    rows.sort(key=_sort_key)
    if output is not None:
        atomic_write_bytes(output, _csv_text(rows).encode("utf-8"))
    return PlaneTable(rows, failures)


def _append(output: str | os.PathLike | None, rows: list[dict[str, Any]]) -> None:
    if output is None:
        return
    with open(output, "a", encoding="utf-8") as stream:
        stream.write(_csv_text(rows, header=False))
        stream.flush()
        os.fsync(stream.fileno())
