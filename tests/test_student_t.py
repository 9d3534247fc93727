"""Method "student-t": the closed form of a fitted multivariate t, against known MI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z

from mi_toolkit import estimate_entropy, estimate_mi
from mi_toolkit.estimators.student_t import (
    fit_student_t,
    scale_information,
    student_entropy,
)
from mi_toolkit.synthetic import get_task


def _t_sample(n, dispersion, dof, seed):
    rng = np.random.default_rng(seed)
    factor = np.linalg.cholesky(dispersion)
    normal = rng.standard_normal((n, dispersion.shape[0])) @ factor.T
    return normal / np.sqrt(rng.chisquare(dof, size=(n, 1)) / dof)


def test_scale_information_is_the_entropy_difference():
    for dof, d_x, d_y in ((1.0, 1, 1), (3.0, 2, 3), (7.5, 5, 5)):
        direct = (
            student_entropy(0.0, dof, d_x)
            + student_entropy(0.0, dof, d_y)
            - student_entropy(0.0, dof, d_x + d_y)
        )
        assert scale_information(dof, d_x, d_y) == pytest.approx(direct, rel=1e-12)
    # The Gaussian limit carries nothing through the scale.
    assert abs(scale_information(1e7, 3, 3)) < 1e-5


def test_the_fit_recovers_the_parameters():
    dispersion = np.array([[2.0, 0.6], [0.6, 1.0]])
    values = _t_sample(20000, dispersion, 4.0, seed=0) + np.array([1.0, -2.0])
    fit = fit_student_t(values)
    assert fit.dof == pytest.approx(4.0, rel=0.1)
    assert np.allclose(fit.location, [1.0, -2.0], atol=0.03)
    assert np.allclose(fit.dispersion, dispersion, rtol=0.05, atol=0.03)


@pytest.mark.parametrize(
    "name", ["student-identity-1-1-1", "student-identity-3-3-3", "student-5x5-dof5-rho0.5"]
)
def test_mi_of_t_data_matches_the_truth(name):
    # The truths come from synthetic's own t formulas; the bias is about d_x d_y / 2N.
    task = get_task(name)
    x, y = task.sample(4000, seed=2)
    result = estimate_mi(x, y, method="student-t")
    bias = task.dim_x * task.dim_y / (2 * 4000)
    assert abs(result.value - task.mutual_information) < Z * result.standard_error + bias
    assert not result.warnings


def test_entropy_matches_the_closed_form():
    dispersion = np.diag([1.0, 4.0])
    values = _t_sample(8000, dispersion, 3.0, seed=5)
    result = estimate_entropy(values, method="student-t")
    truth = student_entropy(math.log(4.0), 3.0, 2)
    assert abs(result.value - truth) < Z * result.standard_error


def test_data_that_are_not_t_carry_a_warning():
    task = get_task("channel-mixture-3d")
    x, y = task.sample(3000, seed=1)
    result = estimate_mi(x, y, method="student-t")
    assert [w.kind for w in result.warnings] == ["poor_fit"]
    assert result.details["fit_p_value"] < 0.01


def test_too_few_samples_for_the_dimension_is_an_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="student-t"):
        estimate_mi(rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), "student-t")
