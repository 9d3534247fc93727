r"""Neural variational lower bounds on the MI: MINE (Donsker–Varadhan), NWJ, InfoNCE, SMILE.

Each method trains a critic f(x, y) (a torch module) to maximise a variational bound
on I(X;Y) and reports that bound evaluated on held-out samples. With p the joint
distribution, q = p(x)p(y) the product of the marginals, and a batch of B pairs whose
shuffled pairings (x_i, y_j), j ≠ i, stand for q:

``mine`` — Donsker–Varadhan (Belghazi et al. 2018, "MINE: mutual information neural
estimation", ICML; Donsker & Varadhan 1983)

.. math::

    I \ge I_{DV} = E_p[f] - \log E_q[e^f].

The gradient of log E_q[e^f] is E_q[e^f ∇f] / E_q[e^f]; MINE replaces the batch
denominator by a moving average over batches (rate 0.01) to remove the bias of the
batch ratio. Bias: the log of a sample mean biases the held-out value up by about
Var_q(e^f) / (2 n E_q[e^f]²) (small for the held-out sizes used); an imperfect critic
biases it down. Variance grows like e^I, so large MI is estimated poorly.

``nwj`` — Nguyen, Wainwright & Jordan (2010, "Estimating divergence functionals and the
likelihood ratio by convex risk minimization", IEEE Trans. Inf. Theory), with the critic
output g shifted by one (f = g + 1), so that a constant critic g = 0 gives 0:

.. math::

    I \ge I_{NWJ} = 1 + E_p[g] - E_q[e^{g}].

An unbiased mean of per-sample terms, so the held-out value is a lower bound in
expectation; its variance also grows like e^I.

``infonce`` — van den Oord, Li & Vinyals (2018, "Representation learning with
contrastive predictive coding", arXiv:1807.03748), every other pair of the batch a
negative:

.. math::

    I \ge I_{NCE} = E\Big[\frac1B \sum_i \Big(f(x_i, y_i)
        - \log \frac1B \sum_j e^{f(x_i, y_j)}\Big)\Big] \le \log B.

The bound holds for every number K of pairs scored together, with any critic: training
uses the batch (K = ``batch_size``), and so, by default, does the held-out value (blocks of
K held-out samples); ``held_out_negatives`` scores each held-out sample against up to that
many others, the whole part when it is large (K = 1,500 for the test part at N = 5,000),
which lifts the ceiling from log 256 = 5.5 to log 1500 = 7.3 nats for a critic trained at
B = 256. Low variance, but it can never exceed log K: with an ideal critic
I_NCE ≈ log K − log(1 + K e^{−I}), so an estimate within 1 nat of log K cannot tell
I = log K from any larger MI, and carries a ``batch_ceiling`` warning. Below the ceiling a
larger K does not tighten the bound of a given critic: the mean of its negatives' e^{f(x_i, y_j)}
is unbiased for E_y[e^{f(x_i, y)}] whatever K, and the log's Jensen gap, which favours the
bound, shrinks as K grows, towards E_p[f] − E_x[log E_y[e^f]]. On Beyond-Normal
(0.2–1.7 nats, 40 tasks × 3 seeds, ``benchmarks/results/neural.md``) the whole test part
as negatives moved the mean over seeds of the 34 non-Student tasks by −0.007 to +0.014
nats, and lowered the Student tasks by up to 0.09 (one run of student-identity-5-5-2
from 0.23 to 0.004): one outlying y_j with a large score enters every sample's
log-sum-exp, not only its block's. So the default stays the batch.

``smile`` — Song & Ermon (2020, "Understanding the limitations of variational mutual
information estimators", ICLR): DV with e^f clipped to [e^{−τ}, e^{τ}], τ = ``clip``
(default 5), in the partition term,

.. math::

    I_{SMILE} = E_p[f] - \log E_q[\mathrm{clip}(e^f, e^{-τ}, e^{τ})],

trained, as in the paper, with the gradient of the Jensen–Shannon bound
E_p[−softplus(−f)] − E_q[softplus(f)]. The clip trades the e^I variance of DV for a bias
(it is no longer a strict bound); Song & Ermon find it small for τ = 5 up to about 10 nats
on Gaussians.

**Training.** Each column is standardised. The samples are put in a canonical order (sorted
by their values) before a seeded split into training, validation (``validation_fraction``)
and test (``test_fraction``) parts, so the estimate does not depend on the order of the
rows. Adam trains the critic on batches of the training part; every ``eval_every`` steps
the bound is evaluated on the validation part, and training stops after ``patience``
evaluations without improvement, the best weights restored. After every ``lr_patience``
evaluations without improvement the learning rate is halved: a constant rate bounces
around a sharp optimum (at 5 nats on a 2-D Gaussian, MINE and NWJ stopped 0.5–0.65 nats
short at 5e-3; with the halving, 0.08–0.13 over two seeds). ``weight_decay`` (AdamW) and ``dropout``
(off on held-out data) are there against overfitting; both are off by default, as neither
moved the 25–50-D Beyond-Normal tasks by more than about 0.05 nats in our measurements.
The reported value is the bound of those weights on the test part, which took no part in
training or in the choice of weights: neither the maximum over evaluations nor a value on
data that chose the weights, both of which bias upward. The critic's last layer starts at
zero, so the step-0 critic is constant and every bound starts at exactly 0; if nothing
beats it, the estimate is 0.

The held-out bounds are computed from score matrices over blocks of B held-out samples
(pair i with y_j, j ≠ i, as negatives; B = ``held_out_negatives`` for InfoNCE, capped by
the part's size, at most 64 and the batch size for the others, whose partition terms need
no more), a few rows at a time so that memory stays small, in float64 from the critic's
float32 scores.
**Standard errors** (``std / sqrt(n_test)`` of per-sample terms):

- ``nwj``: the terms 1 + g(x_i, y_i) − mean_{j≠i} e^{g(x_i, y_j)};
- ``infonce``: the terms f(x_i, y_i) − log mean_j e^{f(x_i, y_j)} within each block;
- ``mine`` and ``smile``: the delta method for mean(a) − log mean(b), whose influence
  terms are a_i − b_i / b̄, with a_i = f(x_i, y_i) and b_i = mean_{j≠i} e^{f(x_i, y_j)}
  (clipped for ``smile``).

Terms in one block share negatives, so these errors are somewhat optimistic; they measure
sampling noise of the test part only, not the critic's shortfall (the bound's gap).

**Failures are results.** Each of these adds a warning and sets ``details["failed"]``:
a non-finite loss or bound, or a runaway SMILE critic (held-out E_p[f] above 100 nats;
its value follows E_p[f], which the clip leaves free) (``diverged``; the value is then that
of the weights before, or 0 if those fail too, and means nothing), a validation bound
that falls below zero and more than max(1 nat, 4 standard errors) below its best
(``collapsed``; transient dips above zero are left alone, the best weights being restored;
a fall that comes after the best step, whose restored weights then hold their value on the
test part, is overfitting that early stopping undid: a warning of kind ``overfitted`` that
does not fail the run — it flagged every 25–50-D Beyond-Normal task for InfoNCE whose
held-out values, 0.57–1.34 nats, were sound lower bounds),
a test bound below zero beyond two standard errors (``negative_bound``), and InfoNCE
within 1 nat of log K, K its held-out block (``batch_ceiling``, also ``saturated``).

**Critics.** ``critic="joint"``: an MLP on the concatenated [x, y] (``hidden_sizes``,
ReLU). ``critic="separable"``: g(x)ᵀh(y) with two MLPs ending in ``embedding_dim``
outputs, all B² pairs of a batch in one matrix product. Or a ``torch.nn.Module`` called
as ``critic(x, y)`` with float32 tensors of shape (m, d_x) and (m, d_y) (standardised,
on the training device; images arrive flattened, as the front door takes
(n_samples, n_features), so reshape inside the module) that returns m scores, shape (m,)
or (m, 1). It is copied before training, so the module passed in is left untouched; a
wrong output shape is an error before training. Against discrete labels, the labels are
one-hot encoded and used as y; both sides discrete is an error.

The joint critic's training batches for ``mine``, ``nwj`` and ``smile`` pair each x_i with
y_{i+1} as the negative (B pairs, cheap); the separable critic uses all B² pairs.
``infonce`` with the joint critic scores each positive against ``joint_negatives`` = K
other pairs of its batch, a fresh uniform random subset each step (seeded): the training
bound mean_i [f(x_i, y_i) − log (1/(K+1)) Σ_{j ∈ {i} ∪ S_i} e^{f(x_i, y_j)}], itself an
InfoNCE bound with K + 1 pairs scored together (ceiling log(K+1)), costs B(K+1) network
evaluations instead of B². The held-out bound is unchanged by K: every held-out sample is
scored against the others of its block (``held_out_negatives``, by default the batch), so
its ceiling stays log 256.

``critic="auto"`` trains both built-in critics on the training part, each exactly as it
would be trained alone (same split, same seed), keeps the one whose best validation bound
is higher (a critic whose training diverged only if both did), and reports that critic's
bound on the test part, which neither training nor the choice saw, so taking the larger
of the two does not bias the estimate upward (the validation values are maxima, and
biased up; the test value is not). ``details["critic_choice"]`` holds both validation
values and the choice; ``details["critic"]`` the critic kept. It costs both trainings,
which run side by side, one thread each, where the process has two cores (``n_threads``;
``details["critics_side_by_side"]``): each reads only its own weights, optimiser and
generator, so the numbers are the same bit for bit as one after the other.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

from mi_toolkit._registry import register
from mi_toolkit._validation import Variable, check_choice, check_positive, check_positive_int
from mi_toolkit.estimators._device import check_device
from mi_toolkit.estimators.base import Estimate, Estimator

CRITICS = ("joint", "separable", "auto")
#: What critic="auto" trains, in this order; the higher validation bound is kept.
AUTO_CRITICS = ("separable", "joint")
# Held-out blocks for the bounds other than InfoNCE: 63 negatives per sample are plenty for
# their partition terms, and all pairs of a joint critic cost block² evaluations.
_NEGATIVES_BLOCK = 64
# Each of the three parts of the split needs at least this many samples.
_MIN_PART = 10
#: Input transforms: "standardize" (mean 0, standard deviation 1 per column) or "copula"
#: (each column's normal scores: MI-preserving, and it tames heavy tails).
TRANSFORMS = ("standardize", "copula")


def _check_fraction(value: Any, name: str) -> float:
    number = check_positive(value, name)
    if number >= 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return number


def _check_sizes(sizes: Any, name: str) -> tuple[int, ...]:
    if isinstance(sizes, int) or not hasattr(sizes, "__iter__"):
        raise TypeError(
            f"{name} must be a sequence of positive integers such as (64, 64); got {sizes!r}"
        )
    checked = tuple(check_positive_int(h, f"{name}[i]") for h in sizes)
    if not checked:
        raise ValueError(f"{name} must name at least one hidden layer, e.g. (64,)")
    return checked


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(
            f"random_state must be None or a non-negative integer such as 0; got {seed!r}"
        )


def _check_critic(critic: Any) -> None:
    if isinstance(critic, str):
        check_choice(critic, "critic", CRITICS)
        return
    # Duck typing keeps torch out of the import of this module.
    if not (callable(critic) and hasattr(critic, "parameters") and hasattr(critic, "state_dict")):
        raise TypeError(
            "critic must be 'joint', 'separable', 'auto' or a torch.nn.Module called as "
            f"critic(x, y); got {type(critic).__name__}"
        )


@dataclass(frozen=True)
class NeuralEstimator(Estimator):
    """Shared parameters and checks of the neural bounds; see the module docstring.

    Parameters
    ----------
    critic : {"joint", "separable", "auto"} or torch.nn.Module
        An MLP on [x, y], g(x)ᵀh(y), both trained and the one with the higher validation
        bound kept ("auto"), or a module called as ``critic(x, y)`` returning one score per
        row.
    transform : {"standardize", "copula"}
        The critic's input: standardised columns, or each column's normal scores (ranks
        mapped to standard normal quantiles; the MI is unchanged and heavy tails no
        longer drive the exponentials of the bounds).
    hidden_sizes : tuple of int
        Widths of the hidden layers of the built-in critics.
    embedding_dim : int
        Output width of g and h for the separable critic.
    batch_size : int
        Pairs per training batch and per evaluation block (capped at the part's size).
    max_steps : int
        Most optimiser steps.
    learning_rate : float
        Adam's learning rate.
    weight_decay : float
        Decoupled weight decay (AdamW) per unit learning rate; 0 for plain Adam.
    dropout : float
        Dropout probability after each hidden layer of the built-in critics, in [0, 1).
    test_fraction : float
        Share of the samples the reported bound is evaluated on.
    validation_fraction : float
        Share of the samples early stopping watches.
    eval_every : int
        Steps between evaluations of the validation bound.
    patience : int
        Evaluations without improvement before training stops.
    lr_patience : int
        Evaluations without improvement after which the learning rate is halved (and
        again after as many more); 0 keeps it constant.
    device : str or None
        None or "cpu", "cuda", "cuda:<index>", or "auto" (CUDA where present).
    random_state : int or None
        Seeds the split, the initial weights and the batches; None draws a fresh seed.
    progress : bool or None
        A progress bar on stderr; None shows it on a terminal once training has run 2 s.
    n_threads : int or None
        CPU threads for training (torch's setting is restored afterwards). None: one per
        critic, the two critics of ``critic="auto"`` side by side where the process has
        two cores (``OMP_NUM_THREADS`` caps them, 1 in the benchmark's worker
        processes); the numbers do not depend on it. An int k: k threads in all, shared
        by the critics trained side by side, the rest inside each critic's operations
        (small critics gain little from those).
    """

    min_samples: ClassVar[int] = 3 * _MIN_PART
    # Images (n, h, w) or (n, c, h, w) reach a user's critic in their shape; the built-in
    # critics see them flattened.
    accepts_sample_shape: ClassVar[bool] = True
    #: The bound trained and reported: "dv", "nwj", "infonce" or "smile".
    objective: ClassVar[str]

    critic: Any = "joint"
    transform: str = "standardize"
    hidden_sizes: tuple[int, ...] = (64, 64)
    embedding_dim: int = 32
    batch_size: int = 256
    max_steps: int = 3000
    learning_rate: float = 5e-3
    weight_decay: float = 0.0
    dropout: float = 0.0
    test_fraction: float = 0.3
    validation_fraction: float = 0.15
    eval_every: int = 50
    patience: int = 9
    lr_patience: int = 3
    device: str | None = None
    random_state: int | None = 0
    progress: bool | None = None
    n_threads: int | None = None

    def __post_init__(self) -> None:
        _check_critic(self.critic)
        if self.transform not in TRANSFORMS:
            raise ValueError(
                f"transform must be one of {', '.join(map(repr, TRANSFORMS))}; "
                f"got {self.transform!r}"
            )
        object.__setattr__(self, "hidden_sizes", _check_sizes(self.hidden_sizes, "hidden_sizes"))
        for name in ("embedding_dim", "batch_size", "max_steps", "eval_every", "patience"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        lr_patience = self.lr_patience
        if isinstance(lr_patience, bool) or not isinstance(lr_patience, int) or lr_patience < 0:
            raise ValueError(f"lr_patience must be an integer >= 0 such as 3; got {lr_patience!r}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2: a batch's other pairs are negatives")
        object.__setattr__(
            self, "learning_rate", check_positive(self.learning_rate, "learning_rate")
        )
        for name in ("weight_decay", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a number >= 0 such as 0.1; got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.dropout >= 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {self.dropout!r}")
        test = _check_fraction(self.test_fraction, "test_fraction")
        validation = _check_fraction(self.validation_fraction, "validation_fraction")
        if test + validation >= 1.0:
            raise ValueError(
                f"test_fraction + validation_fraction must leave samples to train on; got "
                f"{test} + {validation} >= 1"
            )
        object.__setattr__(self, "test_fraction", test)
        object.__setattr__(self, "validation_fraction", validation)
        check_device(self.device)
        if self.random_state is not None:
            _check_seed(self.random_state)
        if self.progress is not None and not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True, False or None; got {self.progress!r}")
        if self.n_threads is not None:
            object.__setattr__(self, "n_threads", check_positive_int(self.n_threads, "n_threads"))

    def split_sizes(self, n_samples: int) -> tuple[int, int, int]:
        """Sizes of the training, validation and test parts for ``n_samples`` samples."""
        n_test = round(self.test_fraction * n_samples)
        n_validation = round(self.validation_fraction * n_samples)
        n_train = n_samples - n_test - n_validation
        if min(n_train, n_validation, n_test) < _MIN_PART:
            raise ValueError(
                f"method {self.name!r} splits the samples into training, validation and test "
                f"parts of {n_train}, {n_validation} and {n_test} at test_fraction="
                f"{self.test_fraction} and validation_fraction={self.validation_fraction}, "
                f"but each needs at least {_MIN_PART}; pass more samples or other fractions"
            )
        return n_train, n_validation, n_test

    def bound_parameter(self) -> float | None:
        """The objective's own parameter (τ for SMILE), None for the others."""
        return None

    def joint_sizes(self) -> tuple[int, ...]:
        """Hidden layers of the built-in joint critic."""
        return self.hidden_sizes

    def held_out_block(self, n_held_out: int) -> int:
        """Samples per block of held-out scores, each sample's negatives the rest of it."""
        return min(_NEGATIVES_BLOCK, self.batch_size, n_held_out)

    def mi_continuous(self, x: Variable, y: Variable) -> Estimate:
        from mi_toolkit.estimators._neural_training import estimate_bound

        shapes = (x.sample_shape, y.sample_shape)
        return estimate_bound(self, x.values, y.values, shapes)

    def mi_against_labels(self, continuous: Variable, labels: Variable) -> Estimate:
        from mi_toolkit.estimators._neural_training import estimate_bound

        shapes = (continuous.sample_shape, None)
        return estimate_bound(self, continuous.values, _one_hot(labels), shapes)


def _one_hot(labels: Variable) -> Any:
    import numpy as np

    codes, n_groups = labels.groups()
    return np.eye(n_groups)[codes]


@register
@dataclass(frozen=True)
class MINEEstimator(NeuralEstimator):
    """MINE: the Donsker–Varadhan bound with a moving-average gradient; see the module."""

    name = "mine"
    objective = "dv"


@register
@dataclass(frozen=True)
class NWJEstimator(NeuralEstimator):
    """The Nguyen–Wainwright–Jordan bound; see the module."""

    name = "nwj"
    objective = "nwj"


@register
@dataclass(frozen=True)
class InfoNCEEstimator(NeuralEstimator):
    """InfoNCE, by default with both critics and the higher validation bound kept; see the module.

    Parameters
    ----------
    held_out_negatives : int or None
        Samples per block of the held-out bound (validation and test), each sample's
        negatives the rest of its block, capped by the part's size; None: ``batch_size``,
        as in training. The bound's ceiling is log of this block: a larger one (4096: the
        whole part) lifts it for a large MI, but it did not help on Beyond-Normal and is
        less robust to heavy tails (module docstring).
    joint_negatives : int or None
        Negatives per positive in a training batch of the joint critic, a random subset of
        the batch drawn each step: B(K+1) scores a step instead of B². None: the whole
        batch. The held-out bound does not depend on it.
    joint_hidden_sizes : tuple of int or None
        Hidden layers of the joint critic (each pair scored costs about their widths
        squared); None: ``hidden_sizes``, which stays the separable critic's.
    """

    name = "infonce"
    objective = "infonce"

    # Both critics, the higher validation bound kept: on Beyond-Normal (40 tasks x 3 seeds,
    # benchmarks/results/neural.md) 26/40 within 0.1 nats against the separable critic's
    # 22/40, mean abs. error 0.113 against 0.131, no failed run against 1; a median 3.2 s
    # per estimate with the two trained side by side on two cores (5.1 s on one).
    critic: Any = "auto"
    # InfoNCE's low-variance bound needs no longer wait for the halved rate to pay off
    # (its Beyond-Normal values moved by < 0.01 nats with 9), and each step costs B² scores.
    patience: int = 6
    held_out_negatives: int | None = None
    # Measured on 10 near-miss Beyond-Normal tasks (benchmarks/results/neural.md): K = 16 and
    # (32, 32) came within ±0.02 nats of K = 32 and (64, 64) (0.08 better on sparse-25)
    # at a third of the time.
    joint_negatives: int | None = 16
    joint_hidden_sizes: tuple[int, ...] | None = (32, 32)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.joint_hidden_sizes is not None:
            sizes = _check_sizes(self.joint_hidden_sizes, "joint_hidden_sizes")
            object.__setattr__(self, "joint_hidden_sizes", sizes)
        if self.joint_negatives is not None:
            negatives = check_positive_int(self.joint_negatives, "joint_negatives")
            object.__setattr__(self, "joint_negatives", negatives)
        if self.held_out_negatives is None:
            return
        negatives = check_positive_int(self.held_out_negatives, "held_out_negatives")
        if negatives < 2:
            raise ValueError("held_out_negatives must be at least 2: a sample needs a negative")
        object.__setattr__(self, "held_out_negatives", negatives)

    def joint_sizes(self) -> tuple[int, ...]:
        return self.joint_hidden_sizes or self.hidden_sizes

    def held_out_block(self, n_held_out: int) -> int:
        negatives = self.held_out_negatives or self.batch_size
        return min(negatives, n_held_out)


@register
@dataclass(frozen=True)
class SMILEEstimator(NeuralEstimator):
    """SMILE: DV with e^f clipped to [e^−clip, e^clip] (Song & Ermon 2020); see the module.

    Parameters
    ----------
    clip : float
        τ, the clipping threshold of the critic in the partition term.
    """

    name = "smile"
    objective = "smile"

    clip: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "clip", check_positive(self.clip, "clip"))

    def bound_parameter(self) -> float | None:
        return self.clip


#: log(B) − this many nats is where InfoNCE counts as at its ceiling (module docstring).
INFONCE_CEILING_MARGIN = 1.0
__all__ = [
    "AUTO_CRITICS",
    "INFONCE_CEILING_MARGIN",
    "InfoNCEEstimator",
    "MINEEstimator",
    "NWJEstimator",
    "NeuralEstimator",
    "SMILEEstimator",
]
