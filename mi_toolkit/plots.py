"""Figures of results: the training curve of a neural estimate, and the figures of an
information-plane analysis (the plane, training curves, gradient phases, comparisons
side by side, bands over seeds, neuron ablation curves).

matplotlib is an optional extra (``pip install 'mi-toolkit[plot]'``); it is imported only
when a figure is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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


# --- Figures of the information-plane analysis (issue 13) -------------------------------
# They take plain arrays, so they draw a plane of mi_toolkit.plane, rows of a tidy table
# or anyone's own numbers. Figures are built with matplotlib.figure.Figure, not pyplot:
# no global state, no backend, and a test may draw hundreds without closing them.

#: Image types written, chosen by the file's suffix.
IMAGE_SUFFIXES = (".png", ".pdf", ".svg")
_LAYER_MARKERS = "os^Dvp<>h*"


def _check_image_path(path: str | os.PathLike) -> None:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"path {os.fspath(path)!r}: unknown image type {suffix or '(no suffix)'!r}; "
            f"end the name with one of {', '.join(IMAGE_SUFFIXES)}"
        )


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'mi-toolkit[plot]'") from None
    return matplotlib


def _new_figure(columns: int = 1, *, width: float = 6.0, height: float = 4.5, **shared: Any):
    """A Figure with ``columns`` side-by-side axes (``sharex``/``sharey`` passed on)."""
    _matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width * columns if columns > 1 else width, height))
    axes = figure.subplots(1, columns, squeeze=False, **shared)[0]
    return figure, list(axes)


def _figure_for(axes: Any, height: float = 4.5) -> tuple[Any, Any]:
    """The given axes and their figure, or a new figure with one pair of axes."""
    if axes is not None:
        return axes.figure, axes
    figure, (new_axes,) = _new_figure(height=height)
    return figure, new_axes


def _finish(figure: Any, path: str | os.PathLike | None) -> Any:
    """Lay out and, with a path, save at 200 dpi (PNG, PDF or SVG by suffix)."""
    if path is not None:
        _check_image_path(path)
        figure.savefig(path, dpi=200, bbox_inches="tight")
    return figure


def _curves(values: Any, name: str, n_epochs: int) -> np.ndarray:
    """(E,) or (E, L) -> (E, L) float."""
    array = np.asarray(values, dtype=np.float64)
    array = array[:, None] if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[0] != n_epochs:
        raise ValueError(
            f"{name} must be shaped (epochs,) or (epochs, layers) with {n_epochs} epochs; "
            f"got {np.shape(values)}"
        )
    return array


def _layer_names(layers: Sequence[str] | None, count: int) -> list[str]:
    names = list(layers) if layers is not None else [f"layer {i + 1}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"layers names {len(names)} layers but the curves hold {count}")
    return names


def _epoch_norm(epochs: np.ndarray, epoch_range: tuple[float, float] | None) -> Any:
    from matplotlib.colors import LogNorm

    low, high = epoch_range if epoch_range is not None else (epochs.min(), epochs.max())
    return LogNorm(vmin=low + 1.0, vmax=max(high + 1.0, low + 2.0))


def plot_information_plane(
    epochs: Any,
    i_xt: Any,
    i_ty: Any,
    *,
    layers: Sequence[str] | None = None,
    units: str = "bits",
    ceiling: float | None = None,
    title: str | None = None,
    axes: Any = None,
    colorbar: bool = True,
    epoch_range: tuple[float, float] | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """The information plane in the studies' style (Shwartz-Ziv & Tishby 2017, Fig. 3).

    x = I(X;T), y = I(T;Y), one trajectory per layer (told apart by marker), points
    coloured by epoch on a log scale with a colour bar, and the log N ceiling of I(X;T)
    marked by a dashed vertical line.

    Parameters
    ----------
    epochs : array_like
        (E,) recorded epochs.
    i_xt, i_ty : array_like
        (E,) or (E, L) values in ``units`` (e.g. ``plane.i_xt``); NaNs are not drawn.
    layers : sequence of str, optional
        Layer names for the legend.
    units : str
        Units of the values, for the axis labels.
    ceiling : float, optional
        log N in ``units`` (N distinct inputs), the most I(X;T) can be.
    title : str, optional
    axes : matplotlib.axes.Axes, optional
        Draw into these axes (e.g. a panel of :func:`plot_side_by_side`) instead of a new
        figure.
    colorbar : bool
        Add the epoch colour bar.
    epoch_range : (float, float), optional
        Epochs the colour scale spans (to share it between panels); default these epochs.
    path : str or os.PathLike, optional
        Save the figure here; the suffix picks the type (.png, .pdf or .svg).

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = np.asarray(epochs, dtype=np.float64)
    xs, ys = _curves(i_xt, "i_xt", len(epochs)), _curves(i_ty, "i_ty", len(epochs))
    if xs.shape != ys.shape:
        raise ValueError(f"i_xt {xs.shape} and i_ty {ys.shape} must have the same shape")
    names = _layer_names(layers, xs.shape[1])
    figure, axes = _figure_for(axes)
    norm = _epoch_norm(epochs, epoch_range)
    points = None
    for column, name in enumerate(names):
        marker = _LAYER_MARKERS[column % len(_LAYER_MARKERS)]
        axes.plot(xs[:, column], ys[:, column], color="0.45", linewidth=0.8, zorder=1)
        points = axes.scatter(
            xs[:, column],
            ys[:, column],
            c=epochs + 1.0,
            cmap="viridis",
            norm=norm,
            s=16,
            marker=marker,
            edgecolors="none",
            zorder=2,
        )
        # A grey proxy, so that the legend shows the layer's marker rather than a colour.
        axes.scatter([], [], marker=marker, color="0.3", s=20, label=name)
    if ceiling is not None:
        axes.axvline(ceiling, color="0.3", linestyle="--", linewidth=0.9, zorder=0)
        # Above the axes, where no trajectory or legend can hide it.
        axes.annotate(
            f"log N = {ceiling:.3g} {units}",
            xy=(ceiling, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color="0.3",
        )
    axes.set_xlabel(f"I(X;T) [{units}]")
    axes.set_ylabel(f"I(T;Y) [{units}]")
    axes.legend(title="layer", loc="best", frameon=False)
    if title:
        axes.set_title(title)
    if colorbar:
        bar = figure.colorbar(points, ax=axes)
        bar.set_label("epoch + 1 (log scale)")
    return _finish(figure, path)


def _band(axes: Any, epochs: np.ndarray, runs: np.ndarray, color: str, label: str) -> None:
    """Mean over runs (rows) as a line, ± one standard deviation as a band."""
    mean = np.nanmean(runs, axis=0)
    spread = np.nanstd(runs, axis=0, ddof=1) if len(runs) > 1 else np.zeros_like(mean)
    axes.plot(epochs, mean, color=color, label=label)
    axes.fill_between(epochs, mean - spread, mean + spread, color=color, alpha=0.25, lw=0)


def plot_seed_band(
    epochs: Any,
    values: Any,
    *,
    layers: Sequence[str] | None = None,
    ylabel: str = "I(X;T) [bits]",
    title: str | None = None,
    log_x: bool = True,
    axes: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Mean ± one standard deviation over seeds against epoch, one band per layer.

    Parameters
    ----------
    epochs : array_like
        (E,) recorded epochs.
    values : array_like
        (S, E) or (S, E, L): S seeds (members), E epochs, L layers.
    layers : sequence of str, optional
        Layer names for the legend.
    ylabel, title : str
    log_x : bool
        Epoch axis on a log scale (of epoch + 1).
    axes : matplotlib.axes.Axes, optional
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = np.asarray(epochs, dtype=np.float64)
    runs = np.asarray(values, dtype=np.float64)
    runs = runs[..., None] if runs.ndim == 2 else runs
    if runs.ndim != 3 or runs.shape[1] != len(epochs):
        raise ValueError(
            f"values must be shaped (seeds, epochs) or (seeds, epochs, layers) with "
            f"{len(epochs)} epochs; got {np.shape(values)}"
        )
    names = _layer_names(layers, runs.shape[2])
    figure, axes = _figure_for(axes)
    x = epochs + 1.0 if log_x else epochs
    for column, name in enumerate(names):
        _band(axes, x, runs[:, :, column], f"C{column}", name)
    _epoch_axis(axes, log_x)
    axes.set_ylabel(ylabel)
    axes.legend(title=f"mean ± sd over {runs.shape[0]} seeds", frameon=False)
    if title:
        axes.set_title(title)
    return _finish(figure, path)


def _epoch_axis(axes: Any, log_x: bool = True) -> None:
    if log_x:
        axes.set_xscale("log")
        axes.set_xlabel("epoch + 1")
    else:
        axes.set_xlabel("epoch")


def _named_curves(values: Any, n_epochs: int, name: str) -> dict[str, np.ndarray]:
    if values is None:
        return {}
    items = values.items() if isinstance(values, Mapping) else [(name, values)]
    curves = {}
    for label, curve in items:
        curve = np.asarray(curve, dtype=np.float64)
        if curve.shape != (n_epochs,):
            raise ValueError(f"{name} {label!r} must have {n_epochs} values; got {curve.shape}")
        curves[label] = curve
    return curves


def plot_training_metrics(
    epochs: Any,
    loss: Any = None,
    accuracy: Any = None,
    *,
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Loss and accuracy against epoch, side by side, epochs on a log scale.

    Parameters
    ----------
    epochs : array_like
        (E,) recorded epochs.
    loss, accuracy : array_like or mapping of str to array_like, optional
        One (E,) curve, or several by name (``{"train": ..., "test": ...}``).
    title : str, optional
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = np.asarray(epochs, dtype=np.float64)
    panels = [
        (label, _named_curves(values, len(epochs), label))
        for label, values in (("loss", loss), ("accuracy", accuracy))
        if values is not None
    ]
    if not panels:
        raise ValueError("pass loss=, accuracy= or both")
    figure, all_axes = _new_figure(len(panels), width=4.0, height=3.2, sharex=True)
    for axes, (label, curves) in zip(all_axes, panels, strict=True):
        for name, curve in curves.items():
            axes.plot(epochs + 1.0, curve, label=name)
        _epoch_axis(axes)
        axes.set_ylabel(label)
        if len(curves) > 1:
            axes.legend(frameon=False)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_gradients(
    epochs: Any,
    grad_mean: Any,
    grad_std: Any,
    *,
    layers: Sequence[str] | None = None,
    transitions: Mapping[str, int | None] | None = None,
    title: str | None = None,
    axes: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Per-layer gradient mean and standard deviation against epoch, both axes log.

    The drift phase (mean above the spread) and the diffusion phase (below) of
    Shwartz-Ziv & Tishby (2017, Fig. 4): the mean norm ‖E_b[g]‖ is drawn solid and the
    spread ‖Std_b[g]‖ dashed, one colour per layer.

    Parameters
    ----------
    epochs : array_like
        (E,) recorded epochs.
    grad_mean, grad_std : array_like
        (E,) or (E, L) gradient norms (see :func:`mi_toolkit.phases.gradient_norms`).
    layers : sequence of str, optional
    transitions : mapping of str to int or None, optional
        Drift-to-diffusion epochs by layer (e.g. from :mod:`mi_toolkit.phases`), marked
        by dotted vertical lines.
    title : str, optional
    axes : matplotlib.axes.Axes, optional
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    epochs = np.asarray(epochs, dtype=np.float64)
    means = _curves(grad_mean, "grad_mean", len(epochs))
    spreads = _curves(grad_std, "grad_std", len(epochs))
    if means.shape != spreads.shape:
        raise ValueError(f"grad_mean {means.shape} and grad_std {spreads.shape} must match")
    names = _layer_names(layers, means.shape[1])
    figure, axes = _figure_for(axes)
    for column, name in enumerate(names):
        color = f"C{column}"
        axes.plot(epochs + 1.0, means[:, column], color=color, label=name)
        axes.plot(epochs + 1.0, spreads[:, column], color=color, linestyle="--")
        epoch = (transitions or {}).get(name)
        if epoch is not None:
            axes.axvline(epoch + 1.0, color=color, linestyle=":", linewidth=0.9)
    _epoch_axis(axes)
    axes.set_yscale("log")
    axes.set_ylabel("gradient norm (mean solid, std dashed)")
    axes.legend(title="layer", frameon=False, loc="best")
    if title:
        axes.set_title(title)
    return _finish(figure, path)


#: What :func:`plot_side_by_side` can draw in each panel.
PANEL_KINDS = {
    "plane": plot_information_plane,
    "gradients": plot_gradients,
    "band": plot_seed_band,
}


def plot_side_by_side(
    panels: Mapping[str, Mapping[str, Any]],
    kind: str = "plane",
    *,
    sharex: bool = True,
    sharey: bool = True,
    path: str | os.PathLike | None = None,
) -> Any:
    """Panels side by side with shared axes, for comparisons (tanh against ReLU, ...).

    Parameters
    ----------
    panels : mapping of str to mapping
        Title -> the keyword arguments of the panel's drawing function (for ``"plane"``:
        ``epochs``, ``i_xt``, ``i_ty`` and optionally ``layers``, ``units``,
        ``ceiling``).
    kind : {"plane", "gradients", "band"}
        :func:`plot_information_plane`, :func:`plot_gradients` or
        :func:`plot_seed_band`.
    sharex, sharey : bool
        Share the axes' ranges between panels.
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
        For planes, one colour bar serves every panel (the colour scale spans all their
        epochs).
    """
    if kind not in PANEL_KINDS:
        raise ValueError(f"kind must be one of {sorted(PANEL_KINDS)}; got {kind!r}")
    if not panels:
        raise ValueError("panels is empty; pass {title: {argument: value}}")
    draw = PANEL_KINDS[kind]
    figure, all_axes = _new_figure(len(panels), width=4.5, sharex=sharex, sharey=sharey)
    extra: dict[str, Any] = {}
    if kind == "plane":
        every = np.concatenate([np.asarray(p["epochs"], dtype=float) for p in panels.values()])
        extra = {"colorbar": False, "epoch_range": (every.min(), every.max())}
    for axes, (title, arguments) in zip(all_axes, panels.items(), strict=True):
        draw(**{**arguments, **extra}, title=title, axes=axes)
    if kind == "plane":
        bar = figure.colorbar(all_axes[-1].collections[0], ax=all_axes)
        bar.set_label("epoch + 1 (log scale)")
    for axes in all_axes[1:]:
        legend = axes.get_legend()
        if legend is not None:  # the first panel's legend names the layers for all
            legend.remove()
        if sharey:
            axes.set_ylabel("")
    return _finish(figure, path)


def plot_ablation(
    curves: Any,
    *,
    title: str | None = None,
    axes: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Test accuracy against the number of units zeroed (Liu, Amjad & Geiger 2018).

    Parameters
    ----------
    curves : AblationCurves
        From :func:`mi_toolkit.neurons.ablate_layer` or
        :func:`~mi_toolkit.neurons.cumulative_ablation`: the descending and ascending
        curves are drawn as lines, the random orders as their mean ± one standard
        deviation.
    title : str, optional
        Default: the layer's name.
    axes : matplotlib.axes.Axes, optional
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure, axes = _figure_for(axes, height=3.5)
    styles = {"descending": "C3", "ascending": "C0"}
    for order, accuracy in curves.accuracy.items():
        label = f"{order} I(T;Y)"
        axes.plot(curves.n_ablated, accuracy, color=styles.get(order, "C2"), label=label)
    if len(curves.random):
        label = f"random ({len(curves.random)} orders, mean ± sd)"
        _band(axes, curves.n_ablated, curves.random, "0.4", label)
    axes.set_xlabel("units zeroed")
    axes.set_ylabel("test accuracy")
    axes.set_ylim(0.0, 1.02)
    axes.legend(frameon=False)
    axes.set_title(title if title is not None else f"cumulative ablation of {curves.layer}")
    return _finish(figure, path)
