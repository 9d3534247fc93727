"""``mi-toolkit train``: train a named preset and write its activation dump.

Examples::

    mi-toolkit train 12bit-tanh --out runs/tanh
    mi-toolkit train 12bit-relu --out runs/relu --seeds 0-49 --epochs 4000
    mi-toolkit train mnist-conv --data-path ~/data/mnist --out runs/mnist
    mi-toolkit train 12bit-tanh --out runs/tanh --resume   # after an interruption

Every argument is checked before any work starts; a bad one raises ``ValueError``,
``FileExistsError``, ``FileNotFoundError`` or ``PermissionError`` with one sentence that
names it. Ctrl-C stops a run with exit code 130 and prints the command that resumes it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mi_toolkit._validation import check_choice, check_positive, check_positive_int
from mi_toolkit.nets.config import EVAL_SETS, OPTIMIZERS, TrainConfig, record_epochs
from mi_toolkit.nets.presets import PRESETS, get_preset

# Exit code of a program stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
# One ensemble of more members than this is almost surely a typo such as 0-99999.
MAX_SEEDS = 10_000
# Seeds are offset and summed to seed torch's generators, which take 64-bit numbers.
MAX_SEED = 2**32 - 1
# The options that take a value, besides --out, in the order --help lists them.
_VALUED_OPTIONS = (
    "seeds",
    "epochs",
    "lr",
    "batch_size",
    "optimizer",
    "record",
    "eval_set",
    "data_path",
    "threads",
)
# Datasets read from --data-path; the others are built in.
_FILE_DATASETS = ("var_u", "mnist")

_EXAMPLES = """\
examples:
  mi-toolkit train 12bit-tanh --out runs/tanh
  mi-toolkit train 12bit-relu --out runs/relu --seeds 0-49 --epochs 4000
  mi-toolkit train mnist-conv --data-path ~/data/mnist --out runs/mnist
  mi-toolkit train 12bit-tanh --out runs/tanh --resume   # after an interruption"""


def _default(
    field: str, shown: Callable[[Any], str] = str, *, file_presets_only: bool = False
) -> str:
    """``(default: X)`` when every preset has X for ``field``, else a pointer to the table."""
    configs = PRESETS.values()
    if file_presets_only:
        configs = [c for c in configs if c.dataset in _FILE_DATASETS]
    values = {getattr(config, field) for config in configs}
    if len(values) == 1:
        return f"(default: {shown(values.pop())})"
    return "(default: the preset's, see the table below)"


def _seeds_text(seeds: tuple[int, ...]) -> str:
    low, high = seeds[0], seeds[-1]
    if len(seeds) > 1 and seeds == tuple(range(low, high + 1)):
        return f"{low}-{high}"
    return ",".join(map(str, seeds))


def _presets_table() -> str:
    """The presets and the settings they give the options, one row each."""
    rows = [("preset", "data", "epochs", "lr", "batch", "optimizer", "record", "seeds")]
    for name, config in PRESETS.items():
        batch = "full" if config.batch_size is None else str(config.batch_size)
        rows.append(
            (
                name,
                config.dataset,
                str(config.epochs),
                f"{config.lr:g}",
                batch,
                config.optimizer,
                config.record,
                _seeds_text(config.seeds),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "presets (their settings are the options' defaults):\n" + "\n".join(
        "  " + line.rstrip() for line in lines
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values stay strings here: run() checks them all, so that a bad one raises an error
    # naming it (argparse would exit with a usage message instead).
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = f"{_presets_table()}\n\n{_EXAMPLES}"
    parser.add_argument("preset", metavar="PRESET", help="what to train: a preset listed below")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder of the activation dump (required); it must not hold one unless --resume",
    )
    parser.add_argument(
        "--seeds",
        metavar="SEEDS",
        help="one network per seed, trained together: a range 0-49 or a list 1,5,7 "
        + _default("seeds", _seeds_text),
    )
    parser.add_argument(
        "--epochs", metavar="N", help="passes over the training set " + _default("epochs")
    )
    parser.add_argument("--lr", metavar="RATE", help="learning rate " + _default("lr"))
    parser.add_argument(
        "--batch-size",
        metavar="N",
        help="mini-batch size, 0 for full batch " + _default("batch_size"),
    )
    parser.add_argument(
        "--optimizer", metavar="{adam,sgd}", help="optimiser " + _default("optimizer")
    )
    parser.add_argument(
        "--record",
        metavar="SPEC",
        help="epochs to record: 'all', 'every:K' or 'log[:N]' " + _default("record"),
    )
    parser.add_argument(
        "--eval-set",
        metavar="{all,train,test}",
        help="samples whose activations are recorded " + _default("eval_set"),
    )
    parser.add_argument(
        "--data-path",
        metavar="PATH",
        help="MNIST IDX folder or .npz file, read by the presets of MNIST "
        + _default("data_path", file_presets_only=True),
    )
    parser.add_argument(
        "--noise-std",
        metavar="SIGMA",
        help="standard deviation of Gaussian noise on every layer's input, so that I(X;T) "
        "is finite (Butakov et al. 2024) " + _default("noise_std"),
    )
    parser.add_argument(
        "--noise-at-eval",
        action="store_true",
        help="keep the noise on when activations are recorded (default: off)",
    )
    parser.add_argument("--threads", metavar="N", help="torch threads " + _default("num_threads"))
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its last checkpoint "
        "(default: off, a new run)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar (default: off)")


def _whole_number(text: str, option: str) -> int:
    if not re.fullmatch(r"\s*-?\d+\s*", text):
        raise ValueError(f"{option} must be a whole number such as 10; got {text!r}")
    return int(text)


def _positive_number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option} must be a positive number such as 1e-3; got {text!r}") from None
    return check_positive(value, option)


def _non_negative_number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or not math.isfinite(value):
        raise ValueError(f"{option} must be a number >= 0 such as 0.1; got {text!r}")
    return value


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-49"`` or ``"1,5,7"`` -> the seeds, checked; a bad one raises ``ValueError``."""
    spec = text.replace(" ", "")
    ranged = re.fullmatch(r"(\d+)-(\d+)", spec)
    if ranged:
        low, high = int(ranged[1]), int(ranged[2])
        if low > high:
            raise ValueError(
                f"--seeds {text!r} is an empty range; write the smaller seed first, "
                f"e.g. {high}-{low}"
            )
        seeds = range(low, high + 1)
    elif re.fullmatch(r"\d+(,\d+)*", spec):
        seeds = [int(s) for s in spec.split(",")]
    else:
        raise ValueError(
            f"--seeds must be a range such as 0-49 or a list such as 1,5,7 of whole numbers "
            f">= 0; got {text!r}"
        )
    if len(seeds) > MAX_SEEDS:
        raise ValueError(
            f"--seeds {text!r} asks for {len(seeds)} networks; train at most {MAX_SEEDS} "
            "together and split a larger study into several --out folders"
        )
    if max(seeds) > MAX_SEED:
        raise ValueError(f"--seeds {text!r} holds a seed above {MAX_SEED}; use smaller seeds")
    repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if repeated:
        raise ValueError(
            f"--seeds {text!r} names seed(s) {repeated} more than once; list each seed once"
        )
    return tuple(seeds)


def _record(spec: str, epochs: int) -> str:
    try:
        record_epochs(spec, epochs)
    except ValueError:
        raise ValueError(
            f"--record must be 'all', 'every:K' with K >= 1, or 'log' or 'log:N' with N >= 2; "
            f"got {spec!r}"
        ) from None
    return spec


def _data_path(args: argparse.Namespace, preset: TrainConfig) -> str | None:
    """The data file the run reads, checked to exist; None for built-in data sets."""
    if preset.dataset not in _FILE_DATASETS:
        if args.data_path is not None:
            readers = ", ".join(n for n, c in PRESETS.items() if c.dataset in _FILE_DATASETS)
            raise ValueError(
                f"--data-path is read only by presets with data from a file ({readers}); "
                f"{args.preset!r} builds its own data, so drop --data-path"
            )
        return preset.data_path
    path = args.data_path if args.data_path is not None else preset.data_path
    if not Path(path).exists():
        given = "" if args.data_path is not None else f" (the default of {args.preset!r})"
        raise FileNotFoundError(
            f"--data-path {path!r}{given} does not exist; pass --data-path with the MNIST "
            "IDX folder or .npz file"
        )
    return path


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset ``args.preset`` with the options given, every option checked.

    Raises
    ------
    ValueError
        An unknown preset or a malformed or out-of-range option.
    FileNotFoundError
        The data file of a preset that reads one does not exist.
    """
    preset = get_preset(args.preset)
    changes: dict[str, Any] = {"data_path": _data_path(args, preset)}
    if args.seeds is not None:
        changes["seeds"] = parse_seeds(args.seeds)
    if args.epochs is not None:
        changes["epochs"] = check_positive_int(_whole_number(args.epochs, "--epochs"), "--epochs")
    if args.lr is not None:
        changes["lr"] = _positive_number(args.lr, "--lr")
    if args.batch_size is not None:
        size = _whole_number(args.batch_size, "--batch-size")
        if size < 0:
            raise ValueError(f"--batch-size must be >= 1, or 0 for full batch; got {size}")
        changes["batch_size"] = size or None
    if args.optimizer is not None:
        changes["optimizer"] = check_choice(args.optimizer, "--optimizer", OPTIMIZERS)
    if args.eval_set is not None:
        changes["eval_set"] = check_choice(args.eval_set, "--eval-set", EVAL_SETS)
    if args.noise_std is not None:
        changes["noise_std"] = _non_negative_number(args.noise_std, "--noise-std")
    if args.noise_at_eval:
        changes["noise_at_eval"] = True
    if args.threads is not None:
        changes["num_threads"] = check_positive_int(
            _whole_number(args.threads, "--threads"), "--threads"
        )
    epochs = changes.get("epochs", preset.epochs)
    changes["record"] = _record(args.record or preset.record, epochs)
    return replace(preset, **changes)


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    # Try it: permission bits do not tell about root, ACLs or read-only file systems.
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return ", ".join(f"{k} {old.get(k)!r} there, {new.get(k)!r} here" for k in keys)


def check_out(out: Path, resume: bool, config: TrainConfig) -> None:
    """Check that the dump folder ``out`` can take this run, before any work starts.

    Raises
    ------
    FileExistsError
        ``out`` is a file, or holds a dump and ``resume`` is off.
    ValueError
        ``resume`` is on and ``out`` holds a run of other settings.
    PermissionError
        ``out``, or the folder it would be made in, cannot be written.
    """
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {str(out)!r} is a file; choose a folder for the dump")
    meta_path = out / "meta.json"
    if meta_path.exists():
        if not resume:
            raise FileExistsError(
                f"--out {str(out)!r} already holds a dump; add --resume to continue it, or "
                "choose another --out folder"
            )
        old = json.loads(meta_path.read_text()).get("config", {})
        new = json.loads(json.dumps(config.to_json()))
        if old != new:
            raise ValueError(
                f"--resume: {str(out)!r} holds a run with other settings "
                f"({_differences(old, new)}); resume with the options it was started with, "
                "or choose another --out folder"
            )
    folder = _nearest_existing(out)
    if not _writable(folder):
        raise PermissionError(
            f"--out {str(out)!r} cannot be written: {str(folder)!r} is read-only for you; "
            "choose a folder you can write to"
        )


def resume_command(args: argparse.Namespace) -> str:
    """The command line that resumes the run ``args`` started, quoted for a shell."""
    words = ["mi-toolkit", "train", args.preset, "--out", args.out]
    for option in _VALUED_OPTIONS:
        value = getattr(args, option)
        if value is not None:
            words += [f"--{option.replace('_', '-')}", value]
    if args.quiet:
        words.append("--quiet")
    return shlex.join([*words, "--resume"])


def _kept(out: Path) -> str:
    """What an interrupted run left in ``out``, in words."""
    from mi_toolkit.dumps import open_dump

    try:
        epochs = open_dump(out).epochs
    except (OSError, ValueError):
        epochs = []
    if not epochs:
        return f"nothing was recorded yet in {str(out)!r}"
    checkpoint = " and a checkpoint" if (out / "checkpoint.pt").exists() else ""
    return (
        f"kept {len(epochs)} recorded epoch(s), the last {epochs[-1]},{checkpoint} in {str(out)!r}"
    )


def run(args: argparse.Namespace) -> int:
    from mi_toolkit.nets.training import train

    config = config_from_args(args)
    out = Path(args.out)
    check_out(out, args.resume, config)
    try:
        result = train(config, out, resume=args.resume, quiet=args.quiet)
    except KeyboardInterrupt:
        print(
            f"mi-toolkit train: interrupted; {_kept(out)}; resume with: {resume_command(args)}",
            file=sys.stderr,
        )
        return INTERRUPTED
    flagged = f", bad fits (members) {result.bad_fits}" if result.bad_fits else ""
    print(
        f"{args.preset}: wrote {result.path} (seeds {result.seeds[0]}..{result.seeds[-1]}, "
        f"{result.restarts} restarts{flagged}) in {result.seconds:.1f} s"
    )
    return 0
