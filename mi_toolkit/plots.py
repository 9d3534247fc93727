"""Figures of results: the training curve of a neural estimate.

matplotlib is an optional extra (``pip install 'mi-toolkit[plot]'``); it is imported only
when a figure is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from mi_toolkit.result import MIEstimate, unit_scale


def plot_training_curve(result: MIEstimate, path: str | os.PathLike | None = None) -> Any:
    """Draw a neural estimate's training curve: the bound on training batches and on the
    validation part at each evaluation, the best step, and the reported held-out value.

    Parameters
    ----------
    result : MIEstimate
        A result of a neural method (``mine``, ``nwj``, ``infonce``, ``smile``), whose
        ``details["curve"]`` holds the curve.
    path : str or os.PathLike or None, optional
        Where to save the figure (any format matplotlib writes); None only returns it.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, in the result's units.

    Raises
    ------
    ValueError
        When the result has no training curve (not a neural method).
    """
    curve = result.details.get("curve")
    if not curve:
        raise ValueError(
            f"result of method {result.method!r} has no training curve; only the neural "
            "methods (mine, nwj, infonce, smile) record one in details['curve']"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plot_training_curve needs matplotlib: pip install 'mi-toolkit[plot]'"
        ) from None
    scale = unit_scale(result.units)  # the curve is recorded in nats
    with plt.rc_context({"font.size": 9, "legend.fontsize": 8}):
        figure, axes = plt.subplots(figsize=(6, 3.5))
        steps = curve["step"]
        axes.plot(steps, [v * scale for v in curve["train"]], color="0.6", label="training batches")
        axes.plot(steps, [v * scale for v in curve["validation"]], color="C0", label="validation")
        best = result.details.get("best_step")
        if best is not None:
            axes.axvline(best, color="C0", linestyle=":", label=f"best step ({best})")
        axes.axhline(result.value, color="C3", linestyle="--", label="reported (test part)")
        axes.set_xlabel("training step")
        axes.set_ylabel(f"bound [{result.units}]")
        failed = " — failed" if result.details.get("failed") else ""
        axes.set_title(f"{result.method}: training curve{failed}")
        axes.legend(loc="lower right")
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=200)
    return figure
