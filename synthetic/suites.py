"""Named sets of tasks: ``get_suite("quick")`` for CI, ``get_suite("full")`` for benchmarks.

A suite is a list of task names resolved against the registry when asked for, so tasks
registered later (by other modules) join ``"full"`` and their family's suite. Besides
``quick`` and ``full``: ``beyond-normal`` (the 40 tasks of Czyż et al., 2023, standardised
per column as that benchmark does), ``high-mi`` (Gaussians and transformed Gaussians
from 5 to 20 nats) and one suite per family (``images`` among them).
"""

from __future__ import annotations

from mi_toolkit.synthetic.base import Task
from mi_toolkit.synthetic.beyond_normal import BEYOND_NORMAL
from mi_toolkit.synthetic.tasks import get_task, list_tasks

#: Small, fast tasks spanning every family: what CI runs.
QUICK = (
    "gaussian-1d-rho0.9",
    "gaussian-3x3",
    "gaussian-dense-5x5-rho0.5",
    "gaussian-sparse-25x25-k2-rho0.8",
    "gaussian-rotated-5x5-mi2",
    "student-2x2-dof3-rho0.5",
    "transform-halfcube-gaussian-2x2-mi1",
    "transform-swissroll-gaussian-1x1-mi1",
    "uniform-noise-eps0.1",
    "images-blobs16-mi1",
    "channel-linear-gaussian-5to3",
    "channel-bsc-p0.1",
    "bits12-popcount",
    "1v1-bimodal-0.75",
)

#: Gaussians and transformed Gaussians carrying 5 to 20 nats: where estimators saturate.
HIGH_MI = (
    "gaussian-rotated-5x5-mi5",
    "gaussian-rotated-5x5-mi10",
    "gaussian-rotated-5x5-mi15",
    "gaussian-rotated-5x5-mi20",
    "gaussian-rotated-25x25-mi10",
    "gaussian-rotated-50x50-mi10",
    "gaussian-rotated-2x2-mi20",
    "gaussian-rotated-100x100-mi20",
    "transform-normalcdf-gaussian-5x5-mi10",
    "transform-halfcube-gaussian-5x5-mi10",
    "transform-asinh-gaussian-5x5-mi10",
    "transform-wiggly-gaussian-5x5-mi10",
    "transform-spiral-gaussian-5x5-mi10",
    "transform-normalcdf-gaussian-5x5-mi20",
    "transform-halfcube-gaussian-5x5-mi20",
    "transform-asinh-gaussian-5x5-mi20",
    "transform-wiggly-gaussian-5x5-mi20",
)

#: Suites given as explicit lists of names.
LISTED: dict[str, tuple[str, ...]] = {
    "quick": QUICK,
    "beyond-normal": tuple(BEYOND_NORMAL),
    "high-mi": HIGH_MI,
}

#: Family suites: every task whose name starts with one of the prefixes.
FAMILIES: dict[str, tuple[str, ...]] = {
    "gaussian": ("gaussian-",),
    "student": ("student-",),
    "transforms": ("transform-",),
    "noise": ("uniform-noise-",),
    "images": ("images-",),
    "channels": ("channel-",),
    "discrete": ("bits12-", "discrete-"),
}


def list_suites() -> list[str]:
    """Names of all suites: ``quick``, ``full``, ``beyond-normal``, ``high-mi``, one per family."""
    return ["quick", "full", "beyond-normal", "high-mi", *FAMILIES]


def suite_task_names(name: str) -> list[str]:
    """The task names in suite ``name``, in a stable order."""
    if name in LISTED:
        return list(LISTED[name])
    if name == "full":
        return list_tasks()
    if name in FAMILIES:
        return [task for task in list_tasks() if task.startswith(FAMILIES[name])]
    raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(list_suites())}")


def get_suite(name: str) -> list[Task]:
    """The tasks of suite ``name`` (``"quick"``, ``"full"``, ``"beyond-normal"``, ``"high-mi"``
    or a family such as ``"images"``)."""
    return [get_task(task) for task in suite_task_names(name)]
