"""Scores, a Markdown report and plots from an accuracy results table.

The rules, applied per (task, method, n) to the runs over seeds:

- A run *failed* when it recorded an error (the method refused the data or broke, or a
  neural estimator said its own training failed) or its estimate is not finite. For a
  neural method (:data:`NEURAL_METHODS`) a run also failed when its estimate is below 0
  or below 10% of the best seed's (Beyond Normal's convergence rule: such a run did not
  train). Failed runs are counted and shown, never dropped, and left out of the mean.
- The *mean* is the plain mean of the other runs' estimates; negative estimates stay
  as they are (clipping them at 0 would bias the mean up).
- *Solved*, Beyond Normal's criterion (Czyż et al. 2023): the mean is within a factor
  of 1.5 of the truth, truth / 1.5 ≤ mean ≤ 1.5 · truth, which is
  |log(mean / truth)| ≤ log 1.5, boundaries included. A mean of 0 or below is never
  solved. A task whose truth is 0 has no ratio: it is left out of the solved count (its
  cell says "n/a") and scored by the other two rules only. A task whose runs all
  failed is not solved.
- *Within 0.1 nats*: |mean − truth| ≤ 0.1.
- *Mean absolute error*: the mean over tasks of |mean − truth|, over the tasks with a
  mean (a task whose runs all failed has none; the failures column shows it).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Beyond Normal's factor: solved when the mean is within this factor of the truth.
SOLVED_FACTOR = 1.5
#: The absolute tolerance of the second score, in nats.
ABSOLUTE_TOLERANCE = 0.1
#: Methods whose runs are trained, judged also against the best seed.
NEURAL_METHODS = frozenset({"mine", "nwj", "infonce", "smile"})
#: A neural run below this share of the best seed's estimate did not train.
NEURAL_CONVERGED_SHARE = 0.1


@dataclass(frozen=True)
class TaskScore:
    """One task under one method at one sample size, over its seeds.

    Attributes
    ----------
    task, family, method : str
        What was run (``method`` is the spec label, parameters included).
    n : int
        Sample size.
    dim_x, dim_y : int
        Dimensions of X and Y.
    true_mi : float
        The truth in nats.
    mean, std : float
        Mean and standard deviation over the runs that did not fail (NaN if none; std
        NaN with one run).
    runs, failed_runs : int
        Number of seeds run, and of those that failed.
    solved : bool or None
        Within a factor of 1.5 of the truth; None when the truth is 0.
    errors : tuple of str
        The distinct error messages of the failed runs.
    """

    task: str
    family: str
    method: str
    n: int
    dim_x: int
    dim_y: int
    true_mi: float
    mean: float
    std: float
    runs: int
    failed_runs: int
    solved: bool | None
    errors: tuple[str, ...] = ()

    @property
    def absolute_error(self) -> float:
        """|mean − truth| in nats (NaN when every run failed)."""
        return abs(self.mean - self.true_mi)


@dataclass(frozen=True)
class MethodScore:
    """The scores of one method at one sample size over all tasks.

    Attributes
    ----------
    method : str
        The spec label.
    n : int
        Sample size.
    tasks : int
        Number of tasks.
    scored_tasks : int
        Tasks with a positive truth, the denominator of ``solved``.
    solved : int
        Tasks solved (within a factor of 1.5).
    within_tolerance : int
        Tasks whose mean is within 0.1 nats of the truth.
    mean_absolute_error : float
        Mean of |mean − truth| over the tasks with a mean (nats).
    runs, failed_runs : int
        Runs in all, and failed runs.
    failed_tasks : int
        Tasks whose runs all failed.
    """

    method: str
    n: int
    tasks: int
    scored_tasks: int
    solved: int
    within_tolerance: int
    mean_absolute_error: float
    runs: int
    failed_runs: int
    failed_tasks: int


def is_solved(mean: float, true_mi: float, factor: float = SOLVED_FACTOR) -> bool | None:
    """Whether ``mean`` is within ``factor`` of ``true_mi`` (None when the truth is 0).

    Parameters
    ----------
    mean : float
        The mean estimate over seeds (NaN when every run failed).
    true_mi : float
        The truth, 0 or more.
    factor : float, optional
        The factor, 1.5 in Beyond Normal.

    Returns
    -------
    bool or None
        ``true_mi / factor <= mean <= factor * true_mi``; None when ``true_mi`` is 0.
    """
    if true_mi <= 0:
        return None
    if not math.isfinite(mean) or mean <= 0:
        return False
    # Written as products, not log(mean / truth), so that a mean of exactly 1.5 × truth
    # is on the boundary, not a rounding error away from it.
    return true_mi <= factor * mean and mean <= factor * true_mi


def run_failed(row: dict[str, Any]) -> bool:
    """A run with an error, or with an estimate that is not a finite number."""
    if row.get("error"):
        return True
    try:
        return not math.isfinite(float(row["estimate"]))
    except (TypeError, ValueError):
        return True


def _failures(method: str, runs: Sequence[dict[str, Any]]) -> list[str]:
    """Why each run of one (task, method, n) failed, or "" for a run that did not."""
    reasons = [(r.get("error") or "non-finite estimate") if run_failed(r) else "" for r in runs]
    if method.split(":", 1)[0] not in NEURAL_METHODS:
        return reasons
    values = [float(r["estimate"]) for r, why in zip(runs, reasons, strict=True) if not why]
    best = max(values, default=math.nan)
    for index, (row, why) in enumerate(zip(runs, reasons, strict=True)):
        if why:
            continue
        value = float(row["estimate"])
        if value < 0:
            reasons[index] = "estimate below 0 (the training did not converge)"
        elif value < NEURAL_CONVERGED_SHARE * best:
            reasons[index] = "estimate below 10% of the best seed's (did not converge)"
    return reasons


def read_results(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a ``results.csv`` written by :func:`~.accuracy.run_accuracy`."""
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def score_tasks(rows: Sequence[dict[str, Any]]) -> list[TaskScore]:
    """Group runs by (task, method, n) and score each group (rules in the module docstring).

    Parameters
    ----------
    rows : sequence of dict
        Rows of the results table (text from the CSV, or numbers).

    Returns
    -------
    list of TaskScore
        In the order in which each (task, method, n) first appears.
    """
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["method"], int(row["n"])), []).append(row)
    scores = []
    for (task, method, n), runs in groups.items():
        reasons = _failures(method, runs)
        good = np.array(
            [float(r["estimate"]) for r, why in zip(runs, reasons, strict=True) if not why]
        )
        mean = float(good.mean()) if good.size else math.nan
        std = float(good.std(ddof=1)) if good.size > 1 else math.nan
        truth = float(runs[0]["true_mi"])
        errors = tuple(dict.fromkeys(why for why in reasons if why))
        scores.append(
            TaskScore(
                task=task,
                family=runs[0]["family"],
                method=method,
                n=n,
                dim_x=int(runs[0]["dim_x"]),
                dim_y=int(runs[0]["dim_y"]),
                true_mi=truth,
                mean=mean,
                std=std,
                runs=len(runs),
                failed_runs=len(runs) - int(good.size),
                solved=is_solved(mean, truth),
                errors=errors,
            )
        )
    return scores


def score_methods(task_scores: Sequence[TaskScore]) -> list[MethodScore]:
    """Sum the task scores per (method, n), in order of first appearance."""
    groups: dict[tuple[str, int], list[TaskScore]] = {}
    for score in task_scores:
        groups.setdefault((score.method, score.n), []).append(score)
    summary = []
    for (method, n), scores in groups.items():
        errors = [s.absolute_error for s in scores if math.isfinite(s.mean)]
        summary.append(
            MethodScore(
                method=method,
                n=n,
                tasks=len(scores),
                scored_tasks=sum(s.solved is not None for s in scores),
                solved=sum(s.solved is True for s in scores),
                within_tolerance=sum(
                    math.isfinite(s.mean) and s.absolute_error <= ABSOLUTE_TOLERANCE for s in scores
                ),
                mean_absolute_error=float(np.mean(errors)) if errors else math.nan,
                runs=sum(s.runs for s in scores),
                failed_runs=sum(s.failed_runs for s in scores),
                failed_tasks=sum(s.failed_runs == s.runs for s in scores),
            )
        )
    return summary


# -- Markdown -------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "—"


def _estimate_cell(score: TaskScore) -> str:
    if score.failed_runs == score.runs:
        return f"failed {score.failed_runs}/{score.runs}"
    mark = {True: " ✓", False: "", None: ""}[score.solved]
    failed = f" ({score.failed_runs}/{score.runs} failed)" if score.failed_runs else ""
    return f"{_number(score.mean)}{mark}{failed}"


def scores_table(summary: Sequence[MethodScore]) -> list[str]:
    """The scores as Markdown table lines."""
    lines = [
        "| method | n | solved (×1.5) | within 0.1 nats | mean abs. error (nats) | failed runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        failed = f"{s.failed_runs}/{s.runs}"
        if s.failed_tasks:
            tasks = "task" if s.failed_tasks == 1 else "tasks"
            failed += f" ({s.failed_tasks} {tasks} with no result)"
        lines.append(
            f"| {s.method} | {s.n} | {s.solved}/{s.scored_tasks} | "
            f"{s.within_tolerance}/{s.tasks} | {_number(s.mean_absolute_error)} | {failed} |"
        )
    return lines


def markdown_report(rows: Sequence[dict[str, Any]], title: str = "Accuracy") -> str:
    """The report: scores per method, then mean estimate against truth per task.

    Parameters
    ----------
    rows : sequence of dict
        Rows of the results table.
    title : str, optional
        The heading.

    Returns
    -------
    str
        Markdown text.
    """
    task_scores = score_tasks(rows)
    methods = list(dict.fromkeys(s.method for s in task_scores))
    sizes = sorted({s.n for s in task_scores})
    seeds = sorted({int(r["seed"]) for r in rows})
    lines = [
        f"# {title}",
        "",
        f"{len({s.task for s in task_scores})} tasks, n = {', '.join(map(str, sizes))}, "
        f"{len(seeds)} seeds ({_ranges(seeds)}), methods {', '.join(methods)}. MI in nats.",
        "",
        "## Scores",
        "",
        *scores_table(score_methods(task_scores)),
        "",
        "Solved: the mean over seeds is within a factor of 1.5 of the truth "
        "(|log(mean/truth)| ≤ log 1.5; a mean ≤ 0 is not solved; tasks with truth 0 are "
        "not counted). Failed runs (an error or a non-finite estimate) are left out of the "
        "mean and counted here.",
    ]
    index = {(s.task, s.method, s.n): s for s in task_scores}
    tasks = list(dict.fromkeys(s.task for s in task_scores))
    for n in sizes:
        lines += [
            "",
            f"## Mean estimate against truth, n = {n}",
            "",
            "| task | dims | truth | " + " | ".join(methods) + " |",
            "|---|---|---:|" + "---:|" * len(methods),
        ]
        for task in tasks:
            cells = [index.get((task, m, n)) for m in methods]
            first = next(c for c in cells if c is not None) if any(cells) else None
            if first is None:
                continue
            values = [_estimate_cell(c) if c is not None else "" for c in cells]
            lines.append(
                f"| {task} | {first.dim_x}×{first.dim_y} | {_number(first.true_mi)} | "
                + " | ".join(values)
                + " |"
            )
    lines += ["", "✓ solved (within a factor of 1.5 of the truth)."]
    errors = _error_lines(task_scores)
    if errors:
        lines += ["", "## Failed runs", "", *errors]
    return "\n".join(lines) + "\n"


# Errors are cut to this many characters in the report (results.csv has them whole).
_ERROR_CHARACTERS = 160


def _error_lines(task_scores: Sequence[TaskScore]) -> list[str]:
    lines = []
    for s in task_scores:
        if not s.failed_runs:
            continue
        # Runs of one cell often fail alike with a message that names columns; show each
        # distinct beginning once.
        shown = dict.fromkeys(
            e if len(e) <= _ERROR_CHARACTERS else e[: _ERROR_CHARACTERS - 1] + "…" for e in s.errors
        )
        lines.append(
            f"- {s.task}, {s.method}, n = {s.n}: {s.failed_runs}/{s.runs} failed: "
            + "; ".join(shown)
        )
    return lines


def _ranges(values: Sequence[int]) -> str:
    """``0-2,7`` for [0, 1, 2, 7]."""
    parts: list[str] = []
    start = previous = None
    for value in [*values, None]:
        if start is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = value
    return ",".join(parts)


# -- plots ----------------------------------------------------------------------------

HEATMAP_NAME = "ratio_heatmap.png"
ERROR_NAME = "error_vs_n.png"
SCATTER_NAME = "estimate_vs_truth.png"


def write_plots(rows: Sequence[dict[str, Any]], folder: str | os.PathLike) -> list[Path]:
    """Draw the three figures into ``folder`` (needs matplotlib).

    - ``ratio_heatmap.png``: mean estimate / truth per task and method at the largest n,
      on a log colour scale centred at 1 (grey: no ratio, truth 0 or every run failed);
    - ``error_vs_n.png``: mean absolute error over tasks against n, per method;
    - ``estimate_vs_truth.png``: mean estimate against truth per task at the largest n,
      with the diagonal and the factor-1.5 band.

    Parameters
    ----------
    rows : sequence of dict
        Rows of the results table.
    folder : str or path
        Where to write the PNG files.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task_scores = score_tasks(rows)
    folder = Path(folder)
    written = []
    with plt.rc_context({"font.size": 8}):
        for name, draw in (
            (HEATMAP_NAME, _draw_heatmap),
            (ERROR_NAME, _draw_error_against_n),
            (SCATTER_NAME, _draw_estimate_against_truth),
        ):
            figure = draw(task_scores)
            figure.savefig(folder / name, dpi=150)
            plt.close(figure)
            written.append(folder / name)
    return written


def _largest_n(task_scores: Sequence[TaskScore]) -> list[TaskScore]:
    largest = max(s.n for s in task_scores)
    return [s for s in task_scores if s.n == largest]


def _draw_heatmap(task_scores: Sequence[TaskScore]) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    scores = _largest_n(task_scores)
    tasks = list(dict.fromkeys(s.task for s in scores))
    methods = list(dict.fromkeys(s.method for s in scores))
    ratio = np.full((len(tasks), len(methods)), np.nan)
    for s in scores:
        if s.true_mi > 0 and math.isfinite(s.mean) and s.mean > 0:
            ratio[tasks.index(s.task), methods.index(s.method)] = s.mean / s.true_mi
    figure, axes = plt.subplots(
        figsize=(2.2 + 1.1 * len(methods), 1.2 + 0.22 * len(tasks)), layout="constrained"
    )
    cmap = plt.get_cmap("coolwarm").with_extremes(bad="0.85")
    image = axes.imshow(
        np.ma.masked_invalid(ratio), cmap=cmap, norm=LogNorm(vmin=0.25, vmax=4.0), aspect="auto"
    )
    for (row, column), value in np.ndenumerate(ratio):
        text = f"{value:.2f}" if math.isfinite(value) else "—"
        axes.text(column, row, text, ha="center", va="center", fontsize=7)
    axes.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
    axes.set_yticks(range(len(tasks)), tasks)
    colorbar = figure.colorbar(image, ax=axes)
    colorbar.set_label("mean estimate / truth")
    axes.set_title(f"estimate / truth, n = {scores[0].n} (solved: 0.67–1.5)")
    return figure


def _draw_error_against_n(task_scores: Sequence[TaskScore]) -> Any:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5), layout="constrained")
    for summary in _by_method(score_methods(task_scores)).values():
        sizes = [s.n for s in summary]
        axes.plot(
            sizes, [s.mean_absolute_error for s in summary], marker="o", label=summary[0].method
        )
    axes.set_xscale("log")
    axes.set_xlabel("n (samples)")
    axes.set_ylabel("mean |estimate − truth| over tasks (nats)")
    axes.legend(frameon=False)
    axes.set_title("error against sample size")
    return figure


def _by_method(summary: Sequence[MethodScore]) -> dict[str, list[MethodScore]]:
    grouped: dict[str, list[MethodScore]] = {}
    for s in sorted(summary, key=lambda s: s.n):
        grouped.setdefault(s.method, []).append(s)
    return grouped


def _draw_estimate_against_truth(task_scores: Sequence[TaskScore]) -> Any:
    import matplotlib.pyplot as plt

    scores = _largest_n(task_scores)
    figure, axes = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
    top = max([s.true_mi for s in scores] + [s.mean for s in scores if math.isfinite(s.mean)])
    line = np.linspace(0.0, top * 1.05 or 1.0, 50)
    axes.plot(line, line, color="0.3", linewidth=0.8, label="truth")
    axes.fill_between(line, line / SOLVED_FACTOR, line * SOLVED_FACTOR, color="0.9", label="×1.5")
    markers = "os^Dvp<>h*"
    for index, method in enumerate(dict.fromkeys(s.method for s in scores)):
        points = [(s.true_mi, s.mean) for s in scores if s.method == method]
        xs, ys = zip(*points, strict=True)
        axes.scatter(xs, ys, s=14, marker=markers[index % len(markers)], label=method)
    axes.set_xlabel("true MI (nats)")
    axes.set_ylabel("mean estimate (nats)")
    axes.legend(frameon=False)
    axes.set_title(f"estimate against truth, n = {scores[0].n}")
    return figure
