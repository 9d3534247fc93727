"""Labelled data sets for training networks: the 12-bit task, digits, MNIST from files.

Every loader returns a :class:`LabelledData` with inputs ``x`` as float32 ``(n, d)`` rows
(images flattened, their shape kept in ``image_shape``) and integer labels ``y`` of shape
``(n,)``. Nothing is downloaded: digits ship with scikit-learn, MNIST and the original
12-bit file are read from paths the user gives.

Notes
-----
The 12-bit task. Shwartz-Ziv & Tishby (2017, "Opening the black box of deep neural networks via
information", arXiv:1703.00810) train on all 4096 patterns of 12 bits, labelled by a
rotation-invariant function of the bits placed on the 12 vertices of an icosahedron. Their
file ``var_u.mat`` is not redistributable, so :func:`twelve_bit_task` builds an equivalent
with a function of our own. With the bits x_i on the vertices, let

* k = Σ_i x_i, the number of ones,
* e = Σ_{edges (i,j)} x_i x_j, the edges (30) whose two ends are both one,
* t = Σ_{faces (i,j,l)} x_i x_j x_l, the triangular faces (20) that are all ones,
* p = Σ_{antipodal (i,j)} x_i x_j, the antipodal pairs (6) that are both one.

The label is ``y = 1[f(x) > 18]`` with ``f = 5k − 2e + 2t − p``. Each of k, e, t, p counts
subsets of vertices that the symmetries of the icosahedron map onto each other, so f is
invariant under all 120 of them (rotations and reflections). The weights and threshold
were chosen by a small integer search so that, per number of ones, the fraction of label 1
matches the original data (ours / original): 0 / 0 up to 4 ones, 60 / 60 of 792 at 5
ones (0.076), 524 / 532 of 924 at 6 (0.567 / 0.576), 732 / 732 of 792 at 7 (0.924), and
all from 8 ones. So P(y = 1) = 2110/4096 = 0.5151 (original 0.5171) and, y being a
function of x, I(X;Y) = H(Y) = 0.99934 bits.
"""

from __future__ import annotations

import gzip
import itertools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mi_toolkit.synthetic.discrete import all_bit_patterns

# f = 5k − 2e + 2t − p > 18 (see the module docstring).
_TWELVE_BIT_WEIGHTS = (5, -2, 2, -1)
_TWELVE_BIT_THRESHOLD = 18


@dataclass(frozen=True)
class LabelledData:
    """Inputs and class labels of a data set.

    Attributes
    ----------
    x : numpy.ndarray of float32, shape (n, d)
        Inputs, one row per sample; images are flattened row by row.
    y : numpy.ndarray of int64, shape (n,)
        Class labels 0 .. n_classes − 1.
    name, description : str
        What the data is and where it comes from.
    image_shape : tuple of int or None
        (height, width) of each image when the rows are images.
    indices : numpy.ndarray of int64, shape (n,), or None
        Rows of the parent data set these samples were taken from (set by
        :func:`train_test_split`), so recorded activations can be matched back.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    description: str
    image_shape: tuple[int, int] | None = None
    indices: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(
                f"x must be (n, d) and y (n,) with the same n; got {self.x.shape} and "
                f"{self.y.shape}"
            )

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1 if len(self.y) else 0

    def __len__(self) -> int:
        return len(self.y)


def icosahedron_graph() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, edges, faces and antipodal pairs of the regular icosahedron.

    Vertex order is the one the 12-bit task puts its bits on: the cyclic permutations of
    (0, ±1, ±φ), φ the golden ratio.

    Returns
    -------
    vertices : numpy.ndarray
        (12, 3) float coordinates.
    edges : numpy.ndarray
        (30, 2) int vertex indices.
    faces : numpy.ndarray
        (20, 3) int vertex indices.
    antipodes : numpy.ndarray
        (6, 2) int vertex indices.
    """
    phi = (1 + 5**0.5) / 2
    vertices = np.array(
        [
            point
            for a, b in itertools.product((-1.0, 1.0), repeat=2)
            for point in ((0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a))
        ]
    )
    distance = np.linalg.norm(vertices[:, None] - vertices[None], axis=2)
    # Neighbours are the pairs at the shortest distance, 2 for this embedding.
    adjacent = np.isclose(distance, 2.0)
    edges = np.argwhere(np.triu(adjacent))
    faces = np.array(
        [
            tri
            for tri in itertools.combinations(range(12), 3)
            if adjacent[tri[0], tri[1]] and adjacent[tri[0], tri[2]] and adjacent[tri[1], tri[2]]
        ]
    )
    antipodes = np.argwhere(np.triu(np.isclose(vertices[:, None], -vertices[None]).all(axis=2)))
    return vertices, edges, faces, antipodes


def twelve_bit_score(bits: np.ndarray) -> np.ndarray:
    """The icosahedral invariant f = 5k − 2e + 2t − p of 12-bit rows (module docstring)."""
    bits = np.asarray(bits, dtype=np.int64)
    if bits.ndim != 2 or bits.shape[1] != 12:
        raise ValueError(f"bits must be an (n, 12) array of 0/1; got shape {bits.shape}")
    _, edges, faces, antipodes = icosahedron_graph()
    k = bits.sum(axis=1)
    e = (bits[:, edges[:, 0]] * bits[:, edges[:, 1]]).sum(axis=1)
    t = (bits[:, faces[:, 0]] * bits[:, faces[:, 1]] * bits[:, faces[:, 2]]).sum(axis=1)
    p = (bits[:, antipodes[:, 0]] * bits[:, antipodes[:, 1]]).sum(axis=1)
    wk, we, wt, wp = _TWELVE_BIT_WEIGHTS
    return wk * k + we * e + wt * t + wp * p


def twelve_bit_task() -> LabelledData:
    """All 4096 patterns of 12 bits with the icosahedral label of Shwartz-Ziv & Tishby.

    ``y = 1[5k − 2e + 2t − p > 18]``, with P(y=1) = 0.5151 and I(X;Y) = H(Y) = 0.99934
    bits; see the module docstring for the function and how it matches the original.
    Rows are in counting order (row i holds the binary digits of i, most significant first).
    """
    bits = all_bit_patterns(12)
    y = (twelve_bit_score(bits) > _TWELVE_BIT_THRESHOLD).astype(np.int64)
    return LabelledData(
        bits.astype(np.float32),
        y,
        "12bit",
        "12-bit patterns labelled by an icosahedral invariant (Shwartz-Ziv & Tishby 2017)",
    )


def load_var_u(path: str | os.PathLike) -> LabelledData:
    """Load the original 12-bit data set ``var_u.mat`` (fields ``F`` and ``y``).

    Parameters
    ----------
    path : str or os.PathLike
        Path to the MATLAB file of Shwartz-Ziv & Tishby, ``F`` of shape (4096, 12) with
        0/1 entries and ``y`` of 4096 labels (any of the shapes (1, n), (n, 1), (n,)).
    """
    from scipy.io import loadmat

    contents = loadmat(os.fspath(path))
    missing = {"F", "y"} - set(contents)
    if missing:
        raise ValueError(f"{path}: expected fields F and y in the .mat file; missing {missing}")
    x = np.asarray(contents["F"])
    y = np.asarray(contents["y"]).ravel()
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"{path}: F must be (n, d) with n = len(y); got {x.shape}, {y.shape}")
    return LabelledData(
        x.astype(np.float32),
        y.astype(np.int64),
        "var_u",
        f"original 12-bit data of Shwartz-Ziv & Tishby, read from {Path(path).name}",
    )


def train_test_split(
    data: LabelledData, train_fraction: float = 0.8, seed: int = 0
) -> tuple[LabelledData, LabelledData]:
    """Stratified random split into train and test sets.

    The train set holds ``round(train_fraction · n)`` samples; each class contributes its
    share ``train_fraction · n_c`` rounded by largest remainders, so class proportions are
    the same in both parts up to one sample. Both parts carry ``indices`` into ``data``.
    With the 12-bit task and the default 0.8 this gives the 3277 training samples used by
    Shwartz-Ziv & Tishby and Lorenzen et al.

    Parameters
    ----------
    data : LabelledData
        The data set to split.
    train_fraction : float
        Share of the samples in the train set, strictly between 0 and 1.
    seed : int
        Seed of the random draw of each class's train samples.

    Returns
    -------
    train : LabelledData
        The train part, named ``<name>-train``.
    test : LabelledData
        The rest, named ``<name>-test``.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be strictly between 0 and 1; got {train_fraction}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(data.y, return_counts=True)
    n_train = _largest_remainder(counts * train_fraction, round(train_fraction * len(data)))
    train_rows, test_rows = [], []
    for label, take in zip(classes, n_train, strict=True):
        rows = rng.permutation(np.flatnonzero(data.y == label))
        train_rows.append(rows[:take])
        test_rows.append(rows[take:])
    train_idx = np.sort(np.concatenate(train_rows))
    test_idx = np.sort(np.concatenate(test_rows))
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise ValueError(
            f"train_fraction={train_fraction} leaves an empty part of {len(data)} samples"
        )
    return _subset(data, train_idx, "train"), _subset(data, test_idx, "test")


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(shares).astype(np.int64)
    extra = total - base.sum()
    base[np.argsort(-(shares - base), kind="stable")[:extra]] += 1
    return base


def _subset(data: LabelledData, rows: np.ndarray, part: str) -> LabelledData:
    parent = data.indices if data.indices is not None else np.arange(len(data))
    return replace(
        data,
        x=data.x[rows],
        y=data.y[rows],
        name=f"{data.name}-{part}",
        indices=parent[rows].astype(np.int64),
    )


def load_digits() -> LabelledData:
    """scikit-learn's 1797 8×8 handwritten digits, pixels scaled to [0, 1].

    The UCI optical digits (Alpaydin & Kaynak 1998) as shipped with scikit-learn, so it
    works offline. Ten classes.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return LabelledData(
        (bunch.data / 16.0).astype(np.float32),
        bunch.target.astype(np.int64),
        "digits",
        "scikit-learn 8×8 digits (UCI optical recognition of handwritten digits)",
        image_shape=(8, 8),
    )


# IDX type codes (LeCun's MNIST format) -> big-endian numpy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
    big-endian uint32, then the data in C order, big-endian.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    shape = tuple(int(s) for s in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header announces shape {shape} ({expected} bytes) but "
            f"{len(raw) - header} bytes follow; the file is truncated or corrupt"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def load_mnist(path: str | os.PathLike, subset: str = "train") -> LabelledData:
    """MNIST from files the user provides; pixels scaled to [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        A directory holding the four standard IDX files
        (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``, each optionally ending in ``.gz``), or an ``.npz`` file
        with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test`` (the Keras layout).
    subset : str
        ``"train"``, ``"test"`` or ``"all"`` (train rows first).
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}")
    parts = ("train", "test") if subset == "all" else (subset,)
    path = Path(path)
    pairs = [_mnist_npz(path, part) if path.is_file() else _mnist_idx(path, part) for part in parts]
    images = np.concatenate([images for images, _ in pairs])
    labels = np.concatenate([labels for _, labels in pairs])
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(
            f"{path}: expected images (n, h, w) and n labels; got {images.shape}, {labels.shape}"
        )
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return LabelledData(
        (images.reshape(len(images), -1) / scale).astype(np.float32),
        labels.astype(np.int64),
        f"mnist-{subset}",
        f"MNIST {subset} set read from {path.name}",
        image_shape=(int(images.shape[1]), int(images.shape[2])),
    )


def _mnist_idx(directory: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    if not directory.is_dir():
        raise ValueError(f"MNIST path {directory} is neither an .npz file nor a directory")
    found = []
    for stem in _MNIST_FILES[part]:
        candidates = [directory / stem, directory / f"{stem}.gz"]
        existing = [c for c in candidates if c.exists()]
        if not existing:
            raise FileNotFoundError(f"{directory}: no {stem} or {stem}.gz (MNIST {part} set)")
        found.append(read_idx(existing[0]))
    return found[0], found[1]


def _mnist_npz(path: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as arrays:
        keys = (f"x_{part}", f"y_{part}")
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}; found {sorted(arrays.files)}")
        return arrays[keys[0]], arrays[keys[1]]
