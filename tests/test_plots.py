"""Figures of the information-plane analysis: axes, labels, scales and written files."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import LogNorm

from mi_toolkit.neurons import AblationCurves
from mi_toolkit.plots import (
    plot_ablation,
    plot_gradients,
    plot_information_plane,
    plot_seed_band,
    plot_side_by_side,
    plot_training_metrics,
)

EPOCHS = np.array([0, 1, 3, 9, 30, 99, 299])


def plane_arrays(shift: float = 0.0) -> dict:
    rising = np.linspace(2.0, 11.0, len(EPOCHS))
    i_xt = np.stack([rising + shift, rising - 1.0], axis=1)
    i_ty = np.stack([np.linspace(0.1, 0.9, len(EPOCHS))] * 2, axis=1)
    return {"epochs": EPOCHS, "i_xt": i_xt, "i_ty": i_ty, "layers": ["h1", "h2"]}


def colorbars(figure) -> list:
    return [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]


def test_the_information_plane_in_the_studies_style(tmp_path):
    figure = plot_information_plane(**plane_arrays(), ceiling=12.0, title="tanh")
    axes = figure.axes[0]
    assert axes.get_xlabel() == "I(X;T) [bits]"
    assert axes.get_ylabel() == "I(T;Y) [bits]"
    assert axes.get_title() == "tanh"
    # One coloured trajectory per layer, coloured by epoch + 1 on a log scale.
    coloured = [c for c in axes.collections if len(c.get_offsets())]
    assert len(coloured) == 2
    assert all(isinstance(c.norm, LogNorm) for c in coloured)
    assert coloured[0].get_array().tolist() == (EPOCHS + 1.0).tolist()
    assert np.allclose(coloured[1].get_offsets()[:, 0], plane_arrays()["i_xt"][:, 1])
    [bar] = colorbars(figure)
    assert bar.get_ylabel() == "epoch + 1 (log scale)"
    # The log N ceiling: a vertical line at x = 12 and its label.
    assert any(list(line.get_xdata()) == [12.0, 12.0] for line in axes.get_lines())
    assert any("log N = 12 bits" in text.get_text() for text in axes.texts)
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["h1", "h2"]


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_figures_are_written_by_suffix(tmp_path, suffix, magic):
    path = tmp_path / f"plane{suffix}"
    plot_information_plane(**plane_arrays(), path=path)
    assert path.read_bytes()[:4] == magic


def test_an_unknown_suffix_is_refused_before_drawing(tmp_path):
    with pytest.raises(ValueError, match=r"unknown image type '.jpeg'.*\.png, \.pdf, \.svg"):
        plot_information_plane(**plane_arrays(), path=tmp_path / "plane.jpeg")


def test_loss_and_accuracy_against_epoch():
    loss = {"train": np.linspace(1, 0.1, len(EPOCHS)), "test": np.linspace(1, 0.3, len(EPOCHS))}
    figure = plot_training_metrics(EPOCHS, loss, np.linspace(0.5, 1.0, len(EPOCHS)))
    loss_axes, accuracy_axes = figure.axes
    assert (loss_axes.get_ylabel(), accuracy_axes.get_ylabel()) == ("loss", "accuracy")
    assert loss_axes.get_xscale() == accuracy_axes.get_xscale() == "log"
    assert loss_axes.get_xlabel() == "epoch + 1"
    assert [t.get_text() for t in loss_axes.get_legend().get_texts()] == ["train", "test"]
    with pytest.raises(ValueError, match="loss 'test' must have 7 values"):
        plot_training_metrics(EPOCHS, {"test": [1.0, 2.0]})


def test_gradient_mean_and_std_on_log_axes():
    mean = np.stack([10.0 / (EPOCHS + 1), 5.0 / (EPOCHS + 1)], axis=1)
    spread = np.ones_like(mean)
    figure = plot_gradients(EPOCHS, mean, spread, layers=["h1", "h2"], transitions={"h1": 9})
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    styles = [(line.get_linestyle(), line.get_color()) for line in axes.get_lines()]
    # Per layer a solid mean and a dashed std of one colour; the transition dotted.
    assert styles[:2] == [("-", "C0"), ("--", "C0")]
    assert ("-", "C1") in styles and ("--", "C1") in styles
    [dotted] = [line for line in axes.get_lines() if line.get_linestyle() == ":"]
    assert dotted.get_xdata()[0] == 10.0  # epoch 9 on the epoch + 1 axis


def test_side_by_side_panels_share_axes_and_one_colour_bar():
    panels = {"tanh": plane_arrays(), "ReLU": {**plane_arrays(2.0), "epochs": EPOCHS * 10}}
    figure = plot_side_by_side(panels, "plane")
    left, right = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    assert (left.get_title(), right.get_title()) == ("tanh", "ReLU")
    assert left.get_shared_x_axes().joined(left, right)
    assert left.get_shared_y_axes().joined(left, right)
    assert left.get_xlim() == right.get_xlim()
    [bar] = colorbars(figure)
    assert bar.get_ylabel() == "epoch + 1 (log scale)"
    # One colour scale spans both panels' epochs (0 to 2990, as epoch + 1).
    for axes in (left, right):
        assert (axes.collections[0].norm.vmin, axes.collections[0].norm.vmax) == (1.0, 2991.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_side_by_side(panels, "scatter")


def test_a_band_of_mean_and_spread_over_seeds():
    runs = np.stack([np.linspace(1, 2, len(EPOCHS)) + s for s in (0.0, 0.2, 0.4)])
    figure = plot_seed_band(EPOCHS, runs, layers=["h1"], ylabel="I(X;T) [bits]")
    axes = figure.axes[0]
    [line] = axes.get_lines()
    assert np.allclose(line.get_ydata(), runs.mean(axis=0))
    [band] = axes.collections
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx((runs.mean(axis=0) + runs.std(axis=0, ddof=1)).max())
    assert axes.get_xscale() == "log"
    assert axes.get_legend().get_title().get_text() == "mean ± sd over 3 seeds"


def test_ablation_curves_are_drawn_with_a_random_band():
    curves = AblationCurves(
        layer="layers.layer1",
        n_ablated=np.arange(4),
        accuracy={"descending": np.array([1.0, 0.6, 0.5, 0.5]), "ascending": np.ones(4)},
        random=np.array([[1.0, 0.9, 0.6, 0.5], [1.0, 0.8, 0.7, 0.5]]),
        importance=np.array([0.9, 0.1, 0.5]),
    )
    figure = plot_ablation(curves)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "units zeroed" and axes.get_ylabel() == "test accuracy"
    assert axes.get_title() == "cumulative ablation of layers.layer1"
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert labels == ["descending I(T;Y)", "ascending I(T;Y)", "random (2 orders, mean ± sd)"]
