r"""``mi-toolkit bench speed``: time each method against N and dimension, and against peers.

What is timed
    Each method (``binning``, ``kde``, ``gaussian``, ``kl``, ``ksg``) with its default
    parameters through the one estimation path of :func:`mi_toolkit.estimate_mi`
    (:func:`~mi_toolkit.api.build_estimator`, :func:`~mi_toolkit.api.prepare_pair` and
    :func:`~mi_toolkit.api.mi_of_variables`, validation included), on ``d`` independent
    Gaussian pairs of correlation ρ = 0.6 (X and Y of ``d`` dimensions each, true
    I = -(d/2) log(1 - ρ²) nats), for N log-spaced and each ``d``. ``kde`` runs with
    σ² = 1, the variance of the data, so that its kernel sums are not trivially the self
    term. Each cell is the best of R rounds (load on a shared machine only ever adds
    time) after one warm-up call outside the clock, which compiles or loads the numba
    kernels.

How far N goes
    Each series (a method, or a peer, at one ``d``) stops before the first N whose
    predicted time exceeds ``--max-seconds`` per call (``--peer-max-seconds`` for a peer:
    the peers are slower, and a ratio at small N, where fixed costs dominate, says
    little); the prediction extends the last time with the slope of the last two
    (between 1 and 2; 2 after a single point). The dense KDE peer also stops where its
    N × N matrices would not fit in the available memory. Skipped cells are in the CSV
    files with the reason; the Markdown report names the first skipped N of each series.

The fitted slope
    Least squares of log t on log N over a series' timed cells: t ∝ N^slope, so 1 is
    linear and 2 quadratic (small N, where fixed costs dominate, pulls it below the
    asymptotic order).

Peers, timed in the same run where installed (ratios are peer time / ours, so > 1
means mi-toolkit is faster), each checked to compute the same number:

* ``ksg``, 1-D pairs: scikit-learn's ``mutual_info_regression`` (KSG 1, k = 3), against
  ours with the default ``transform="standardize"``, which computes the same number
  (to 1e-15 at small N; scikit-learn jitters its input by 1e-10 of its scale, which can
  change a neighbour count and so the estimate by up to 1/N: 1e-8 at N = 100,000);
* ``ksg``, ``d`` > 1: :func:`ckdtree_ksg`, KSG 1 on scipy's ``cKDTree`` as tree-based
  (NPEET-style) code does it, against ours with ``transform="none"`` (the peer searches
  the raw data);
* ``ksg`` and ``kl``: faiss's exact k-NN search (``IndexFlat``; the max-norm for KSG's
  joint search, Euclidean for KL's) against our engine for the same search
  (:func:`~mi_toolkit.estimators._knn_kernels.dispatch.nearest_neighbors`), k = 3 in the
  joint space of 2d dimensions. faiss searches in float32, ours in float64; its
  distances agree to float32 precision;
* ``kde``: :func:`dense_kde_upper_entropy`, the Kolchinsky-Tracey bound with the whole
  N × N distance matrix as the studies' code computes it. With distinct rows of X the
  KDE estimate of I(X; Y) is that bound on H(Y + Z) less H(Y + Z | X) =
  (d/2) log(2πeσ²).

The ``difference`` column is |ours - theirs| in nats for an estimate, and for a search
the largest gap between the k-NN distances relative to the data's extent (see
:class:`Neighbours`). A difference beyond what the arithmetic explains is flagged
``DIFFERENT NUMBERS`` and the command exits with status 1. A peer that is not installed
is reported as such, never an error. Both sides use every
core they are given (numba's threads, scipy's ``workers=-1``, faiss's OpenMP threads),
except scikit-learn's function, which is single-threaded by design.

Output in ``--output``: ``speed.csv`` (one row per method, d and N), ``speed_peers.csv``
(one row per comparison, d and N), ``speed.md`` (the Markdown tables, also printed) and
``speed.png`` (time against N, log-log, with the fitted slopes; needs matplotlib, the
``plot`` extra).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import digamma, logsumexp

from mi_toolkit.api import build_estimator, list_methods, mi_of_variables, prepare_pair
from mi_toolkit.estimators._knn_kernels.dispatch import nearest_neighbors
from mi_toolkit.result import MIToolkitWarning

METHODS = ("binning", "kde", "gaussian", "kl", "ksg")
DEFAULT_N = (1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
DEFAULT_DIMS = (1, 10)
DEFAULT_ROUNDS = 3
DEFAULT_MAX_SECONDS = 1.0
DEFAULT_PEER_MAX_SECONDS = 3.0
# The smallest N accepted: every method (KL's weighted k in 20 dimensions included) has
# enough neighbours from here on.
MIN_N = 100
MAX_N = 10_000_000
CORRELATION = 0.6
KDE_NOISE_VARIANCE = 1.0
PEER_K = 3
# Samples of the warm-up call, which only compiles or loads the kernels.
WARM_UP_N = 200
# Memory the dense KDE peer holds at once, in N × N float64 matrices: cdist's result and
# scipy's logsumexp's temporaries (peak measured with tracemalloc, scipy 1.17: 6.1
# matrices), and the share of the available memory a peer may take.
DENSE_MATRICES = 7
MEMORY_SHARE = 0.8

NOT_INSTALLED = "not installed"
DIFFERENT = "DIFFERENT NUMBERS"
OK = "ok"


# -- peers --------------------------------------------------------------------------------


def ckdtree_ksg(x: np.ndarray, y: np.ndarray, k: int = PEER_K) -> float:
    """KSG estimator 1 on scipy's ``cKDTree``: the tree-based peer of ``"ksg"``.

    Î = ψ(k) + ψ(N) - mean[ψ(n_x + 1) + ψ(n_y + 1)], with ε_i the max-norm distance to
    the k-th joint neighbour and n_x, n_y the other samples strictly within ε_i in each
    marginal (a ball of radius just below ε_i, counted by ``query_ball_point``).

    Parameters
    ----------
    x, y : numpy.ndarray
        ``(n, d_x)`` and ``(n, d_y)`` float64 samples.
    k : int, optional
        Neighbour order.

    Returns
    -------
    float
        The estimate in nats; ``estimate_mi(x, y, "ksg", k=k, transform="none")`` gives
        the same number.
    """
    joint = np.hstack((x, y))
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf, workers=-1)
    radius = np.nextafter(dist[:, -1], 0.0)
    n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True, workers=-1) - 1
    n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True, workers=-1) - 1
    n = x.shape[0]
    return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


def dense_kde_upper_entropy(points: np.ndarray, noise_variance: float) -> float:
    """Kolchinsky-Tracey upper bound on H(T + Z), Z ~ N(0, σ² I), in nats: the dense peer.

    H_upper = d/2 - (1/N) Σ_i [logsumexp_j(-‖t_i - t_j‖² / 2σ²) - log N - (d/2) log 2πσ²],
    here with the whole N × N distance matrix in memory, as the studies' code has it.

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, d)`` float64 samples of T.
    noise_variance : float
        σ².

    Returns
    -------
    float
        The bound in nats.
    """
    n, d = points.shape
    exponents = cdist(points, points, "sqeuclidean")
    exponents *= -1.0 / (2.0 * noise_variance)
    log_sums = logsumexp(exponents, axis=1)
    return 0.5 * d - float(
        np.mean(log_sums - math.log(n) - 0.5 * d * math.log(2.0 * math.pi * noise_variance))
    )


def dense_kde_mi(x: np.ndarray, y: np.ndarray, noise_variance: float) -> float:
    """I(X; Y + Z) by the dense bound, for X of distinct rows (as ``"kde"`` computes it).

    Parameters
    ----------
    x : numpy.ndarray
        The grouped side; unused beyond its length, since every row is its own group.
    y : numpy.ndarray
        ``(n, d)`` samples of the noisy side.
    noise_variance : float
        σ².

    Returns
    -------
    float
        H_upper(Y + Z) - (d/2) log(2πeσ²) in nats.
    """
    d = y.shape[1]
    conditional = 0.5 * d * (1.0 + math.log(2.0 * math.pi * noise_variance))
    return dense_kde_upper_entropy(y, noise_variance) - conditional


def sklearn_ksg(x: np.ndarray, y: np.ndarray, k: int = PEER_K) -> float:
    """scikit-learn's ``mutual_info_regression`` of a 1-D pair (KSG 1 after scaling)."""
    from sklearn.feature_selection import mutual_info_regression

    return float(mutual_info_regression(x, y[:, 0], n_neighbors=k, random_state=0)[0])


def faiss_knn(points: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Distances to the k nearest other samples by faiss's exact search (float32).

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, d)`` samples.
    k : int
        Number of neighbours.
    metric : {"max", "euclidean"}
        The max-norm (``METRIC_Linf``) or the Euclidean norm (``IndexFlatL2``, whose
        squared distances are square-rooted).

    Returns
    -------
    numpy.ndarray
        ``(n, k)`` float64 distances, nearest first, each sample's own row left out.
    """
    import faiss

    data = np.ascontiguousarray(points, dtype=np.float32)
    if metric == "max":
        index = faiss.IndexFlat(data.shape[1], faiss.METRIC_Linf)
    else:
        index = faiss.IndexFlatL2(data.shape[1])
    index.add(data)
    dist, _ = index.search(data, k + 1)
    dist = dist[:, 1:].astype(np.float64)
    return dist if metric == "max" else np.sqrt(dist)


def our_knn(points: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Distances to the k nearest other samples by mi-toolkit's engine (as the estimators)."""
    return nearest_neighbors(np.ascontiguousarray(points), k, metric)[0]


# -- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What one run times, checked.

    Parameters
    ----------
    methods : tuple of str
        Methods to time, in the order given.
    sizes : tuple of int
        Sample sizes N, increasing.
    dims : tuple of int
        Dimensions d of X and of Y.
    rounds : int
        Timed rounds per cell; the best is kept.
    max_seconds : float
        A series stops before a cell predicted to take longer per call.
    peer_max_seconds : float
        The same for a peer.
    output : pathlib.Path
        Folder for the CSV, Markdown and plot files.
    quiet : bool
        Print nothing but errors.
    seed : int
        Seed of the Gaussian pairs.
    """

    methods: tuple[str, ...]
    sizes: tuple[int, ...]
    dims: tuple[int, ...]
    rounds: int
    max_seconds: float
    peer_max_seconds: float
    output: Path
    quiet: bool = False
    seed: int = 0


def _words(text: str, name: str) -> list[str]:
    items = [word.strip() for word in str(text).split(",")]
    if not all(items):
        raise ValueError(
            f"--{name} must be a comma-separated list without empty items; got {text!r}"
        )
    return items


def _positive_integers(text: str, name: str, minimum: int, example: str) -> tuple[int, ...]:
    values = []
    for word in _words(text, name):
        try:
            number = float(word.replace("_", ""))
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number == int(number) and number >= minimum):
            raise ValueError(
                f"--{name} takes integers >= {minimum} separated by commas, e.g. --{name} "
                f"{example}; got {word!r}"
            )
        values.append(int(number))
    return tuple(sorted(set(values)))


def _budget(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"--{name} must be a number of seconds > 0; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"--{name} must be finite; got {value!r}")
    return float(value)


def parse_methods(text: str) -> tuple[str, ...]:
    """The methods of ``--methods`` (comma-separated), checked against the registry."""
    known = [m for m in METHODS if m in list_methods()]
    methods = []
    for word in _words(text, "methods"):
        if word not in known:
            raise ValueError(f"--methods: unknown method {word!r}; choose from {', '.join(known)}")
        if word not in methods:
            methods.append(word)
    return tuple(methods)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Every argument checked, before any work: a bad one raises a one-line ValueError."""
    methods = parse_methods(args.methods)
    sizes = _positive_integers(args.n, "n", MIN_N, "1000,10000,100000")
    if sizes[-1] > MAX_N:
        raise ValueError(
            f"--n goes up to {MAX_N:,} (the data alone would fill the memory beyond); "
            f"got {sizes[-1]:,}"
        )
    dims = _positive_integers(args.dims, "dims", 1, "1,10")
    if isinstance(args.rounds, bool) or not isinstance(args.rounds, int) or args.rounds < 1:
        raise ValueError(f"--rounds must be an integer >= 1; got {args.rounds!r}")
    max_seconds = _budget(args.max_seconds, "max-seconds")
    peer_max_seconds = _budget(args.peer_max_seconds, "peer-max-seconds")
    if isinstance(args.seed, bool) or not isinstance(args.seed, int) or args.seed < 0:
        raise ValueError(f"--seed must be an integer >= 0; got {args.seed!r}")
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output {str(output)!r} is a file; give a folder for the results")
    output.mkdir(parents=True, exist_ok=True)
    if not os.access(output, os.W_OK):
        raise ValueError(f"--output {str(output)!r} cannot be written; give a writable folder")
    return Settings(
        methods=methods,
        sizes=sizes,
        dims=dims,
        rounds=int(args.rounds),
        max_seconds=max_seconds,
        peer_max_seconds=peer_max_seconds,
        output=output,
        quiet=bool(args.quiet),
        seed=int(args.seed),
    )


# -- timing -------------------------------------------------------------------------------


def best_time(function: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """The shortest of ``rounds`` calls of ``function`` in seconds, and its last result."""
    best, result = math.inf, None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def fitted_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log t on log N; NaN with fewer than two distinct N.

    Parameters
    ----------
    sizes : sequence of float
        Sample sizes N.
    seconds : sequence of float
        Times t at those sizes, > 0.

    Returns
    -------
    float
        b in log t = a + b log N, so t ∝ N^b.
    """
    log_n = np.log(np.asarray(sizes, dtype=float))
    log_t = np.log(np.asarray(seconds, dtype=float))
    if log_n.size < 2 or np.ptp(log_n) == 0.0:
        return math.nan
    centred = log_n - log_n.mean()
    return float(centred @ (log_t - log_t.mean()) / (centred @ centred))


def predicted_seconds(history: Sequence[tuple[int, float]], n: int) -> float:
    """Time expected at N = n from a series' timed cells (0 before the first).

    The last time is extended with the slope of the last two cells, clamped to [1, 2]
    (no method here is sublinear or worse than quadratic in N), or 2 after one cell.
    """
    if not history:
        return 0.0
    last_n, last_t = history[-1]
    exponent = 2.0
    if len(history) >= 2:
        (n0, t0), (n1, t1) = history[-2], history[-1]
        if t0 > 0 and t1 > 0:
            exponent = min(2.0, max(1.0, math.log(t1 / t0) / math.log(n1 / n0)))
    return last_t * (n / last_n) ** exponent


def _available_memory_bytes() -> float:
    """MemAvailable of /proc/meminfo (free memory plus reclaimable caches); inf elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return math.inf  # not known on this platform: no limit


@dataclass
class Series:
    """The timed cells of one method or peer at one dimension, and its time budget."""

    max_seconds: float
    option: str = "--max-seconds"
    history: list[tuple[int, float]] = field(default_factory=list)

    def reason_to_skip(self, n: int) -> str | None:
        """Why the cell at N = n is not timed, or None to time it."""
        expected = predicted_seconds(self.history, n)
        if expected > self.max_seconds:
            return f"skipped: predicted {expected:.3g} s > {self.option} {self.max_seconds:g}"
        return None

    def time(self, function: Callable[[], Any], n: int, rounds: int) -> tuple[float, Any]:
        seconds, result = best_time(function, rounds)
        self.history.append((n, seconds))
        return seconds, result


def gaussian_pairs(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """d independent pairs (X_i, Y_i) of correlation ρ, as two (n, d) float64 arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = CORRELATION * x + math.sqrt(1.0 - CORRELATION**2) * rng.standard_normal((n, d))
    return x, y


def true_mi(d: int) -> float:
    """-(d/2) log(1 - ρ²): the MI of the Gaussian pairs in nats."""
    return -0.5 * d * math.log1p(-(CORRELATION**2))


def _method_parameters(method: str) -> dict[str, Any]:
    return {"noise_variance": KDE_NOISE_VARIANCE} if method == "kde" else {}


def _estimate(method: str, **params: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    """x, y -> the estimate of ``method`` through the front door's path, validation included."""
    estimator = build_estimator(method, **{**_method_parameters(method), **params})

    def run(x: np.ndarray, y: np.ndarray) -> float:
        # Fresh variables each call: they cache their grouping, which would flatter rounds.
        return mi_of_variables(estimator, *prepare_pair(x, y), emit_warnings=False).value

    return run


@dataclass(frozen=True)
class Comparison:
    """A peer against one of our computations, for the methods it applies to.

    Parameters
    ----------
    name : str
        What is compared, as the tables show it.
    peer : str
        The peer.
    ours : callable
        (x, y) -> our number, timed; None to reuse the method's own timing.
    theirs : callable
        (x, y) -> the peer's number, timed.
    tolerance : float
        Largest |ours - theirs| accepted as the same number.
    module : str or None
        The module the peer needs, if not a hard dependency.
    square_matrices : int
        N × N float64 matrices the peer holds at once (0: none).
    tolerance_per_sample : float
        Added to ``tolerance`` over N: scikit-learn jitters its input by 1e-10 of its
        scale, which can move a point across a radius and change one neighbour count;
        each such change moves the mean of the KSG terms by at most
        ψ(2) - ψ(1) = 1 over N.
    """

    name: str
    peer: str
    ours: Callable[[np.ndarray, np.ndarray], Any] | None
    theirs: Callable[[np.ndarray, np.ndarray], Any]
    tolerance: float
    module: str | None = None
    square_matrices: int = 0
    tolerance_per_sample: float = 0.0

    def allowed_difference(self, n: int) -> float:
        """Largest |ours - theirs| at N = n that still means the same number."""
        return self.tolerance + self.tolerance_per_sample / n


@dataclass(frozen=True)
class Neighbours:
    """The k-NN distances of one search and the extent of its data, for comparisons.

    Parameters
    ----------
    distances : numpy.ndarray
        ``(n, k)`` distances to the k nearest other samples.
    metric : {"max", "euclidean"}
        The norm searched with.
    extent : float
        max ‖p‖ over the points, in that norm.
    """

    distances: np.ndarray
    metric: str
    extent: float

    def difference(self, other: Neighbours) -> float:
        """Largest gap to ``other``'s distances, relative to the data's extent.

        Max-norm: max |Δd| / extent. Euclidean: max |Δ(d²)| / extent², because a float32
        search (faiss's) computes d² = ‖a‖² + ‖b‖² - 2a·b with an error of about
        ε‖p‖², which the square root would inflate at the tiny distances of large N.
        Either way float32 agreement is about 1e-6, float64 about 1e-15.
        """
        if self.metric == "max":
            return float(np.max(np.abs(self.distances - other.distances)) / self.extent)
        gap = np.abs(self.distances**2 - other.distances**2)
        return float(np.max(gap) / self.extent**2)


def _joint_knn(search: Callable, metric: str) -> Callable[[np.ndarray, np.ndarray], Neighbours]:
    def run(x: np.ndarray, y: np.ndarray) -> Neighbours:
        joint = np.hstack((x, y))
        norms = np.abs(joint).max(axis=1) if metric == "max" else np.linalg.norm(joint, axis=1)
        return Neighbours(search(joint, PEER_K, metric), metric, float(norms.max()))

    return run


def comparisons(method: str, d: int) -> list[Comparison]:
    """The peers of ``method`` at dimension d (module docstring)."""
    found = []
    if method == "ksg" and d == 1:
        found.append(
            Comparison(
                "ksg estimate",
                "scikit-learn",
                None,
                sklearn_ksg,
                1e-9,
                "sklearn.feature_selection",
                tolerance_per_sample=1.0,  # one count changed by its jitter
            )
        )
    if method == "ksg" and d > 1:
        ours = _estimate("ksg", transform="none")
        found.append(
            Comparison("ksg estimate, transform=none", "cKDTree KSG", ours, ckdtree_ksg, 1e-9)
        )
    if method == "kde":
        theirs = lambda x, y: dense_kde_mi(x, y, KDE_NOISE_VARIANCE)  # noqa: E731
        found.append(
            Comparison("kde estimate", "dense numpy", None, theirs, 1e-9, None, DENSE_MATRICES)
        )
    metric = {"ksg": "max", "kl": "euclidean"}.get(method)
    if metric is not None:
        found.append(
            Comparison(
                f"{method} joint {metric}-norm {PEER_K}-NN search",
                "faiss",
                _joint_knn(our_knn, metric),
                _joint_knn(faiss_knn, metric),
                1e-4,  # faiss computes in float32 (see Neighbours.difference)
                "faiss",
            )
        )
    return found


def _installed(module: str | None) -> bool:
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _difference(ours: Any, theirs: Any) -> float:
    """|ours - theirs| of two estimates, or of two kNN searches (see :class:`Neighbours`)."""
    if isinstance(ours, Neighbours):
        return ours.difference(theirs)
    return abs(float(ours) - float(theirs))


# -- the run ------------------------------------------------------------------------------


@dataclass
class Results:
    """The rows of the two tables, as dicts named by the CSV columns."""

    methods: list[dict[str, Any]] = field(default_factory=list)
    peers: list[dict[str, Any]] = field(default_factory=list)


class _Runner:
    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = say
        self.results = Results()

    def run(self) -> Results:
        for d in self.settings.dims:
            x_all, y_all = gaussian_pairs(max(self.settings.sizes), d, self.settings.seed)
            for method in self.settings.methods:
                self._series(method, d, x_all, y_all)
        return self.results

    def _series(self, method: str, d: int, x_all: np.ndarray, y_all: np.ndarray) -> None:
        estimate = _estimate(method)
        peers = comparisons(method, d)
        warm = min(WARM_UP_N, x_all.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MIToolkitWarning)
            estimate(x_all[:warm], y_all[:warm])  # compile or load the kernels
            for peer in peers:  # imports and first-call set-up, on both sides
                if _installed(peer.module):
                    for side in (peer.ours, peer.theirs):
                        if side is not None:
                            side(x_all[:warm], y_all[:warm])
        ours_series = Series(self.settings.max_seconds)
        peer_series = {
            peer.name: (
                Series(self.settings.max_seconds),
                Series(self.settings.peer_max_seconds, "--peer-max-seconds"),
            )
            for peer in peers
        }
        for n in self.settings.sizes:
            x, y = x_all[:n], y_all[:n]
            timing = self._time(ours_series, partial(estimate, x, y), n)
            self.results.methods.append(
                {
                    "method": method,
                    "dims": d,
                    "n": n,
                    "seconds": timing[0],
                    "estimate": timing[1],
                    "true_mi": true_mi(d),
                    "status": timing[2],
                }
            )
            self.say(_cell_line(method, d, n, timing))
            for peer in peers:
                self._compare(peer, d, n, x, y, timing, *peer_series[peer.name])

    def _time(
        self, series: Series, function: Callable[[], Any], n: int
    ) -> tuple[float | None, Any, str]:
        reason = series.reason_to_skip(n)
        if reason is not None:
            return None, None, reason
        seconds, result = series.time(function, n, self.settings.rounds)
        return seconds, result, OK

    def _compare(
        self,
        peer: Comparison,
        d: int,
        n: int,
        x: np.ndarray,
        y: np.ndarray,
        method_timing: tuple[float | None, Any, str],
        ours_series: Series,
        theirs_series: Series,
    ) -> None:
        row: dict[str, Any] = {
            "comparison": peer.name,
            "peer": peer.peer,
            "dims": d,
            "n": n,
            "ours_seconds": None,
            "peer_seconds": None,
            "ratio": None,
            "difference": None,
            "status": OK,
        }
        self.results.peers.append(row)
        if not _installed(peer.module):
            row["status"] = NOT_INSTALLED
            return
        if peer.ours is None:
            ours = method_timing
        else:
            ours = self._time(ours_series, lambda: peer.ours(x, y), n)
        if ours[2] != OK:
            row["status"] = f"ours {ours[2]}"
            return
        reason = self._memory_reason(peer, n) or theirs_series.reason_to_skip(n)
        if reason is not None:
            row.update(ours_seconds=ours[0], status=f"peer {reason}")
            return
        peer_seconds, theirs = theirs_series.time(
            lambda: peer.theirs(x, y), n, self.settings.rounds
        )
        difference = _difference(ours[1], theirs)
        row.update(
            ours_seconds=ours[0],
            peer_seconds=peer_seconds,
            ratio=peer_seconds / ours[0],
            difference=difference,
        )
        allowed = peer.allowed_difference(n)
        if not difference <= allowed:
            row["status"] = f"{DIFFERENT}: {difference:.3g} > tolerance {allowed:.3g}"
        note = "" if row["status"] == OK else f" ({row['status']})"
        self.say(f"    {peer.peer}: {_seconds(peer_seconds)}, ratio {row['ratio']:.2f}{note}")

    @staticmethod
    def _memory_reason(peer: Comparison, n: int) -> str | None:
        needed = peer.square_matrices * 8.0 * n * n
        available = _available_memory_bytes()
        if needed and needed > MEMORY_SHARE * available:
            return (
                f"skipped: its N × N matrices need {needed / 2**30:.1f} GiB, "
                f"{available / 2**30:.1f} GiB available"
            )
        return None


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g} s"


def _cell_line(method: str, d: int, n: int, timing: tuple[float | None, Any, str]) -> str:
    shown = _seconds(timing[0]) if timing[2] == OK else timing[2]
    return f"{method} {d}+{d}-D, N = {n:,}: {shown}"


# -- tables and plot ----------------------------------------------------------------------


@dataclass
class _SeriesSummary:
    """One line of the report's series table: what was timed and where it stopped."""

    name: str
    dims: int
    method: str
    points: list[tuple[int, float]] = field(default_factory=list)
    stopped: str = ""

    def row(self) -> tuple[Any, ...]:
        sizes = [n for n, _ in self.points]
        timed = f"{min(sizes):,}–{max(sizes):,}" if len(sizes) > 1 else "".join(map(str, sizes))
        slope = fitted_slope(*zip(*self.points, strict=True)) if self.points else math.nan
        return self.name, f"{self.dims}+{self.dims}", timed, slope, self.stopped


def series_summaries(results: Results) -> list[_SeriesSummary]:
    """Each method's and each peer's series: timed N, fitted slope, first skipped N."""
    summaries: dict[tuple[str, int], _SeriesSummary] = {}

    def add(name: str, method: str, dims: int, n: int, seconds: float | None, status: str) -> None:
        summary = summaries.setdefault((name, dims), _SeriesSummary(name, dims, method))
        if seconds is not None:
            summary.points.append((n, seconds))
        elif not summary.stopped and status != OK:
            summary.stopped = f"N = {n:,}: {status}"

    for row in results.methods:
        add(row["method"], row["method"], row["dims"], row["n"], row["seconds"], row["status"])
    for row in results.peers:
        status = row["status"]
        if status.startswith("ours"):
            continue  # the method's own line says where it stopped
        status = status.removeprefix("peer ")
        name = f"{row['peer']} ({row['comparison']})"
        method = row["comparison"].split()[0]
        add(name, method, row["dims"], row["n"], row["peer_seconds"], status)
    return list(summaries.values())


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table of ``rows`` under ``header``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_format(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


SERIES_HEADER = ("series", "d_x+d_y", "timed N", "fitted slope", "stopped at")
METHOD_HEADER = ("method", "d_x+d_y", "N", "seconds", "estimate (nats)", "true MI")
PEER_HEADER = (
    "comparison", "peer", "d_x+d_y", "N", "ours (s)", "peer (s)", "ratio", "|difference|",
    "note",
)  # fmt: skip


def report(results: Results) -> str:
    """The Markdown report: times, each series' fitted slope and stop, the peer ratios.

    Cells skipped over the budget are left out of the tables (``speed.csv`` and
    ``speed_peers.csv`` keep them, with the reason); the series table says where each
    series stopped.
    """
    method_rows = [
        (r["method"], f"{r['dims']}+{r['dims']}", f"{r['n']:,}", r["seconds"], r["estimate"],
         r["true_mi"])
        for r in results.methods
        if r["seconds"] is not None
    ]  # fmt: skip
    peer_rows = [
        (r["comparison"], r["peer"], f"{r['dims']}+{r['dims']}", f"{r['n']:,}", r["ours_seconds"],
         r["peer_seconds"], f"{r['ratio']:.2f}×", r["difference"],
         "" if r["status"] == OK else r["status"])
        for r in results.peers
        if r["ratio"] is not None
    ]  # fmt: skip
    missing = sorted({r["peer"] for r in results.peers if r["status"] == NOT_INSTALLED})
    parts = [
        "### Time per estimate (best of the rounds, seconds)",
        markdown_table(METHOD_HEADER, method_rows),
        "### Series: fitted slope of log time against log N, and where each stopped",
        markdown_table(SERIES_HEADER, [summary.row() for summary in series_summaries(results)]),
    ]
    if peer_rows:
        parts += [
            "### Peers in the same run (ratio = peer time / ours; > 1: mi-toolkit faster)",
            markdown_table(PEER_HEADER, peer_rows),
        ]
    if missing:
        parts.append(
            f"Peers not installed, so not timed: {', '.join(missing)} "
            "(pip install 'mi-toolkit[peers]' installs faiss-cpu)."
        )
    return "\n\n".join(parts) + "\n"


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """``rows`` as CSV with ``columns``, empty cells for None."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row[c] is None else row[c] for c in columns})


METHOD_COLUMNS = ("method", "dims", "n", "seconds", "estimate", "true_mi", "status")
PEER_COLUMNS = (
    "comparison", "peer", "dims", "n", "ours_seconds", "peer_seconds", "ratio", "difference",
    "status",
)  # fmt: skip


def plot(results: Results, path: Path) -> bool:
    """Time against N, log-log, one panel per d; False (nothing written) without matplotlib.

    Our methods are solid lines labelled with their fitted slope; the peers that compute
    a whole estimate are dashed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    dims = sorted({row["dims"] for row in results.methods})
    figure = Figure(figsize=(6.0 * len(dims), 4.5), layout="constrained")
    axes = figure.subplots(1, len(dims), squeeze=False)[0]
    methods = {row["method"] for row in results.methods}
    # A peer is drawn dashed in the colour of the method it is compared with.
    colours = {method: f"C{i}" for i, method in enumerate(METHODS)}
    for ax, d in zip(axes, dims, strict=True):
        for summary in series_summaries(results):
            # The kNN-search comparisons time a part of an estimate: not on this scale.
            if summary.dims != d or not summary.points or "search" in summary.name:
                continue
            n, t = zip(*summary.points, strict=True)
            slope = fitted_slope(n, t)
            label = f"{summary.name} (slope {slope:.2f})" if math.isfinite(slope) else summary.name
            style = "-" if summary.name in methods else "--"
            colour = colours.get(summary.method)
            ax.loglog(n, t, style, color=colour, marker="o", markersize=3, label=label)
        ax.set_xlabel("N (samples)")
        ax.set_ylabel("seconds per estimate (best round)")
        ax.set_title(f"X and Y of {d} dimension{'s' if d > 1 else ''} each")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return True


# -- the command --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mi-toolkit bench speed``."""
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated methods to time",
    )
    parser.add_argument(
        "--n",
        default=",".join(str(n) for n in DEFAULT_N),
        help="comma-separated sample sizes N; each series stops where --max-seconds says",
    )
    parser.add_argument(
        "--dims",
        default=",".join(str(d) for d in DEFAULT_DIMS),
        help="comma-separated dimensions d: X and Y of d dimensions each",
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="timed rounds per cell (best kept)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=DEFAULT_MAX_SECONDS,
        help="a method (and our side of each comparison) stops before an N predicted to "
        "take longer per call",
    )
    parser.add_argument(
        "--peer-max-seconds",
        type=float,
        default=DEFAULT_PEER_MAX_SECONDS,
        help="the same for the peers",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the Gaussian pairs")
    parser.add_argument(
        "--output", default="bench-speed", help="folder for speed.csv, speed_peers.csv, "
        "speed.md and speed.png"
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def run(args: argparse.Namespace) -> int:
    """Run ``mi-toolkit bench speed`` with parsed ``args``.

    Returns
    -------
    int
        0, or 1 when a peer computed a different number from ours (the tables say
        which; a fast wrong answer is no result).

    Raises
    ------
    ValueError
        A bad argument, before any work starts.
    """
    settings = settings_from_args(args)

    def say(line: str) -> None:
        if not settings.quiet:
            print(line, file=sys.stderr, flush=True)

    start = time.perf_counter()
    results = _Runner(settings, say).run()
    write_csv(settings.output / "speed.csv", results.methods, METHOD_COLUMNS)
    write_csv(settings.output / "speed_peers.csv", results.peers, PEER_COLUMNS)
    text = report(results)
    (settings.output / "speed.md").write_text(text, encoding="utf-8")
    plotted = plot(results, settings.output / "speed.png")
    if not settings.quiet:
        print(text)
        if not plotted:
            print(
                "matplotlib is not installed, so no plot was drawn "
                "(pip install 'mi-toolkit[plot]' for speed.png)",
                file=sys.stderr,
            )
        print(
            f"wrote {settings.output}/speed.csv, speed_peers.csv, speed.md"
            f"{', speed.png' if plotted else ''} in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
        )
    disagreements = [r for r in results.peers if r["status"].startswith(DIFFERENT)]
    for row in disagreements:
        print(
            f"{row['peer']} and mi-toolkit computed different numbers ({row['comparison']}, "
            f"d = {row['dims']}, N = {row['n']:,}): {row['status']}",
            file=sys.stderr,
        )
    return 1 if disagreements else 0
