"""The ``mi-toolkit`` command line.

The first word picks a subcommand; only that subcommand's module is imported, and it
parses the rest. So ``mi-toolkit plane`` does not pay for torch or nets, and the core never
imports ``synthetic`` or ``nets``: this module is the application layer above all three.

An ordinary user error (a bad argument, a missing or damaged file, a folder that cannot
be written) ends in one line, ``mi-toolkit <command>: error: <message>``, on stderr and
exit status 2; any other exception is a bug and keeps its traceback. Set
``MI_TOOLKIT_DEBUG=1`` to see the traceback of user errors too. Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# name -> (module, one-line help). Each module defines add_arguments(parser) and
# run(args) -> exit code.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("mi_toolkit._demo", "estimate MI on built-in cases with known truth (default)"),
    "plane": ("mi_toolkit._plane_cli", "I(X;T) and I(T;Y) per layer and epoch of a saved dump"),
    "train": ("mi_toolkit.nets.cli", "train a preset network and write its activation dump"),
    "bench": ("mi_toolkit._bench_cli", "benchmarks: accuracy against known truth, speed"),
    "reproduce": ("mi_toolkit._reproduce_cli", "run the studies' experiments, one per claim"),
}
DEFAULT_SUBCOMMAND = "demo"
#: Exceptions that mean the user asked for something that cannot be done, not a bug: the
#: core and the subcommands raise these with a message that says what to do. (TypeError
#: is not among them: the subcommands check argument types before the work starts.)
USER_ERRORS = (ValueError, OSError)
DEBUG_VARIABLE = "MI_TOOLKIT_DEBUG"


def _usage() -> str:
    lines = ["usage: mi-toolkit [--version] [COMMAND] [options]", "", "commands:"]
    width = max(map(len, SUBCOMMANDS))
    lines += [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in SUBCOMMANDS.items()]
    lines += ["", "Run 'mi-toolkit COMMAND --help' for a command's options."]
    return "\n".join(lines)


def _message(error: BaseException) -> str:
    """One line for a user error; an OSError without our own message gets its file named."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    text = str(error) or type(error).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mi-toolkit`` command."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if words and words[0] == "--version":
        from mi_toolkit import __version__

        print(f"mi-toolkit {__version__}")
        return 0
    if not words or words[0].startswith("-"):
        words.insert(0, DEFAULT_SUBCOMMAND)
    name, rest = words[0], words[1:]
    if name not in SUBCOMMANDS:
        print(f"mi-toolkit: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"mi-toolkit {name}",
        description=help_text,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except USER_ERRORS as error:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        print(f"{parser.prog}: error: {_message(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
