r"""Neuron importance: per-neuron information and information-ordered cumulative ablation.

Liu, Amjad & Geiger (2018) ask how important the i-th neuron of layer l is by its mutual
information with the labels, :math:`I(T_{l,i}; Y)`, which is far easier to estimate than
that of a whole layer, and test the answer by *cumulative ablation*: set the neurons of
one layer to zero one after another, in descending or ascending order of
:math:`I(T_{l,i}; Y)` or at random, and record the test accuracy against the number
ablated. Within a layer, neurons with high MI matter most (removing them first hurts
most); across layers the MI values are not comparable (Simpson's paradox).

This module computes, per neuron of one layer,

* :math:`H(T_{l,i})` and :math:`I(T_{l,i}; Y)` through the one estimation path
  (:func:`mi_toolkit.api.mi_of_variables`), by default with equal-width bins over each
  neuron's own range (``binning`` with ``n_bits=5, scope="neuron"``: 33 levels), or any
  method and parameters passed;
* the class selectivity index of Morcos et al. (2018),
  :math:`(μ_{max} - μ_{-max}) / (μ_{max} + μ_{-max})`, with :math:`μ_{max}` the largest
  class-conditional mean activation and :math:`μ_{-max}` the mean of the other classes'
  means: 0 for a neuron that responds alike to every class, 1 for one that responds to a
  single class. It assumes non-negative activations (ReLU); for signed ones (tanh) each
  neuron is first shifted by its minimum, with a warning saying so.

The ablation itself needs a model: :func:`cumulative_ablation` takes any function that
returns the accuracy with a given set of units zeroed, and :func:`ablate_layer` builds it
for a torch model from a module name (as ``model.named_modules()`` and the activation
recorder of ``mi_toolkit.nets`` name them, e.g. ``layers.layer2``) with a forward hook
that zeros the chosen units of the module's output, flattened per sample as the recorder
stores it. torch is imported only there, so importing this module does not load it.

References
----------
K. Liu, R. A. Amjad and B. C. Geiger, "Understanding individual neuron importance using
information theory", arXiv:1804.06679, 2018. A. S. Morcos et al., "On the importance of
single directions for generalization", ICLR, 2018.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mi_toolkit._validation import as_variable
from mi_toolkit.api import _finish, build_estimator, mi_of_variables
from mi_toolkit.estimators.base import Estimator, UndefinedEstimate
from mi_toolkit.result import MIToolkitWarning, unit_scale

#: How a single neuron is binned when no method parameters are given.
DEFAULT_BINNING = {"n_bits": 5, "scope": "neuron"}
ORDERS = ("descending", "ascending", "random")


@dataclass
class NeuronInformation:
    """Per-neuron numbers of one layer, each an array with one entry per neuron.

    Attributes
    ----------
    entropy : numpy.ndarray
        H(T_i) in ``units`` (NaN where the method has no entropy).
    mi, mi_error : numpy.ndarray
        I(T_i; Y) and its standard error (NaN where the method gives none).
    selectivity : numpy.ndarray
        Class selectivity index in [0, 1].
    units, method : str
    params : dict
        The method's parameters.
    """

    entropy: np.ndarray
    mi: np.ndarray
    mi_error: np.ndarray
    selectivity: np.ndarray
    units: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def class_selectivity(activations: Any, labels: Any) -> np.ndarray:
    """Class selectivity index of each neuron (Morcos et al. 2018).

    Parameters
    ----------
    activations : array_like
        (n, d) activations of one layer.
    labels : array_like
        (n,) class labels.

    Returns
    -------
    numpy.ndarray
        (d,) indices in [0, 1]; 0 for a neuron that is zero for every class.

    Examples
    --------
    >>> class_selectivity([[1.0, 1.0], [0.0, 1.0]], [0, 1]).tolist()
    [1.0, 0.0]
    """
    values = np.asarray(activations, dtype=np.float64)
    labels = np.asarray(labels)
    if values.ndim != 2 or len(values) != len(labels):
        raise ValueError(
            f"activations must be (n, d) with one row per label; got {values.shape} "
            f"for {len(labels)} labels"
        )
    if (values < 0).any():
        warnings.warn(
            "class selectivity assumes non-negative activations (ReLU); these have negative "
            "values, so each neuron was shifted by its minimum first",
            MIToolkitWarning,
            stacklevel=2,
        )
        values = values - values.min(axis=0)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("labels must hold at least two classes for class selectivity")
    means = np.stack([values[labels == c].mean(axis=0) for c in classes])  # (classes, d)
    top = means.max(axis=0)
    rest = (means.sum(axis=0) - top) / (len(classes) - 1)
    total = top + rest
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (top - rest) / total, 0.0)


def _neuron_entropy(estimator: Estimator, result: Any, column: Any, units: str) -> float:
    """H(T_i): from the MI estimate's own components where it computed it, else directly."""
    if "H(x)" in result.components:
        return float(result.components["H(x)"])
    try:
        estimate = estimator.entropy(column)
    except (NotImplementedError, UndefinedEstimate, ValueError):
        return math.nan
    return _finish(estimate, estimator, column.n_samples, units, "entropy", False).value


def neuron_information(
    activations: Any,
    labels: Any,
    method: str | Estimator = "binning",
    *,
    units: str = "bits",
    **params: Any,
) -> NeuronInformation:
    """H(T_i), I(T_i; Y) and class selectivity of every neuron of one layer.

    Parameters
    ----------
    activations : array_like
        (n, d) activations of one layer on n samples.
    labels : array_like
        (n,) labels of those samples.
    method : str or Estimator
        As for :func:`mi_toolkit.estimate_mi`; ``"binning"`` without parameters bins each
        neuron into 33 equal-width levels over its own range (:data:`DEFAULT_BINNING`).
    units : {"bits", "nats"}
    **params
        The method's parameters.

    Returns
    -------
    NeuronInformation
        The estimates' warnings are issued once per kind, with how many neurons raised it.
    """
    unit_scale(units)
    if method == "binning" and not params:
        params = dict(DEFAULT_BINNING)
    estimator = build_estimator(method, **params)
    values = np.asarray(activations, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"activations must be (n_samples, n_neurons); got shape {values.shape}")
    y = as_variable(labels, "labels", discrete=True)
    if y.n_samples != len(values):
        raise ValueError(f"activations hold {len(values)} samples but labels {y.n_samples}")
    entropy, mi, error = (np.full(values.shape[1], np.nan) for _ in range(3))
    raised: dict[str, list[str]] = {}
    for neuron in range(values.shape[1]):
        column = as_variable(values[:, neuron], "T", discrete=False)
        result = mi_of_variables(estimator, column, y, units, emit_warnings=False)
        mi[neuron] = result.value
        error[neuron] = np.nan if result.standard_error is None else result.standard_error
        entropy[neuron] = _neuron_entropy(estimator, result, column, units)
        for message in result.warnings:
            raised.setdefault(getattr(message, "kind", "other"), []).append(str(message))
    for kind, messages in raised.items():
        warnings.warn(
            f"{kind} in {len(messages)} of {values.shape[1]} neurons: {messages[0]}",
            MIToolkitWarning,
            stacklevel=2,
        )
    return NeuronInformation(
        entropy=entropy,
        mi=mi,
        mi_error=error,
        selectivity=class_selectivity(values, np.asarray(labels).reshape(len(values))),
        units=units,
        method=estimator.name,
        params=estimator.params(),
    )


def ablation_order(importance: Any, order: str, seed: int = 0) -> np.ndarray:
    """The order in which to zero the units: most important first, least first, or random.

    Ties keep the units' index order (a stable sort), so the order is reproducible.

    Examples
    --------
    >>> ablation_order([0.1, 0.9, 0.5], "descending").tolist()
    [1, 2, 0]
    """
    scores = np.asarray(importance, dtype=np.float64)
    if scores.ndim != 1 or not np.isfinite(scores).all():
        raise ValueError("importance must be a 1-D array of finite scores, one per unit")
    if order == "descending":
        return np.argsort(-scores, kind="stable")
    if order == "ascending":
        return np.argsort(scores, kind="stable")
    if order == "random":
        return np.random.default_rng(seed).permutation(len(scores))
    raise ValueError(f"order must be one of {ORDERS}; got {order!r}")


@dataclass
class AblationCurves:
    """Accuracy against the number of units of one layer zeroed.

    Attributes
    ----------
    layer : str
    n_ablated : numpy.ndarray
        0, 1, ..., d.
    accuracy : dict of str to numpy.ndarray
        ``"descending"`` and ``"ascending"`` (by importance) curves, shape (d + 1,).
    random : numpy.ndarray
        (seeds, d + 1) curves in random orders (empty when none were asked for).
    importance : numpy.ndarray
        The scores that ordered the units (e.g. I(T_i; Y)).
    """

    layer: str
    n_ablated: np.ndarray
    accuracy: dict[str, np.ndarray]
    random: np.ndarray
    importance: np.ndarray


def cumulative_ablation(
    evaluate: Callable[[np.ndarray], float],
    importance: Any,
    *,
    orders: Sequence[str] = ORDERS,
    random_seeds: Sequence[int] = (0, 1, 2, 3, 4),
    layer: str = "",
) -> AblationCurves:
    """Information-ordered cumulative ablation with any model.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(units)`` returns the test accuracy with the given unit indices (an int
        array, maybe empty) zeroed.
    importance : array_like
        (d,) score per unit, e.g. :attr:`NeuronInformation.mi`.
    orders : sequence of str
        Any of ``"descending"``, ``"ascending"``, ``"random"``.
    random_seeds : sequence of int
        One random order per seed.
    layer : str
        Name stored with the curves.

    Returns
    -------
    AblationCurves
    """
    scores = np.asarray(importance, dtype=np.float64)
    unknown = sorted(set(orders) - set(ORDERS))
    if unknown:
        raise ValueError(f"orders must be among {ORDERS}; got {unknown}")

    def curve(sequence: np.ndarray) -> np.ndarray:
        return np.array([evaluate(sequence[:k]) for k in range(len(sequence) + 1)])

    accuracy = {
        order: curve(ablation_order(scores, order)) for order in orders if order != "random"
    }
    random = [curve(ablation_order(scores, "random", seed)) for seed in random_seeds]
    return AblationCurves(
        layer=layer,
        n_ablated=np.arange(len(scores) + 1),
        accuracy=accuracy,
        random=np.array(random).reshape(len(random), len(scores) + 1),
        importance=scores,
    )


@contextmanager
def units_zeroed(model: Any, layer: str, units: Any) -> Iterator[None]:
    """Zero some units of a torch module's output while the block runs (a forward hook).

    Parameters
    ----------
    model : torch.nn.Module
        Any model.
    layer : str
        A module name from ``model.named_modules()``.
    units : array_like of int
        Indices into the module's output flattened per sample (as the activation
        recorder stores it); for a tuple output, into its first element.
    """
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(
            f"layer {layer!r} is not a module of the model; modules: "
            f"{', '.join(name for name in modules if name)}"
        )
    chosen = np.asarray(units, dtype=np.int64)

    def hook(module: Any, inputs: Any, output: Any) -> Any:
        if chosen.size == 0:
            return None
        first = output[0] if isinstance(output, tuple) else output
        flat = first.reshape(len(first), -1).clone()
        if chosen.max() >= flat.shape[1]:
            raise ValueError(
                f"unit {chosen.max()} is out of range: {layer!r} has {flat.shape[1]} units"
            )
        flat[:, chosen] = 0
        zeroed = flat.reshape(first.shape)
        return (zeroed, *output[1:]) if isinstance(output, tuple) else zeroed

    handle = modules[layer].register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def model_accuracy(model: Any, x: Any, y: Any, batch_size: int = 4096) -> float:
    """Fraction of ``x`` whose largest output is the label ``y`` (eval mode, no grad)."""
    import torch

    x = torch.as_tensor(x)
    y = torch.as_tensor(np.asarray(y))
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                logits = model(x[start : start + batch_size])
                correct += int((logits.argmax(dim=-1) == y[start : start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / len(x)


def ablate_layer(
    model: Any,
    layer: str,
    x: Any,
    y: Any,
    importance: Any,
    *,
    orders: Sequence[str] = ORDERS,
    random_seeds: Sequence[int] = (0, 1, 2, 3, 4),
    batch_size: int = 4096,
) -> AblationCurves:
    """Cumulative ablation of one layer of a torch model, accuracy measured on (x, y).

    Parameters
    ----------
    model : torch.nn.Module
        A classifier whose output's largest entry is the prediction (a ``nets`` model or
        any other).
    layer : str
        Module name, e.g. ``"layers.layer1"`` for a ``nets`` MLP.
    x, y : array_like or torch.Tensor
        Test inputs (the model's dtype) and labels.
    importance : array_like
        (units,) scores, e.g. ``neuron_information(...).mi`` computed on training data.
    orders, random_seeds, batch_size
        As for :func:`cumulative_ablation`; ``batch_size`` for the forward passes.

    Returns
    -------
    AblationCurves
    """

    def evaluate(units: np.ndarray) -> float:
        with units_zeroed(model, layer, units):
            return model_accuracy(model, x, y, batch_size)

    return cumulative_ablation(
        evaluate, importance, orders=orders, random_seeds=random_seeds, layer=layer
    )
