"""Input checks, done once at the front door.

Everything past this module may assume a C-contiguous float64 ``(n_samples, n_features)``
array with finite values and a decided discrete/continuous flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mi_toolkit._grouping import group_rows

# Integers above this lose exactness in float64, and with it their grouping.
_EXACT_INTEGER_LIMIT = 2**53


@dataclass
class Variable:
    """One side of an estimate: validated values plus how to treat them.

    ``name`` is the argument name used in error messages and component labels.
    """

    name: str
    values: np.ndarray
    discrete: bool
    #: The shape of one sample when it was given as more than a row (an image (h, w) or
    #: (c, h, w)); ``values`` holds it flattened. None for ordinary rows.
    sample_shape: tuple[int, ...] | None = None
    _groups: tuple[np.ndarray, int] | None = field(default=None, repr=False)
    # Results derived from the values alone, shared by the estimates that use this variable
    # (e.g. one layer's bins for both I(X;T) and I(T;Y)).
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def n_samples(self) -> int:
        return self.values.shape[0]

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    def groups(self) -> tuple[np.ndarray, int]:
        """Labels of identical rows and their number, computed once."""
        if self._groups is None:
            self._groups = group_rows(self.values)
        return self._groups

    def derived(self, key: Any, compute: Any) -> Any:
        """``compute()``, once per ``key``: something computed from the values alone."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def subset(self, rows: np.ndarray) -> Variable:
        """The same variable on some samples (a resample or a shuffle), not validated again."""
        values = np.ascontiguousarray(self.values[rows])
        return Variable(self.name, values, self.discrete, self.sample_shape)


def _tensor_to_numpy(tensor: Any, name: str) -> np.ndarray:
    """A CPU tensor as numpy; floats numpy lacks (bfloat16, float8) go through float32."""
    try:
        return tensor.numpy()
    except TypeError:
        # float32 holds every bfloat16 and float8 value exactly; the front door turns it
        # into float64 like any other float array.
        if getattr(tensor, "is_floating_point", lambda: False)():
            return tensor.float().numpy()
        raise TypeError(
            f"{name} is a tensor of dtype {tensor.dtype}, which numpy cannot read; convert "
            f"it first, e.g. {name}.to(torch.float64)"
        ) from None


def _to_numpy(data: Any, name: str) -> np.ndarray:
    # Recognise torch tensors by duck typing so that the core never imports torch.
    if hasattr(data, "detach") and hasattr(data, "cpu") and hasattr(data, "numpy"):
        data = _tensor_to_numpy(data.detach().cpu(), name)
    try:
        return np.asarray(data)
    except ValueError as err:
        raise ValueError(
            f"{name} could not be read as an array ({err}); pass a rectangular numpy array, "
            "torch tensor or nested list of shape (n_samples,) or (n_samples, n_features)"
        ) from None


def _check_dtype(array: np.ndarray, name: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind in "US":
        # String labels are categories: number them and treat them as discrete.
        _, codes = np.unique(array, return_inverse=True)
        return codes.reshape(array.shape).astype(np.int64)
    if kind == "O":
        raise TypeError(
            f"{name} has dtype object; pass numbers (float or int), e.g. "
            f"np.asarray({name}, dtype=float)"
        )
    if kind == "c":
        raise TypeError(
            f"{name} is complex; mutual information is defined here for real values. "
            f"Pass np.column_stack([{name}.real, {name}.imag]) to treat both parts as features"
        )
    if kind not in "biuf":
        raise TypeError(f"{name} has unsupported dtype {array.dtype}; pass float, int or bool")
    return array


def _check_shape(array: np.ndarray, name: str, keep_sample_shape: bool = False) -> np.ndarray:
    if array.ndim == 0:
        raise ValueError(f"{name} is a scalar; pass an array of samples, shape (n_samples,)")
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    elif array.ndim > 2 and keep_sample_shape:
        if 0 in array.shape:
            raise ValueError(f"{name} has shape {array.shape}; every sample needs values")
        array = array.reshape(array.shape[0], -1)
    elif array.ndim > 2:
        raise ValueError(
            f"{name} has {array.ndim} dimensions {array.shape}; pass (n_samples, n_features), "
            f"for example {name}.reshape(len({name}), -1) to flatten images"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples); pass at least one sample")
    if array.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; pass at least one column")
    return array


def _check_finite(values: np.ndarray, name: str) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        total = values.sum()
    if math.isfinite(total):
        # A NaN or inf anywhere makes the sum non-finite; one pass instead of three. (Huge
        # finite values can overflow the sum: they take the full check below and pass.)
        return
    finite = np.isfinite(values)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        n_nan = int(np.isnan(values).sum())
        n_inf = int((~finite).sum()) - n_nan
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s), first in sample "
            f"{bad_rows[0]}; remove or impute those samples before estimating"
        )


def as_variable(
    data: Any, name: str, discrete: bool | None = None, keep_sample_shape: bool = False
) -> Variable:
    """Validate one argument and decide whether it is discrete.

    Integer, boolean and string data are discrete unless ``discrete=False``; floats are
    continuous unless ``discrete=True``. With ``keep_sample_shape`` (methods that can use
    it, such as a neural estimator with a convolutional critic), samples of more than one
    axis, e.g. images (n, h, w), are kept flattened with their shape in ``sample_shape``;
    otherwise more than 2 axes are an error.
    """
    if discrete is not None and not isinstance(discrete, (bool, np.bool_)):
        raise TypeError(f"discrete_{name} must be True, False or None; got {discrete!r}")
    raw = _check_dtype(_to_numpy(data, name), name)
    sample_shape = tuple(raw.shape[1:]) if keep_sample_shape and raw.ndim > 2 else None
    array = _check_shape(raw, name, keep_sample_shape)
    integer_like = array.dtype.kind in "biu"
    if array.dtype.kind in "iu" and array.size:
        peak = max(abs(int(array.min())), abs(int(array.max())))
        if peak > _EXACT_INTEGER_LIMIT:
            raise ValueError(
                f"{name} holds integers up to {peak}, beyond 2**53 where float64 stops being "
                f"exact; relabel them first, e.g. np.unique({name}, return_inverse=True)[1]"
            )
    values = np.ascontiguousarray(array, dtype=np.float64)
    _check_finite(values, name)
    is_discrete = integer_like if discrete is None else bool(discrete)
    return Variable(name=name, values=values, discrete=is_discrete, sample_shape=sample_shape)


def check_same_length(x: Variable, y: Variable) -> None:
    if x.n_samples != y.n_samples:
        raise ValueError(
            f"x has {x.n_samples} samples but y has {y.n_samples}; both need one row per "
            "sample, in the same order"
        )


def check_enough_samples(variable: Variable, minimum: int, method: str) -> None:
    if variable.n_samples < minimum:
        raise ValueError(
            f"{variable.name} has {variable.n_samples} sample(s) but method {method!r} needs "
            f"at least {minimum}; pass more samples"
        )


def check_positive(value: Any, name: str, hint: str = "") -> float:
    """Return ``value`` as a float after checking it is finite and > 0.

    Strings and booleans are refused, as :func:`check_positive_int` refuses them: a
    number given as text is a typing slip that should not pass for one parameter and
    fail for another.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(
            f"{name} must be a positive number; got {value!r} ({type(value).__name__}); "
            f"pass it as a number, e.g. {name}=0.1"
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number; got {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}{hint}")
    return number


def check_positive_int(value: Any, name: str, hint: str = "") -> int:
    """Return ``value`` as an int after checking it is an integer >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be a positive integer; got {value!r} ({type(value).__name__}); "
            f"pass it as a number, e.g. {name}=5"
        )
    if value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1); got {value!r}{hint}")
    return int(value)


def check_seed(value: Any, name: str) -> int:
    """Return ``value`` as an int after checking it is a non-negative integer (a seed)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a non-negative integer such as 0; got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer such as 0; got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value
