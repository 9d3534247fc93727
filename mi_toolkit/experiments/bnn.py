r"""Raj et al. (2020, seeds 000 and 002): binary networks fit and compress at once.

Six networks are trained on each of two tasks: real-valued DNNs with tanh, hard-tanh and
sign-swish, and binary networks (weights and activations ±1) trained through the STE,
approx-sign and swish-sign surrogate gradients (:mod:`mi_toolkit.nets.binary`). Each is
one ensemble of seeds.

* The 12-bit task of Shwartz-Ziv & Tishby (2017), network 12-10-7-5-4-3-2.
* scikit-learn's 8×8 digits (1797 images, 64 inputs, 10 classes), an MLP 64-32-16-8-10:
  the ``digits-mlp`` preset's 64-32-16 funnel continued by an 8-unit layer, so that each
  BNN has a hidden layer whose I(X;T) (at most 8 bits) lies below the log₂ 1797 = 10.81
  bit ceiling by construction.

Estimators, per model and layer:

* DNN layers: Shwartz-Ziv & Tishby's binning, 30 edges (29 bins) on [−1, 1]. Sign-swish
  overshoots to about ±1.2, so its layers get bins of the same width on [−1.2, 1.2]
  (35 bins) instead of clipping the overshoot into the end bins.
* Binary hidden layers: their activations are ±1, so T is discrete and I(X;T) is the exact
  plug-in value, binning with no binning (``strategy="none"``).
* Every output layer (the softmax, continuous in both kinds) gets the DNN binning.

Each task's inputs are distinct, so I(X;T) = H(T) ≤ H(X) = log₂ N, the ceiling (12 bits
for the 4096 12-bit inputs, 10.81 bits for the 1797 digits); a layer whose I(X;T) peaks
there tells every input apart, and its "peak" says only when it first did.

The claims (their slides and abstract): binary networks start with a low I(X;T) and show
no separate compression phase (they fit and compress at once); DNNs show a separate
compression phase after the loss saturates; sign-swish overfits less than tanh and
hard-tanh.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mi_toolkit import estimate_entropy
from mi_toolkit._progress import progress_reporter
from mi_toolkit.experiments._report import Report, Table, mean_and_spread
from mi_toolkit.nets.config import TrainConfig
from mi_toolkit.nets.presets import get_preset
from mi_toolkit.phases import PhaseRule, layer_phases
from mi_toolkit.plane_table import plane_table

#: Display name -> 12-bit preset of :mod:`mi_toolkit.nets.presets`.
MODELS = {
    "tanh": "12bit-tanh",
    "hard-tanh": "12bit-hardtanh",
    "sign-swish": "12bit-sign-swish",
    "BNN STE": "12bit-bnn-ste",
    "BNN approx-sign": "12bit-bnn-approx-sign",
    "BNN swish-sign": "12bit-bnn-swish-sign",
}
#: The digits MLP: the ``digits-mlp`` preset's 64-32-16 funnel continued to 8 units.
DIGITS_SIZES = (64, 32, 16, 8, 10)
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


@dataclass(frozen=True)
class BnnSettings:
    """What the presets' settings are changed to.

    Attributes
    ----------
    epochs : int
        Passes over the training set (the 12-bit presets: 8000; digits-mlp: 200).
    lr : float
        Adam's learning rate, constant (the 12-bit presets: 10⁻⁴, digits-mlp: 10⁻³; the
        seeds state none).
    record : str
        Recorded epochs, as :func:`mi_toolkit.nets.config.record_epochs` reads it.
    """

    epochs: int = 300
    lr: float = 1e-3
    record: str = "log:80"


FULL = BnnSettings()
QUICK = BnnSettings(epochs=3, record="all")


def twelve_bit_preset(model: str) -> TrainConfig:
    """The 12-bit preset of ``model`` (a key of :data:`MODELS`)."""
    return get_preset(MODELS[model])


def digits_preset(model: str) -> TrainConfig:
    """``digits-mlp`` (Adam, batch 128, 80 % train split) as ``model``, shaped :data:`DIGITS_SIZES`.

    The 12-bit preset names the activation, or for BNNs the surrogate gradient.
    """
    twelve_bit = twelve_bit_preset(model)
    return replace(
        get_preset("digits-mlp"),
        sizes=DIGITS_SIZES,
        model=twelve_bit.model,
        activation=twelve_bit.activation,
    )


@dataclass(frozen=True)
class Task:
    """One task of the experiment: its networks, settings, and names in the report.

    Attributes
    ----------
    name : str
        The task in words (report and tables).
    prefix : str
        Prefix of its numbers and figure names ("" for the 12-bit task, whose numbers
        kept the names they had before digits were added).
    preset : callable
        Model (a key of :data:`MODELS`) -> its training configuration before
        :class:`BnnSettings` apply.
    full, quick : BnnSettings
        The full and the smoke settings.
    description : str
        Data, network and split, for the settings.
    """

    name: str
    prefix: str
    preset: Callable[[str], TrainConfig]
    full: BnnSettings
    quick: BnnSettings
    description: str

    def folder(self, model: str) -> str:
        """Folder of ``model``'s dump: its 12-bit preset's name, renamed for other tasks."""
        name = MODELS[model]
        return name if not self.prefix else name.replace("12bit", self.prefix.rstrip("."), 1)


TWELVE_BIT = Task(
    name="12-bit",
    prefix="",
    preset=twelve_bit_preset,
    full=FULL,
    quick=QUICK,
    description="12-bit, 12-10-7-5-4-3-2, 80 % train / 20 % test split (split seed 0), "
    "I(X;T) on all 4096 inputs",
)
DIGITS = Task(
    name="digits",
    prefix="digits.",
    preset=digits_preset,
    full=BnnSettings(epochs=120, lr=1e-3, record="log:60"),
    quick=BnnSettings(epochs=3, record="all"),
    description="scikit-learn 8×8 digits, 64-32-16-8-10, 80 % train / 20 % test split "
    "(stratified, split seed 0), I(X;T) on all 1797 images",
)
TASKS = (TWELVE_BIT, DIGITS)


def model_config(
    model: str, settings: BnnSettings, seeds: int, task: Task = TWELVE_BIT
) -> TrainConfig:
    """The training configuration of one model: its task's preset with ``settings`` applied.

    The presets record all inputs (``eval_set="all"``), and every recorded epoch also
    stores the loss and accuracy on the 80 % training split and on the 20 % held-out
    split (``train_fraction=0.8``), from which the generalisation gap comes.
    """
    return replace(
        task.preset(model),
        epochs=settings.epochs,
        lr=settings.lr,
        record=settings.record,
        seeds=tuple(range(seeds)),
    )


def train_all(
    settings: BnnSettings, seeds: int, folder: Path, progress: bool | None, task: Task = TWELVE_BIT
) -> dict:
    """Train every model into ``folder/<dump>``, reusing a finished dump of the same run."""
    from mi_toolkit.nets.training import train

    report = progress_reporter(f"bnn {task.name} training", len(MODELS), progress)
    dumps = {}
    for done, model in enumerate(MODELS, start=1):
        dumps[model] = folder / task.folder(model)
        train(model_config(model, settings, seeds, task), dumps[model], resume=True, quiet=True)
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
    ceiling: float  # H(X) in bits: log2 N for N distinct inputs


def measure(model: str, dump: Path) -> Curves:
    """I(X;T) and I(T;Y) in bits per member, epoch and layer, and the training metrics."""
    from mi_toolkit.dumps import open_dump

    opened = open_dump(dump)
    layers = list(opened.layers)
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
    return Curves(epochs, layers, i_xt, i_ty, metrics, input_entropy_bits(opened.inputs))


def input_entropy_bits(inputs: np.ndarray) -> float:
    """H(X) in bits of the recorded inputs grouped by unique rows: the ceiling of I(X;T).

    The information plane treats X as uniform over the distinct rows, so for N distinct
    inputs this is log₂ N.

    Examples
    --------
    >>> round(input_entropy_bits(np.eye(8)), 6)
    3.0
    """
    return float(estimate_entropy(inputs, "binning", units="bits", discrete=True).value)


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
    at_ceiling: np.ndarray  # (S, L) bool: the I(X;T) peak sits at the log2 N ceiling
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
        curves.epochs, curves.i_xt, layers=curves.layers, rule=RULE, ceiling=curves.ceiling
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
        at_ceiling=np.array([bool(p.compression.note) for p in found]).reshape(shape),
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
    """Train the six models on each task, measure their information planes, report the claims.

    The dumps stay in ``output/dumps`` (a run with the same settings reuses them); the
    quick form deletes them afterwards.
    """
    seeds = seeds or (2 if quick else 5)
    folder = output / "dumps"
    results = [run_task(task, quick, seeds, folder, output, progress) for task in TASKS]
    if quick:
        shutil.rmtree(folder, ignore_errors=True)
    return _report(results, seeds, quick)


@dataclass
class TaskResult:
    """One task's settings, curves, findings per model, claims and figure names."""

    task: Task
    settings: BnnSettings
    curves: dict[str, Curves]
    findings: dict[str, ModelFindings]
    claims: dict[str, bool]
    figures: list[str]

    @property
    def ceiling(self) -> float:
        """log2 N in bits, N the task's distinct inputs (the same for every model)."""
        return next(iter(self.curves.values())).ceiling


def run_task(
    task: Task, quick: bool, seeds: int, folder: Path, output: Path, progress: bool | None
) -> TaskResult:
    """Train, measure, analyse and plot the six models of one task."""
    settings = task.quick if quick else task.full
    dumps = train_all(settings, seeds, folder, progress, task)
    report_progress = progress_reporter(f"bnn {task.name} information planes", len(dumps), progress)
    curves = {}
    for done, (model, dump) in enumerate(dumps.items(), start=1):
        curves[model] = measure(model, dump)
        report_progress(done)
    findings = {model: analyse(c) for model, c in curves.items()}
    figures = _plot(curves, output, "bnn_" + task.prefix.replace(".", "_"))
    return TaskResult(task, settings, curves, findings, _claims(findings), figures)


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
    "loss (mean over seeds) is below both tanh's and hard-tanh's. Each task (12-bit, "
    "digits) is judged on its own by these four claims: reproduced when all four hold, not "
    "reproduced when none does, partly otherwise. The experiment's verdict counts the eight "
    "claims of both tasks the same way. A layer whose I(X;T) peak sits at the log2 N "
    "ceiling (within 3 σ; N distinct inputs) only tells the inputs apart: it is flagged, "
    "and its peak epoch is merely when it first got there."
)


def verdict_of(claims: list[bool]) -> str:
    """Reproduced when every claim holds, not reproduced when none does, else partly.

    Examples
    --------
    >>> verdict_of([True, False]), verdict_of([True]), verdict_of([False, False])
    ('partly reproduced', 'reproduced', 'not reproduced')
    """
    held = sum(claims)
    if held == len(claims):
        return "reproduced"
    return "not reproduced" if held == 0 else "partly reproduced"


def _report(results: list[TaskResult], seeds: int, quick: bool) -> Report:
    numbers: dict[str, object] = {}
    tables: list[Table] = []
    settings: dict[str, object] = {"quick": quick, "seeds": seeds}
    findings: list[str] = []
    for result in results:
        numbers.update(_numbers(result))
        tables += _tables(result)
        settings.update(_settings(result))
        findings += _findings(result)
    every_claim = [held for result in results for held in result.claims.values()]
    settings["choices"] = CHOICES
    return Report(
        name="bnn",
        study="Raj et al. 2020, binary neural networks through the information bottleneck "
        "(seeds 000 and 002)",
        claim="binary networks start with a low I(X;T) and fit and compress at once (no "
        "separate compression phase); DNNs compress in a separate phase after the loss "
        "saturates; sign-swish overfits less than tanh and hard-tanh",
        verdict=verdict_of(every_claim),
        rule=RULE_TEXT,
        settings=settings,
        numbers=numbers,
        findings=findings,
        tables=tables,
        figures=[name for result in results for name in result.figures],
    )


def _numbers(result: TaskResult) -> dict[str, object]:
    """The task's named figures, under its prefix (the 12-bit task's have none)."""
    prefix = result.task.prefix
    numbers: dict[str, object] = {f"{prefix}claim.{k}": v for k, v in result.claims.items()}
    numbers[f"{prefix}ceiling_bits"] = result.ceiling
    for model, f in result.findings.items():
        tag = prefix + model.replace(" ", "_")
        for j, layer in enumerate(f.layers):
            numbers[f"{tag}.{layer}.fall_bits"] = float(np.mean(f.fall_bits[:, j]))
            numbers[f"{tag}.{layer}.peak_epoch"] = float(np.mean(f.peak_epoch[:, j]))
            numbers[f"{tag}.{layer}.compressed_seeds"] = int(f.compressed[:, j].sum())
            numbers[f"{tag}.{layer}.separate_seeds"] = int(f.separate[:, j].sum())
            numbers[f"{tag}.{layer}.peak_at_ceiling_seeds"] = int(f.at_ceiling[:, j].sum())
        for name, values in _per_model(f).items():
            numbers[f"{tag}.{name}"] = float(np.mean(values))
            numbers[f"{tag}.{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return numbers


def _per_model(f: ModelFindings) -> dict[str, np.ndarray]:
    """Per-seed figures of one model, by their names in the numbers."""
    return {
        "loss_saturation_epoch": f.saturation,
        "start_i_xt_bits": f.start_bits,
        "loss_gap": f.loss_gap,
        "accuracy_gap": f.accuracy_gap,
        "test_loss_rise": f.test_loss_rise,
        "final_train_accuracy": f.train_accuracy,
        "final_test_accuracy": f.test_accuracy,
    }


def _tables(result: TaskResult) -> list[Table]:
    """The task's per-layer and per-model tables."""
    layer_rows, model_rows = [], []
    for model, f in result.findings.items():
        methods = estimators_by_layer(model, f.layers)
        seeds = len(f.saturation)
        for j, layer in enumerate(f.layers):
            layer_rows.append(
                [
                    model,
                    layer,
                    describe_estimator(methods[layer]),
                    mean_and_spread(f.fall_bits[:, j]),
                    mean_and_spread(f.peak_epoch[:, j]),
                    f"{int(f.compressed[:, j].sum())}/{seeds}",
                    f"{int(f.separate[:, j].sum())}/{seeds}",
                    f"{int(f.at_ceiling[:, j].sum())}/{seeds}",
                ]
            )
        model_rows.append([model, *(mean_and_spread(v) for v in _per_model(f).values())])
    task = result.task.name
    return [
        Table(
            f"{task} task, per model and layer: the fall of I(X;T) after its peak (bits), the "
            "peak epoch (mean ± sd over seeds), the seeds compressing, those compressing at or "
            "after the loss saturates (separate), and those whose peak sits at the "
            f"log2 N = {result.ceiling:.2f} bit ceiling",
            [
                "model",
                "layer",
                "estimator",
                "fall (bits)",
                "peak epoch",
                "compresses",
                "separate",
                "peak at ceiling",
            ],
            layer_rows,
        ),
        Table(
            f"{task} task, per model (mean ± sd over seeds): loss saturation epoch, mean "
            "hidden-layer I(X;T) at the first recorded epoch (bits), final test − train loss, "
            "final train − test accuracy, rise of the test loss from its minimum, final "
            "accuracies",
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
    ]


CHOICES = (
    "the seeds state no learning rate, schedule, epoch count or digits architecture. 12-bit: "
    "the presets' Adam 1e-4 over 8000 epochs would take hours for the binary networks here "
    "(about 1-2 s per epoch for 5 seeds on 2 shared cores), so the rate is 1e-3, constant, "
    "over far fewer epochs; the presets' bad-fit restarts (after epoch 1000) never trigger, "
    "so every seed is kept. Digits: the digits-mlp preset (Adam 1e-3 constant, batch 128, no "
    "restarts) with its 64-32-16 funnel continued to 8 units, chosen before any run so that "
    "each BNN has a hidden layer below the log2 1797 ceiling; epochs set by the time budget"
)


def _settings(result: TaskResult) -> dict[str, object]:
    task, settings = result.task, result.settings
    example = model_config("tanh", settings, 1, task)
    return {
        f"{task.name} task": task.description,
        f"{task.name} optimizer": f"Adam, lr {settings.lr:g} constant (no schedule), batch "
        f"{example.batch_size}",
        f"{task.name} epochs": settings.epochs,
        f"{task.name} record": settings.record,
        f"{task.name} ceiling": f"log2 N = {result.ceiling:.3f} bits",
        f"{task.name} DNN estimator": describe_estimator(SZT_BINNING)
        + f" (sign-swish: {describe_estimator(WIDE_BINNING)})",
        f"{task.name} BNN estimator": f"hidden {describe_estimator(EXACT)}; output softmax "
        + describe_estimator(SZT_BINNING),
    }


def _findings(result: TaskResult) -> list[str]:
    findings, task = result.findings, result.task.name

    def layers(model: str) -> str:
        found = findings[model].separate_layers()
        return ", ".join(found) if found else "none"

    lines = []
    for model, f in findings.items():
        compressing = [f.layers[j] for j in f.hidden() if f.compressed[:, j].mean() >= 0.5]
        lines.append(
            f"{task}, {model}: loss saturates at epoch {np.mean(f.saturation):.0f}; hidden "
            f"layers compressing (≥ half the seeds): {', '.join(compressing) or 'none'}; with "
            f"the I(X;T) peak at or after saturation: {layers(model)}; start I(X;T) "
            f"{np.mean(f.start_bits):.2f} bits; loss gap {np.mean(f.loss_gap):.3f} nats."
        )
    at_ceiling = [
        f"{model} {f.layers[j]}"
        for model, f in findings.items()
        for j in range(len(f.layers))
        if f.at_ceiling[:, j].mean() >= 0.5
    ]
    if at_ceiling:
        lines.append(
            f"{task}: warning, I(X;T) peaks at the log2 N = {result.ceiling:.2f} bit ceiling "
            f"in at least half the seeds for {', '.join(at_ceiling)}: these layers tell every "
            "input apart, and their peak epoch is only when they first did."
        )
    words = {True: "holds", False: "does not hold"}
    lines += [
        f"{task}, claim {name.replace('_', ' ')}: {words[held]}."
        for name, held in result.claims.items()
    ]
    lines.append(f"{task}: {verdict_of(list(result.claims.values()))}.")
    return lines


def _plot(curves: dict[str, Curves], output: Path, stem: str) -> list[str]:
    """The six information planes side by side (mean over seeds), and the loss curves.

    The figures are ``<stem>planes.png`` and ``<stem>losses.png`` in ``output``.
    """
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
            "ceiling": c.ceiling,
        }
        for model, c in curves.items()
    }
    plane_name = f"{stem}planes.png"
    plane_figure = plot_side_by_side(panels)
    plane_figure.savefig(output / plane_name, dpi=55)
    plt.close(plane_figure)
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
    loss_name = f"{stem}losses.png"
    figure.savefig(output / loss_name, dpi=70)
    plt.close(figure)
    return [plane_name, loss_name]
