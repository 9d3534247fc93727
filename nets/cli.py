"""``mi-toolkit train``: train a named preset and write its activation dump.

Examples::

    mi-toolkit train 12bit-tanh --out runs/tanh
    mi-toolkit train 12bit-relu --out runs/relu --seeds 0-49 --epochs 4000
    mi-toolkit train mnist-conv --data-path ~/data/mnist --out runs/mnist
    mi-toolkit train 12bit-tanh --out runs/tanh --resume   # after an interruption
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from mi_toolkit.nets.presets import PRESETS, get_preset


def _seeds(text: str) -> tuple[int, ...]:
    """``"0-49"`` or ``"1,5,7"`` -> tuple of seeds."""
    try:
        if "-" in text.strip("-"):
            low, high = text.split("-", 1)
            return tuple(range(int(low), int(high) + 1))
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must look like 0-49 or 1,5,7; got {text!r}"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", choices=sorted(PRESETS), help="what to train")
    parser.add_argument("--out", required=True, help="directory of the activation dump")
    parser.add_argument("--seeds", type=_seeds, help="seeds, e.g. 0-49 or 1,5,7")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int, help="0 means full batch")
    parser.add_argument("--optimizer", choices=("adam", "sgd"))
    parser.add_argument("--record", help="'all', 'every:K' or 'log[:N]'")
    parser.add_argument("--eval-set", choices=("all", "train", "test"))
    parser.add_argument("--data-path", help="MNIST IDX directory or .npz; var_u.mat")
    parser.add_argument("--threads", type=int, help="torch threads")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


_OVERRIDES = {
    "seeds": "seeds",
    "epochs": "epochs",
    "lr": "lr",
    "optimizer": "optimizer",
    "record": "record",
    "eval_set": "eval_set",
    "data_path": "data_path",
    "threads": "num_threads",
}


def run(args: argparse.Namespace) -> int:
    from mi_toolkit.nets.training import train

    changes = {field: getattr(args, arg) for arg, field in _OVERRIDES.items()}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size or None
    config = replace(get_preset(args.preset), **changes)
    result = train(config, args.out, resume=args.resume, quiet=args.quiet)
    flagged = f", bad fits (members) {result.bad_fits}" if result.bad_fits else ""
    print(
        f"{args.preset}: wrote {result.path} (seeds {result.seeds[0]}..{result.seeds[-1]}, "
        f"{result.restarts} restarts{flagged}) in {result.seconds:.1f} s"
    )
    return 0
