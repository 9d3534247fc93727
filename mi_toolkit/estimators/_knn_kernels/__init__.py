"""Nearest-neighbour searches and radius counts for the kNN estimators ("kl", "ksg").

Every routine here takes clean float64 ``(n, d)`` arrays and answers for each sample i
about the *other* samples j != i:

- ``nearest_neighbors(points, k, metric)``: the distances to the k nearest other samples,
  ascending, and their indices (ties at equal distance keep the lower index first in the
  brute-force kernels);
- ``count_within(points, radii, inclusive)``: the number of other samples j with
  ``||p_j - p_i||_max < radii[i]`` (``inclusive=False``) or ``<= radii[i]``
  (``inclusive=True``).

Both live in :mod:`.dispatch`, which picks one of four engines, one module each, that
give the same numbers (``algorithm="auto"`` picks by dimension):

``"grid"`` (:mod:`.grid`; "auto" for a 2-D space such as a pair of 1-D variables; the
tree elsewhere)
    a numba cell grid with edges at the quantiles of each coordinate, scanned ring by
    ring around each query, parallel over queries.
``"tree"`` (:mod:`.tree`; "auto" for k-NN searches in 1-D, and in 3 to 5 dimensions from
N = 20,000 on)
    scipy's ``cKDTree``, fast in low dimension but degrading towards N^2 and worse in 10
    or more dimensions (measured on 2 cores at N = 10,000, k = 3: 0.03 s at d = 4, 0.17 s
    at d = 8, 1.5 s at d = 20).
``"brute"`` (:mod:`.brute`; "auto" elsewhere, and for every radius count in 2 or more
dimensions)
    numba kernels over all pairs in principle, parallel over tiles of query samples,
    blocks of references skipped by their kd-leaf bounding boxes; KL's three searches
    (x, y, joint) in one pass. 20-D KSG at N = 100,000 takes about 13 s.
``torch`` (:mod:`.torch_engine`; ``device=``)
    the same brute force in float64 torch on a device (``"cpu"``, ``"cuda"``, ...), in
    blocks of query rows so that no N x N matrix is held.

One-dimensional radius counts (the marginals of KSG on 1-D pairs) use none of these:
:mod:`.sorted1d` sorts the values once and finds each count by two binary searches,
O(N log N) in all.

Distances are exact for the max-norm (a maximum of absolute differences), so every engine
finds the same neighbours and counts; Euclidean distances agree to rounding (about 1e-15
relative), the engines summing the squares in different orders. Whether a sample at
exactly the radius is counted is decided the same way everywhere: by comparing the
computed max-norm distance (an absolute difference) with the radius.

The kernels know nothing of the estimators: which radius to count within, and whether
strictly or not, is the caller's choice (KSG's two variants: ``ksg.py``).

Numba's on-disk cache (``@njit(cache=True)``) is keyed on the file of each cached
function: it does not notice an edit to a kernel in *another* file that a cached kernel
calls (a documented numba limitation). Kernels therefore call only kernels of their own
module, except :func:`._shared.within_radius`; after editing ``_shared.py``, delete the
``__pycache__`` folders (or set ``NUMBA_CACHE_DIR`` afresh) before measuring or testing.
"""
