"""``mi-toolkit bench speed``: the run end to end, the slope fit, the peers and the arguments.

No assertion here is about speed: timings are only checked to be recorded.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import sys

import numpy as np
import pytest

from mi_toolkit import estimate_mi
from mi_toolkit.benchmarking import speed


def _args(tmp_path, *words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    speed.add_arguments(parser)
    return parser.parse_args(["--output", str(tmp_path / "out"), "--quiet", *words])


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


TINY = ("--n", "200,400", "--dims", "1,2", "--rounds", "1")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """ksg and kde at N = 200 and 400, d = 1 and 2: every peer of those two methods."""
    tmp_path = tmp_path_factory.mktemp("speed")
    assert speed.run(_args(tmp_path, *TINY, "--methods", "ksg,kde")) == 0
    return tmp_path / "out"


def test_writes_the_table_report_and_plot(tiny_run):
    rows = _rows(tiny_run / "speed.csv")
    cells = {(r["method"], int(r["dims"]), int(r["n"])) for r in rows}
    assert cells == {(m, d, n) for m in ("ksg", "kde") for d in (1, 2) for n in (200, 400)}
    for row in rows:
        assert row["status"] == "ok"
        assert float(row["seconds"]) > 0
        assert float(row["true_mi"]) == pytest.approx(-0.5 * int(row["dims"]) * math.log(0.64))
    report = (tiny_run / "speed.md").read_text(encoding="utf-8")
    assert "| ksg | 2+2 | 400 |" in report
    assert "fitted slope" in report
    png = (tiny_run / "speed.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_peers_compute_the_same_numbers_in_the_run(tiny_run):
    rows = _rows(tiny_run / "speed_peers.csv")
    found = {(r["peer"], int(r["dims"])) for r in rows}
    assert found == {
        ("scikit-learn", 1),
        ("cKDTree KSG", 2),
        ("dense numpy", 1),
        ("dense numpy", 2),
        ("faiss", 1),  # KSG's joint search (KL is not in this run)
        ("faiss", 2),
    }
    faiss_installed = importlib.util.find_spec("faiss") is not None
    for row in rows:
        if row["peer"] == "faiss" and not faiss_installed:
            assert row["status"] == speed.NOT_INSTALLED
            continue
        assert row["status"] == "ok", row
        assert float(row["ratio"]) == pytest.approx(
            float(row["peer_seconds"]) / float(row["ours_seconds"])
        )
        # Estimates agree to rounding; faiss's float32 distances to float32 precision.
        assert float(row["difference"]) < (1e-5 if row["peer"] == "faiss" else 1e-12), row


@pytest.mark.parametrize("slope", [1.0, 1.37, 2.0])
def test_fitted_slope_of_made_up_timings(slope):
    n = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    assert speed.fitted_slope(n, 2e-7 * n**slope) == pytest.approx(slope, abs=1e-12)


def test_fitted_slope_is_the_least_squares_one():
    # log t = 0, 1, 3 at log N = 0, 1, 2: slope Σ(x - x̄)(y - ȳ) / Σ(x - x̄)² = 3 / 2.
    n = np.exp([0.0, 1.0, 2.0])
    assert speed.fitted_slope(n, np.exp([0.0, 1.0, 3.0])) == pytest.approx(1.5, abs=1e-12)
    assert math.isnan(speed.fitted_slope([1000], [0.1]))


def test_a_series_stops_before_a_cell_over_the_budget():
    series = speed.Series(max_seconds=1.0)
    assert series.reason_to_skip(1000) is None
    series.history += [(1000, 0.01), (10_000, 0.1)]  # slope 1: 1 s predicted at 100,000
    assert series.reason_to_skip(100_000) is None
    assert "predicted 3" in series.reason_to_skip(300_000)
    assert speed.predicted_seconds([(1000, 0.01)], 10_000) == pytest.approx(1.0)  # slope 2


def _gaussian(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return speed.gaussian_pairs(n, d, seed)


def test_sklearn_peer_equals_ksg_with_standardisation():
    x, y = _gaussian(1, 2000, seed=3)
    ours = estimate_mi(x, y, "ksg").value
    assert speed.sklearn_ksg(x, y) == pytest.approx(ours, abs=1e-12)


def test_ckdtree_peer_equals_ksg_without_transform():
    x, y = _gaussian(3, 1500, seed=4)
    ours = estimate_mi(x, y, "ksg", transform="none").value
    assert speed.ckdtree_ksg(x, y) == pytest.approx(ours, abs=1e-12)
    assert abs(ours - speed.true_mi(3)) < 0.2  # and it is an MI estimate, near 0.67 nats


def test_dense_kde_peer_equals_kde():
    x, y = _gaussian(2, 800, seed=5)
    ours = estimate_mi(x, y, "kde", noise_variance=speed.KDE_NOISE_VARIANCE).value
    assert speed.dense_kde_mi(x, y, speed.KDE_NOISE_VARIANCE) == pytest.approx(ours, abs=1e-12)


@pytest.mark.parametrize("metric", ["max", "euclidean"])
def test_faiss_search_finds_our_distances(metric):
    pytest.importorskip("faiss")
    x, y = _gaussian(3, 1000, seed=6)
    points = np.hstack((x, y))
    ours = speed.our_knn(points, 3, metric)
    theirs = speed.faiss_knn(points, 3, metric)
    assert theirs.shape == ours.shape == (1000, 3)
    np.testing.assert_allclose(theirs, ours, rtol=1e-4)  # float32 against float64


def test_a_missing_peer_is_reported_not_an_error(tmp_path, monkeypatch):
    # None in sys.modules makes `import faiss` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "faiss", None)
    monkeypatch.setitem(sys.modules, "sklearn.feature_selection", None)
    assert speed.run(_args(tmp_path, *TINY, "--methods", "ksg", "--dims", "1")) == 0
    rows = _rows(tmp_path / "out" / "speed_peers.csv")
    assert {(r["peer"], r["status"]) for r in rows} == {
        ("scikit-learn", speed.NOT_INSTALLED),
        ("faiss", speed.NOT_INSTALLED),
    }
    assert all(r["peer_seconds"] == "" for r in rows)
    assert "not installed" in (tmp_path / "out" / "speed.md").read_text(encoding="utf-8")


def test_missing_matplotlib_skips_the_plot_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    args = _args(tmp_path, "--n", "200", "--methods", "gaussian", "--dims", "1", "--rounds", "1")
    args.quiet = False
    assert speed.run(args) == 0
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert not (tmp_path / "out" / "speed.png").exists()
    assert (tmp_path / "out" / "speed.csv").exists()


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("--methods", "ksg,mine"), "--methods: unknown method 'mine'"),
        (("--methods", "ksg,,kl"), "--methods must be a comma-separated list"),
        (("--n", "1000,abc"), "--n takes integers >= 100"),
        (("--n", "50"), "--n takes integers >= 100"),
        (("--n", "1000.5"), "--n takes integers"),
        (("--n", "1000,20000000"), "--n goes up to 10,000,000"),
        (("--dims", "0"), "--dims takes integers >= 1"),
        (("--seed", "-1"), "--seed must be an integer >= 0"),
        (("--rounds", "0"), "--rounds must be an integer >= 1"),
        (("--max-seconds", "-1"), "--max-seconds must be a number of seconds > 0"),
        (("--peer-max-seconds", "0"), "--peer-max-seconds must be a number of seconds > 0"),
        (("--max-seconds", "inf"), "--max-seconds must be finite"),
    ],
)
def test_bad_arguments_fail_before_any_work(tmp_path, monkeypatch, words, message):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(speed, "gaussian_pairs", no_work)
    with pytest.raises(ValueError, match=message) as raised:
        speed.run(_args(tmp_path, *words))
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match=r"--output .* is a file"):
        speed.run(_args(tmp_path))


def test_sizes_are_read_sorted_and_with_exponents():
    assert speed._positive_integers("1e4,1000,10_000", "n", 100, "") == (1000, 10_000)


def test_sklearn_tolerance_allows_one_jittered_count_per_sample():
    (sklearn,) = [c for c in speed.comparisons("ksg", 1) if c.peer == "scikit-learn"]
    assert sklearn.allowed_difference(100_000) == pytest.approx(1e-9 + 1e-5)
    (ckdtree,) = [c for c in speed.comparisons("ksg", 2) if c.peer == "cKDTree KSG"]
    assert ckdtree.allowed_difference(100_000) == 1e-9


def test_a_peer_that_disagrees_is_flagged(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "ckdtree_ksg", lambda x, y: 123.0)
    words = ("--n", "200", "--methods", "ksg", "--dims", "2", "--rounds", "1")
    assert speed.run(_args(tmp_path, *words)) == 1
    (row,) = [r for r in _rows(tmp_path / "out" / "speed_peers.csv") if r["peer"] == "cKDTree KSG"]
    assert row["status"].startswith("DIFFERENT NUMBERS")
    assert float(row["difference"]) > 100


def test_the_dense_peer_is_skipped_where_its_matrices_do_not_fit(tmp_path, monkeypatch):
    # 7 N × N float64 matrices at N = 200: 2.24 MB, against 2.5 MB available (80% usable).
    monkeypatch.setattr(speed, "_available_memory_bytes", lambda: 2.5e6)
    words = ("--n", "200", "--methods", "kde", "--dims", "1", "--rounds", "1")
    assert speed.run(_args(tmp_path, *words)) == 0
    (row,) = _rows(tmp_path / "out" / "speed_peers.csv")
    assert "matrices need" in row["status"] and row["peer_seconds"] == ""
    assert row["ours_seconds"] != ""
