r"""The information plane: I(X;T) and I(T;Y) for every recorded layer and epoch.

Given recorded activations T of each layer at each epoch (an activation dump, see
:mod:`mi_toolkit.dumps`, or plain arrays), this computes, with any registered method,

.. math::

    I(X;T_\ell^{(e)}) \quad\text{and}\quad I(T_\ell^{(e)};Y)

for every epoch e and layer ℓ, as in Shwartz-Ziv & Tishby (2017) and Saxe et al.
(2018). X is treated as discrete: the evaluation inputs grouped by unique rows, so that
X is uniform over the N distinct samples and no I(X;T) can exceed log N (without the
inputs, each sample counts as distinct). Y is the labels, discrete.

With a continuous estimator (gaussian, kl, ksg) and distinct inputs, I(X;T) is not
defined: T is a deterministic function of X, so each input's class holds one sample with
no spread. Those entries stay NaN with a note (warning kind ``"undefined"``), and I(T;Y)
is computed as usual.

Every estimate's warnings are collected per layer, quantity and kind, kept in
:attr:`InformationPlane.warnings` and reported once each, with their count, at the end.

Results are written to disk, if asked, after every epoch, atomically, so that an
interrupted analysis keeps what it finished and resumes where it stopped. The saved plane
records the identity of its dump (a hash of its metadata, of x and y, and a fingerprint
of each epoch's file), and resuming from another dump is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mi_toolkit._validation import Variable, as_variable
from mi_toolkit.api import build_estimator, mi_of_layer, prepare_pair
from mi_toolkit.dumps import BadDumpFile, Dump, atomic_savez, open_dump
from mi_toolkit.estimators.base import Estimator, UndefinedEstimate
from mi_toolkit.result import MIEstimate, MIToolkitWarning, unit_scale

#: The two quantities of the plane, as named in warnings and messages.
I_XT, I_TY = "I(X;T)", "I(T;Y)"
# Metadata keys that change while a dump is written or finished, not with its content.
_VOLATILE_META = ("complete", "bad_fits", "restarts", "seeds", "versions")
_WHAT_TO_DO = (
    "pass a new output path, delete the file, or pass overwrite=True (--overwrite) to replace it"
)


@dataclass
class InformationPlane:
    """I(X;T) and I(T;Y) per recorded epoch (rows) and layer (columns).

    Attributes
    ----------
    i_xt, i_ty, i_xt_error, i_ty_error : numpy.ndarray
        ``(epochs, layers)`` arrays in ``units``. Entries not computed, or not defined for
        the method (see ``warnings``), are NaN.
    saturated : numpy.ndarray
        ``(epochs, layers)`` bool: I(X;T) at the log N ceiling.
    finished : numpy.ndarray
        ``(epochs,)`` bool: the epoch was analysed (its defined entries are all computed).
    warnings : list of dict
        The estimates' warnings, one entry per layer, quantity (``"I(X;T)"`` or
        ``"I(T;Y)"``) and kind, with the ``epochs`` that raised it and the first
        ``message``; :meth:`warning_lines` says each in one line.
    meta : dict
        The dump's metadata (empty for arrays and layouts without ``meta.json``).
    source : dict
        The identity of the analysed data: hashes of the dump's metadata, x and y.
    fingerprints : numpy.ndarray
        ``(epochs,)`` content fingerprint of each epoch's data
        (:meth:`mi_toolkit.dumps.Dump.fingerprint`).
    skipped : dict
        Epochs whose file could not be read (``skip_bad=True``) -> why.
    """

    epochs: np.ndarray
    layers: list[str]
    i_xt: np.ndarray
    i_ty: np.ndarray
    i_xt_error: np.ndarray
    i_ty_error: np.ndarray
    saturated: np.ndarray
    units: str
    method: str
    params: dict[str, Any]
    member: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    finished: np.ndarray | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    fingerprints: np.ndarray | None = None
    skipped: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.finished is None:  # a plane saved before `finished` existed
            self.finished = np.isfinite(self.i_xt).all(axis=1) & np.isfinite(self.i_ty).all(axis=1)
        if self.fingerprints is None:
            self.fingerprints = np.full(len(self.epochs), "", dtype="<U32")
        self.skipped = {int(epoch): why for epoch, why in self.skipped.items()}

    @classmethod
    def empty(cls, epochs: Sequence[int], layers: Sequence[str], **info: Any) -> InformationPlane:
        shape = (len(epochs), len(layers))
        nan = np.full(shape, np.nan)
        return cls(
            epochs=np.asarray(epochs, dtype=np.int64),
            layers=list(layers),
            i_xt=nan.copy(),
            i_ty=nan.copy(),
            i_xt_error=nan.copy(),
            i_ty_error=nan.copy(),
            saturated=np.zeros(shape, dtype=bool),
            finished=np.zeros(len(epochs), dtype=bool),
            **info,
        )

    def done(self, row: int) -> bool:
        """Whether one epoch row was analysed (every defined estimate computed)."""
        return bool(self.finished[row])

    def warning_lines(self) -> list[str]:
        """Each collected warning once, with its count.

        For example ``"layer2, I(X;T): clipped in 137 of 274 epochs: <first message>"``.
        Quantities, then layers, with the same warning in the same epochs share one line
        (``"layer1, layer2, I(X;T) and I(T;Y): ..."``).
        """
        total = int(self.finished.sum())
        by_layer: dict[tuple[str, str, tuple[int, ...], str], list[str]] = {}
        for entry in self.warnings:
            key = (entry["layer"], entry["kind"], tuple(entry["epochs"]), entry["message"])
            by_layer.setdefault(key, []).append(entry["quantity"])
        merged: dict[tuple[str, str, tuple[int, ...], str], list[str]] = {}
        for (layer, kind, epochs, message), quantities in by_layer.items():
            merged.setdefault((" and ".join(quantities), kind, epochs, message), []).append(layer)
        return [
            f"{', '.join(layers)}, {quantities}: {kind} in {len(epochs)} of {total} epochs: "
            f"{message}"
            for (quantities, kind, epochs, message), layers in merged.items()
        ]

    def save(self, path: str | os.PathLike) -> None:
        """Write to one ``.npz`` file (arrays plus a JSON header), atomically."""
        header = {
            "layers": self.layers,
            "units": self.units,
            "method": self.method,
            "params": self.params,
            "member": self.member,
            "meta": self.meta,
            "warnings": self.warnings,
            "source": self.source,
            "skipped": {str(epoch): why for epoch, why in self.skipped.items()},
        }
        atomic_savez(
            path,
            {
                "epochs": self.epochs,
                "i_xt": self.i_xt,
                "i_ty": self.i_ty,
                "i_xt_error": self.i_xt_error,
                "i_ty_error": self.i_ty_error,
                "saturated": self.saturated,
                "finished": self.finished,
                "fingerprints": self.fingerprints,
                "header": np.array(json.dumps(header, default=_jsonable)),
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> InformationPlane:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {key: data[key] for key in data.files if key != "header"}
        return cls(**arrays, **header)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Estimator):
        # A nested estimator (compression's default inner) is stored as its method and
        # parameters, so that two settings of it are told apart.
        return {"method": value.name, **value.params()}
    raise TypeError(f"cannot store {type(value).__name__} in the plane's header")


def _as_dump(source: Dump | str | os.PathLike | Mapping[str, np.ndarray]) -> Dump:
    """Accept a Dump, a path to one, or {layer: (epochs, n, d) array}."""
    if isinstance(source, Dump):
        return source
    if isinstance(source, Mapping):
        arrays = {name: np.asarray(a) for name, a in source.items()}
        bad = [name for name, a in arrays.items() if a.ndim != 3]
        if bad:
            raise ValueError(
                f"activations[{bad[0]!r}] must be shaped (epochs, n_samples, n_units); "
                f"got {arrays[bad[0]].shape}"
            )
        n_epochs = {a.shape[0] for a in arrays.values()}
        if len(n_epochs) != 1:
            raise ValueError(f"every layer needs the same number of epochs; got {n_epochs}")
        return Dump(
            layers=list(arrays),
            epochs=list(range(n_epochs.pop())),
            members=1,
            labels=None,
            _load=lambda epoch: {name: a[epoch][None] for name, a in arrays.items()},
        )
    return open_dump(source)


def _inputs_and_labels(dump: Dump, x: Any, y: Any) -> tuple[Variable, Variable]:
    """X and Y validated once, both discrete, for every layer and epoch."""
    labels = dump.labels if y is None else y
    if labels is None:
        raise ValueError(
            "no labels: the dump holds none, so pass y=<labels of the evaluation samples>"
        )
    inputs = x if x is not None else dump.inputs
    # Without the inputs each evaluation sample counts as its own input.
    inputs = np.arange(len(labels)) if inputs is None else inputs
    return prepare_pair(inputs, labels, discrete_x=True, discrete_y=True)


def _hash_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=_jsonable)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _source_identity(dump: Dump, x: Variable, y: Variable) -> dict[str, Any]:
    """What must match for a saved plane to be resumed: the run and the x and y used."""
    stable_meta = {k: v for k, v in dump.meta.items() if k not in _VOLATILE_META}
    return {
        "run": _hash_json(stable_meta),
        "x": _hash_json([x.values.shape, hashlib.blake2b(x.values.data).hexdigest()]),
        "y": _hash_json([y.values.shape, hashlib.blake2b(y.values.data).hexdigest()]),
    }


def _fingerprint(dump: Dump, epoch: int) -> str:
    try:
        return dump.fingerprint(epoch)
    except OSError:
        return ""  # unreadable: reading the epoch reports it


def information_plane(
    activations: Dump | str | os.PathLike | Mapping[str, np.ndarray],
    method: str | Estimator = "binning",
    *,
    x: Any = None,
    y: Any = None,
    units: str = "bits",
    epochs: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    member: int = 0,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    skip_bad: bool = False,
    progress: bool = True,
    **params: Any,
) -> InformationPlane:
    """Compute I(X;T) and I(T;Y) for each recorded layer and epoch.

    Parameters
    ----------
    activations : Dump, str, os.PathLike or mapping
        An activation dump (:class:`mi_toolkit.dumps.Dump` or a path in any layout
        :func:`mi_toolkit.dumps.open_dump` reads), or ``{layer: array (epochs, n, d)}``.
    method : str or Estimator
        The estimator, as for :func:`mi_toolkit.estimate_mi`.
    x, y : array_like, optional
        Inputs and labels of the evaluation samples; default: those stored in the dump.
        Without inputs every sample is its own input.
    units : {"bits", "nats"}
        ``"bits"`` (default, as the information-plane literature plots) or ``"nats"``.
    epochs : sequence of int, optional
        Subset of the recorded epochs to analyse; default all recorded.
    layers : sequence of str, optional
        Subset of the recorded layers to analyse; default all recorded.

    member : int
        Which ensemble member (seed) of the dump to analyse.
    output : str or os.PathLike, optional
        A ``.npz`` file rewritten atomically after every epoch. If it already holds a plane
        of the same analysis (method, parameters, units, member, layers) of the same data
        (dump metadata, x, y and each finished epoch's fingerprint), finished epochs are
        kept and only the rest computed; a plane of anything else is an error.
    overwrite : bool
        Replace ``output`` instead of resuming from it.
    skip_bad : bool
        Leave an epoch whose file cannot be read NaN (recorded in ``skipped``) and go on;
        by default such a file is an error (after saving what was finished).
    progress : bool
        Show a progress bar over epochs (on stderr); ``False`` for quiet.
    **params
        The method's parameters, as for :func:`mi_toolkit.estimate_mi`.


    Returns
    -------
    InformationPlane
        The plane; its collected warnings are also issued once each as
        :class:`~mi_toolkit.MIToolkitWarning` at the end.
    """
    unit_scale(units)
    estimator = build_estimator(method, **params)  # fail on bad parameters before any work
    dump = _as_dump(activations)
    chosen_epochs = list(dump.epochs if epochs is None else epochs)
    chosen_layers = list(dump.layers if layers is None else layers)
    unknown = sorted(set(chosen_layers) - set(dump.layers))
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; recorded layers: {dump.layers}")
    missing = sorted(set(chosen_epochs) - set(dump.epochs))
    if missing:
        raise ValueError(
            f"epoch(s) {missing[:5]} were not recorded; recorded: {dump.epochs[:5]}..."
        )
    if not 0 <= member < dump.members:
        raise ValueError(f"member must be in 0..{dump.members - 1}; got {member}")
    x_var, y_var = _inputs_and_labels(dump, x, y)
    info = {
        "units": units,
        "method": estimator.name,
        "params": estimator.params(),
        "member": member,
        "meta": dump.meta,
        "source": _source_identity(dump, x_var, y_var),
        "fingerprints": np.array([_fingerprint(dump, e) for e in chosen_epochs], dtype="<U32"),
    }
    plane = _resume(output, chosen_epochs, chosen_layers, info, overwrite)
    log = _WarningLog(plane.warnings)
    rows = [r for r in range(len(chosen_epochs)) if not plane.done(r)]
    label = f"information plane ({estimator.name})"
    for row in tqdm(rows, desc=label, unit="epoch", disable=not progress):
        epoch = chosen_epochs[row]
        try:
            arrays = dump.epoch(epoch)
        except BadDumpFile as err:
            if not skip_bad:
                _save(plane, output)
                raise BadDumpFile(
                    f"{err}; run again with --skip-bad (Python: skip_bad=True) to leave "
                    f"epoch {epoch} NaN and finish the others",
                    epoch,
                ) from None
            plane.skipped[epoch] = str(err)
            continue
        for column, layer in enumerate(chosen_layers):
            activation = arrays[layer][member]
            _fill(plane, row, column, activation, x_var, y_var, estimator, log)
        plane.finished[row] = True
        plane.skipped.pop(epoch, None)
        _save(plane, output)
    for line in plane.warning_lines():
        warnings.warn(line, MIToolkitWarning, stacklevel=2)
    return plane


def _save(plane: InformationPlane, output: str | os.PathLike | None) -> None:
    if output is not None:
        plane.save(output)


class _WarningLog:
    """Collects warnings per (layer, quantity, kind) into the plane's ``warnings`` list."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.index = {(e["layer"], e["quantity"], e["kind"]): e for e in entries}

    def add(self, layer: str, quantity: str, epoch: int, kind: str, message: str) -> None:
        key = (layer, quantity, kind)
        entry = self.index.get(key)
        if entry is None:
            entry = {
                "layer": layer,
                "quantity": quantity,
                "kind": kind,
                "epochs": [],
                "message": message,
            }
            self.index[key] = entry
            self.entries.append(entry)
        if epoch not in entry["epochs"]:
            entry["epochs"].append(epoch)


def _undefined_note(quantity: str, method: str, error: UndefinedEstimate) -> str:
    if quantity == I_XT:
        return (
            f"not defined for the continuous method {method!r}: a layer is a deterministic "
            "function of distinct inputs, so each input's class holds one sample; left NaN "
            "(methods 'binning' and 'kde' measure it at a chosen resolution)"
        )
    return f"not defined for method {method!r}: {error}"


def layer_variable(activation: np.ndarray, layer: str, epoch: int, y: Variable) -> Variable:
    """One layer's activations at one epoch, validated as T (X and Y were validated once)."""
    if activation.shape[0] != y.n_samples:
        raise ValueError(
            f"layer {layer!r} at epoch {epoch} has {activation.shape[0]} samples but y has "
            f"{y.n_samples}; x and y must be the evaluation samples the activations were "
            "recorded on"
        )
    return as_variable(activation, "T")


def _as_continuous(x: Variable) -> Variable:
    """X as continuous data, for a method that measures X itself (compression)."""
    return Variable(x.name, np.asarray(x.values, dtype=np.float64), False, x.sample_shape)


def layer_estimates(
    estimator: Estimator, x: Variable, t: Variable, y: Variable, units: str
) -> tuple[MIEstimate | None, MIEstimate | None, list[tuple[str, str, str]]]:
    """I(X;T) and I(T;Y) of one layer through the core's one path, sharing what it can.

    Returns
    -------
    i_xt, i_ty : MIEstimate or None
        None where the quantity is not defined for the method.
    notes : list of (quantity, kind, message)
        Every warning of the two estimates, and a note for each undefined one.
    """
    notes: list[tuple[str, str, str]] = []
    results: list[MIEstimate | None] = []
    if estimator.continuous_inputs and x.discrete:
        x = x.derived("continuous", lambda: _as_continuous(x))
    outcomes = mi_of_layer(estimator, x, t, y, units, emit_warnings=False)
    for quantity, outcome in zip((I_XT, I_TY), outcomes, strict=True):
        if isinstance(outcome, UndefinedEstimate):
            notes.append(
                (quantity, "undefined", _undefined_note(quantity, estimator.name, outcome))
            )
            results.append(None)
        else:
            notes.extend((quantity, getattr(w, "kind", "other"), str(w)) for w in outcome.warnings)
            results.append(outcome)
    return results[0], results[1], notes


def _fill(
    plane: InformationPlane,
    row: int,
    column: int,
    activation: np.ndarray,
    x: Variable,
    y: Variable,
    estimator: Estimator,
    log: _WarningLog,
) -> None:
    layer, epoch = plane.layers[column], int(plane.epochs[row])
    t = layer_variable(activation, layer, epoch, y)
    xt, ty, notes = layer_estimates(estimator, x, t, y, plane.units)
    for quantity, kind, message in notes:
        log.add(layer, quantity, epoch, kind, message)
    for result, value, error in (
        (xt, plane.i_xt, plane.i_xt_error),
        (ty, plane.i_ty, plane.i_ty_error),
    ):
        if result is not None:
            value[row, column] = result.value
            error[row, column] = np.nan if result.standard_error is None else result.standard_error
    plane.saturated[row, column] = xt is not None and xt.saturated


def _resume(
    output: str | os.PathLike | None,
    epochs: list[int],
    layers: list[str],
    info: dict[str, Any],
    overwrite: bool,
) -> InformationPlane:
    fresh = InformationPlane.empty(epochs, layers, **info)
    if output is None or overwrite or not Path(output).exists():
        return fresh
    previous = _load_previous(output)
    _check_same_analysis(output, previous, fresh)
    _check_same_data(output, previous, fresh)
    kept = {int(e): r for r, e in enumerate(previous.epochs) if previous.done(r)}
    for row, epoch in enumerate(epochs):
        if epoch in kept:
            old = kept[epoch]
            for name in ("i_xt", "i_ty", "i_xt_error", "i_ty_error", "saturated", "finished"):
                getattr(fresh, name)[row] = getattr(previous, name)[old]
    for entry in previous.warnings:
        still = [e for e in entry["epochs"] if e in kept and e in epochs]
        if still:
            fresh.warnings.append({**entry, "epochs": still})
    return fresh


def _load_previous(output: str | os.PathLike) -> InformationPlane:
    try:
        return InformationPlane.load(output)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"{output} exists but is not a readable information plane ({err}); {_WHAT_TO_DO}"
        ) from None


def _check_same_analysis(output: Any, previous: InformationPlane, fresh: InformationPlane) -> None:
    same = (
        previous.method == fresh.method
        and previous.units == fresh.units
        and previous.member == fresh.member
        and previous.params == json.loads(json.dumps(fresh.params, default=_jsonable))
        and previous.layers == fresh.layers
    )
    if not same:
        raise ValueError(
            f"{output} holds a plane of another analysis (method {previous.method!r}, "
            f"params {previous.params}, units {previous.units!r}, member {previous.member}, "
            f"layers {previous.layers}); {_WHAT_TO_DO}"
        )


def _check_same_data(output: Any, previous: InformationPlane, fresh: InformationPlane) -> None:
    if not previous.source:
        raise ValueError(
            f"{output} was saved without a record of the dump it came from, so it cannot be "
            f"checked against this one; {_WHAT_TO_DO}"
        )
    differs = [
        name for name in ("run", "x", "y") if previous.source.get(name) != fresh.source[name]
    ]
    if differs:
        what = {"run": "the dump's metadata", "x": "the inputs x", "y": "the labels y"}
        raise ValueError(
            f"{output} holds a plane of another dump ({', '.join(what[d] for d in differs)} "
            f"differ from this one's); {_WHAT_TO_DO}"
        )
    now = dict(zip(fresh.epochs.tolist(), fresh.fingerprints.tolist(), strict=True))
    for row, epoch in enumerate(previous.epochs.tolist()):
        if previous.done(row) and epoch in now and previous.fingerprints[row] != now[epoch]:
            raise ValueError(
                f"{output} holds a plane of another dump: the data of epoch {epoch} differ "
                f"from those the plane was computed from; {_WHAT_TO_DO}"
            )
