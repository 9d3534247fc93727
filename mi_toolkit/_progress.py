"""Progress lines on stderr for long work, quiet on request. Imports nothing of ours."""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress_reporter(label: str, total: int, show: bool | None) -> Callable[[int], None]:
    """A callback that writes "label: done/total" on stderr, or does nothing when quiet.

    ``show=None`` writes only when stderr is a terminal.
    """
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return lambda done: None

    def report(done: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return report
