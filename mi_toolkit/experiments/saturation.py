r"""Saxe et al. (2018), section 2: double-sided saturation drives compression.

The 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby (2017) is trained on their 12-bit
task with Adam (preset ``12bit-tanh`` / ``12bit-relu``), one ensemble of seeds per
activation. Every layer's I(X;T) over all 4096 inputs is estimated at log-spaced epochs
by two estimators of Saxe et al.:

* the pairwise-distance KDE upper bound with noise variance σ² = 10⁻³
  (:mod:`mi_toolkit.estimators.kde`);
* binning with fixed-width bins of 0.07 (``bin_width=0.07``: unbounded, so the ReLU's
  activations are not clipped into an edge bin as fixed-range bins would).

The claim (their Fig. 1): tanh layers show I(X;T) rising then falling (compression),
because tanh saturates on both sides; ReLU layers, saturating on one side only, do not.
The fall after the peak is decided per layer and seed by :mod:`mi_toolkit.phases`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mi_toolkit._progress import progress_reporter
from mi_toolkit.experiments._report import Report, Table
from mi_toolkit.experiments._twelve_bit import (
    CEILING_BITS,
    recorded_count,
    train_once,
    twelve_bit_config,
)
from mi_toolkit.phases import PhaseRule, phases_from_table, summarize_phases
from mi_toolkit.plane_table import PlaneTable, plane_table, spread_over_seeds

ACTIVATIONS = ("tanh", "relu")
#: name -> (method, parameters) as :func:`mi_toolkit.plane_table.plane_table` takes them.
ESTIMATORS = {
    "KDE": ("kde", {"noise_variance": 1e-3}),
    "binning": ("binning", {"bin_width": 0.07}),
}
#: The toolkit's default phase rule (the :mod:`mi_toolkit.phases` docstring).
RULE = PhaseRule()
FULL = {"epochs": 2500, "record": "log:60"}
QUICK = {"epochs": 20, "record": "log:3"}
#: The quick form estimates the last two layers only: a KDE of the 4096 inputs costs about
#: 0.3 s per layer and epoch on a loaded 2-core machine, and the test must stay short.
QUICK_LAYERS = ("layer5", "output")


def run(quick: bool, seeds: int | None, output: Path, progress: bool | None) -> Report:
    """Train both ensembles, estimate their planes and report the fall of I(X;T) per layer."""
    seeds = seeds or (2 if quick else 5)
    schedule = QUICK if quick else FULL
    tables: dict[str, PlaneTable] = {}
    report_progress = progress_reporter("saturation", len(ACTIVATIONS), progress)
    for done, activation in enumerate(ACTIVATIONS, start=1):
        config = twelve_bit_config(activation, seeds, **schedule)
        dump = train_once(config, output / f"runs/12bit-{activation}", progress)
        tables[activation] = plane_table(
            dump,
            list(ESTIMATORS.values()),
            units="bits",
            layers=QUICK_LAYERS if quick else None,
            progress=progress,
        )
        report_progress(done)
    summaries = {
        activation: {name: _summary(table, name) for name in ESTIMATORS}
        for activation, table in tables.items()
    }
    figures = [_plot(tables, name, output) for name in ESTIMATORS]
    recorded = recorded_count(twelve_bit_config("tanh", seeds, **schedule))
    return _report(summaries, seeds, quick, schedule, recorded, figures)


def _summary(table: PlaneTable, estimator: str) -> list[dict]:
    """One row per layer (summarize_phases) for one estimator's rows of a table."""
    method = ESTIMATORS[estimator][0]
    rows = [row for row in table.rows if row["method"] == method]
    phases = phases_from_table(rows, grad_mean=None, grad_std=None, rule=RULE, ceiling=CEILING_BITS)
    return summarize_phases(phases)


def _report(summaries, seeds, quick, schedule, recorded, figures) -> Report:
    rows, numbers, findings = [], {}, []
    compressing: dict[tuple[str, str], int] = {}
    for activation, by_estimator in summaries.items():
        for estimator, summary in by_estimator.items():
            tag = f"{activation}.{estimator}"
            count = 0
            for row in summary:
                compresses = row["compressed"] >= row["members"] / 2
                count += compresses
                numbers[f"{tag}.{row['layer']}.fall_bits"] = row["fall_mean"]
                numbers[f"{tag}.{row['layer']}.fall_bits_sd"] = row["fall_std"]
                numbers[f"{tag}.{row['layer']}.seeds_compressing"] = row["compressed"]
                rows.append(
                    [
                        activation,
                        estimator,
                        row["layer"],
                        _cell(row["peak_epoch_mean"], row["peak_epoch_std"], "{:.0f}"),
                        _cell(row["fall_mean"], row["fall_std"], "{:.3f}"),
                        _cell(100 * row["fall_fraction_mean"], 100 * row["fall_fraction_std"]),
                        f"{row['compressed']}/{row['members']}",
                        f"{row['at_ceiling']}/{row['members']}",
                    ]
                )
            compressing[(activation, estimator)] = count
            numbers[f"{tag}.layers_compressing"] = count
            numbers[f"{tag}.layers"] = len(summary)
    agrees = {
        estimator: compressing[("tanh", estimator)] >= 1 and compressing[("relu", estimator)] == 0
        for estimator in ESTIMATORS
    }
    for estimator, agreed in agrees.items():
        numbers[f"{estimator}.tanh_compresses_relu_does_not"] = agreed
        findings.append(
            f"{estimator}: I(X;T) falls after its peak in {compressing[('tanh', estimator)]} "
            f"tanh layer(s) and {compressing[('relu', estimator)]} ReLU layer(s) (a layer "
            "counts when at least half of the seeds compress)."
        )
    verdict = (
        "reproduced"
        if all(agrees.values())
        else "partly reproduced"
        if any(agrees.values())
        else "not reproduced"
    )
    table = Table(
        "I(X;T) per layer: epoch of the peak, fall from the peak to the end of training "
        "(bits and % of the peak), seeds with a compression phase and seeds whose peak sits "
        "at the log N = 12 bits ceiling (mean ± sd over seeds)",
        [
            "activation",
            "estimator",
            "layer",
            "peak epoch",
            "fall (bits)",
            "fall (%)",
            "compresses",
            "at ceiling",
        ],
        rows,
    )
    settings = {
        "quick": quick,
        "seeds": seeds,
        "task": "12-bit, 12-10-7-5-4-3-2, Adam lr 1e-4, batch 256 (presets 12bit-tanh/relu)",
        "epochs": schedule["epochs"],
        "record": f"{schedule['record']} ({recorded} epochs)",
        "layers": ", ".join(QUICK_LAYERS) if quick else "all",
        "estimators": "; ".join(f"{k}: {m} {p}" for k, (m, p) in ESTIMATORS.items()),
        "phase rule": _rule_text(),
    }
    return Report(
        name="saturation",
        study="Saxe et al. 2018, section 2 (seed 001)",
        claim="double-sided saturating non-linearities (tanh) compress in the information "
        "plane, single-sided ones (ReLU) do not",
        verdict=verdict,
        rule="a layer compresses when the phase rule of mi_toolkit.phases (its defaults: "
        f"a moving mean over {RULE.window} decades of epochs; the fall from the smoothed "
        f"peak to the last epoch must exceed the peak's selection allowance plus "
        f"{RULE.n_sigma:g} noise sd, the noise being the larger of the standard errors and "
        f"the epoch-to-epoch scatter, and {RULE.min_fraction:.0%} of the peak) finds "
        "compression in at least half of the seeds. An estimator agrees with the claim "
        "when at least one tanh layer compresses and no ReLU layer does. Reproduced: both "
        "estimators agree; partly: one; not: neither",
        settings=settings,
        numbers=numbers,
        findings=findings,
        tables=[table],
        figures=figures,
    )


def _rule_text() -> str:
    return (
        f"window {RULE.window} decades, n_sigma {RULE.n_sigma:g}, "
        f"min_fraction {RULE.min_fraction:g}, noise {RULE.noise}"
    )


def _cell(mean: float, spread: float, form: str = "{:.1f}") -> str:
    if not np.isfinite(spread):
        return form.format(mean)
    return f"{form.format(mean)} ± {form.format(spread)}"


def _plot(tables: dict[str, PlaneTable], estimator: str, output: Path) -> str:
    """tanh and ReLU information planes side by side (mean over seeds) for one estimator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mi_toolkit.plots import plot_side_by_side

    method = ESTIMATORS[estimator][0]
    panels = {}
    for activation, table in tables.items():
        i_xt = spread_over_seeds(table, "i_xt", method=method)
        i_ty = spread_over_seeds(table, "i_ty", method=method)
        panels[f"{activation} ({estimator})"] = {
            "epochs": i_xt.epochs,
            "i_xt": i_xt.mean,
            "i_ty": i_ty.mean,
            "layers": i_xt.layers,
            "ceiling": CEILING_BITS,
        }
    name = f"saturation_{estimator.lower()}.png"
    figure = plot_side_by_side(panels, kind="plane")
    figure.savefig(output / name, dpi=70)
    plt.close(figure)
    return name
