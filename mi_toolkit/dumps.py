"""Activation dumps: the on-disk format of recorded layer activations over training.

``mi_toolkit.nets`` writes it; the analysis side reads it. It lives in the core because
both sides use it and the core never imports ``nets``. Everything is readable with numpy
and the standard library alone.

Notes
-----
Layout of a dump (a directory)::

    run/
      meta.json            what was run (see below); "complete": true once finished
      data.npz             the evaluation samples: y (n,), and where present x (n, d),
                           indices (n,) into the data set, is_train (n,) bool
      epoch_000000.npz     one file per recorded epoch, arrays:
                             act/<layer>       (R, n, d) float32 activations of layer
                                               <layer> for the R ensemble members (seeds)
                             <metric>          (R,) float, e.g. train_loss, test_accuracy,
                                               grad_mean/<layer>, grad_std/<layer>
      epoch_000007.npz     ...
      checkpoint.pt        (optional, written by nets) state to resume training

``meta.json`` holds at least ``format`` (``"mi-toolkit-dump"``), ``format_version``,
``layers`` (names in forward order), ``members`` (R), ``epochs`` (the epochs planned for
recording), ``complete`` and ``versions``; ``nets`` adds ``dataset``, ``architecture``,
``activation``, ``seeds`` and its full training configuration.

Every file is written to a temporary name in the same directory (``.<name>.tmp``) and
moved into place with :func:`os.replace`, which is atomic. So a crash leaves either the
previous state or the new one, never a half-written file under a final name; readers
ignore temporary names, and an epoch is present exactly when its file is. ``complete``
turns true only after the last epoch file is in place.

Other layouts :func:`open_dump` reads:

* A directory of per-epoch ``.npz`` files without ``meta.json``: each file holds one
  array per layer, ``(n, d)`` or ``(R, n, d)``; the epoch is the last integer in the file
  name (``epoch12.npz``, ``acts_0012.npz``). Optional arrays ``y``/``labels`` give labels.
* A single ``.npz`` file of arrays shaped ``(epochs, n, d)``, one per layer, with an
  optional ``epochs`` array (else 0, 1, 2, ...) and optional ``y``/``labels``.

Layers may be given with a prefix ``act/`` in both; every other array with a layer's
shape rules is taken as a layer.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

FORMAT_NAME = "mi-toolkit-dump"
FORMAT_VERSION = 1
_EPOCH_FILE = re.compile(r"^epoch_(\d+)\.npz$")
_LABEL_KEYS = ("y", "labels")
# The tail of an .npz (a zip) holds its central directory: the CRC-32 of every array.
_FINGERPRINT_TAIL_BYTES = 64 * 1024
# What reading a truncated or corrupt file raises.
_UNREADABLE = (OSError, EOFError, ValueError, zipfile.BadZipFile)
# The header numpy writes for a plain C-ordered array, e.g.
# {'descr': '<f4', 'fortran_order': False, 'shape': (1, 4096, 10), }
_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=][a-z]\d+)', 'fortran_order': False, 'shape': \(([\d, ]*)\), \}\s*$"
)


class BadDumpFile(ValueError):
    """A file of a dump cannot be read (truncated, corrupt, unreadable).

    The message names the file and, for an epoch file, the epoch; ``epoch`` is that
    epoch or None.
    """

    def __init__(self, message: str, epoch: int | None = None) -> None:
        super().__init__(message)
        self.epoch = epoch


def _npy_from_bytes(data: bytes) -> np.ndarray:
    """One ``.npy`` member of an archive, as :func:`numpy.load` reads it.

    The usual header (a little dict literal) is read with a pattern instead of
    numpy's literal parser, which took 80 % of the time of reading a dump's epoch of
    22 small arrays; any other header goes to numpy.
    """
    if data[:6] == b"\x93NUMPY" and data[6] in (1, 2, 3):
        size_bytes = 2 if data[6] == 1 else 4
        length = int.from_bytes(data[8 : 8 + size_bytes], "little")
        start = 8 + size_bytes + length
        match = _NPY_HEADER.match(data[8 + size_bytes : start].decode("latin1"))
        if match is not None:
            dtype = np.dtype(match.group(1))
            shape = tuple(int(n) for n in match.group(2).replace(",", " ").split())
            count = math.prod(shape)
            if not dtype.hasobject and len(data) - start == count * dtype.itemsize:
                # bytearray: a writable copy, as numpy.load returns.
                array = np.frombuffer(bytearray(data[start:]), dtype=dtype, count=count)
                return array.reshape(shape)
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


#: Files up to this size are read whole and their members taken from memory.
_READ_WHOLE_BYTES = 4 * 2**20


def _zip_archive(path: Path) -> zipfile.ZipFile:
    """The archive at ``path``, from memory when the file is small.

    One read of a small file, then its members from memory, is 20 % faster than seeking
    member by member (an epoch of one run is 22 small arrays); a large file (an ensemble's
    epoch, tens of MB) is read member by member, which saves a copy of it.
    """
    if path.stat().st_size > _READ_WHOLE_BYTES:
        return zipfile.ZipFile(path)
    with open(path, "rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def _read_npz(
    path: Path, epoch: int | None = None, skip: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Every array of an .npz file (but those whose names start with one of ``skip``), or
    :class:`BadDumpFile` naming the file."""
    try:
        with _zip_archive(path) as archive:
            # ZipFile.read checks each member's CRC-32, as numpy.load does.
            return {
                name.removesuffix(".npy"): _npy_from_bytes(archive.read(name))
                for name in archive.namelist()
                if not name.startswith(skip)
            }
    except _UNREADABLE as err:
        where = f"epoch {epoch}: " if epoch is not None else ""
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise BadDumpFile(
            f"{where}cannot read {path} ({reason}); the file is truncated or corrupt "
            "(e.g. written by an interrupted copy)",
            epoch,
        ) from None


def file_fingerprint(path: str | os.PathLike) -> str:
    """A cheap content fingerprint of one file: its size and a hash of its last 64 KiB.

    For an ``.npz`` the tail is the zip's central directory, which holds the CRC-32 of
    every array, so two files with different arrays differ here without reading them.
    """
    path = Path(path)
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, size - _FINGERPRINT_TAIL_BYTES))
        digest.update(size.to_bytes(8, "little"))
        digest.update(stream.read())
    return digest.hexdigest()


def array_fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """A content hash of named arrays (names, shapes, dtypes and bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.data)
    return digest.hexdigest()


def epoch_filename(epoch: int) -> str:
    """Name of the file of one recorded epoch, e.g. ``epoch_000042.npz``."""
    return f"epoch_{epoch:06d}.npz"


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open ``path`` for writing so that the file is either old, or new and whole.

    The bytes go to ``.<name>.tmp`` beside it and are flushed to disk; only when the
    block ends without an error does the temporary file replace ``path``, with
    :func:`os.replace` (atomic on POSIX and Windows). On an error it is removed.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as stream:
        stream.write(payload)


def atomic_savez(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """:func:`numpy.savez` made atomic (see :func:`atomic_file`)."""
    with atomic_file(path) as stream:
        np.savez(stream, **{name: np.asarray(value) for name, value in arrays.items()})


def library_versions() -> dict[str, str]:
    """Versions of Python, numpy and mi-toolkit, recorded in every dump."""
    from mi_toolkit import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "mi_toolkit": __version__}


class DumpWriter:
    """Write a dump directory epoch by epoch (layout in the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The run directory; created if missing.
    layers : sequence of str
        Layer names in forward order.
    members : int
        R, the number of ensemble members (seeds) in each array.
    epochs : sequence of int
        The epochs planned for recording.
    meta : mapping or None
        Further metadata (JSON-serialisable): dataset, architecture, seeds, config...
    resume : bool
        Keep epoch files already in ``path`` (they must come from the same run);
        otherwise an existing dump there is an error.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        layers: Sequence[str],
        members: int,
        epochs: Sequence[int],
        meta: Mapping[str, Any] | None = None,
        *,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            **dict(meta or {}),
            "layers": list(layers),
            "members": int(members),
            "epochs": [int(e) for e in epochs],
            "complete": False,
        }
        self.meta.setdefault("versions", {}).update(library_versions())
        meta_path = self.path / "meta.json"
        if meta_path.exists():
            if not resume:
                raise FileExistsError(
                    f"{self.path} already holds a dump; choose another directory or resume"
                )
            self._check_same_run(json.loads(meta_path.read_text()))
        self._write_meta()

    def _check_same_run(self, old: dict[str, Any]) -> None:
        for key in ("layers", "members", "epochs", "config"):
            if key in self.meta and old.get(key) != self.meta[key]:
                raise ValueError(
                    f"cannot resume {self.path}: its {key!r} differs from this run's "
                    f"({old.get(key)!r} vs {self.meta[key]!r})"
                )

    def _write_meta(self) -> None:
        text = json.dumps(self.meta, indent=1, sort_keys=True)
        atomic_write_bytes(self.path / "meta.json", text.encode())

    def write_data(self, y: np.ndarray, **arrays: np.ndarray) -> None:
        """Store the evaluation samples' labels ``y`` and optional ``x``, ``indices``..."""
        atomic_savez(self.path / "data.npz", {"y": y, **arrays})

    def write_epoch(
        self,
        epoch: int,
        activations: Mapping[str, np.ndarray],
        metrics: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Store one epoch: activations ``(R, n, d)`` per layer and ``(R,)`` metrics."""
        missing = set(self.meta["layers"]) - set(activations)
        if missing:
            raise ValueError(f"epoch {epoch}: no activations for layers {sorted(missing)}")
        arrays = {f"act/{name}": np.asarray(a, dtype=np.float32) for name, a in activations.items()}
        for name, value in (metrics or {}).items():
            arrays[name] = np.asarray(value, dtype=np.float64)
        atomic_savez(self.path / epoch_filename(epoch), arrays)

    def finish(self, **extra: Any) -> None:
        """Mark the dump complete (after the last epoch), adding ``extra`` metadata."""
        self.meta.update(extra)
        self.meta["complete"] = True
        self._write_meta()


def _epoch_files(directory: Path) -> tuple[list[int], dict[int, Path]]:
    files = {}
    for entry in directory.iterdir():
        match = _EPOCH_FILE.match(entry.name)
        if match:
            files[int(match.group(1))] = entry
    return sorted(files), files


@dataclass
class Dump:
    """Recorded activations, read by :func:`open_dump`.

    An epoch file that cannot be read raises :class:`BadDumpFile` naming it.

    Attributes
    ----------
    layers : list of str
        Layer names in forward order.
    epochs : list of int
        The recorded epochs available, sorted.
    members : int
        Number of ensemble members R.
    labels : numpy.ndarray or None
        Labels of the evaluation samples, or None.
    meta : dict
        Metadata (empty for layouts without ``meta.json``).
    inputs : numpy.ndarray or None
        Inputs of the evaluation samples, or None.
    """

    layers: list[str]
    epochs: list[int]
    members: int
    labels: np.ndarray | None
    meta: dict[str, Any] = field(default_factory=dict)
    inputs: np.ndarray | None = None
    _load: Any = field(default=None, repr=False)
    _fingerprint: Any = field(default=None, repr=False)
    _load_without_gradients: Any = field(default=None, repr=False)

    def activations(self, epoch: int, layer: str, member: int = 0) -> np.ndarray:
        """Activations ``(n, d)`` of ``layer`` at ``epoch`` for one ensemble member."""
        return self.epoch(epoch)[layer][member]

    def epoch(self, epoch: int, gradients: bool = True) -> dict[str, np.ndarray]:
        """All arrays of one epoch: layers as ``(R, n, d)``, metrics as ``(R,)``.

        ``gradients=False`` may leave the per-layer gradient statistics unread: half of
        the reading time of a plane, which does not use them.
        """
        if epoch not in self.epochs:
            raise KeyError(f"epoch {epoch} was not recorded; recorded: {_summary(self.epochs)}")
        if not gradients and self._load_without_gradients is not None:
            return self._load_without_gradients(epoch)
        return self._load(epoch)

    def fingerprint(self, epoch: int) -> str:
        """A content fingerprint of one epoch's data, cheap to compute.

        Two dumps whose epoch differs in any array have different fingerprints (for a
        file, up to a collision of the CRC-32s the zip stores for each array). Files are
        fingerprinted from their size and tail (:func:`file_fingerprint`), arrays in
        memory by hashing them.
        """
        if epoch not in self.epochs:
            raise KeyError(f"epoch {epoch} was not recorded; recorded: {_summary(self.epochs)}")
        if self._fingerprint is None:
            return array_fingerprint(self._load(epoch))
        return self._fingerprint(epoch)

    def metric(self, name: str) -> np.ndarray:
        """One metric over the recorded epochs, shape ``(epochs, R)``."""
        return np.stack([self.epoch(e)[name] for e in self.epochs])

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete", True))


def _summary(epochs: Sequence[int]) -> str:
    return ", ".join(map(str, epochs[:5])) + (" ..." if len(epochs) > 5 else "")


def open_dump(path: str | os.PathLike) -> Dump:
    """Open recorded activations in any of the layouts of the module docstring."""
    path = Path(path)
    if path.is_file():
        return _open_single_npz(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no dump at {path}")
    if (path / "meta.json").exists():
        return _open_dump_dir(path)
    return _open_npz_dir(path)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / "meta.json").read_text())
    except json.JSONDecodeError as err:
        raise BadDumpFile(
            f"{path / 'meta.json'} is not valid JSON ({err}); the dump's metadata is damaged: "
            "restore it, or train the run again"
        ) from None


def _open_dump_dir(path: Path) -> Dump:
    meta = _read_meta(path)
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}/meta.json is not a {FORMAT_NAME} file")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {meta['format_version']}; this mi-toolkit reads up "
            f"to {FORMAT_VERSION}: upgrade mi-toolkit"
        )
    epochs, files = _epoch_files(path)
    labels = inputs = None
    if (path / "data.npz").exists():
        data = _read_npz(path / "data.npz")
        labels = data.get("y")
        inputs = data.get("x")

    def load(epoch: int, skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        return {_strip(k): a for k, a in _read_npz(files[epoch], epoch, skip).items()}

    def fingerprint(epoch: int) -> str:
        return file_fingerprint(files[epoch])

    return Dump(
        meta["layers"],
        epochs,
        meta["members"],
        labels,
        meta,
        inputs,
        load,
        fingerprint,
        lambda epoch: load(epoch, _GRADIENT_PREFIXES),
    )


#: Names of the per-layer gradient statistics in an epoch file.
_GRADIENT_PREFIXES = ("grad_mean/", "grad_std/")


def _strip(key: str) -> str:
    return key[4:] if key.startswith("act/") else key


def _open_npz_dir(path: Path) -> Dump:
    files: dict[int, Path] = {}
    for entry in path.glob("*.npz"):
        numbers = re.findall(r"\d+", entry.stem)
        if not numbers:
            raise ValueError(f"{entry}: per-epoch file names must contain the epoch number")
        epoch = int(numbers[-1])
        if epoch in files:
            raise ValueError(f"{path}: both {files[epoch].name} and {entry.name} are epoch {epoch}")
        files[epoch] = entry
    if not files:
        raise ValueError(f"{path} holds neither meta.json nor per-epoch .npz files")
    epochs = sorted(files)
    first = _read_npz(files[epochs[0]], epochs[0])
    labels = next((first[k] for k in _LABEL_KEYS if k in first), None)
    layers = [_strip(k) for k in first if k not in _LABEL_KEYS]

    def load(epoch: int) -> dict[str, np.ndarray]:
        return {
            _strip(k): _with_members(array, f"{files[epoch].name}:{k}")
            for k, array in _read_npz(files[epoch], epoch).items()
            if k not in _LABEL_KEYS
        }

    def fingerprint(epoch: int) -> str:
        return file_fingerprint(files[epoch])

    members = next(iter(load(epochs[0]).values())).shape[0]
    return Dump(layers, epochs, members, labels, {}, None, load, fingerprint)


def _with_members(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim == 2:
        return array[None]
    if array.ndim == 3:
        return array
    raise ValueError(f"{where}: a layer must be (n, d) or (R, n, d); got shape {array.shape}")


def _open_single_npz(path: Path) -> Dump:
    contents = _read_npz(path)
    labels = next((contents.pop(k) for k in _LABEL_KEYS if k in contents), None)
    epoch_values = contents.pop("epochs", None)
    layers = {}
    for key, array in contents.items():
        if array.ndim != 3:
            raise ValueError(f"{path}:{key}: expected (epochs, n, d); got shape {array.shape}")
        layers[_strip(key)] = array
    if not layers:
        raise ValueError(f"{path} holds no (epochs, n, d) arrays")
    lengths = {a.shape[0] for a in layers.values()}
    if len(lengths) != 1:
        raise ValueError(f"{path}: layers disagree on the number of epochs: {sorted(lengths)}")
    n_epochs = lengths.pop()
    epochs = list(range(n_epochs)) if epoch_values is None else [int(e) for e in epoch_values]
    if len(epochs) != n_epochs:
        raise ValueError(f"{path}: 'epochs' has {len(epochs)} entries for {n_epochs} epochs")
    position = {e: i for i, e in enumerate(epochs)}

    def load(epoch: int) -> dict[str, np.ndarray]:
        return {name: array[position[epoch]][None] for name, array in layers.items()}

    return Dump(list(layers), sorted(epochs), 1, labels, {}, None, load)
