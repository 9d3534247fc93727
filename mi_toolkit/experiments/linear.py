r"""Saxe et al. (2018), section 3: deep linear networks do not compress.

A linear teacher maps Gaussian inputs to outputs, :math:`Y = W_0 X + ε_o`,
:math:`X \sim N(0, I)`, :math:`ε_o \sim N(0, σ_o^2 I)`; a deep linear student
:math:`\hat Y = W_D \cdots W_1 X` is trained on P samples by gradient descent on the mean
squared error, with mini-batches (SGD) or the whole set (batch gradient descent, BGD).

Each layer's representation is read through Gaussian noise, :math:`T_l = \bar W_l X + ε`,
:math:`\bar W_l = W_l \cdots W_1`, :math:`ε \sim N(0, σ_{MI}^2 I)` (the noise that binning
adds implicitly), so every information quantity has a closed form:

.. math::

    I(T_l; X) = \tfrac12 \log\det(I + \bar W_l \bar W_l^\top / σ_{MI}^2), \qquad
    I(T_l; Y) = \tfrac12 (\log\det Σ_T + \log\det Σ_Y - \log\det Σ_{TY}),

with :math:`Σ_T = \bar W_l \bar W_l^\top + σ_{MI}^2 I`, :math:`Σ_Y = W_0 W_0^\top + σ_o^2 I`
and the cross-covariance :math:`\bar W_l W_0^\top`. When the input splits into a task-relevant
and a task-irrelevant part, :math:`I(T_l; X_{irr}) = \tfrac12 \log\det Σ_T -
\tfrac12 \log\det(\bar W_{rel} \bar W_{rel}^\top + σ_{MI}^2 I)`.

Conditions: (a) every input dimension relevant; (b) a large task-irrelevant subspace.
The claim (their Figs. 4–5): in (a) I(T;X) does not fall after its peak, with SGD or BGD;
in (b) there is no overall compression, while the information about the irrelevant
subspace does fall.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from mi_toolkit._progress import progress_reporter
from mi_toolkit.experiments._report import Report, Table, mean_and_spread
from mi_toolkit.nets.config import record_epochs
from mi_toolkit.phases import PhaseRule, detect_compression
from mi_toolkit.synthetic.gaussian import gaussian_mutual_information

BITS = 1 / np.log(2)
#: The toolkit's phase rule (:mod:`mi_toolkit.phases`), with floors of 0.05 bits and 5% of
#: the peak: closed forms carry no estimation noise (the scatter is the only noise), so the
#: floors guard against rounding and flat tops.
RULE = PhaseRule(min_fall=0.05, min_fraction=0.05, noise="scatter")


@dataclass(frozen=True)
class LinearSettings:
    """One condition of the teacher–student experiment.

    Attributes
    ----------
    relevant_inputs, irrelevant_inputs : int
        Input dimensions the teacher uses, and those it ignores.
    outputs : int
        Output dimensions of teacher and student.
    hidden : int
        Width of each hidden layer.
    depth : int
        Weight layers of the student (depth − 1 hidden layers).
    train_samples : int
        Training set size P.
    teacher_noise : float
        σ_o, the output noise of the teacher.
    mi_noise : float
        σ_MI, the noise through which a layer is read.
    init_scale : float
        Each student weight matrix starts with entries N(0, init_scale² / fan_in).
    learning_rate, epochs : float, int
        SGD's step size on the halved mean squared error, and its passes over the data.
    bgd_learning_rate, bgd_epochs : float, int
        The same for BGD, which takes one step per pass: a larger step and more passes
        bring it to the same test error as SGD (the report lists both final errors).
    batch_size : int
        Mini-batch size for SGD (BGD uses all P samples).
    record : str
        Which epochs to record, as :func:`mi_toolkit.nets.config.record_epochs` reads it.
    """

    relevant_inputs: int = 30
    irrelevant_inputs: int = 0
    outputs: int = 1
    hidden: int = 50
    depth: int = 4
    train_samples: int = 1000
    teacher_noise: float = 0.3
    mi_noise: float = 1.0
    init_scale: float = 0.3
    learning_rate: float = 0.01
    epochs: int = 500
    bgd_learning_rate: float = 0.1
    bgd_epochs: int = 1000
    batch_size: int = 20
    record: str = "log:60"

    @property
    def inputs(self) -> int:
        return self.relevant_inputs + self.irrelevant_inputs


#: Small initial weights (the regime of deep linear learning theory) and the standard
#: scale (variance 1/fan_in); each with every input relevant, and with a large
#: task-irrelevant subspace (10 relevant inputs, 90 ignored by the teacher).
FULL = {
    "small init, all relevant": LinearSettings(),
    "small init, irrelevant subspace": LinearSettings(relevant_inputs=10, irrelevant_inputs=90),
    "standard init, all relevant": LinearSettings(init_scale=1.0),
    "standard init, irrelevant subspace": LinearSettings(
        relevant_inputs=10, irrelevant_inputs=90, init_scale=1.0
    ),
}
QUICK_CHANGES = {
    "hidden": 8,
    "train_samples": 100,
    "epochs": 30,
    "bgd_epochs": 60,
    "record": "log:10",
}
OPTIMIZERS = ("sgd", "bgd")


def run(quick: bool, seeds: int | None, output: Path, progress: bool | None) -> Report:
    """Train every condition × optimizer × seed and report the fall of I(T;X) per layer."""
    seeds = seeds or (2 if quick else 5)
    conditions = {name: replace(s, **QUICK_CHANGES) if quick else s for name, s in FULL.items()}
    runs = [(c, o, seed) for c in conditions for o in OPTIMIZERS for seed in range(seeds)]
    report_progress = progress_reporter("linear", len(runs), progress)
    curves: dict[tuple[str, str], list[dict[str, np.ndarray]]] = {}
    # The matrices are small: BLAS threads only contend with each other here.
    with threadpool_limits(1):
        for done, (condition, optimizer, seed) in enumerate(runs, start=1):
            trajectory = train_student(conditions[condition], optimizer, seed)
            curves.setdefault((condition, optimizer), []).append(trajectory)
            report_progress(done)
    figures = _plot(curves, output)
    return _report(conditions, curves, seeds, quick, figures)


def make_teacher(settings: LinearSettings, rng: np.random.Generator) -> np.ndarray:
    """W_0: outputs × inputs, N(0, 1/relevant) on the relevant inputs and 0 elsewhere."""
    weights = np.zeros((settings.outputs, settings.inputs))
    scale = 1.0 / np.sqrt(settings.relevant_inputs)
    weights[:, : settings.relevant_inputs] = rng.normal(
        0.0, scale, (settings.outputs, settings.relevant_inputs)
    )
    return weights


def make_student(settings: LinearSettings, rng: np.random.Generator) -> list[np.ndarray]:
    """W_1 … W_D, each fan_out × fan_in with entries N(0, init_scale² / fan_in)."""
    widths = [settings.inputs] + [settings.hidden] * (settings.depth - 1) + [settings.outputs]
    return [
        rng.normal(0.0, settings.init_scale / np.sqrt(fan_in), (fan_out, fan_in))
        for fan_in, fan_out in itertools.pairwise(widths)
    ]


def gradient_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, rate: float) -> None:
    """One step on ½ mean ‖y − W_D⋯W_1 x‖² over the rows of (x, y), in place."""
    activations = [x]
    for w in weights:
        activations.append(activations[-1] @ w.T)
    delta = (activations[-1] - y) / len(x)
    for layer in range(len(weights) - 1, -1, -1):
        gradient = delta.T @ activations[layer]
        delta = delta @ weights[layer]
        weights[layer] -= rate * gradient


def layer_information(
    settings: LinearSettings, teacher: np.ndarray, weights: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Closed-form I(T;X), I(T;Y), I(T;X_irr) of every layer, in nats (module docstring)."""
    noise = settings.mi_noise**2
    cov_y = teacher @ teacher.T + settings.teacher_noise**2 * np.eye(settings.outputs)
    product = np.eye(settings.inputs)
    values: dict[str, list[float]] = {"I(X;T)": [], "I(T;Y)": [], "I(X_irr;T)": []}
    for w in weights:
        product = w @ product
        width = product.shape[0]
        cov_t = product @ product.T + noise * np.eye(width)
        log_det_t = np.linalg.slogdet(cov_t)[1]
        values["I(X;T)"].append(0.5 * (log_det_t - width * np.log(noise)))
        joint = np.block([[cov_t, product @ teacher.T], [teacher @ product.T, cov_y]])
        values["I(T;Y)"].append(gaussian_mutual_information(joint, width))
        relevant = product[:, : settings.relevant_inputs]
        given_irrelevant = relevant @ relevant.T + noise * np.eye(width)
        values["I(X_irr;T)"].append(0.5 * (log_det_t - np.linalg.slogdet(given_irrelevant)[1]))
    return {k: np.asarray(v) for k, v in values.items()}


def train_student(settings: LinearSettings, optimizer: str, seed: int) -> dict[str, np.ndarray]:
    """Train one student; per recorded epoch, every layer's information and both errors.

    Returns arrays ``epochs`` (E,), ``I(X;T)``, ``I(T;Y)``, ``I(X_irr;T)`` (E, depth) in
    nats, ``train_error`` and ``test_error`` (E,): the training set's mean squared error and
    the population one, ‖W_0 − W_D⋯W_1‖²_F + outputs·σ_o².
    """
    rng = np.random.default_rng(seed)
    teacher = make_teacher(settings, rng)
    x = rng.standard_normal((settings.train_samples, settings.inputs))
    y = x @ teacher.T + settings.teacher_noise * rng.standard_normal((len(x), settings.outputs))
    weights = make_student(settings, rng)
    epochs = settings.bgd_epochs if optimizer == "bgd" else settings.epochs
    recorded = set(record_epochs(settings.record, epochs))
    rows: dict[str, list] = {"epochs": [], "train_error": [], "test_error": []}
    for epoch in range(epochs):
        if epoch in recorded:
            _record(rows, epoch, settings, teacher, weights, x, y)
        if optimizer == "bgd":
            gradient_step(weights, x, y, settings.bgd_learning_rate)
            continue
        order = rng.permutation(len(x))
        for start in range(0, len(x), settings.batch_size):
            chosen = order[start : start + settings.batch_size]
            gradient_step(weights, x[chosen], y[chosen], settings.learning_rate)
    return {k: np.asarray(v) for k, v in rows.items()}


def _record(rows, epoch, settings, teacher, weights, x, y) -> None:
    total = np.linalg.multi_dot(weights[::-1]) if len(weights) > 1 else weights[0]
    rows["epochs"].append(epoch)
    rows["train_error"].append(float(np.mean(np.sum((x @ total.T - y) ** 2, axis=1))))
    population = np.sum((teacher - total) ** 2) + settings.outputs * settings.teacher_noise**2
    rows["test_error"].append(float(population))
    for key, value in layer_information(settings, teacher, weights).items():
        rows.setdefault(key, []).append(value)


def _phases(runs: list[dict[str, np.ndarray]], key: str) -> tuple[np.ndarray, ...]:
    """Per seed and layer: the fall of ``key`` in bits, as a fraction, and compressed or not."""
    found = [
        [
            detect_compression(r["epochs"], r[key][:, j] * BITS, rule=RULE)
            for j in range(r[key].shape[1])
        ]
        for r in runs
    ]
    bits = np.array([[c.fall for c in row] for row in found])
    fraction = np.array([[c.fall_fraction for c in row] for row in found])
    compressed = np.array([[c.compressed for c in row] for row in found])
    return bits, fraction, compressed


def _report(conditions, curves, seeds, quick, figures) -> Report:
    rows, numbers, errors = [], {}, []
    compressing: dict[tuple[str, str, str], bool] = {}
    for (condition, optimizer), runs in curves.items():
        tag = f"{condition.replace(', ', '.').replace(' ', '_')}.{optimizer}"
        for key in ("I(X;T)", "I(X_irr;T)"):
            if key == "I(X_irr;T)" and conditions[condition].irrelevant_inputs == 0:
                continue
            bits, fraction, per_seed = _phases(runs, key)
            compresses = per_seed.mean(axis=0) >= 0.5
            compressing[(condition, optimizer, key)] = bool(compresses.any())
            rows += [
                [
                    condition,
                    optimizer.upper(),
                    key,
                    layer + 1,
                    mean_and_spread(bits[:, layer]),
                    mean_and_spread(100 * fraction[:, layer]),
                    f"{int(per_seed[:, layer].sum())}/{len(runs)}",
                ]
                for layer in range(bits.shape[1])
            ]
            numbers[f"{tag}.{key}.max_fall_bits"] = float(bits.mean(axis=0).max())
            numbers[f"{tag}.{key}.layers_compressing"] = int(compresses.sum())
        final = [r["test_error"][-1] for r in runs]
        numbers[f"{tag}.final_test_error"] = float(np.mean(final))
        errors.append([condition, optimizer.upper(), mean_and_spread(final)])
    findings, no_compression, irrelevant_falls = [], {}, {}
    for init in sorted({c.split(",")[0] for c in conditions}):
        overall = [
            v for (c, _, k), v in compressing.items() if c.startswith(init) and k == "I(X;T)"
        ]
        irrelevant = [
            v for (c, _, k), v in compressing.items() if c.startswith(init) and k == "I(X_irr;T)"
        ]
        no_compression[init] = not any(overall)
        irrelevant_falls[init] = all(irrelevant)
        findings.append(
            f"{init}: I(X;T) "
            + (
                "falls after its peak in no layer, with SGD or BGD"
                if no_compression[init]
                else "falls after its peak in some layer (see the table)"
            )
            + "; the information about the task-irrelevant inputs "
            + (
                "falls with both optimizers."
                if irrelevant_falls[init]
                else "does not fall with both optimizers."
            )
        )
        numbers[f"{init.replace(' ', '_')}.no_compression"] = no_compression[init]
        numbers[f"{init.replace(' ', '_')}.irrelevant_information_falls"] = irrelevant_falls[init]
    if all(no_compression.values()) and any(irrelevant_falls.values()):
        verdict = "reproduced"
    elif any(no_compression.values()):
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    settings = {"quick": quick, "seeds": seeds}
    settings |= {name: _describe(s) for name, s in conditions.items()}
    table = Table(
        "Fall of the information after its peak (bits and % of the peak; mean ± sd over seeds)",
        [
            "condition",
            "optimizer",
            "quantity",
            "layer",
            "fall (bits)",
            "fall (%)",
            "compresses (seeds)",
        ],
        rows,
    )
    floor = next(iter(conditions.values())).teacher_noise ** 2
    convergence = Table(
        f"Final population test error (the noise floor is σ_o² = {floor:.3f})",
        ["condition", "optimizer", "test error"],
        errors,
    )
    return Report(
        name="linear",
        study="Saxe et al. 2018, section 3 (seed 001)",
        claim="deep linear networks do not compress, with SGD or with batch gradient descent; "
        "only the task-irrelevant part of the input is compressed",
        verdict=verdict,
        rule="a layer compresses when the phase rule of mi_toolkit.phases (smoothing over "
        f"{RULE.window} decades of epochs; a fall to the end of training beyond the noise "
        f"allowance, at least {RULE.min_fall} bits and {RULE.min_fraction:.0%} of the peak) "
        "finds compression in at least half of the seeds. Reproduced: I(X;T) compresses in "
        "no layer, with either optimizer, at either "
        "initial scale, and I(X_irr;T) compresses with both optimizers at one scale at least; "
        "partly: no compression at one initial scale only; not: compression at both",
        settings=settings,
        numbers=numbers,
        findings=findings,
        tables=[table, convergence],
        figures=figures,
    )


def _describe(settings: LinearSettings) -> str:
    return ", ".join(f"{k}={v}" for k, v in asdict(settings).items())


def _plot(curves, output: Path) -> list[str]:
    """I(X;T) against epoch per layer (mean over seeds): rows optimizers, columns conditions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conditions = list(dict.fromkeys(c for c, _ in curves))
    figure, axes = plt.subplots(
        len(OPTIMIZERS),
        len(conditions),
        figsize=(2.6 * len(conditions), 4.6),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, optimizer in enumerate(OPTIMIZERS):
        for column, condition in enumerate(conditions):
            axis, runs = axes[row, column], curves[(condition, optimizer)]
            mean = np.mean([r["I(X;T)"] for r in runs], axis=0) * BITS
            for layer in range(mean.shape[1]):
                axis.plot(runs[0]["epochs"] + 1, mean[:, layer], label=f"layer {layer + 1}")
            axis.set_xscale("log")
            axis.set_title(f"{condition}\n{optimizer.upper()}", fontsize=8)
        axes[row, 0].set_ylabel("I(X;T) (bits)")
    for axis in axes[-1]:
        axis.set_xlabel("epoch + 1")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    name = "linear_information.png"
    figure.savefig(output / name, dpi=80)
    plt.close(figure)
    return [name]
