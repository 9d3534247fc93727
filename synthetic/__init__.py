"""Distributions and data sets with known mutual information.

Every case is a :class:`Task`: ``task.sample(n, seed) -> (x, y)``,
``task.mutual_information`` (nats), ``task.dim_x``, ``task.dim_y``, a name and a
description. :func:`list_tasks` and :func:`get_task` reach them by name.
"""

from mi_toolkit.synthetic.base import Sampler, Task
from mi_toolkit.synthetic.datasets import (
    LabelledData,
    load_digits,
    load_mnist,
    load_var_u,
    read_idx,
    train_test_split,
    twelve_bit_task,
)
from mi_toolkit.synthetic.discrete import UniformPatternsMap, all_bit_patterns, popcount
from mi_toolkit.synthetic.gaussian import CorrelatedPairs
from mi_toolkit.synthetic.tasks import get_task, list_tasks, register_task

__all__ = [
    "CorrelatedPairs",
    "LabelledData",
    "Sampler",
    "Task",
    "UniformPatternsMap",
    "all_bit_patterns",
    "get_task",
    "list_tasks",
    "load_digits",
    "load_mnist",
    "load_var_u",
    "popcount",
    "read_idx",
    "register_task",
    "train_test_split",
    "twelve_bit_task",
]
