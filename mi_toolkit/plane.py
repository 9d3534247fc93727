r"""The information plane: I(X;T) and I(T;Y) for every recorded layer and epoch.

Given recorded activations T of each layer at each epoch (an activation dump, see
:mod:`mi_toolkit.dumps`, or plain arrays), this computes, with any registered method,

.. math::

    I(X;T_\ell^{(e)}) \quad\text{and}\quad I(T_\ell^{(e)};Y)

for every epoch e and layer ℓ, as in Shwartz-Ziv & Tishby (2017) and Saxe et al.
(2018). X is treated as discrete: the evaluation inputs grouped by unique rows, so that
X is uniform over the N distinct samples and no I(X;T) can exceed log N (without the
inputs, each sample counts as distinct). Y is the labels, discrete.

Results are written to disk, if asked, after every epoch, atomically, so that an
interrupted analysis keeps what it finished and resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mi_toolkit._validation import as_variable
from mi_toolkit.api import build_estimator, estimate_mi
from mi_toolkit.dumps import Dump, atomic_savez, open_dump
from mi_toolkit.result import MIToolkitWarning, unit_scale


@dataclass
class InformationPlane:
    """I(X;T) and I(T;Y) per recorded epoch (rows) and layer (columns).

    ``i_xt``, ``i_ty`` and their standard errors are ``(epochs, layers)`` arrays in
    ``units``; entries not yet computed are NaN. ``saturated`` marks I(X;T) estimates at
    the log N ceiling.
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
            **info,
        )

    def done(self, row: int) -> bool:
        """Whether every layer of one epoch row has both estimates."""
        return bool(np.isfinite(self.i_xt[row]).all() and np.isfinite(self.i_ty[row]).all())

    def save(self, path: str | os.PathLike) -> None:
        """Write to one ``.npz`` file (arrays plus a JSON header), atomically."""
        header = {
            "layers": self.layers,
            "units": self.units,
            "method": self.method,
            "params": self.params,
            "member": self.member,
            "meta": self.meta,
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


def _inputs_and_labels(dump: Dump, x: Any, y: Any, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    labels = dump.labels if y is None else np.asarray(y)
    if labels is None:
        raise ValueError(
            "no labels: the dump holds none, so pass y=<labels of the evaluation samples>"
        )
    inputs = x if x is not None else dump.inputs
    # Without the inputs each evaluation sample counts as its own input.
    inputs = np.arange(n_samples) if inputs is None else np.asarray(inputs)
    for name, array in (("x", inputs), ("y", labels)):
        if len(array) != n_samples:
            raise ValueError(
                f"{name} has {len(array)} samples but the activations have {n_samples}"
            )
    # X is the same for every layer and epoch: group its rows once, then pass the labels.
    input_groups, _ = as_variable(inputs, "x", discrete=True).groups()
    return input_groups, labels


def information_plane(
    activations: Dump | str | os.PathLike | Mapping[str, np.ndarray],
    method: str = "binning",
    *,
    x: Any = None,
    y: Any = None,
    units: str = "bits",
    epochs: Sequence[int] | None = None,
    layers: Sequence[str] | None = None,
    member: int = 0,
    output: str | os.PathLike | None = None,
    progress: bool = True,
    **params: Any,
) -> InformationPlane:
    """Compute I(X;T) and I(T;Y) for each recorded layer and epoch.

    Parameters
    ----------
    activations:
        An activation dump (:class:`mi_toolkit.dumps.Dump` or a path in any layout
        :func:`mi_toolkit.dumps.open_dump` reads), or ``{layer: array (epochs, n, d)}``.
    method, params:
        The estimator and its parameters, as for :func:`mi_toolkit.estimate_mi`.
    x, y:
        Inputs and labels of the evaluation samples; default: those stored in the dump.
        Without inputs every sample is its own input.
    units:
        ``"bits"`` (default, as the information-plane literature plots) or ``"nats"``.
    epochs, layers:
        Subsets to analyse; default all recorded.
    member:
        Which ensemble member (seed) of the dump to analyse.
    output:
        If given, a ``.npz`` file rewritten atomically after every epoch. If it already
        holds a plane for the same method, parameters and member, finished epochs are kept
        and only the rest computed.
    progress:
        Show a progress bar over epochs (on stderr); ``False`` for quiet.
    """
    unit_scale(units)
    estimator = build_estimator(method, **params)  # fail on bad parameters before any work
    dump = _as_dump(activations)
    chosen_epochs = list(dump.epochs if epochs is None else epochs)
    chosen_layers = list(dump.layers if layers is None else layers)
    unknown = sorted(set(chosen_layers) - set(dump.layers))
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; recorded layers: {dump.layers}")
    if not 0 <= member < dump.members:
        raise ValueError(f"member must be in 0..{dump.members - 1}; got {member}")
    info = {"units": units, "method": method, "params": estimator.params(), "member": member}
    plane = _resume(output, chosen_epochs, chosen_layers, info)
    n_samples = dump.activations(chosen_epochs[0], chosen_layers[0], member).shape[0]
    inputs, labels = _inputs_and_labels(dump, x, y, n_samples)
    rows = [r for r in range(len(chosen_epochs)) if not plane.done(r)]
    for row in tqdm(rows, desc=f"information plane ({method})", unit="epoch", disable=not progress):
        arrays = dump.epoch(chosen_epochs[row])
        for column, layer in enumerate(chosen_layers):
            _fill(plane, row, column, arrays[layer][member], inputs, labels, method, units, params)
        if output is not None:
            plane.save(output)
    return plane


def _fill(
    plane: InformationPlane,
    row: int,
    column: int,
    activation: np.ndarray,
    inputs: np.ndarray,
    labels: np.ndarray,
    method: str,
    units: str,
    params: dict[str, Any],
) -> None:
    with warnings.catch_warnings():
        # Saturation is expected in early layers; it is recorded in plane.saturated.
        warnings.simplefilter("ignore", MIToolkitWarning)
        xt = estimate_mi(inputs, activation, method, units=units, discrete_x=True, **params)
        ty = estimate_mi(activation, labels, method, units=units, discrete_y=True, **params)
    plane.i_xt[row, column] = xt.value
    plane.i_ty[row, column] = ty.value
    plane.i_xt_error[row, column] = np.nan if xt.standard_error is None else xt.standard_error
    plane.i_ty_error[row, column] = np.nan if ty.standard_error is None else ty.standard_error
    plane.saturated[row, column] = xt.saturated


def _resume(
    output: str | os.PathLike | None,
    epochs: list[int],
    layers: list[str],
    info: dict[str, Any],
) -> InformationPlane:
    fresh = InformationPlane.empty(epochs, layers, **info)
    if output is None or not Path(output).exists():
        return fresh
    previous = InformationPlane.load(output)
    same_run = (
        previous.method == info["method"]
        and previous.units == info["units"]
        and previous.member == info["member"]
        and previous.params == json.loads(json.dumps(info["params"], default=_jsonable))
        and previous.layers == layers
    )
    if not same_run:
        raise ValueError(
            f"{output} holds a plane of another analysis (method {previous.method!r}, "
            f"params {previous.params}); pass a new output path or delete it"
        )
    done = {int(e): r for r, e in enumerate(previous.epochs) if previous.done(r)}
    for row, epoch in enumerate(epochs):
        if epoch in done:
            old = done[epoch]
            for name in ("i_xt", "i_ty", "i_xt_error", "i_ty_error", "saturated"):
                getattr(fresh, name)[row] = getattr(previous, name)[old]
    return fresh
