"""The labelled data sets: the 12-bit task, its split, digits and MNIST from files."""

import gzip

import numpy as np
import pytest
import scipy.io

from mi_toolkit.synthetic import (
    load_digits,
    load_mnist,
    load_var_u,
    read_idx,
    train_test_split,
    twelve_bit_task,
)
from mi_toolkit.synthetic.datasets import icosahedron_graph, twelve_bit_score


@pytest.fixture(scope="module")
def twelve():
    return twelve_bit_task()


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _vertex_permutation(vertices: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    moved = vertices @ matrix.T
    match = np.isclose(moved[:, None], vertices[None]).all(axis=2)
    assert (match.sum(axis=1) == 1).all(), "not a symmetry of the icosahedron"
    return match.argmax(axis=1)


def test_icosahedron_has_the_right_counts():
    vertices, edges, faces, antipodes = icosahedron_graph()
    assert (len(vertices), len(edges), len(faces), len(antipodes)) == (12, 30, 20, 6)
    degree = np.bincount(edges.ravel(), minlength=12)
    assert (degree == 5).all()


def test_label_is_invariant_under_the_rotation_group(twelve):
    vertices, _, faces, _ = icosahedron_graph()
    # A 5-fold turn about a vertex and a 3-fold turn about a face centre generate the
    # 60 rotations; invariance under both means invariance under all.
    generators = [
        _rotation(vertices[0], 2 * np.pi / 5),
        _rotation(vertices[faces[0]].mean(axis=0), 2 * np.pi / 3),
    ]
    bits = twelve.x.astype(np.int64)
    for matrix in generators:
        perm = _vertex_permutation(vertices, matrix)
        assert sorted(perm) == list(range(12))
        # Moving bits along the rotation gives another pattern with the same label.
        rotated = np.empty_like(bits)
        rotated[:, perm] = bits
        codes = rotated @ (1 << np.arange(11, -1, -1))
        np.testing.assert_array_equal(twelve.y[codes], twelve.y)
    # A function of popcount alone would also pass; the score is not one.
    k = bits.sum(axis=1)
    assert len(np.unique(twelve_bit_score(bits)[k == 6])) > 1


def test_label_statistics_match_the_original(twelve):
    k = twelve.x.sum(axis=1).astype(int)
    ones = [int(twelve.y[k == j].sum()) for j in range(13)]
    total = [int((k == j).sum()) for j in range(13)]
    assert ones[:5] == [0] * 5
    assert ones[8:] == total[8:]
    # Original fractions 0.076, 0.576, 0.924 at 5, 6, 7 ones.
    fractions = np.array(ones[5:8]) / np.array(total[5:8])
    np.testing.assert_allclose(fractions, [60 / 792, 524 / 924, 732 / 792])
    assert abs(fractions - [0.076, 0.576, 0.924]).max() < 0.01
    p = twelve.y.mean()
    entropy_bits = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert p == pytest.approx(2110 / 4096)
    assert entropy_bits == pytest.approx(0.99934, abs=1e-5)
    # Every pattern appears once, so I(X;Y) = H(Y).
    assert len(np.unique(twelve.x, axis=0)) == 4096


def test_stratified_split_sizes_and_proportions(twelve):
    train, test = train_test_split(twelve, 0.8, seed=3)
    assert (len(train), len(test)) == (3277, 819)
    assert np.intersect1d(train.indices, test.indices).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[train.indices, test.indices]), np.arange(4096))
    np.testing.assert_array_equal(train.x, twelve.x[train.indices])
    np.testing.assert_array_equal(test.y, twelve.y[test.indices])
    assert abs(train.y.mean() - twelve.y.mean()) < 1 / len(train)
    again, _ = train_test_split(twelve, 0.8, seed=3)
    other, _ = train_test_split(twelve, 0.8, seed=4)
    np.testing.assert_array_equal(again.indices, train.indices)
    assert not np.array_equal(other.indices, train.indices)


def test_split_rejects_bad_fraction(twelve):
    with pytest.raises(ValueError, match="train_fraction"):
        train_test_split(twelve, 1.0)


def test_var_u_loader_reads_a_mat_file(tmp_path):
    rng = np.random.default_rng(0)
    f = rng.integers(0, 2, size=(16, 12)).astype(np.uint8)
    y = rng.integers(0, 2, size=(1, 16)).astype(np.uint8)
    scipy.io.savemat(tmp_path / "var_u.mat", {"F": f, "y": y})
    data = load_var_u(tmp_path / "var_u.mat")
    np.testing.assert_array_equal(data.x, f)
    np.testing.assert_array_equal(data.y, y.ravel())
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    scipy.io.savemat(tmp_path / "bad.mat", {"F": f})
    with pytest.raises(ValueError, match="missing"):
        load_var_u(tmp_path / "bad.mat")


def test_digits_ship_offline():
    digits = load_digits()
    assert digits.x.shape == (1797, 64) and digits.image_shape == (8, 8)
    assert digits.n_classes == 10
    assert digits.x.min() == 0.0 and digits.x.max() == 1.0


def _write_idx(path, array: np.ndarray, code: int, compress: bool) -> None:
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        with gzip.open(path, "wb") as stream:
            stream.write(payload)
    else:
        path.write_bytes(payload)


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(1)
    parts = {}
    for (part, n), compress in zip((("train", 5), ("t10k", 3)), (True, False), strict=True):
        images = rng.integers(0, 256, size=(n, 4, 3)).astype(np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if compress else ""
        _write_idx(tmp_path / f"{part}-images-idx3-ubyte{suffix}", images, 0x08, compress)
        _write_idx(tmp_path / f"{part}-labels-idx1-ubyte{suffix}", labels, 0x08, compress)
        parts[part] = (images, labels)
    return tmp_path, parts


def test_mnist_from_idx_files(mnist_dir):
    directory, parts = mnist_dir
    train = load_mnist(directory, "train")
    images, labels = parts["train"]
    assert train.image_shape == (4, 3)
    np.testing.assert_allclose(train.x, images.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(train.y, labels)
    everything = load_mnist(directory, "all")
    assert len(everything) == 8
    np.testing.assert_array_equal(everything.y[5:], parts["t10k"][1])


def test_mnist_from_npz(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {
        "x_train": rng.integers(0, 256, (4, 2, 2)).astype(np.uint8),
        "y_train": np.arange(4),
        "x_test": rng.integers(0, 256, (2, 2, 2)).astype(np.uint8),
        "y_test": np.arange(2),
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    test = load_mnist(tmp_path / "mnist.npz", "test")
    np.testing.assert_allclose(test.x, arrays["x_test"].reshape(2, 4) / 255.0, rtol=1e-6)


@pytest.mark.parametrize("dtype,code", [(np.int16, 0x0B), (np.float64, 0x0E)])
def test_read_idx_other_types(tmp_path, dtype, code):
    array = np.arange(6, dtype=dtype).reshape(2, 3) - 2
    _write_idx(tmp_path / "a.idx", array, code, compress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)


def test_idx_errors_are_clear(tmp_path, mnist_dir):
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    _write_idx(tmp_path / "short", np.zeros((3, 2), np.uint8), 0x08, compress=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "only").mkdir()
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist(tmp_path / "only", "test")
    with pytest.raises(ValueError, match="subset"):
        load_mnist(mnist_dir[0], "validation")
