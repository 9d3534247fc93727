"""Progress bars on stderr for long work, quiet on request (tqdm underneath)."""

from __future__ import annotations

import sys
from collections.abc import Callable

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
