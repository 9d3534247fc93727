"""``mi-toolkit plane``: the information plane of a saved activation dump."""

from __future__ import annotations

import argparse
import ast
from typing import Any

import numpy as np

from mi_toolkit.plane import InformationPlane, information_plane


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE, e.g. noise_variance=1e-3; got {text!r}"
        )
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value  # a bare word such as bound=lower


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dump", help="a dump directory, a folder of per-epoch .npz, or one .npz")
    parser.add_argument("--method", default="binning", help="estimator (default: binning)")
    parser.add_argument(
        "--param",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="estimator parameter, repeatable (e.g. --param noise_variance=1e-3)",
    )
    parser.add_argument("--member", type=int, default=0, help="ensemble member (seed) to analyse")
    parser.add_argument("--units", choices=("bits", "nats"), default="bits")
    parser.add_argument("--output", help="save the plane here (.npz), resuming if it exists")
    parser.add_argument("--plot", help="draw the plane to this image file (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _print_table(plane: InformationPlane) -> None:
    print(f"I(X;T) and I(T;Y) in {plane.units}, method {plane.method!r} {plane.params}")
    header = f"{'epoch':>7}  " + "  ".join(f"{layer:>17}" for layer in plane.layers)
    print(header)
    for row, epoch in enumerate(plane.epochs):
        cells = (
            f"{plane.i_xt[row, c]:>7.3f} / {plane.i_ty[row, c]:<7.3f}"
            + ("*" if plane.saturated[row, c] else " ")
            for c in range(len(plane.layers))
        )
        print(f"{epoch:>7}  " + " ".join(cells))
    if plane.saturated.any():
        print("* I(X;T) at the log N ceiling: every input told apart")


def plot_plane(plane: InformationPlane, path: str) -> None:
    """Draw I(T;Y) against I(X;T), one line per layer coloured by epoch."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'mi-toolkit[plot]'") from None
    figure, axes = plt.subplots(figsize=(6, 4.5))
    epochs = plane.epochs.astype(float)
    for column, layer in enumerate(plane.layers):
        axes.plot(plane.i_xt[:, column], plane.i_ty[:, column], color="0.8", zorder=1)
        points = axes.scatter(
            plane.i_xt[:, column], plane.i_ty[:, column], c=epochs, cmap="viridis", s=12, zorder=2
        )
        axes.annotate(layer, (plane.i_xt[-1, column], plane.i_ty[-1, column]), fontsize=8)
    figure.colorbar(points, label="epoch")
    axes.set_xlabel(f"I(X;T) [{plane.units}]")
    axes.set_ylabel(f"I(T;Y) [{plane.units}]")
    axes.set_title(f"information plane ({plane.method})")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    plane = information_plane(
        args.dump,
        args.method,
        member=args.member,
        units=args.units,
        output=args.output,
        progress=not args.quiet,
        **dict(args.param),
    )
    _print_table(plane)
    if args.plot:
        plot_plane(plane, args.plot)
        print(f"plot written to {args.plot}")
    if args.output:
        print(f"plane saved to {args.output}")
    return 0 if np.isfinite(plane.i_xt).all() else 1
