"""The registry of named tasks."""

from __future__ import annotations

from collections.abc import Callable

from mi_toolkit.synthetic.base import Task
from mi_toolkit.synthetic.discrete import UniformPatternsMap, popcount
from mi_toolkit.synthetic.gaussian import CorrelatedPairs

_TASKS: dict[str, Callable[[], Task]] = {}


def register_task(name: str, description: str) -> Callable:
    """Decorator: register a zero-argument function that builds a task's sampler."""

    def wrap(build: Callable) -> Callable:
        if name in _TASKS:
            raise RuntimeError(f"two tasks claim the name {name!r}")
        _TASKS[name] = lambda: Task(name, description, build())
        return build

    return wrap


def get_task(name: str) -> Task:
    """The task registered under ``name``."""
    try:
        return _TASKS[name]()
    except KeyError:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(list_tasks())}") from None


def list_tasks() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(_TASKS)


@register_task("gaussian-1d-rho0.9", "one correlated Gaussian pair, ρ = 0.9")
def _gaussian_1d() -> CorrelatedPairs:
    return CorrelatedPairs([0.9])


@register_task("gaussian-3x3", "three correlated Gaussian pairs, ρ = 0.6, 0.7, 0.8")
def _gaussian_3x3() -> CorrelatedPairs:
    return CorrelatedPairs([0.6, 0.7, 0.8])


@register_task("bits12-identity", "X uniform over the 4096 12-bit patterns, Y = X")
def _bits_identity() -> UniformPatternsMap:
    return UniformPatternsMap(12, lambda patterns: patterns)


@register_task("bits12-popcount", "X uniform over 12-bit patterns, Y = number of ones in X")
def _bits_popcount() -> UniformPatternsMap:
    return UniformPatternsMap(12, popcount)
