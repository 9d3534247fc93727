"""An experiment's report: the claim, the settings, the numbers, the verdict and its rule."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mi_toolkit.dumps import atomic_write_bytes

REPORT_NAME = "report.md"
NUMBERS_NAME = "numbers.json"


@dataclass
class Table:
    """A markdown table: a caption, column names and rows of cells."""

    caption: str
    columns: Sequence[str]
    rows: list[Sequence[Any]]

    def to_markdown(self) -> str:
        lines = [self.caption, "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Report:
    """What an experiment found.

    Attributes
    ----------
    name, study, claim : str
        As in :class:`~mi_toolkit.experiments.ExperimentInfo`.
    verdict : str
        ``"reproduced"``, ``"not reproduced"`` or ``"partly reproduced"``.
    rule : str
        The rule that turns the numbers into the verdict, stated in words.
    settings : dict
        Every setting that shapes the numbers (quick or full, seeds, sizes, rates, ...).
    numbers : dict
        The named figures that decide the claim (a test checks they are there and finite).
    findings : list of str
        Plain sentences on what the numbers show.
    tables : list of Table
        The numbers per layer, condition and seed.
    figures : list of str
        File names of the figures, relative to the output folder.
    elapsed_s : float
        Wall time of the run, filled in by :func:`~mi_toolkit.experiments.run_experiment`.
    """

    name: str
    study: str
    claim: str
    verdict: str
    rule: str
    settings: dict[str, Any]
    numbers: dict[str, Any]
    findings: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    elapsed_s: float = math.nan

    def to_markdown(self) -> str:
        quick = (
            " (quick settings: a smoke test, not evidence)" if self.settings.get("quick") else ""
        )
        parts = [
            f"# {self.name}: {self.verdict}{quick}",
            "",
            f"**Study.** {self.study}",
            "",
            f"**Claim.** {self.claim}",
            "",
            f"**Rule.** {self.rule}",
            "",
            "## Findings",
            "",
            *[f"- {line}" for line in self.findings],
            "",
        ]
        for table in self.tables:
            parts += [table.to_markdown(), ""]
        parts += [f"![{name}]({name})" for name in self.figures]
        settings = ", ".join(f"{k} = {_cell(v)}" for k, v in self.settings.items())
        parts += ["", f"**Settings.** {settings}", "", f"Took {self.elapsed_s:.1f} s."]
        return "\n".join(parts) + "\n"

    def write(self, folder: Path) -> None:
        """Write ``report.md`` and ``numbers.json`` into ``folder``, each atomically."""
        payload = {
            "name": self.name,
            "verdict": self.verdict,
            "numbers": self.numbers,
            "settings": self.settings,
            "elapsed_s": self.elapsed_s,
        }
        text = json.dumps(payload, indent=1, default=_plain)
        atomic_write_bytes(folder / NUMBERS_NAME, text.encode())
        atomic_write_bytes(folder / REPORT_NAME, self.to_markdown().encode())


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:.3f}"
    return str(value)


def mean_and_spread(values: Sequence[float]) -> str:
    """``mean ± sd`` over seeds, as a cell (sd with ddof = 1; no spread for one seed)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return f"{values.mean():.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
