r"""Shwartz-Ziv & Tishby (2017): the drift-to-diffusion change of the gradients marks compression.

The tanh network 12-10-7-5-4-3-2 of their 12-bit task (preset ``12bit-tanh``, the same
ensemble as the ``saturation`` experiment, reused when both run in one process) records
per layer and epoch the norm of the mean of the per-batch gradients, ‖E_b[g]‖, and of
their standard deviation, ‖Std_b[g]‖. Their claim (Figs. 3–4): training starts in a
*drift* phase (mean ≫ spread) and moves into a *diffusion* phase (mean ≪ spread), and the
change coincides with the start of compression, the epoch where I(X;T) peaks.

I(X;T) is estimated with their binning, 30 equal bins' edges on [−1, 1] (the
``binning`` method's default: 29 bins over [−1, 1]); the diffusion epoch is where the
smoothed signal-to-noise ratio ‖E_b[g]‖ / ‖Std_b[g]‖ falls below 1 for good
(:func:`mi_toolkit.phases.detect_diffusion`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mi_toolkit.dumps import open_dump
from mi_toolkit.experiments._report import Report, Table
from mi_toolkit.experiments._twelve_bit import (
    CEILING_BITS,
    recorded_count,
    train_once,
    twelve_bit_config,
)
from mi_toolkit.experiments.saturation import FULL, QUICK
from mi_toolkit.phases import LayerPhases, PhaseRule, gradient_norms, phases_from_table
from mi_toolkit.plane_table import PlaneTable, plane_table

#: The toolkit's default phase rule (the :mod:`mi_toolkit.phases` docstring).
RULE = PhaseRule()
#: Largest distance, in decades of (epoch + 1), at which the two epochs coincide.
COINCIDENCE_DECADES = 0.3


def run(quick: bool, seeds: int | None, output: Path, progress: bool | None) -> Report:
    """Train (or reuse) the tanh ensemble; compare the diffusion epoch with the peak of I(X;T)."""
    seeds = seeds or (2 if quick else 5)
    schedule = QUICK if quick else FULL
    config = twelve_bit_config("tanh", seeds, **schedule)
    dump = train_once(config, output / "runs/12bit-tanh", progress)
    table = plane_table(dump, "binning", units="bits", progress=progress)
    phases = phases_from_table(table.rows, rule=RULE, ceiling=CEILING_BITS)
    figures = [_plot(dump, phases, output)]
    return _report(phases, table, seeds, quick, schedule, recorded_count(config), figures)


def log_distance(first: int | None, second: int | None) -> float:
    """|log10(first + 1) − log10(second + 1)|, in decades; NaN when either is missing.

    Examples
    --------
    >>> round(log_distance(9, 99), 6)
    1.0
    """
    if first is None or second is None:
        return math.nan
    return abs(math.log10(first + 1.0) - math.log10(second + 1.0))


def _by_layer(phases: list[LayerPhases]) -> dict[str, list[LayerPhases]]:
    grouped: dict[str, list[LayerPhases]] = {}
    for entry in phases:
        grouped.setdefault(entry.layer, []).append(entry)
    return grouped


def _median_epoch(epochs: list[int | None]) -> float:
    found = [e for e in epochs if e is not None]
    return float(np.median(found)) if found else math.nan


def _report(phases, table: PlaneTable, seeds, quick, schedule, recorded, figures) -> Report:
    rows, numbers, findings = [], {}, []
    tested, coinciding, with_transition = 0, 0, 0
    for layer, entries in _by_layer(phases).items():
        members = len(entries)
        diffusion = [e.diffusion.epoch if e.diffusion else None for e in entries]
        peaks = [e.compression.peak_epoch for e in entries]
        at_ceiling = sum(bool(e.compression.note) for e in entries)
        distances = [log_distance(d, p) for d, p in zip(diffusion, peaks, strict=True)]
        finite = [d for d in distances if np.isfinite(d)]
        median_distance = float(np.median(finite)) if finite else math.nan
        has_transition = sum(d is not None for d in diffusion) >= members / 2
        with_transition += has_transition
        peak_is_a_peak = at_ceiling < members / 2
        coincides = bool(has_transition and median_distance <= COINCIDENCE_DECADES)
        if has_transition and peak_is_a_peak:
            tested += 1
            coinciding += coincides
        numbers[f"{layer}.diffusion_epoch_median"] = _median_epoch(diffusion)
        numbers[f"{layer}.seeds_with_transition"] = sum(d is not None for d in diffusion)
        numbers[f"{layer}.peak_epoch_median"] = _median_epoch(peaks)
        numbers[f"{layer}.median_distance_decades"] = median_distance
        numbers[f"{layer}.seeds_peak_at_ceiling"] = at_ceiling
        rows.append(
            [
                layer,
                _epochs_cell(diffusion),
                f"{sum(d is not None for d in diffusion)}/{members}",
                _epochs_cell(peaks),
                f"{at_ceiling}/{members}",
                f"{median_distance:.2f}",
                "yes" if coincides else "no",
                _notes(entries),
            ]
        )
    numbers["layers_with_transition"] = with_transition
    numbers["layers_tested"] = tested
    numbers["layers_coinciding"] = coinciding
    findings.append(
        f"{with_transition} of {len(rows)} layers move from drift to diffusion (in at least "
        f"half of the seeds); of the {tested} of them whose I(X;T) has a real peak (below "
        f"the log N ceiling), {coinciding} peak within {COINCIDENCE_DECADES} decades of the "
        "transition (median over seeds)."
    )
    if tested and coinciding == tested:
        verdict = "reproduced"
    elif coinciding:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    columns = [
        "layer",
        "diffusion epoch (median; per seed)",
        "seeds with transition",
        "I(X;T) peak epoch (median; per seed)",
        "peak at ceiling",
        "distance (decades, median)",
        "coincide",
        "notes",
    ]
    result_table = Table(
        "Per layer: the epoch of the drift → diffusion change and of the peak of I(X;T)",
        columns,
        rows,
    )
    settings = {
        "quick": quick,
        "seeds": seeds,
        "task": "12-bit, 12-10-7-5-4-3-2 tanh, Adam lr 1e-4, batch 256 (preset 12bit-tanh)",
        "epochs": schedule["epochs"],
        "record": f"{schedule['record']} ({recorded} epochs)",
        "estimator": "binning, 29 bins on [-1, 1] (30 edges, the default)",
        "phase rule": f"window {RULE.window} decades, SNR threshold {RULE.snr_threshold:g}",
        "failures": len(table.failures),
    }
    return Report(
        name="two-phases",
        study="Shwartz-Ziv & Tishby 2017 (seed 000)",
        claim="the gradients move from a drift phase (mean above spread) to a diffusion "
        "phase (mean below spread), and the change coincides with the start of "
        "compression, the peak of I(X;T)",
        verdict=verdict,
        rule="per layer and seed, the diffusion epoch is the first recorded epoch from which "
        "the gradient signal-to-noise ratio ‖E_b[g]‖/‖Std_b[g]‖, smoothed over "
        f"{RULE.window} decades, stays below {RULE.snr_threshold:g} "
        "(mi_toolkit.phases.detect_diffusion), and the peak epoch is that of the smoothed "
        "I(X;T) (detect_compression). A layer has a transition when at least half of the "
        "seeds have one; it coincides when the median over seeds of |log10(diffusion + 1) "
        f"− log10(peak + 1)| is at most {COINCIDENCE_DECADES} decades. Layers whose I(X;T) "
        "peaks at the log N ceiling in at least half of the seeds have no peak to compare "
        "and are left out. Reproduced: every layer tested coincides (at least one tested); "
        "partly: some; not: none",
        settings=settings,
        numbers=numbers,
        findings=findings,
        tables=[result_table],
        figures=figures,
    )


def _epochs_cell(epochs: list[int | None]) -> str:
    text = ", ".join("–" if e is None else str(e) for e in epochs)
    return f"{_median_epoch(epochs):.0f} ({text})"


def _notes(entries: list[LayerPhases]) -> str:
    notes = {e.diffusion.note for e in entries if e.diffusion is not None and e.diffusion.note}
    return "; ".join(sorted(notes))


def _plot(dump_path: Path, phases: list[LayerPhases], output: Path) -> str:
    """Gradient mean and spread per layer (first seed), the transitions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mi_toolkit.plots import plot_gradients

    epochs, layers, mean, spread = gradient_norms(open_dump(dump_path))
    transitions = {
        e.layer: e.diffusion.epoch for e in phases if e.member == 0 and e.diffusion is not None
    }
    figure = plot_gradients(
        epochs,
        mean[0],
        spread[0],
        layers=layers,
        transitions={layer: transitions.get(layer) for layer in layers},
        title="tanh, seed 0: ‖E_b[g]‖ solid, ‖Std_b[g]‖ dashed, diffusion dotted",
    )
    name = "two_phases_gradients.png"
    figure.set_size_inches(6.5, 4.5)
    figure.savefig(output / name, dpi=70)
    plt.close(figure)
    return name
