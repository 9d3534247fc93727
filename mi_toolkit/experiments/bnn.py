r"""Raj et al. (2020, seeds 000 and 002): binary networks fit and compress at once.

Six networks of the 12-10-7-5-4-3-2 shape are trained on the 12-bit task of Shwartz-Ziv &
Tishby (2017): real-valued DNNs with tanh, hard-tanh and sign-swish, and binary networks
(weights and activations ±1) trained through the STE, approx-sign and swish-sign surrogate
gradients (:mod:`mi_toolkit.nets.binary`). Each is one ensemble of seeds.

Estimators, per model and layer:

* DNN layers: Shwartz-Ziv & Tishby's binning, 30 edges (29 bins) on [−1, 1]. Sign-swish
  overshoots to about ±1.2, so its layers get bins of the same width on [−1.2, 1.2]
  (35 bins) instead of clipping the overshoot into the end bins.
* Binary hidden layers: their activations are ±1, so T is discrete and I(X;T) is the exact
  plug-in value, binning with no binning (``strategy="none"``).
* Every output layer (the softmax, continuous in both kinds) gets the DNN binning.

As the 12-bit inputs are all distinct, I(X;T) = H(T) ≤ 12 bits.

The claims (their slides and abstract): binary networks start with a low I(X;T) and show
no separate compression phase (they fit and compress at once); DNNs show a separate
compression phase after the loss saturates; sign-swish overfits less than tanh and
hard-tanh.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mi_toolkit._progress import progress_reporter
from mi_toolkit.experiments._report import Report, Table, mean_and_spread
from mi_toolkit.nets.config import TrainConfig
from mi_toolkit.nets.presets import get_preset
from mi_toolkit.phases import PhaseRule, layer_phases
from mi_toolkit.plane_table import plane_table

#: Display name -> preset of :mod:`mi_toolkit.nets.presets`.
MODELS = {
    "tanh": "12bit-tanh",
    "hard-tanh": "12bit-hardtanh",
    "sign-swish": "12bit-sign-swish",
    "BNN STE": "12bit-bnn-ste",
    "BNN approx-sign": "12bit-bnn-approx-sign",
    "BNN swish-sign": "12bit-bnn-swish-sign",
}
#: Shwartz-Ziv & Tishby's binning: 30 edges on [−1, 1].
SZT_BINNING = ("binning", {"strategy": "fixed_range", "n_bins": 29, "value_range": (-1.0, 1.0)})
#: The same bin width over sign-swish's range (its maximum is about 1.2 at βx ≈ 2.4).
WIDE_BINNING = ("binning", {"strategy": "fixed_range", "n_bins": 35, "value_range": (-1.2, 1.2)})
#: Binary activations are the categories themselves: the exact plug-in value.
EXACT = ("binning", {"strategy": "none"})
#: The toolkit's default phase rule (smoothing over 0.2 decades, a fall beyond 3 σ of
#: noise plus the peak's selection allowance, and at least 2 % of the peak).
RULE = PhaseRule()
#: The loss has saturated once it has made this share of its total fall, for good.
SATURATION_SHARE = 0.95
CEILING_BITS = 12.0  # log2 of the 4096 distinct inputs


@dataclass(frozen=True)
class BnnSettings:
    """What the presets' settings are changed to.

    Attributes
    ----------
    epochs : int
        Passes over the training set (the presets: 8000).
    lr : float
        Adam's learning rate, constant (the presets: 10⁻⁴; the seeds state none).
    record : str
        Recorded epochs, as :func:`mi_toolkit.nets.config.record_epochs` reads it.
    """

    epochs: int = 300
    lr: float = 1e-3
    record: str = "log:80"


FULL = BnnSettings()
QUICK = BnnSettings(epochs=4, record="all")


def model_config(model: str, settings: BnnSettings, seeds: int) -> TrainConfig:
    """The training configuration of one model: its preset with ``settings`` applied.

    The presets record all 4096 inputs (``eval_set="all"``), and every recorded epoch
    also stores the loss and accuracy on the 80 % training split and on the 20 % held-out
    split (``train_fraction=0.8``), from which the generalisation gap comes.
    """
    return replace(
        get_preset(MODELS[model]),
        epochs=settings.epochs,
        lr=settings.lr,
        record=settings.record,
        seeds=tuple(range(seeds)),
    )


def train_all(settings: BnnSettings, seeds: int, folder: Path, progress: bool | None) -> dict:
    """Train every model into ``folder/<preset>``, reusing a finished dump of the same run."""
    from mi_toolkit.nets.training import train

    report = progress_reporter("bnn training", len(MODELS), progress)
    dumps = {}
    for done, model in enumerate(MODELS, start=1):
        dumps[model] = folder / MODELS[model]
        train(model_config(model, settings, seeds), dumps[model], resume=True, quiet=True)
        report(done)
    return dumps


def is_binary(model: str) -> bool:
    """Whether ``model`` (a key of :data:`MODELS`) is a binary network."""
    return model.startswith("BNN")


def estimators_by_layer(model: str, layers: list[str]) -> dict[str, tuple[str, dict]]:
    """Layer -> the estimator of its I(X;T) and I(T;Y) (module docstring)."""
    continuous = WIDE_BINNING if model == "sign-swish" else SZT_BINNING
    hidden = EXACT if is_binary(model) else continuous
    return {layer: continuous if layer == "output" else hidden for layer in layers}


def describe_estimator(method: tuple[str, dict]) -> str:
    """The estimator in words, for the report."""
    params = method[1]
    if params["strategy"] == "none":
        return "exact plug-in (binning, strategy='none')"
    low, high = params["value_range"]
    return f"binning, {params['n_bins']} bins on [{low:g}, {high:g}]"


@dataclass
class Curves:
    """One model's recorded curves: members × epochs (× layers)."""

    epochs: np.ndarray
    layers: list[str]
    i_xt: np.ndarray
    i_ty: np.ndarray
    metrics: dict[str, np.ndarray]


def measure(model: str, dump: Path) -> Curves:
    """I(X;T) and I(T;Y) in bits per member, epoch and layer, and the training metrics."""
    from mi_toolkit.dumps import open_dump

    layers = list(open_dump(dump).layers)
    rows = []
    # One table per estimator, over the layers it serves.
    groups: dict[str, tuple[tuple[str, dict], list[str]]] = {}
    for layer, method in estimators_by_layer(model, layers).items():
        groups.setdefault(repr(method), (method, []))[1].append(layer)
    for method, chosen in groups.values():
        rows += plane_table(str(dump), [method], layers=chosen, progress=False).rows
    members = sorted({r["member"] for r in rows})
    epochs = np.array(sorted({r["epoch"] for r in rows}))
    shape = (len(members), len(epochs), len(layers))
    i_xt, i_ty = np.full(shape, np.nan), np.full(shape, np.nan)
    names = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
    metrics = {name: np.full(shape[:2], np.nan) for name in names}
    for r in rows:
        where = (members.index(r["member"]), int(np.searchsorted(epochs, r["epoch"])))
        i_xt[(*where, layers.index(r["layer"]))] = r["i_xt"]
        i_ty[(*where, layers.index(r["layer"]))] = r["i_ty"]
        for name in names:
            metrics[name][where] = r[name]
    return Curves(epochs, layers, i_xt, i_ty, metrics)


def saturation_epoch(epochs: np.ndarray, loss: np.ndarray, share: float = SATURATION_SHARE) -> int:
    """First recorded epoch from which the loss has made ``share`` of its total fall, for good.

    The total fall is from the first to the last recorded epoch; the loss is saturated at
    epoch e when every value from e on is within (1 − share) of that fall above the final
    loss. A loss that never falls is saturated from the start.

    Examples
    --------
    >>> saturation_epoch(np.array([0, 1, 2, 3]), np.array([1.0, 0.5, 0.04, 0.0]))
    2
    """
    loss = np.asarray(loss, dtype=np.float64)
    fall = loss[0] - loss[-1]
    if not fall > 0:
        return int(epochs[0])
    above = np.flatnonzero(loss - loss[-1] > (1.0 - share) * fall)
    return int(epochs[0] if above.size == 0 else epochs[min(above[-1] + 1, len(epochs) - 1)])


@dataclass
class ModelFindings:
    """Per model: the phase numbers per member and layer, and the per-member metrics."""

    layers: list[str]
    compressed: np.ndarray  # (S, L) bool
    separate: np.ndarray  # (S, L) bool: compressed, with the peak at or after saturation
    peak_epoch: np.ndarray  # (S, L)
    fall_bits: np.ndarray  # (S, L)
    saturation: np.ndarray  # (S,)
    start_bits: np.ndarray  # (S,) mean hidden-layer I(X;T) at the first recorded epoch
    loss_gap: np.ndarray  # (S,) final test loss − final train loss
    accuracy_gap: np.ndarray  # (S,) final train accuracy − final test accuracy
    test_loss_rise: np.ndarray  # (S,) final test loss − its smallest value
    train_accuracy: np.ndarray  # (S,)
    test_accuracy: np.ndarray  # (S,)

    def hidden(self) -> list[int]:
        """Column indices of the hidden layers (every layer but the output)."""
        return [j for j, name in enumerate(self.layers) if name != "output"]

    def separate_layers(self) -> list[str]:
        """Hidden layers with a separate compression phase in at least half of the members."""
        share = self.separate.mean(axis=0)
        return [self.layers[j] for j in self.hidden() if share[j] >= 0.5]


def analyse(curves: Curves) -> ModelFindings:
    """The phases (:data:`RULE`), loss saturation and generalisation gap of one model."""
    found = layer_phases(
        curves.epochs, curves.i_xt, layers=curves.layers, rule=RULE, ceiling=CEILING_BITS
    )
    shape = (curves.i_xt.shape[0], len(curves.layers))
    compressed = np.array([p.compression.compressed for p in found]).reshape(shape)
    peak = np.array([p.compression.peak_epoch for p in found], dtype=float).reshape(shape)
    fall = np.array([p.compression.fall for p in found]).reshape(shape)
    train_loss, test_loss = curves.metrics["train_loss"], curves.metrics["test_loss"]
    saturation = np.array([saturation_epoch(curves.epochs, loss) for loss in train_loss])
    hidden = [j for j, name in enumerate(curves.layers) if name != "output"]
    return ModelFindings(
        layers=curves.layers,
        compressed=compressed,
        separate=compressed & (peak >= saturation[:, None]),
        peak_epoch=peak,
        fall_bits=fall,
        saturation=saturation,
        start_bits=curves.i_xt[:, 0, hidden].mean(axis=1),
        loss_gap=test_loss[:, -1] - train_loss[:, -1],
        accuracy_gap=curves.metrics["train_accuracy"][:, -1]
        - curves.metrics["test_accuracy"][:, -1],
        test_loss_rise=test_loss[:, -1] - np.nanmin(test_loss, axis=1),
        train_accuracy=curves.metrics["train_accuracy"][:, -1],
        test_accuracy=curves.metrics["test_accuracy"][:, -1],
    )


def run(quick: bool, seeds: int | None, output: Path, progress: bool | None) -> Report:
    """Train the six models, measure their information planes and report the claims.

    The dumps stay in ``output/dumps`` (a run with the same settings reuses them); the
    quick form deletes them afterwards.
    """
    seeds = seeds or (2 if quick else 5)
    settings = QUICK if quick else FULL
    folder = output / "dumps"
    dumps = train_all(settings, seeds, folder, progress)
    report_progress = progress_reporter("bnn information planes", len(dumps), progress)
    curves = {}
    for done, (model, dump) in enumerate(dumps.items(), start=1):
        curves[model] = measure(model, dump)
        report_progress(done)
    if quick:
        shutil.rmtree(folder, ignore_errors=True)
    findings = {model: analyse(c) for model, c in curves.items()}
    figures = _plot(curves, output)
    return _report(settings, seeds, quick, curves, findings, figures)


def _claims(findings: dict[str, ModelFindings]) -> dict[str, bool]:
    """The four claims, each decided by the rule of the report."""
    binary = [m for m in findings if is_binary(m)]
    real = [m for m in findings if not is_binary(m)]

    def gap(model: str) -> float:
        return float(np.mean(findings[model].loss_gap))

    return {
        "bnn_start_low": max(findings[m].start_bits.mean() for m in binary)
        < min(findings[m].start_bits.mean() for m in real),
        "bnn_no_separate_compression": all(not findings[m].separate_layers() for m in binary),
        "dnn_separate_compression": all(bool(findings[m].separate_layers()) for m in real),
        "sign_swish_overfits_less": gap("sign-swish") < min(gap("tanh"), gap("hard-tanh")),
    }


RULE_TEXT = (
    "I(X;T) in bits (estimator per layer in the settings). A layer of one seed compresses "
    "when the phase rule of mi_toolkit.phases (default PhaseRule: moving mean over 0.2 "
    "decades of epochs; the fall from the smoothed peak to the end must exceed 3 σ of its "
    "noise plus the peak's selection allowance, and 2 % of the peak) finds compression. "
    "The training loss saturates at the first recorded epoch from which it stays within "
    f"{1 - SATURATION_SHARE:.0%} of its total fall (first to last recorded epoch) above its "
    "final value. A compression is separate when the I(X;T) peak epoch is at or after that "
    "seed's saturation epoch; a hidden layer shows it when at least half of the seeds do. "
    "Claims: (1) BNNs start low: every BNN's mean hidden-layer I(X;T) at the first recorded "
    "epoch is below every DNN's; (2) no BNN has a hidden layer with separate compression; "
    "(3) every DNN has at least one; (4) sign-swish overfits less: its final test-minus-train "
    "loss (mean over seeds) is below both tanh's and hard-tanh's. Reproduced: all four hold; "
    "not reproduced: none; partly: some."
)


def _report(settings, seeds, quick, curves, findings, figures) -> Report:
    claims = _claims(findings)
    held = sum(claims.values())
    verdict = (
        "reproduced"
        if held == len(claims)
        else "not reproduced"
        if held == 0
        else "partly reproduced"
    )
    numbers: dict[str, object] = {f"claim.{k}": v for k, v in claims.items()}
    layer_rows, model_rows = [], []
    for model, f in findings.items():
        tag = model.replace(" ", "_")
        methods = estimators_by_layer(model, f.layers)
        for j, layer in enumerate(f.layers):
            numbers[f"{tag}.{layer}.fall_bits"] = float(np.mean(f.fall_bits[:, j]))
            numbers[f"{tag}.{layer}.peak_epoch"] = float(np.mean(f.peak_epoch[:, j]))
            numbers[f"{tag}.{layer}.compressed_seeds"] = int(f.compressed[:, j].sum())
            numbers[f"{tag}.{layer}.separate_seeds"] = int(f.separate[:, j].sum())
            layer_rows.append(
                [
                    model,
                    layer,
                    describe_estimator(methods[layer]),
                    mean_and_spread(f.fall_bits[:, j]),
                    mean_and_spread(f.peak_epoch[:, j]),
                    f"{int(f.compressed[:, j].sum())}/{len(f.saturation)}",
                    f"{int(f.separate[:, j].sum())}/{len(f.saturation)}",
                ]
            )
        per_model = {
            "loss_saturation_epoch": f.saturation,
            "start_i_xt_bits": f.start_bits,
            "loss_gap": f.loss_gap,
            "accuracy_gap": f.accuracy_gap,
            "test_loss_rise": f.test_loss_rise,
            "final_train_accuracy": f.train_accuracy,
            "final_test_accuracy": f.test_accuracy,
        }
        for name, values in per_model.items():
            numbers[f"{tag}.{name}"] = float(np.mean(values))
            numbers[f"{tag}.{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        model_rows.append([model, *(mean_and_spread(v) for v in per_model.values())])
    return Report(
        name="bnn",
        study="Raj et al. 2020, binary neural networks through the information bottleneck "
        "(seeds 000 and 002)",
        claim="binary networks start with a low I(X;T) and fit and compress at once (no "
        "separate compression phase); DNNs compress in a separate phase after the loss "
        "saturates; sign-swish overfits less than tanh and hard-tanh",
        verdict=verdict,
        rule=RULE_TEXT,
        settings=_settings(settings, seeds, quick),
        numbers=numbers,
        findings=_findings(claims, findings),
        tables=[
            Table(
                "Per model and layer: the fall of I(X;T) after its peak (bits), the peak epoch "
                "(mean ± sd over seeds), the seeds compressing, and those compressing at or "
                "after the loss saturates (separate)",
                [
                    "model",
                    "layer",
                    "estimator",
                    "fall (bits)",
                    "peak epoch",
                    "compresses",
                    "separate",
                ],
                layer_rows,
            ),
            Table(
                "Per model (mean ± sd over seeds): loss saturation epoch, mean hidden-layer "
                "I(X;T) at the first recorded epoch (bits), final test − train loss, final "
                "train − test accuracy, rise of the test loss from its minimum, final accuracies",
                [
                    "model",
                    "saturation epoch",
                    "start I(X;T)",
                    "loss gap",
                    "accuracy gap",
                    "test loss rise",
                    "train acc",
                    "test acc",
                ],
                model_rows,
            ),
        ],
        figures=figures,
    )


def _settings(settings: BnnSettings, seeds: int, quick: bool) -> dict[str, object]:
    example = model_config("tanh", settings, seeds)
    return {
        "quick": quick,
        "seeds": seeds,
        "task": "12-bit, 12-10-7-5-4-3-2, 80 % train / 20 % test split (split seed 0), "
        "I(X;T) on all 4096 inputs",
        "optimizer": f"Adam, lr {settings.lr:g} constant (no schedule), batch {example.batch_size}",
        "epochs": settings.epochs,
        "record": settings.record,
        "DNN estimator": describe_estimator(SZT_BINNING)
        + f" (sign-swish: {describe_estimator(WIDE_BINNING)})",
        "BNN estimator": f"hidden {describe_estimator(EXACT)}; output softmax "
        + describe_estimator(SZT_BINNING),
        "choices": "the seeds state no learning rate, schedule or epoch count; the presets' "
        "Adam 1e-4 over 8000 epochs would take hours for the binary networks here (about "
        "1-2 s per epoch for 5 seeds on 2 shared cores), so the rate is 1e-3, constant, "
        "over far fewer epochs; the presets' bad-fit restarts (after epoch 1000) never "
        "trigger, so every seed is kept",
        "digits": "not run (time)",
    }


def _findings(claims: dict[str, bool], findings: dict[str, ModelFindings]) -> list[str]:
    def layers(model: str) -> str:
        found = findings[model].separate_layers()
        return ", ".join(found) if found else "none"

    lines = []
    for model, f in findings.items():
        compressing = [f.layers[j] for j in f.hidden() if f.compressed[:, j].mean() >= 0.5]
        lines.append(
            f"{model}: loss saturates at epoch {np.mean(f.saturation):.0f}; hidden layers "
            f"compressing (≥ half the seeds): {', '.join(compressing) or 'none'}; with the "
            f"I(X;T) peak at or after saturation: {layers(model)}; start I(X;T) "
            f"{np.mean(f.start_bits):.2f} bits; loss gap {np.mean(f.loss_gap):.3f} nats."
        )
    words = {True: "holds", False: "does not hold"}
    lines += [f"Claim {name.replace('_', ' ')}: {words[held]}." for name, held in claims.items()]
    return lines


def _plot(curves: dict[str, Curves], output: Path) -> list[str]:
    """The six information planes side by side (mean over seeds), and the loss curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mi_toolkit.plots import plot_side_by_side

    panels = {
        model: {
            "epochs": c.epochs,
            "i_xt": np.nanmean(c.i_xt, axis=0),
            "i_ty": np.nanmean(c.i_ty, axis=0),
            "layers": c.layers,
            "ceiling": CEILING_BITS,
        }
        for model, c in curves.items()
    }
    plane_name = "bnn_planes.png"
    plot_side_by_side(panels).savefig(output / plane_name, dpi=55)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for model, c in curves.items():
        axis = axes[1 if is_binary(model) else 0]
        (line,) = axis.plot(c.epochs + 1, np.nanmean(c.metrics["train_loss"], axis=0), label=model)
        axis.plot(
            c.epochs + 1, np.nanmean(c.metrics["test_loss"], axis=0), "--", color=line.get_color()
        )
    for axis, title in zip(axes, ("DNNs", "BNNs"), strict=True):
        axis.set_xscale("log")
        axis.set_xlabel("epoch + 1")
        axis.set_title(f"{title}: train (solid) and test (dashed) loss", fontsize=9)
        axis.legend(fontsize=7)
    axes[0].set_ylabel("cross-entropy (nats)")
    figure.tight_layout()
    loss_name = "bnn_losses.png"
    figure.savefig(output / loss_name, dpi=70)
    plt.close(figure)
    return [plane_name, loss_name]
