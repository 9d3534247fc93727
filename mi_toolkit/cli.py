"""The ``mi-toolkit`` command line.

The first word picks a subcommand; only that subcommand's module is imported, and it
parses the rest. So ``mi-toolkit demo`` does not pay for torch, and the core never
imports ``synthetic`` or ``nets``: this module is the application layer above all three.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> (module, one-line help). Each module defines add_arguments(parser) and
# run(args) -> exit code.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("mi_toolkit._demo", "estimate MI on built-in cases with known truth (default)"),
    "plane": ("mi_toolkit._plane_cli", "I(X;T) and I(T;Y) per layer and epoch of a saved dump"),
    "train": ("mi_toolkit.nets.cli", "train a preset network and write its activation dump"),
}
DEFAULT_SUBCOMMAND = "demo"


def _usage() -> str:
    lines = ["usage: mi-toolkit [COMMAND] [options]", "", "commands:"]
    width = max(map(len, SUBCOMMANDS))
    lines += [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in SUBCOMMANDS.items()]
    lines += ["", "Run 'mi-toolkit COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mi-toolkit`` command."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if not words or words[0].startswith("-"):
        words.insert(0, DEFAULT_SUBCOMMAND)
    name, rest = words[0], words[1:]
    if name not in SUBCOMMANDS:
        print(f"mi-toolkit: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"mi-toolkit {name}", description=help_text)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
