"""``mi-toolkit plane``: the information plane of saved activation dumps.

One dump (and an ``.npz`` output, or none): its plane is printed, saved and drawn as
before. Any number of dumps with ``--output FILE.csv``: every run, member, epoch and
layer goes into one tidy table (:func:`mi_toolkit.plane_table.plane_table`), also
written as ``FILE.parquet`` when pyarrow is installed; ``--jobs`` and ``--scheduler``
spread the epochs over local processes or a Dask cluster. Either output resumes: what it
holds is not computed again. Running again with another ``--method`` adds its rows.

Every argument is checked before the work starts (method and parameters, the dumps, the
output and plot paths), so that a typo fails in a second, not after minutes of
estimates. Estimate warnings are reported once each at the end, on stderr.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mi_toolkit._parameters import parse_parameter
from mi_toolkit._progress import announce_compilation
from mi_toolkit.api import build_estimator, list_methods
from mi_toolkit.dumps import atomic_write_bytes
from mi_toolkit.plane import InformationPlane, information_plane
from mi_toolkit.plane_table import PlaneTable, plane_table, spread_over_seeds
from mi_toolkit.result import MIToolkitWarning

# Shown with the undefined entries of the table (NaN with a note in the plane's warnings).
_MISSING = "—"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dumps",
        nargs="+",
        metavar="dump",
        help="dump directories, folders of per-epoch .npz, or single .npz files; more than "
        "one needs --output FILE.csv",
    )
    parser.add_argument(
        "--method",
        default="binning",
        choices=list_methods(),
        help="estimator; gaussian, kl and ksg give I(T;Y) only (I(X;T) of distinct inputs "
        "is not defined for them)",
    )
    parser.add_argument(
        "--param",
        type=parse_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="estimator parameter, repeatable; VALUE is a Python literal "
        "(e.g. --param noise_variance=1e-3 --param k=5)",
    )
    parser.add_argument(
        "--member",
        type=int,
        default=None,
        help="ensemble member (seed) to analyse (default: 0 for one plane, all for a table)",
    )
    parser.add_argument("--units", choices=("bits", "nats"), default="bits", help="units of MI")
    parser.add_argument(
        "--output",
        help="FILE.npz: save one dump's plane after every epoch; FILE.csv: the table of every "
        "dump, member, epoch and layer (and FILE.parquet with pyarrow); resume if it exists",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="local worker processes for a table (default: 1)"
    )
    parser.add_argument(
        "--scheduler",
        help="a Dask scheduler address (tcp://host:8786) to analyse a table's epochs on its "
        "workers, which must see the dumps at the same paths (needs mi-toolkit[dask])",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --output instead of resuming from it"
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="one plane: leave epochs whose file cannot be read NaN and go on (default: stop "
        "with an error); a table always finishes the rest and reports them",
    )
    parser.add_argument(
        "--plot", help="draw the plane to this image file, e.g. plane.png (needs matplotlib)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or notices")


# -- checks before any work -----------------------------------------------------------


def _check_writable_folder(path: str, option: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{option} {path}: the folder {folder} does not exist; create it")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise PermissionError(
            f"{option} {path}: cannot write in {folder} ({err.strerror}); choose another folder"
        ) from None


def _check_plot(path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ValueError(
            "--plot needs matplotlib: pip install 'mi-toolkit[plot]' (or pip install matplotlib)"
        ) from None
    formats = FigureCanvasBase.get_supported_filetypes()
    extension = Path(path).suffix.lower().lstrip(".")
    if extension not in formats:
        raise ValueError(
            f"--plot {path}: unknown image type {extension or '(no extension)'!r}; "
            f"end the name with one of {', '.join('.' + f for f in sorted(formats))}"
        )
    _check_writable_folder(path, "--plot")


def _is_table(args: argparse.Namespace) -> bool:
    return bool(args.output) and Path(args.output).suffix.lower() == ".csv"


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be checked without estimating, so that errors come first."""
    try:
        build_estimator(args.method, **dict(args.param))
    except TypeError as err:  # an unknown --param name, or a value of the wrong type
        raise ValueError(str(err)) from None
    if args.member is not None and args.member < 0:
        raise ValueError(f"--member must be 0 or more; got {args.member}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be a positive integer; got {args.jobs}")
    for dump in args.dumps:
        if not os.path.exists(dump):
            raise FileNotFoundError(f"no dump at {dump}; train one with 'mi-toolkit train'")
    if len(args.dumps) > 1 and not _is_table(args):
        raise ValueError(
            f"{len(args.dumps)} dumps give one table: pass --output FILE.csv to write it"
        )
    if _is_table(args) and args.plot:
        raise ValueError("--plot draws one dump's plane; give it without a .csv --output")
    if not _is_table(args) and (args.jobs > 1 or args.scheduler):
        raise ValueError("--jobs and --scheduler spread a table's work: add --output FILE.csv")
    if args.output:
        _check_writable_folder(args.output, "--output")
    if args.plot:
        _check_plot(args.plot)


# -- output ---------------------------------------------------------------------------


def _cell(value: float) -> str:
    return f"{value:7.3f}" if math.isfinite(value) else f"{_MISSING:>7}"


def _print_table(plane: InformationPlane) -> None:
    print(f"I(X;T) and I(T;Y) in {plane.units}, method {plane.method!r} {plane.params}")
    header = f"{'epoch':>7}  " + "  ".join(f"{layer:>17}" for layer in plane.layers)
    print(header)
    for row, epoch in enumerate(plane.epochs):
        cells = (
            f"{_cell(plane.i_xt[row, c])} / {_cell(plane.i_ty[row, c]).strip():<7}"
            + ("*" if plane.saturated[row, c] else " ")
            for c in range(len(plane.layers))
        )
        print(f"{epoch:>7}  " + " ".join(cells))
    if plane.saturated.any():
        print("* I(X;T) at the log N ceiling: every input told apart")
    if np.isnan(plane.i_xt[plane.finished]).any():
        print(f"{_MISSING} not defined for this method (see the notes on stderr)")


def _print_notes(plane: InformationPlane) -> None:
    for line in plane.warning_lines():
        print(f"note: {line}", file=sys.stderr)
    for _, why in sorted(plane.skipped.items()):
        print(f"skipped: {why}", file=sys.stderr)


def _format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in params.items())


def plot_plane(plane: InformationPlane, path: str) -> None:
    """Write :func:`draw_plane`'s figure to ``path`` at 300 dpi."""
    import matplotlib.pyplot as plt

    figure = draw_plane(plane)
    figure.savefig(path, dpi=300)
    plt.close(figure)


def draw_plane(plane: InformationPlane) -> Any:
    """I(T;Y) against I(X;T), one line per layer, points coloured by epoch (log scale).

    When I(X;T) is not defined for the method, I(T;Y) is drawn against the epoch instead.
    The figure is :func:`~mi_toolkit.plots.plot_information_plane`'s (6 × 4.5 in, fonts
    ≥ 8 pt, layers told apart by marker), titled with the member and the method.

    Parameters
    ----------
    plane : InformationPlane
        The plane to draw.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from mi_toolkit.plots import plot_information_plane

    against_epoch = not np.isfinite(plane.i_xt).any()
    epochs = plane.epochs.astype(float)
    # Against the epoch, the same trajectories with x = epoch + 1 on a log axis.
    xs = (
        np.repeat((epochs + 1.0)[:, None], len(plane.layers), axis=1)
        if against_epoch
        else plane.i_xt
    )
    figure = plot_information_plane(
        epochs,
        xs,
        plane.i_ty,
        layers=plane.layers,
        units=plane.units,
    )
    axes = figure.axes[0]
    if against_epoch:
        axes.set_xscale("log")
        axes.set_xlabel("epoch + 1")
    title = (
        "I(T;Y) per epoch (I(X;T) not defined for this method)"
        if against_epoch
        else "information plane"
    )
    # Wrapped: a method with many parameters (ksg) would run off the figure.
    method = textwrap.fill(f"{plane.method}: {_format_params(plane.params)}", width=72)
    axes.set_title(f"{title}, member {plane.member}\n{method}", fontsize=9)
    figure.tight_layout()
    return figure


# -- the command ----------------------------------------------------------------------


def _interrupted(args: argparse.Namespace) -> int:
    if args.output and os.path.exists(args.output):
        saved = InformationPlane.load(args.output)
        done, total = int(saved.finished.sum()), len(saved.epochs)
        print(
            f"\nmi-toolkit plane: interrupted; {done} of {total} epochs are saved in "
            f"{args.output}. Run the same command again (same --output, without --overwrite) "
            "to compute only the rest.",
            file=sys.stderr,
        )
    else:
        print(
            "\nmi-toolkit plane: interrupted; nothing was saved (pass --output FILE to keep "
            "finished epochs and resume later).",
            file=sys.stderr,
        )
    return 130


def _parquet_path(args: argparse.Namespace) -> Path | None:
    """FILE.parquet beside FILE.csv when pyarrow is installed, else None."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    return Path(args.output).with_suffix(".parquet")


def _run_table(args: argparse.Namespace) -> int:
    before = len(PlaneTable.read_csv(args.output)) if _resumable(args) else 0
    try:
        table = plane_table(
            args.dumps,
            (args.method, dict(args.param)),
            units=args.units,
            members=None if args.member is None else [args.member],
            output=args.output,
            overwrite=args.overwrite,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        saved = len(PlaneTable.read_csv(args.output)) if os.path.exists(args.output) else 0
        print(
            f"\nmi-toolkit plane: interrupted; {saved} rows are saved in {args.output}. Run "
            "the same command again (same --output, without --overwrite) to compute only "
            "the rest.",
            file=sys.stderr,
        )
        return 130
    parquet = _parquet_path(args)
    if parquet is not None:
        table.to_parquet(parquet)
    for line in table.failures:
        print(f"error: {line}", file=sys.stderr)
    kept = min(before, len(table))
    print(
        f"{len(table)} rows (run, member, epoch, layer, method) in {args.output}"
        + (f" and {parquet}" if parquet else "")
        + f": {len(table) - kept} computed now, {kept} kept from before"
    )
    _report_table(table, Path(args.output), args.method)
    if table.failures:
        print(
            f"{len(table.failures)} epoch(s) could not be analysed (above); fix or restore "
            "their files and run the same command again to add only their rows",
            file=sys.stderr,
        )
    return 1 if table.failures else 0


def _report_table(table: PlaneTable, output: Path, method: str) -> None:
    """The phases per run and layer (printed, and FILE.phases.txt) and the planes (FILE.png).

    Both are of this command's method (a table may hold others from earlier commands).
    Phases follow :mod:`mi_toolkit.phases` (its rule, over every member of each run, with
    the spread); the figure draws each run's plane, the mean over its members, side by side.
    """
    rows = [row for row in table.rows if row["method"] == method and np.isfinite(row["i_xt"])]
    if not rows:
        return  # a method without I(X;T) (gcmi, ksg, ...): no phases, no plane
    rows = [row for row in rows if row["params"] == rows[-1]["params"]]
    from mi_toolkit.phases import phase_report, phases_from_table, summarize_phases
    from mi_toolkit.plots import plot_side_by_side

    units = rows[0]["units"]
    lines = phase_report(summarize_phases(phases_from_table(rows)), units=units)
    report = output.with_suffix(".phases.txt")
    atomic_write_bytes(report, ("\n".join(lines) + "\n").encode("utf-8"))
    print("\n".join(lines))
    panels = {}
    for run in dict.fromkeys(row["run"] for row in rows):
        one_run = PlaneTable([row for row in rows if row["run"] == run])
        i_xt, i_ty = spread_over_seeds(one_run, "i_xt"), spread_over_seeds(one_run, "i_ty")
        panels[Path(run).name or run] = {
            "epochs": i_xt.epochs,
            "i_xt": i_xt.mean,
            "i_ty": i_ty.mean,
            "layers": i_xt.layers,
            "units": units,
        }
    figure = output.with_suffix(".png")
    plot_side_by_side(panels, path=figure)
    print(f"phases in {report}, planes (mean over members) in {figure}")


def _resumable(args: argparse.Namespace) -> bool:
    return not args.overwrite and os.path.exists(args.output)


def run(args: argparse.Namespace) -> int:
    _check_arguments(args)
    announce_compilation(quiet=args.quiet)
    if _is_table(args):
        return _run_table(args)
    args.dump = args.dumps[0]
    args.member = 0 if args.member is None else args.member
    try:
        with warnings.catch_warnings():
            # The plane's warnings are printed below, once each, as notes.
            warnings.simplefilter("ignore", MIToolkitWarning)
            plane = information_plane(
                args.dump,
                args.method,
                member=args.member,
                units=args.units,
                output=args.output,
                overwrite=args.overwrite,
                skip_bad=args.skip_bad,
                progress=not args.quiet,
                **dict(args.param),
            )
    except KeyboardInterrupt:
        return _interrupted(args)
    _print_table(plane)
    _print_notes(plane)
    if args.plot:
        plot_plane(plane, args.plot)
        print(f"plot written to {args.plot}")
    if args.output:
        print(f"plane saved to {args.output}")
    # Undefined entries are expected for some methods; skipped epochs are missing work.
    return 0 if plane.finished.all() else 1
