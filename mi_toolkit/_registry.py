"""Name -> estimator class. Imports nothing else of ours, so every module may use it."""

from __future__ import annotations

from typing import Any

_METHODS: dict[str, type[Any]] = {}


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: make an estimator reachable by its ``name`` attribute."""
    name = cls.name
    if name in _METHODS and _METHODS[name] is not cls:
        raise RuntimeError(f"two estimators claim the method name {name!r}")
    _METHODS[name] = cls
    return cls


def get_method(name: str) -> type[Any]:
    """Return the estimator class registered under ``name``."""
    if not isinstance(name, str):
        raise TypeError(f"method must be a string such as 'kde'; got {type(name).__name__}")
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(list_methods())}"
        ) from None


def list_methods() -> list[str]:
    """Names of every registered estimator, sorted."""
    return sorted(_METHODS)
