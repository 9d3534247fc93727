"""Name -> experiment: the module that runs it and the claim it tests."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path

from mi_toolkit.experiments._report import Report


@dataclass(frozen=True)
class ExperimentInfo:
    """What ``mi-toolkit reproduce`` lists: a name, its study and the claim it tests.

    Attributes
    ----------
    name : str
        The name given on the command line.
    module : str
        The module whose ``run(quick, seeds, output, progress) -> Report`` runs it.
    study : str
        The paper (and seed file) the claim comes from.
    claim : str
        The claim, in one sentence.
    """

    name: str
    module: str
    study: str
    claim: str


EXPERIMENTS: dict[str, ExperimentInfo] = {
    info.name: info
    for info in (
        ExperimentInfo(
            name="linear",
            module="mi_toolkit.experiments.linear",
            study="Saxe et al. 2018, section 3 (seed 001)",
            claim="deep linear networks do not compress, with SGD or with batch gradient "
            "descent; only the task-irrelevant part of the input is compressed",
        ),
        ExperimentInfo(
            name="saturation",
            module="mi_toolkit.experiments.saturation",
            study="Saxe et al. 2018, section 2 (seed 001)",
            claim="double-sided saturating non-linearities (tanh) compress in the information "
            "plane, single-sided ones (ReLU) do not",
        ),
        ExperimentInfo(
            name="two-phases",
            module="mi_toolkit.experiments.two_phases",
            study="Shwartz-Ziv & Tishby 2017 (seed 000)",
            claim="the gradients move from a drift phase (mean above spread) to a diffusion "
            "phase (mean below spread), and the change coincides with the start of "
            "compression, the peak of I(X;T)",
        ),
        ExperimentInfo(
            name="ablation",
            module="mi_toolkit.experiments.ablation",
            study="Liu, Amjad & Geiger 2018, arXiv:1804.06679 (seed 004)",
            claim="within a layer, ablating high-I(T_i;Y) neurons first hurts test accuracy "
            "far more than ablating low ones first (random in between); per-neuron MI is not "
            "comparable across layers",
        ),
        ExperimentInfo(
            name="bnn",
            module="mi_toolkit.experiments.bnn",
            study="Raj et al. 2020, binary neural networks through the information "
            "bottleneck (seeds 000 and 002)",
            claim="binary networks start with a low I(X;T) and fit and compress at once; "
            "DNNs compress in a separate phase after the loss saturates; sign-swish "
            "overfits less than tanh and hard-tanh",
        ),
        ExperimentInfo(
            name="compression-plane",
            module="mi_toolkit.experiments.compression_plane",
            study="Butakov et al. 2024, information bottleneck analysis of deep neural "
            "networks via lossy compression (seed 003)",
            claim="with noise injection and lossy compression, the layers of a convolutional "
            "classifier fit (I(X;T) rises) and then compress (I(X;T) falls)",
        ),
    )
}


def get_experiment(name: str) -> ExperimentInfo:
    """The experiment called ``name``; an error lists the valid names."""
    if name not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)} "
            "(run 'mi-toolkit reproduce' to list them)"
        )
    return EXPERIMENTS[name]


def run_experiment(
    name: str,
    output: str | Path,
    *,
    quick: bool = False,
    seeds: int | None = None,
    progress: bool | None = None,
) -> Report:
    """Run one experiment, write its report into ``output`` and return it.

    Parameters
    ----------
    name : str
        An experiment of :data:`EXPERIMENTS`.
    output : str or pathlib.Path
        The folder for ``report.md``, ``numbers.json`` and the figures (created).
    quick : bool
        The smoke settings: seconds instead of minutes, the same numbers named.
    seeds : int or None
        Number of seeds; None for the experiment's own (at least 5 in full settings).
    progress : bool or None
        Progress bars; None shows them when stderr is a terminal.
    """
    info = get_experiment(name)
    if seeds is not None and (not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"seeds must be a positive integer; got {seeds!r}")
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(info.module)
    started = time.perf_counter()
    report: Report = module.run(quick=quick, seeds=seeds, output=folder, progress=progress)
    report.elapsed_s = time.perf_counter() - started
    report.write(folder)
    return report
