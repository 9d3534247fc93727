"""Torch training of the neural bounds (:mod:`mi_toolkit.estimators.neural`).

Imported only inside the estimators' methods, so that ``import mi_toolkit`` does not
import torch. The formulas, the split, the standard errors and the failure checks are
described in :mod:`mi_toolkit.estimators.neural`.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from mi_toolkit._parallel import thread_budget
from mi_toolkit.estimators._device import resolve_backend
from mi_toolkit.estimators._knn_common import copula_normal_scores
from mi_toolkit.estimators.base import Estimate, canonical_order
from mi_toolkit.estimators.neural import AUTO_CRITICS, INFONCE_CEILING_MARGIN, NeuralEstimator
from mi_toolkit.result import EstimateWarning

# MINE's moving average of the partition term E_q[e^f] (Belghazi et al. use 0.01).
_MOVING_AVERAGE_RATE = 0.01
# A validation bound below zero and this far below its best (nats, and validation standard
# errors) is a collapse of the training curve.
_COLLAPSE_NATS = 1.0
_COLLAPSE_ERRORS = 4.0
# A test bound below zero by more than this many standard errors is a failed estimate.
_NEGATIVE_ERRORS = 2.0
# Held-out scores are computed this many pairs at a time: (pairs × width) float32
# activations of a joint critic, 32 MiB at width 64.
_PAIRS_PER_CHUNK = 2**17
# A SMILE critic's E_p[f] is about the MI (f ≈ log p/q at the Jensen–Shannon optimum); beyond
# this many nats, no bound of this kind can be measured (variance like e^I): training ran away.
_SCORE_LIMIT = 100.0
# The learning rate's factor after every lr_patience evaluations without improvement.
_LR_DECAY = 0.5
# progress=None shows the bar on a terminal once training has run this long.
_PROGRESS_DELAY_S = 2.0


# -- critics ------------------------------------------------------------------------------


def _activation(dropout: float) -> list[nn.Module]:
    """ReLU, then dropout where asked (against overfitting in high dimension)."""
    return [nn.ReLU(), nn.Dropout(dropout)] if dropout > 0 else [nn.ReLU()]


def _mlp(sizes: list[int], dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in itertools.pairwise(sizes[:-1]):
        layers += [nn.Linear(width_in, width_out), *_activation(dropout)]
    last = nn.Linear(sizes[-2], sizes[-1])
    # A zero last layer makes the step-0 critic constant, where every bound is exactly 0.
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class JointCritic(nn.Module):
    """An MLP on [x, y]; its first layer is split so all pairs cost one broadcast sum."""

    def __init__(self, dx: int, dy: int, hidden: tuple[int, ...], dropout: float = 0.0) -> None:
        super().__init__()
        self.x_in = nn.Linear(dx, hidden[0])
        self.y_in = nn.Linear(dy, hidden[0], bias=False)
        self.body = nn.Sequential(*_activation(dropout), _mlp([*hidden, 1], dropout))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.body(self.x_in(x) + self.y_in(y)).squeeze(-1)

    def all_pairs(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_j) as an (m, k) matrix for m rows of x and k of y."""
        return self.body(self.x_in(x)[:, None, :] + self.y_in(y)[None, :, :]).squeeze(-1)

    def chosen_pairs(self, x: torch.Tensor, y: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_{columns[i, k]}) as an (m, k) matrix: m·k evaluations, not m²."""
        return self.body(self.x_in(x)[:, None, :] + self.y_in(y)[columns]).squeeze(-1)


class SeparableCritic(nn.Module):
    """g(x)ᵀh(y) with two MLPs."""

    def __init__(
        self, dx: int, dy: int, hidden: tuple[int, ...], embedding_dim: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.g = _mlp([dx, *hidden, embedding_dim], dropout)
        self.h = _mlp([dy, *hidden, embedding_dim], dropout)
        # Only h starts at zero: g's embedding must be non-zero for h to get a gradient.
        nn.init.normal_(self.g[-1].weight, std=1.0 / math.sqrt(hidden[-1]))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.g(x) * self.h(y)).sum(-1)

    def all_pairs(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_j) as an (m, k) matrix for m rows of x and k of y."""
        return self.g(x) @ self.h(y).T

    def chosen_pairs(self, x: torch.Tensor, y: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_{columns[i, k]}) as an (m, k) matrix."""
        return (self.g(x)[:, None, :] * self.h(y)[columns]).sum(-1)


class UserCritic(nn.Module):
    """A user's module called as ``critic(x, y)`` with one score per row.

    Samples given with a shape of their own (images (h, w) or (c, h, w)) reach the module
    in that shape, (m, h, w) or (m, c, h, w); ordinary rows as (m, d).
    """

    def __init__(
        self,
        critic: nn.Module,
        shapes: tuple[tuple[int, ...] | None, tuple[int, ...] | None] = (None, None),
    ) -> None:
        super().__init__()
        self.critic = critic
        self.shapes = shapes

    def shaped(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x and y in the shape the user gave their samples."""
        x_shape, y_shape = self.shapes
        if x_shape is not None:
            x = x.reshape(x.shape[0], *x_shape)
        if y_shape is not None:
            y = y.reshape(y.shape[0], *y_shape)
        return x, y

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.critic(*self.shaped(x, y)).reshape(-1)

    def all_pairs(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_j) as an (m, k) matrix, one call on all m·k pairs."""
        m, k = x.shape[0], y.shape[0]
        return self.forward(x.repeat_interleave(k, dim=0), y.repeat(m, 1)).reshape(m, k)

    def chosen_pairs(self, x: torch.Tensor, y: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Scores f(x_i, y_{columns[i, k]}) as an (m, k) matrix, one call on all m·k pairs."""
        m, k = columns.shape
        return self.forward(x.repeat_interleave(k, dim=0), y[columns.reshape(-1)]).reshape(m, k)


def _check_user_critic(wrapper: UserCritic, x: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse, before training, a critic that does not return one finite score per row."""
    critic = wrapper.critic
    probe = min(3, x.shape[0])
    x, y = wrapper.shaped(x[:probe], y[:probe])
    try:
        with torch.no_grad():
            scores = critic(x, y)
    except Exception as err:
        raise ValueError(
            f"the critic failed when called as critic(x, y) with x of shape "
            f"{tuple(x.shape)} and y of shape {tuple(y.shape)} (float32): {err}; it must "
            "take standardised samples in the shape they were given (rows flattened only "
            "when given as rows) and return one score per row"
        ) from err
    shape = tuple(getattr(scores, "shape", ()))
    if not isinstance(scores, torch.Tensor) or shape not in ((probe,), (probe, 1)):
        raise ValueError(
            f"the critic must return one score per row, a tensor of shape ({probe},) or "
            f"({probe}, 1) for {probe} rows of x and y; it returned "
            f"{type(scores).__name__} of shape {shape}"
        )
    if not scores.is_floating_point() or not torch.isfinite(scores).all():
        raise ValueError("the critic returned non-float or non-finite scores before training")


def _build_critic(
    estimator: NeuralEstimator, dx: int, dy: int, shapes: tuple[Any, Any] = (None, None)
) -> nn.Module:
    if estimator.critic == "joint":
        return JointCritic(dx, dy, estimator.joint_sizes(), estimator.dropout)
    if estimator.critic == "separable":
        return SeparableCritic(
            dx, dy, estimator.hidden_sizes, estimator.embedding_dim, estimator.dropout
        )
    return UserCritic(copy.deepcopy(estimator.critic), shapes)


# -- the bounds on a batch (training) -------------------------------------------------------


def _log_mean_exp(values: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(values.reshape(-1), 0) - math.log(values.numel())


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    m = scores.shape[0]
    return scores.masked_select(~torch.eye(m, dtype=torch.bool, device=scores.device))


def sampled_columns(batch: int, negatives: int, generator: torch.Generator) -> torch.Tensor:
    """A (batch, 1 + negatives) index matrix: row i is i itself, then ``negatives`` distinct
    other rows of the batch, i + o (mod batch) for a random subset o of 1 … batch − 1.

    The offsets are shared by the rows, so each row's negatives are a uniform random
    subset of the others at the cost of one permutation of the batch per step.
    """
    offsets = torch.randperm(batch - 1, generator=generator)[:negatives] + 1
    offsets = torch.cat((torch.zeros(1, dtype=torch.long), offsets))
    return (torch.arange(batch)[:, None] + offsets[None, :]) % batch


def _batch_scores(
    critic: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    all_pairs: bool,
    columns: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive scores f(x_i, y_i) and negatives: the pairs of ``columns`` (column 0 the
    positive), all other pairs, or y shifted by one."""
    if columns is not None:
        scores = critic.chosen_pairs(x, y, columns.to(x.device))
        return scores[:, 0], scores
    if all_pairs:
        scores = critic.all_pairs(x, y)
        return scores.diagonal(), scores
    return critic(x, y), critic(x, y.roll(1, dims=0))


@dataclass
class _Objective:
    """The training loss and the batch value of one bound."""

    kind: str
    clip: float | None
    log_moving_average: torch.Tensor | None = field(default=None)

    def loss_and_value(
        self, positive: torch.Tensor, negative: torch.Tensor
    ) -> tuple[torch.Tensor, float]:
        """``negative`` is an (m, m) score matrix (diagonal = positives) or an (m,) vector;
        for InfoNCE, any (m, k) matrix whose rows hold the positive among k scores."""
        if self.kind == "infonce":
            k = negative.shape[1]
            bound = (positive - torch.logsumexp(negative, dim=1)).mean() + math.log(k)
            return -bound, float(bound.detach())
        if negative.ndim == 2:
            negative = _off_diagonal(negative)
        if self.kind == "nwj":
            bound = 1.0 + positive.mean() - negative.exp().mean()
            return -bound, float(bound.detach())
        if self.kind == "smile":
            bound = positive.mean() - _log_mean_exp(negative.clamp(-self.clip, self.clip))
            jensen_shannon = -nn.functional.softplus(-positive).mean() - (
                nn.functional.softplus(negative).mean()
            )
            return -jensen_shannon, float(bound.detach())
        return self._dv_loss(positive, negative)

    def _dv_loss(
        self, positive: torch.Tensor, negative: torch.Tensor
    ) -> tuple[torch.Tensor, float]:
        # MINE: the gradient of log E_q[e^f] is E_q[e^f ∇f] / E_q[e^f], the denominator a
        # moving average over batches (kept in log space against overflow).
        log_partition = _log_mean_exp(negative)
        current = log_partition.detach()
        if self.log_moving_average is None:
            self.log_moving_average = current
        else:
            rate = _MOVING_AVERAGE_RATE
            self.log_moving_average = torch.logaddexp(
                self.log_moving_average + math.log(1.0 - rate), current + math.log(rate)
            )
        surrogate = positive.mean() - torch.exp(log_partition - self.log_moving_average)
        return -surrogate, float((positive.mean() - log_partition).detach())


# -- the bounds on held-out data (float64, with per-sample terms) ----------------------------


def _score_rows(
    critic: nn.Module, x: torch.Tensor, y: torch.Tensor, block: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Held-out scores f(x_i, y_j) of each sample i against the B samples j of its block.

    Blocks are consecutive; the last is the final ``block`` samples, overlapping the one
    before, so every sample has B − 1 negatives, and only its rows not seen before are
    yielded. Rows come a few at a time (at most ``_PAIRS_PER_CHUNK`` scores), so a joint
    critic's hidden activations stay small even when the block is the whole part. Yields
    the (rows, B) scores and, per row, the column of its own y_i.
    """
    n = x.shape[0]
    chunk = max(1, _PAIRS_PER_CHUNK // block)
    for start in range(0, n, block):
        begin = min(start, n - block)
        y_block = y[begin : begin + block]
        for first in range(start, begin + block, chunk):
            last = min(first + chunk, begin + block)
            scores = critic.all_pairs(x[first:last], y_block)
            yield scores.double().cpu().numpy(), np.arange(first, last) - begin


def held_out_bound(
    critic: nn.Module, x: torch.Tensor, y: torch.Tensor, kind: str, block: int, clip: float | None
) -> tuple[float, float]:
    """The bound on held-out samples and its standard error (module docstring)."""
    positives, negatives = [], []
    with torch.no_grad():
        for scores, own in _score_rows(critic, x, y, block):
            rows = np.arange(own.shape[0])
            positives.append(scores[rows, own])
            if kind == "infonce":
                top = scores.max(axis=1, keepdims=True)
                negatives.append(top[:, 0] + np.log(np.exp(scores - top).mean(axis=1)))
                continue
            others = np.ones(scores.shape, dtype=bool)
            others[rows, own] = False
            off = scores[others].reshape(rows.shape[0], block - 1)
            negatives.append(np.clip(off, -clip, clip) if kind == "smile" else off)
    a = np.concatenate(positives)
    n = a.shape[0]
    if kind == "infonce":
        return _mean_and_error(a - np.concatenate(negatives))
    off = np.concatenate(negatives)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "nwj":
            return _mean_and_error(1.0 + a - np.exp(off).mean(axis=1))
        # DV and SMILE: mean(a) − log mean(b), b_i = mean_j e^{f_ij}, scaled by e^{-top}.
        top = off.max()
        b = np.exp(off - top).mean(axis=1)
        b_mean = b.mean()
        value = a.mean() - top - math.log(b_mean) if b_mean > 0 else -math.inf
        influence = a - b / b_mean
    return float(value), float(influence.std(ddof=1) / math.sqrt(n))


def _mean_positive_score(critic: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """E_p[f] on held-out pairs: about the MI for a SMILE (Jensen–Shannon) critic."""
    with torch.no_grad():
        return float(critic(x, y).double().mean())


def _mean_and_error(terms: np.ndarray) -> tuple[float, float]:
    return float(terms.mean()), float(terms.std(ddof=1) / math.sqrt(terms.shape[0]))


# -- data ---------------------------------------------------------------------------------


def _prepared(values: np.ndarray, transform: str) -> np.ndarray:
    """The critic's input: standardised columns, or each column's normal scores."""
    if transform == "copula":
        return copula_normal_scores(values)
    return _standardised(values)


def _standardised(values: np.ndarray) -> np.ndarray:
    scale = values.std(axis=0)
    # A constant column carries nothing; centring it is enough.
    return (values - values.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def _canonical_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row order sorted by the values, so the estimate ignores the order of the samples."""
    return canonical_order(np.hstack((x, y)))


@contextmanager
def _torch_threads(n_threads: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- training -----------------------------------------------------------------------------


@dataclass
class _Run:
    """What training found: the curve, the best weights and what went wrong."""

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_value: float = -math.inf
    best_step: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    diverged_at: int | None = None
    collapsed_at: int | None = None
    last_step: int = 0


class _Progress:
    """One bar for every critic of an estimate, advanced from their training threads."""

    def __init__(self, estimator: NeuralEstimator, n_critics: int) -> None:
        self._lock = threading.Lock()
        self._bar = None
        show = estimator.progress
        if show is False or (show is None and not sys.stderr.isatty()):
            return
        from tqdm.auto import tqdm

        delay = _PROGRESS_DELAY_S if show is None else 0.0
        label = f"training {estimator.name}" + (f" ({n_critics} critics)" if n_critics > 1 else "")
        self._bar = tqdm(total=estimator.max_steps * n_critics, desc=label, delay=delay)

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(steps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _optimiser(estimator: NeuralEstimator, critic: nn.Module) -> torch.optim.Optimizer:
    """Adam; AdamW (decoupled weight decay, Loshchilov & Hutter 2019) where decay is asked.

    Not torch's fused Adam: it cut a step by about a tenth, but its other rounding moved two
    Beyond-Normal tasks across the 0.1-nat line (benchmarks/results/neural.md).
    """
    if estimator.weight_decay > 0:
        return torch.optim.AdamW(
            critic.parameters(), lr=estimator.learning_rate, weight_decay=estimator.weight_decay
        )
    return torch.optim.Adam(critic.parameters(), lr=estimator.learning_rate)


def _training_negatives(estimator: NeuralEstimator, critic: nn.Module, batch: int) -> int | None:
    """Negatives per positive sampled each step for InfoNCE's joint critic; None: all."""
    negatives = getattr(estimator, "joint_negatives", None)
    if estimator.objective != "infonce" or not isinstance(critic, JointCritic):
        return None
    if negatives is None or negatives >= batch - 1:
        return None
    return negatives


def _train(
    estimator: NeuralEstimator,
    critic: nn.Module,
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    batch: int,
    generator: torch.Generator,
    progress: _Progress,
) -> _Run:
    kind = estimator.objective
    objective = _Objective(kind, estimator.bound_parameter())
    all_pairs = kind == "infonce" or not isinstance(critic, (JointCritic, UserCritic))
    negatives = _training_negatives(estimator, critic, batch)
    optimiser = _optimiser(estimator, critic)
    x_train, y_train = parts["train"]
    x_val, y_val = parts["validation"]
    val_block = estimator.held_out_block(x_val.shape[0])
    run = _Run()
    batch_values: list[float] = []
    order = torch.empty(0, dtype=torch.long)
    position = 0
    since_best = 0

    def evaluate(step: int) -> bool:
        """Record the validation bound; True when training should stop."""
        nonlocal since_best
        critic.eval()  # no dropout on held-out data
        value, error = held_out_bound(critic, x_val, y_val, kind, val_block, objective.clip)
        critic.train()
        run.steps.append(step)
        run.train.append(float(np.mean(batch_values)) if batch_values else 0.0)
        run.validation.append(value)
        batch_values.clear()
        if not math.isfinite(value):
            run.diverged_at = step
            return True
        # Transient dips are harmless (the best weights are restored and judged on the
        # test part); a fall below the constant critic's 0 is a collapse.
        if value < 0 and value < run.best_value - max(_COLLAPSE_NATS, _COLLAPSE_ERRORS * error):
            run.collapsed_at = step if run.collapsed_at is None else run.collapsed_at
        if value > run.best_value:
            run.best_value, run.best_step, since_best = value, step, 0
            run.best_state = copy.deepcopy(critic.state_dict())
            return False
        since_best += 1
        if estimator.lr_patience and since_best % estimator.lr_patience == 0:
            # A plateau: smaller steps refine a noisy critic (high MI) or one that has
            # begun to overfit, where the same rate would only bounce around its best.
            for group in optimiser.param_groups:
                group["lr"] *= _LR_DECAY
        return since_best >= estimator.patience

    evaluate(0)
    for step in range(1, estimator.max_steps + 1):
        if position + batch > order.shape[0]:
            order = torch.randperm(x_train.shape[0], generator=generator).to(x_train.device)
            position = 0
        rows = order[position : position + batch]
        position += batch
        columns = None if negatives is None else sampled_columns(batch, negatives, generator)
        positive, negative = _batch_scores(critic, x_train[rows], y_train[rows], all_pairs, columns)
        loss, value = objective.loss_and_value(positive, negative)
        if not (torch.isfinite(loss) and math.isfinite(value)):
            run.diverged_at = step
            break
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        batch_values.append(value)
        run.last_step = step
        progress.advance()
        if (step % estimator.eval_every == 0 or step == estimator.max_steps) and evaluate(step):
            break
    progress.advance(estimator.max_steps - run.last_step)  # a critic that stopped early
    critic.load_state_dict(run.best_state)
    critic.eval()
    return run


# -- the estimate -------------------------------------------------------------------------


#: Warning kinds that make a run a failure (``details["failed"]``); "overfitted" does not.
FAILURE_KINDS = frozenset({"diverged", "collapsed", "negative_bound", "batch_ceiling"})


def _collapse_after_a_kept_best(run: _Run, value: float, error: float) -> bool:
    """Whether the validation collapse came after the best step and the restored best
    weights hold their value on the test part: overfitting that early stopping undid."""
    after_best = run.collapsed_at is not None and run.collapsed_at > run.best_step
    margin = max(_COLLAPSE_NATS, _COLLAPSE_ERRORS * (error if math.isfinite(error) else 0.0))
    return after_best and value > 0 and value >= run.best_value - margin


def _failure_warnings(
    estimator: NeuralEstimator, run: _Run, value: float, error: float, test_block: int
) -> tuple[tuple[EstimateWarning, ...], bool]:
    """Warnings for every failure found, and whether the estimate sits at a ceiling."""
    found = []
    if run.diverged_at is not None:
        found.append(
            EstimateWarning(
                "diverged",
                f"Training of {estimator.name!r} diverged (a non-finite loss or bound, or a "
                f"SMILE critic's E_p[f] beyond {_SCORE_LIMIT:g} nats) at step "
                f"{run.diverged_at}; the value is not an estimate of the MI. Lower "
                f"learning_rate (now {estimator.learning_rate:g}).",
            )
        )
    overfitted = run.collapsed_at is not None and _collapse_after_a_kept_best(run, value, error)
    if overfitted:
        found.append(
            EstimateWarning(
                "overfitted",
                f"The validation bound of {estimator.name!r} fell below zero at step "
                f"{run.collapsed_at}, after its best ({run.best_value:.4g} nats at step "
                f"{run.best_step}): the critic overfitted the training part. The best weights "
                f"were restored and their held-out value ({value:.4g} nats) agrees with that "
                "best, so the estimate stands; fewer steps, a smaller critic or more samples "
                "would use the data better.",
            )
        )
    elif run.collapsed_at is not None:
        found.append(
            EstimateWarning(
                "collapsed",
                f"The validation bound of {estimator.name!r} collapsed at step "
                f"{run.collapsed_at}, falling below zero and more than {_COLLAPSE_NATS:g} "
                f"nat below its best ({run.best_value:.4g} nats); training is unstable, so the "
                "estimate may be far from the MI. Lower learning_rate or use method 'smile' "
                "or 'infonce'.",
            )
        )
    if value < 0 and value + _NEGATIVE_ERRORS * error < 0:
        found.append(
            EstimateWarning(
                "negative_bound",
                f"The held-out bound of {estimator.name!r} is {value:.4g} ± {error:.2g} nats, "
                "below zero beyond its error, which no MI can be: the critic does not "
                "generalise from the training part (overfitting or a failed training). Use "
                "more samples, a smaller critic or a lower learning_rate.",
            )
        )
    saturated = (
        estimator.objective == "infonce" and value >= math.log(test_block) - INFONCE_CEILING_MARGIN
    )
    if saturated:
        found.append(
            EstimateWarning(
                "batch_ceiling",
                f"InfoNCE's estimate ({value:.4g} nats) is within {INFONCE_CEILING_MARGIN:g} "
                f"nat of its ceiling log {test_block} = {math.log(test_block):.4g} nats, which "
                f"no {test_block} held-out samples scored together can pass: the MI may be "
                "much larger. Use more samples (and held_out_negatives and batch_size to "
                "match), or method 'smile' or 'mine'.",
            )
        )
    return tuple(found), saturated


_BIAS_NOTES = {
    "dv": "Donsker–Varadhan lower bound: below the MI by the critic's shortfall; its "
    "variance grows like e^I, so large MI (beyond about 5 nats) is underestimated.",
    "nwj": "NWJ lower bound: below the MI by the critic's shortfall; its variance grows "
    "like e^I, so large MI (beyond about 5 nats) is underestimated.",
    "infonce": "InfoNCE lower bound: below the MI by the critic's shortfall, and never above "
    "log K = {ceiling:.3g} nats, K the held-out samples scored together.",
    "smile": "SMILE (DV with e^f clipped to [e^-{clip:g}, e^{clip:g}]): not a strict bound; the "
    "clip biases it, usually downward, in exchange for a far smaller variance than DV.",
}


def _device(estimator: NeuralEstimator) -> torch.device:
    resolved = resolve_backend(estimator.device)
    return torch.device("cpu" if resolved is None else resolved)


def _critic_name(critic: Any) -> str:
    return critic if isinstance(critic, str) else "user"


def _critics_to_try(estimator: NeuralEstimator) -> tuple[Any, ...]:
    """The critics to train: both built-in ones for "auto", else the one asked for."""
    if isinstance(estimator.critic, str) and estimator.critic == "auto":
        return AUTO_CRITICS
    return (estimator.critic,)


@dataclass
class _Trainee:
    """A critic built and seeded, ready to train, with the estimator that describes it."""

    estimator: NeuralEstimator
    critic: nn.Module
    generator: torch.Generator


def _prepare(
    estimator: NeuralEstimator,
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    seed: int,
    shapes: tuple[Any, Any],
) -> _Trainee:
    """Build one critic, seeded afresh, so a critic trained within "auto" is the one
    trained on its own; its batches come from a generator of its own."""
    torch.manual_seed(seed)
    x_train, y_train = parts["train"]
    critic = _build_critic(estimator, x_train.shape[1], y_train.shape[1], shapes)
    critic = critic.to(x_train.device)
    if isinstance(critic, UserCritic):
        _check_user_critic(critic, x_train, y_train)
    return _Trainee(estimator, critic, torch.Generator().manual_seed(seed))


def _threads(estimator: NeuralEstimator, n_critics: int) -> tuple[int, int]:
    """Critics trained side by side, and torch threads for each.

    ``n_threads=None``: one thread per critic, as many side by side as the process has
    cores for (:func:`thread_budget`). A critic's operations are small, so a second thread
    inside them gains little, while a second critic on a second core halves the time.
    Dropout draws from torch's global generator, which critics in threads would share,
    so critics with dropout train one after the other (the numbers stay reproducible).
    """
    budget = estimator.n_threads or min(n_critics, thread_budget())
    side_by_side = 1 if estimator.dropout > 0 else max(1, min(n_critics, budget))
    return side_by_side, max(1, budget // side_by_side)


def _train_all(
    trainees: dict[str, _Trainee],
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    batch: int,
    side_by_side: int,
    progress: _Progress,
) -> dict[str, tuple[nn.Module, _Run]]:
    """Train every critic, ``side_by_side`` at a time in threads.

    Each critic's training reads only its own weights, optimiser and generator, so the
    result is the same, bit for bit, whether they train together or one after another.
    """

    def train(trainee: _Trainee) -> tuple[nn.Module, _Run]:
        run = _train(trainee.estimator, trainee.critic, parts, batch, trainee.generator, progress)
        return trainee.critic, run

    if side_by_side < 2 or len(trainees) < 2:
        return {name: train(trainee) for name, trainee in trainees.items()}
    with ThreadPoolExecutor(max_workers=side_by_side) as pool:
        futures = {name: pool.submit(train, trainee) for name, trainee in trainees.items()}
        return {name: future.result() for name, future in futures.items()}


def _choose_critic(fits: dict[str, tuple[nn.Module, _Run]]) -> str:
    """The critic whose best validation bound is highest, a diverged one only if all are.

    Only the validation part decides, so the test part, which reports the chosen critic's
    bound, saw neither training nor the choice: no upward bias from taking a maximum.
    """
    runs = {name: run for name, (_, run) in fits.items()}
    healthy = [name for name, run in runs.items() if run.diverged_at is None] or list(runs)
    return max(healthy, key=lambda name: runs[name].best_value)


def estimate_bound(
    estimator: NeuralEstimator,
    x: np.ndarray,
    y: np.ndarray,
    shapes: tuple[tuple[int, ...] | None, tuple[int, ...] | None] = (None, None),
) -> Estimate:
    """Train the estimator's critic on (x, y) and return its held-out bound in nats.

    ``x`` and ``y`` are rows; ``shapes`` gives the shape of one sample of each where it
    was given as more than a row (images), for a user's critic.
    """
    started = time.perf_counter()
    n_train, n_validation, n_test = estimator.split_sizes(x.shape[0])
    seed = (
        estimator.random_state
        if estimator.random_state is not None
        else int(np.random.default_rng().integers(2**31))
    )
    order = _canonical_order(x, y)
    shuffled = order[np.random.default_rng(seed).permutation(order.shape[0])]
    bounds = np.cumsum([0, n_train, n_validation, n_test])
    device = _device(estimator)
    x_std, y_std = (_prepared(v, estimator.transform) for v in (x, y))
    parts = {}
    for name, begin, end in zip(
        ("train", "validation", "test"), bounds[:-1], bounds[1:], strict=True
    ):
        rows = shuffled[begin:end]
        parts[name] = tuple(
            torch.as_tensor(v[rows], dtype=torch.float32, device=device) for v in (x_std, y_std)
        )
    batch = min(estimator.batch_size, n_train)
    test_block = estimator.held_out_block(n_test)
    critics = _critics_to_try(estimator)
    side_by_side, threads_each = _threads(estimator, len(critics))
    with _torch_threads(threads_each), torch.random.fork_rng(devices=[]):
        trainees = {
            _critic_name(critic): _prepare(
                dataclasses.replace(estimator, critic=critic), parts, seed, shapes
            )
            for critic in critics
        }
        # After the critics are built: a user's critic refused there leaves no bar open.
        progress = _Progress(estimator, len(critics))
        try:
            fits = _train_all(trainees, parts, batch, side_by_side, progress)
        finally:
            progress.close()
        chosen = _choose_critic(fits)
        critic, run = fits[chosen]
        value, error = held_out_bound(
            critic, *parts["test"], estimator.objective, test_block, estimator.bound_parameter()
        )
    runaway = (
        estimator.objective == "smile"
        and _mean_positive_score(critic, *parts["test"]) > _SCORE_LIMIT
    )
    if not math.isfinite(value) or runaway:
        # Overflow, or a runaway SMILE critic (its E_p[f] is unclipped, and the value follows
        # it): the number means nothing.
        run.diverged_at = run.diverged_at or run.best_step
        value, error = 0.0, math.nan
    warnings, saturated = _failure_warnings(estimator, run, value, error, test_block)
    details = {
        "failed": any(w.kind in FAILURE_KINDS for w in warnings),
        "curve": {"step": run.steps, "train": run.train, "validation": run.validation},
        "best_step": run.best_step,
        "steps": run.last_step,
        "split": {"train": n_train, "validation": n_validation, "test": n_test},
        "batch_size": batch,
        "critic": chosen,
        "device": str(device),
        "critics_side_by_side": side_by_side,
        "seed": seed,
        "seconds": time.perf_counter() - started,
    }
    if len(fits) > 1:
        details["critic_choice"] = {
            "validation": {name: fit_run.best_value for name, (_, fit_run) in fits.items()},
            "chosen": chosen,
        }
    note = _BIAS_NOTES[estimator.objective].format(
        ceiling=math.log(test_block), clip=estimator.bound_parameter() or 0.0
    )
    return Estimate(value, error, warnings, details=details, bias_note=note, saturated=saturated)
