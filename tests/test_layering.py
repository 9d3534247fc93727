"""The core never imports synthetic or nets: they build on it, not the other way round."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "mi_toolkit"
# The command line and the benchmarks are the application layer above core, synthetic and
# nets (paths relative to mi_toolkit/; a folder stands for everything under it).
APPLICATION_MODULES = (
    "cli.py",
    "_demo.py",
    "_bench_cli.py",
    "_reproduce_cli.py",
    "benchmarking/",
    "experiments/",
)
FORBIDDEN = ("mi_toolkit.synthetic", "mi_toolkit.nets")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_application(path: Path) -> bool:
    relative = path.relative_to(CORE).as_posix()
    return any(
        relative.startswith(entry) if entry.endswith("/") else relative == entry
        for entry in APPLICATION_MODULES
    )


def test_the_application_layer_is_where_it_is_said_to_be():
    # A renamed module would otherwise leave its entry matching nothing, unnoticed.
    for entry in APPLICATION_MODULES:
        assert (CORE / entry).exists(), entry


def test_core_modules_do_not_import_synthetic_or_nets():
    offenders = {
        str(path.relative_to(CORE)): sorted(
            n for n in imported_modules(path) if n.startswith(FORBIDDEN)
        )
        for path in CORE.rglob("*.py")
        if not is_application(path)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_core_loads_neither_synthetic_nor_nets_nor_torch():
    code = (
        "import sys, mi_toolkit; "
        "print(sorted(m for m in sys.modules if m.startswith(('mi_toolkit.synthetic', "
        "'mi_toolkit.nets', 'torch'))))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
