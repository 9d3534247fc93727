"""The task registry and the suites built on it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit.synthetic import get_suite, get_task, list_suites, list_tasks
from mi_toolkit.synthetic.suites import FAMILIES, suite_task_names


def test_the_demo_tasks_keep_their_names_and_truths():
    assert get_task("gaussian-1d-rho0.9").mutual_information == pytest.approx(
        -0.5 * math.log(1 - 0.81)
    )
    assert get_task("gaussian-3x3").mutual_information == pytest.approx(
        -0.5 * sum(math.log(1 - r**2) for r in (0.6, 0.7, 0.8))
    )
    assert get_task("bits12-identity").mutual_information == pytest.approx(12 * math.log(2))
    assert get_task("bits12-popcount").sampler.patterns.shape == (4096, 12)


@pytest.mark.parametrize("name", list_tasks())
def test_every_task_builds_and_samples(name):
    task = get_task(name)
    assert task.name == name and task.description
    x, y = task.sample(16, seed=0)
    assert x.shape == (16, task.dim_x) and y.shape == (16, task.dim_y)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert math.isfinite(task.mutual_information) and task.mutual_information >= 0


def test_quick_suite_spans_every_family():
    names = suite_task_names("quick")
    assert set(names) <= set(list_tasks())
    for prefixes in FAMILIES.values():
        assert any(name.startswith(prefixes) for name in names)
    assert [task.name for task in get_suite("quick")] == names


def test_full_suite_is_every_task_and_families_do_not_overlap():
    assert suite_task_names("full") == list_tasks()
    seen: set[str] = set()
    for family in FAMILIES:
        members = set(suite_task_names(family))
        assert members and not members & seen
        seen |= members
    assert seen <= set(list_tasks())
    assert {"quick", "full", "beyond-normal", "high-mi", *FAMILIES} == set(list_suites())


def test_listed_suites_name_registered_tasks():
    assert len(suite_task_names("beyond-normal")) == 40
    assert "1v1-bimodal-0.75" in suite_task_names("quick")
    assert suite_task_names("images") == [t for t in list_tasks() if t.startswith("images-")]
    high = get_suite("high-mi")
    assert {task.name.split("-")[0] for task in high} == {"gaussian", "transform"}
    truths = [task.mutual_information for task in high]
    assert min(truths) == 5.0 and max(truths) == 20.0
    assert sum(truth >= 10.0 for truth in truths) >= 10


def test_unknown_names_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="valid suites: quick, full"):
        get_suite("nightly")
    with pytest.raises(ValueError, match="valid tasks"):
        get_task("gaussian-9d")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        get_task("gaussian-3x3").sample(0)
