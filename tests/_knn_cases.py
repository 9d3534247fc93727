"""The checks the kNN estimator tests share (their data comes from _cases)."""

from __future__ import annotations

from _cases import Z, gaussian_pairs

from mi_toolkit import estimate_mi


def assert_downward_bias_that_shrinks(
    method: str, pairs: int, seed: int, max_bias: float, **params
):
    """The estimate is clearly below the truth, by at most max_bias at N = 5000, and by
    less at N = 5000 than at N = 1000 (the stated bias of kNN estimators in high d)."""
    errors = []
    for n in (1000, 5000):
        x, y, truth = gaussian_pairs(pairs, n, seed)
        result = estimate_mi(x, y, method, **params)
        errors.append(truth - result.value)
        assert errors[-1] > Z * result.standard_error
    assert errors[1] < max_bias
    assert errors[1] < errors[0]


def assert_about_zero_when_independent(method: str, dim: int, n: int, seed: int) -> None:
    x, y, _ = gaussian_pairs(dim, n, seed, rho=0.0)
    result = estimate_mi(x, y, method)
    assert abs(result.value) < Z * result.standard_error
