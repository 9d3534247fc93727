"""Progress on stderr for long work, quiet on request: tqdm bars and the numba notice."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm


def progress_reporter(label: str, total: int, show: bool | None) -> Callable[[int], None]:
    """A callback taking the count done so far that advances a progress bar.

    ``show=False`` does nothing; ``show=None`` shows the bar only when stderr is a terminal.
    """
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return lambda done: None
    bar = tqdm(total=total, desc=label, mininterval=0.5)

    def report(done: int) -> None:
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def _kernel_modules() -> list[Path]:
    """The package's modules that define numba kernels (``@njit``)."""
    package = Path(__file__).resolve().parent
    decorated = re.compile(r"^@njit", re.MULTILINE)
    return [p for p in package.rglob("*.py") if decorated.search(p.read_text(encoding="utf-8"))]


def _cache_folders(module: Path) -> list[Path]:
    folders = [module.parent / "__pycache__"]
    custom = os.environ.get("NUMBA_CACHE_DIR")
    if custom:
        folders.append(Path(custom))
    return folders


def kernels_compiled() -> bool:
    """Whether numba's cache holds an index (``*.nbi``) for every kernel module."""
    for module in _kernel_modules():
        pattern = f"{module.stem}.*.nbi"
        if not any(next(folder.rglob(pattern), None) for folder in _cache_folders(module)):
            return False
    return True


def announce_compilation(quiet: bool = False) -> None:
    """Say on stderr that numba compiles, when its cache is empty (the first run only)."""
    if not quiet and not kernels_compiled():
        print("compiling numba kernels (first run only, ~20 s)...", file=sys.stderr, flush=True)
