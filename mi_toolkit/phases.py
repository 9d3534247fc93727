r"""Phases of training as numbers: compression of I(X;T) and the drift-to-diffusion change.

Shwartz-Ziv & Tishby (2017) describe two phases in the information plane: a *fitting*
phase where I(X;T) and I(T;Y) grow, then a *compression* phase where I(X;T) falls; and,
in the gradients, a *drift* phase where the mean of the per-batch gradients is large
against their spread, then a *diffusion* phase where it is small. Saxe et al. (2018) show
that compression depends on the non-linearity and the estimator. Claims such as "a DNN
has a separate compression phase, a BNN compresses while it fits" are statements about
the numbers computed here, so the rule is explicit:

Smoothing
    Recorded epochs are usually log-spaced, so each curve is smoothed with a moving mean
    over a window of ``window`` decades of (epoch + 1): the smoothed value at epoch e is
    the mean of the finite values at epochs e' with
    :math:`|\log_{10}(e'+1) - \log_{10}(e+1)| \le \text{window}/2`.
Peak and fall
    The peak is the epoch of the largest smoothed I(X;T); the fall is the smoothed value
    there minus the smoothed value at the last recorded epoch (what is left at the end of
    training), in the curve's units and as a fraction of the peak.
Noise
    σ, the noise of one recorded value, comes from the standard errors (``errors``), from
    the epoch-to-epoch scatter (a robust spread of the second differences,
    :math:`σ = 1.4826\,\mathrm{median}|Δ^2 v| / \sqrt 6`, which a locally linear trend
    does not inflate), or, with ``noise="auto"`` (default), the larger of the two. A
    smoothed value's noise is σ over the square root of the points in its window (the
    root of the summed squared errors over their count, for errors), and the fall's is
    :math:`σ_f = \sqrt{σ_{peak}^2 + σ_{end}^2}`.
Compression
    The peak is the largest of about m = (log span)/window independent windows, so noise
    alone lifts it by up to :math:`\sqrt{2 \ln m}\, σ_{peak}`. The fall counts as a
    compression phase when it exceeds that allowance plus ``n_sigma`` σ_f, and also
    ``min_fall`` (absolute) and ``min_fraction`` of the peak.
Drift to diffusion
    The gradient signal-to-noise ratio is ‖E_b[g]‖ / ‖Std_b[g]‖ over one epoch's
    mini-batches (what ``mi_toolkit.nets`` records as ``grad_mean/<layer>`` and
    ``grad_std/<layer>``). Its log is smoothed as above; the transition is the first
    recorded epoch from which the smoothed ratio stays below ``snr_threshold`` (1: the
    mean below the spread) at every later epoch, provided it was above it earlier. A
    ratio below the threshold from the start (no drift phase) or above it at the end
    (still drifting) gives no transition, with a note saying which.

The functions take plain arrays (epochs, per-layer curves, gradient norms) or a tidy table
(a dict of numpy columns or a list of row dicts, one row per run, member, epoch, layer and
method), so they serve the information plane of :mod:`mi_toolkit.plane` and any table.

References
----------
R. Shwartz-Ziv and N. Tishby, "Opening the black box of deep neural networks via
information", arXiv:1703.00810, 2017. A. M. Saxe et al., "On the information bottleneck
theory of deep learning", ICLR, 2018.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mi_toolkit.dumps import Dump

NOISE_SOURCES = ("auto", "errors", "scatter")
# 1 / Φ⁻¹(3/4): turns a median absolute deviation into a Gaussian standard deviation.
_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class PhaseRule:
    """The parameters of the phase rule (module docstring).

    Attributes
    ----------
    window : float
        Smoothing window in decades of (epoch + 1).
    min_fall : float
        Smallest fall of I(X;T), in the curve's units, that counts as compression.
    min_fraction : float
        Smallest fall as a fraction of the peak that counts as compression.
    n_sigma : float
        How many noise standard deviations the fall must exceed beyond the peak's
        selection allowance.
    noise : {"auto", "errors", "scatter"}
        Where the noise comes from: standard errors, epoch-to-epoch scatter, or the larger.
    snr_threshold : float
        Gradient signal-to-noise ratio below which training is in the diffusion phase.
    """

    window: float = 0.2
    min_fall: float = 0.0
    min_fraction: float = 0.02
    n_sigma: float = 3.0
    noise: str = "auto"
    snr_threshold: float = 1.0

    def __post_init__(self) -> None:
        for name in ("window", "snr_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")
        for name in ("min_fall", "min_fraction", "n_sigma"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if self.noise not in NOISE_SOURCES:
            raise ValueError(f"noise must be one of {NOISE_SOURCES}; got {self.noise!r}")


@dataclass
class Compression:
    """Where I(X;T) peaks and how much, and how significantly, it then falls.

    Attributes
    ----------
    peak_epoch : int or None
        Epoch of the smoothed maximum (None when the curve has no finite value).
    peak, end : float
        Smoothed I(X;T) at the peak and at the last recorded epoch.
    fall, fall_fraction : float
        ``peak - end`` and ``fall / peak``.
    noise : float
        σ_f, the noise of the fall.
    threshold : float
        What the fall had to exceed (selection allowance + n_sigma σ_f, at least
        ``min_fall`` and ``min_fraction`` of the peak).
    compressed : bool
        Whether the fall exceeds the threshold: a compression phase.
    note : str
        A caveat in plain words (the peak sits at the log N ceiling), or "".
    """

    peak_epoch: int | None
    peak: float
    end: float
    fall: float
    fall_fraction: float
    noise: float
    threshold: float
    compressed: bool
    note: str = ""


@dataclass
class Diffusion:
    """The drift-to-diffusion transition of one layer's gradients.

    Attributes
    ----------
    epoch : int or None
        First epoch of the diffusion phase, or None (``note`` says why).
    snr : numpy.ndarray
        The smoothed gradient signal-to-noise ratio at each recorded epoch.
    note : str
        Why there is no transition, or "".
    """

    epoch: int | None
    snr: np.ndarray
    note: str = ""


@dataclass
class LayerPhases:
    """The phases of one layer of one run member.

    Attributes
    ----------
    layer : str
    member : int
        Ensemble member (seed) index.
    compression : Compression
    diffusion : Diffusion or None
        None when no gradient statistics were given.
    group : dict
        Other identifying columns of a tidy table (``run``, ``method``).
    """

    layer: str
    member: int
    compression: Compression
    diffusion: Diffusion | None = None
    group: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """A flat dict: group, layer, member, the compression fields and ``diffusion_epoch``."""
        row = {**self.group, "layer": self.layer, "member": self.member}
        row.update(asdict(self.compression))
        row["diffusion_epoch"] = None if self.diffusion is None else self.diffusion.epoch
        row["diffusion_note"] = "" if self.diffusion is None else self.diffusion.note
        return row


def _check_curve(epochs: np.ndarray, values: np.ndarray, name: str) -> None:
    if values.shape != epochs.shape:
        raise ValueError(
            f"{name} must have one value per epoch ({epochs.shape}); got shape {values.shape}"
        )


def _as_epochs(epochs: Any) -> np.ndarray:
    epochs = np.asarray(epochs, dtype=np.float64)
    if epochs.ndim != 1 or epochs.size == 0:
        raise ValueError(f"epochs must be a non-empty 1-D array; got shape {epochs.shape}")
    if (epochs < 0).any() or (np.diff(epochs) <= 0).any():
        raise ValueError("epochs must be >= 0 and strictly increasing; sort the curves by epoch")
    return epochs


def smooth_log_window(
    epochs: Any, values: Any, window: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moving mean over a window of ``window`` decades of (epoch + 1).

    Parameters
    ----------
    epochs : array_like
        Increasing epochs, shape (E,).
    values : array_like
        Values at those epochs, shape (E,); NaNs are left out of every mean.
    window : float
        Width of the window in decades.

    Returns
    -------
    smoothed : numpy.ndarray
        (E,) moving means (NaN where the window holds no finite value).
    members : numpy.ndarray
        (E, E) bool: which values each mean took.
    counts : numpy.ndarray
        (E,) how many values each mean took.

    Examples
    --------
    >>> smooth_log_window([0, 9, 99], [1.0, 2.0, 3.0], window=0.5)[0].tolist()
    [1.0, 2.0, 3.0]
    """
    epochs = _as_epochs(epochs)
    values = np.asarray(values, dtype=np.float64)
    _check_curve(epochs, values, "values")
    position = np.log10(epochs + 1.0)
    members = np.abs(position[:, None] - position[None, :]) <= window / 2 + 1e-12
    members &= np.isfinite(values)[None, :]
    counts = members.sum(axis=1)
    totals = np.where(members, np.nan_to_num(values), 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = np.where(counts > 0, totals / counts, np.nan)
    return smoothed, members, counts


def scatter_noise(values: Any) -> float:
    """Noise σ of one value from the epoch-to-epoch scatter (robust, trend-free).

    ``1.4826 median|Δ²v| / √6``: the second differences of a locally linear trend vanish,
    and those of independent noise of σ have variance 6σ². NaNs are dropped first; fewer
    than 3 finite values give NaN.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 3:
        return math.nan
    return float(_MAD_TO_SD * np.median(np.abs(np.diff(finite, n=2))) / math.sqrt(6.0))


def _smoothed_noise(
    values: np.ndarray,
    errors: np.ndarray | None,
    members: np.ndarray,
    counts: np.ndarray,
    source: str,
) -> np.ndarray:
    """σ of each smoothed value, from the chosen noise source."""
    safe_counts = np.maximum(counts, 1)
    from_scatter = np.full(len(values), np.nan)
    if source in ("auto", "scatter"):
        from_scatter = scatter_noise(values) / np.sqrt(safe_counts)
    from_errors = np.full(len(values), np.nan)
    if errors is not None and source in ("auto", "errors"):
        squares = np.where(members, np.nan_to_num(errors) ** 2, 0.0).sum(axis=1)
        from_errors = np.sqrt(squares) / safe_counts
    if source == "errors" and errors is None:
        raise ValueError("noise='errors' needs errors=<standard errors of the curve>")
    return np.fmax(from_scatter, from_errors)


def detect_compression(
    epochs: Any,
    i_xt: Any,
    errors: Any = None,
    rule: PhaseRule | None = None,
    *,
    ceiling: float | None = None,
) -> Compression:
    """Peak of I(X;T), its fall to the end of training, and whether that fall is real.

    Parameters
    ----------
    epochs : array_like
        Increasing recorded epochs, shape (E,).
    i_xt : array_like
        I(X;T) of one layer at those epochs, shape (E,), in any units.
    errors : array_like, optional
        Standard errors of ``i_xt``, shape (E,).
    rule : PhaseRule, optional
        The rule (module docstring); default :class:`PhaseRule()`.
    ceiling : float, optional
        log N in the curve's units (N distinct inputs). A peak within 3 σ of it gets a
        note: there the estimate says only that the inputs were told apart, and the peak
        epoch is merely where the smoothed curve first reached the ceiling.

    Returns
    -------
    Compression
        The numbers and the verdict.
    """
    rule = rule or PhaseRule()
    epochs = _as_epochs(epochs)
    values = np.asarray(i_xt, dtype=np.float64)
    _check_curve(epochs, values, "i_xt")
    error_values = None if errors is None else np.asarray(errors, dtype=np.float64)
    if error_values is not None:
        _check_curve(epochs, error_values, "errors")
    smoothed, members, counts = smooth_log_window(epochs, values, rule.window)
    if not np.isfinite(smoothed).any():
        nan = math.nan
        return Compression(None, nan, nan, nan, nan, nan, nan, False)
    peak_row = int(np.nanargmax(smoothed))
    end_row = int(np.flatnonzero(np.isfinite(smoothed))[-1])
    sigma = _smoothed_noise(values, error_values, members, counts, rule.noise)
    peak, end = float(smoothed[peak_row]), float(smoothed[end_row])
    fall = peak - end
    noise = float(math.hypot(sigma[peak_row], sigma[end_row])) if peak_row != end_row else 0.0
    span = math.log10(epochs[end_row] + 1.0) - math.log10(epochs[0] + 1.0)
    independent_windows = max(1.0, span / rule.window)
    allowance = math.sqrt(2.0 * math.log(independent_windows)) * float(sigma[peak_row])
    threshold = max(allowance + rule.n_sigma * noise, rule.min_fall, rule.min_fraction * abs(peak))
    compressed = bool(peak_row != end_row and np.isfinite(threshold) and fall > threshold)
    fraction = fall / peak if peak != 0 else math.nan
    note = ""
    if ceiling is not None and peak >= ceiling - max(3 * float(sigma[peak_row]), 1e-9 * ceiling):
        note = (
            f"the peak sits at the log N ceiling ({ceiling:.4g}): there the estimate says only "
            "that the inputs were told apart, and the peak epoch is where it first got there"
        )
    return Compression(
        int(epochs[peak_row]), peak, end, fall, fraction, noise, float(threshold), compressed, note
    )


def detect_diffusion(
    epochs: Any, grad_mean: Any, grad_std: Any, rule: PhaseRule | None = None
) -> Diffusion:
    """The epoch where the gradient signal-to-noise ratio drops for good (drift → diffusion).

    Parameters
    ----------
    epochs : array_like
        Increasing recorded epochs, shape (E,).
    grad_mean, grad_std : array_like
        ‖E_b[g]‖ and ‖Std_b[g]‖ of one layer's gradients over each epoch's mini-batches,
        shape (E,).
    rule : PhaseRule, optional
        The rule (module docstring).

    Returns
    -------
    Diffusion
        The transition epoch (or None with a note) and the smoothed ratio.
    """
    rule = rule or PhaseRule()
    epochs = _as_epochs(epochs)
    mean = np.asarray(grad_mean, dtype=np.float64)
    spread = np.asarray(grad_std, dtype=np.float64)
    _check_curve(epochs, mean, "grad_mean")
    _check_curve(epochs, spread, "grad_std")
    if (mean < 0).any() or (spread < 0).any():
        raise ValueError("grad_mean and grad_std are norms and must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_snr = np.log(mean / spread)
    log_snr[~np.isfinite(log_snr)] = np.nan  # a zero spread (full batch) has no ratio
    smoothed_log, _, _ = smooth_log_window(epochs, log_snr, rule.window)
    snr = np.exp(smoothed_log)
    finite = np.isfinite(snr)
    if not finite.any():
        return Diffusion(None, snr, "no finite gradient signal-to-noise ratio (full batch?)")
    below = np.where(finite, snr < rule.snr_threshold, True)
    if not below[finite][-1]:
        return Diffusion(None, snr, "still drifting: the ratio is above the threshold at the end")
    # The last epoch that is not below, plus one: from there on every epoch is below.
    above_rows = np.flatnonzero(~below)
    if above_rows.size == 0:
        return Diffusion(None, snr, "no drift phase: the ratio is below the threshold throughout")
    return Diffusion(int(epochs[above_rows[-1] + 1]), snr)


def _per_member(values: Any, name: str, n_epochs: int) -> np.ndarray | None:
    """(E,), (E, L) or (S, E, L) -> (S, E, L)."""
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1] != n_epochs:
        raise ValueError(
            f"{name} must be shaped (epochs,), (epochs, layers) or (members, epochs, layers) "
            f"with {n_epochs} epochs; got {np.shape(values)}"
        )
    return array


def layer_phases(
    epochs: Any,
    i_xt: Any,
    errors: Any = None,
    grad_mean: Any = None,
    grad_std: Any = None,
    *,
    layers: Sequence[str] | None = None,
    rule: PhaseRule | None = None,
    group: Mapping[str, Any] | None = None,
    ceiling: float | None = None,
) -> list[LayerPhases]:
    """Phases of every layer of every member (seed).

    Parameters
    ----------
    epochs : array_like
        Increasing recorded epochs, shape (E,).
    i_xt : array_like
        I(X;T), shaped (E,), (E, L) or (S, E, L) for S members and L layers.
    errors : array_like, optional
        Standard errors of ``i_xt``, same shape.
    grad_mean, grad_std : array_like, optional
        Gradient norms per epoch, same shapes (see :func:`detect_diffusion`).
    layers : sequence of str, optional
        Layer names (default ``layer0``, ``layer1``, ...).
    rule : PhaseRule, optional
        The rule (module docstring).
    group : mapping, optional
        Identifying columns copied into each result (``run``, ``method``).
    ceiling : float, optional
        log N in the curves' units (see :func:`detect_compression`).

    Returns
    -------
    list of LayerPhases
        One per (member, layer), members first.
    """
    epochs = _as_epochs(epochs)
    curves = _per_member(i_xt, "i_xt", len(epochs))
    shape = curves.shape
    extras = {
        name: _per_member(value, name, len(epochs))
        for name, value in (("errors", errors), ("grad_mean", grad_mean), ("grad_std", grad_std))
    }
    for name, value in extras.items():
        if value is not None and value.shape != shape:
            raise ValueError(f"{name} must have the shape of i_xt {shape}; got {value.shape}")
    if (extras["grad_mean"] is None) != (extras["grad_std"] is None):
        raise ValueError("pass both grad_mean and grad_std, or neither")
    names = list(layers) if layers is not None else [f"layer{i}" for i in range(shape[2])]
    if len(names) != shape[2]:
        raise ValueError(f"layers names {len(names)} layers but i_xt has {shape[2]}")
    results = []
    for member in range(shape[0]):
        for column, name in enumerate(names):
            error = None if extras["errors"] is None else extras["errors"][member, :, column]
            compression = detect_compression(
                epochs, curves[member, :, column], error, rule, ceiling=ceiling
            )
            diffusion = None
            if extras["grad_mean"] is not None:
                diffusion = detect_diffusion(
                    epochs,
                    extras["grad_mean"][member, :, column],
                    extras["grad_std"][member, :, column],
                    rule,
                )
            results.append(LayerPhases(name, member, compression, diffusion, dict(group or {})))
    return results


def _mean_and_spread(values: list[float]) -> tuple[float, float]:
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return math.nan, math.nan
    spread = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return float(finite.mean()), spread


def summarize_phases(phases: Sequence[LayerPhases]) -> list[dict[str, Any]]:
    """Mean and spread (sample standard deviation) over members, per group and layer.

    Parameters
    ----------
    phases : sequence of LayerPhases
        As :func:`layer_phases` or :func:`phases_from_table` return.

    Returns
    -------
    list of dict
        One row per (group, layer): ``members``, ``compressed`` (how many members show a
        compression phase), ``at_ceiling`` (how many peak at the log N ceiling),
        ``peak_epoch``, ``fall``, ``fall_fraction`` and ``diffusion_epoch`` each as
        ``<name>_mean`` and ``<name>_std`` (the epochs' spread is that of the epochs
        themselves), and ``with_diffusion`` (how many members have a transition).
    """
    grouped: dict[tuple, list[LayerPhases]] = {}
    for entry in phases:
        key = (tuple(sorted(entry.group.items())), entry.layer)
        grouped.setdefault(key, []).append(entry)
    rows = []
    for (group, layer), entries in grouped.items():
        row: dict[str, Any] = {**dict(group), "layer": layer, "members": len(entries)}
        row["compressed"] = sum(e.compression.compressed for e in entries)
        row["at_ceiling"] = sum(bool(e.compression.note) for e in entries)
        for name in ("peak_epoch", "fall", "fall_fraction"):
            values = [getattr(e.compression, name) for e in entries]
            row[f"{name}_mean"], row[f"{name}_std"] = _mean_and_spread(values)
        transitions = [e.diffusion.epoch for e in entries if e.diffusion is not None]
        row["with_diffusion"] = sum(t is not None for t in transitions)
        row["diffusion_epoch_mean"], row["diffusion_epoch_std"] = _mean_and_spread(transitions)
        rows.append(row)
    return rows


def phase_report(summary: Sequence[Mapping[str, Any]], units: str = "bits") -> list[str]:
    """One line per summarized layer, e.g. for a command's report.

    Parameters
    ----------
    summary : sequence of dict
        Rows of :func:`summarize_phases`.
    units : str
        The curves' units, for the text.

    Returns
    -------
    list of str
    """
    lines = []
    for row in summary:
        where = ", ".join(f"{k}={v}" for k, v in row.items() if k in ("run", "method"))
        head = f"{where + ': ' if where else ''}{row['layer']}"
        text = (
            f"{head}: I(X;T) peaks at epoch {row['peak_epoch_mean']:.0f} "
            f"(± {row['peak_epoch_std']:.0f}), falls {row['fall_mean']:.3f} "
            f"(± {row['fall_std']:.3f}) {units} = {100 * row['fall_fraction_mean']:.1f} %; "
            f"compression beyond noise in {row['compressed']} of {row['members']} members"
        )
        if row["at_ceiling"]:
            text += f"; peak at the log N ceiling in {row['at_ceiling']} members"
        if row["with_diffusion"]:
            text += (
                f"; drift → diffusion at epoch {row['diffusion_epoch_mean']:.0f} "
                f"(± {row['diffusion_epoch_std']:.0f}) in {row['with_diffusion']} members"
            )
        lines.append(text.replace("(± nan) ", "").replace(" (± nan)", ""))
    return lines


def _as_columns(table: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    if isinstance(table, Mapping):
        columns = {name: np.asarray(values) for name, values in table.items()}
    else:
        rows = list(table)
        if not rows:
            raise ValueError("table has no rows")
        columns = {name: np.asarray([row.get(name) for row in rows]) for name in rows[0]}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"every column of table must have the same length; got {lengths}")
    return columns


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for group keys); anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def _floats(values: np.ndarray) -> np.ndarray:
    """A table column as float64, a missing value (None) as NaN."""
    return np.array([np.nan if v is None else v for v in values.tolist()], dtype=np.float64)


def phases_from_table(
    table: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    i_xt: str = "i_xt",
    errors: str | None = "i_xt_error",
    grad_mean: str | None = "grad_mean",
    grad_std: str | None = "grad_std",
    group_by: Sequence[str] = ("run", "method"),
    rule: PhaseRule | None = None,
    ceiling: float | None = None,
) -> list[LayerPhases]:
    """Phases from a tidy table, one row per (run, member, epoch, layer, method).

    Parameters
    ----------
    table : mapping of str to array_like, or sequence of dict
        Columns ``epoch``, ``layer``, optionally ``member`` (default 0) and the
        ``group_by`` columns, plus the named value columns.
    i_xt, errors, grad_mean, grad_std : str or None
        Column names; a missing optional column (or None) is left out.
    group_by : sequence of str
        Columns that tell curves apart besides member and layer; missing ones are ignored.
    rule : PhaseRule, optional
        The rule (module docstring).
    ceiling : float, optional
        log N in the curves' units (see :func:`detect_compression`).

    Returns
    -------
    list of LayerPhases
        One per (group, member, layer), with ``group`` holding the group's values.
    """
    columns = _as_columns(table)
    for needed in ("epoch", "layer", i_xt):
        if needed not in columns:
            raise ValueError(f"table has no column {needed!r}; columns: {sorted(columns)}")
    keys = [name for name in group_by if name in columns]
    member = columns.get("member", np.zeros(len(columns["epoch"]), dtype=int))
    optional = {
        name: columns[column]
        for name, column in (("errors", errors), ("grad_mean", grad_mean), ("grad_std", grad_std))
        if column is not None and column in columns
    }
    curves: dict[tuple, list[int]] = {}
    for row in range(len(member)):
        group = (_plain(columns[k][row]) for k in keys)
        key = (*group, int(member[row]), str(columns["layer"][row]))
        curves.setdefault(key, []).append(row)
    results = []
    for key, rows in curves.items():
        rows = np.asarray(rows)[np.argsort(columns["epoch"][rows], kind="stable")]
        values = {name: _floats(column[rows]) for name, column in optional.items()}
        [entry] = layer_phases(
            columns["epoch"][rows],
            _floats(columns[i_xt][rows]),
            values.get("errors"),
            values.get("grad_mean"),
            values.get("grad_std"),
            layers=[str(key[-1])],
            rule=rule,
            group=dict(zip(keys, key[:-2], strict=True)),
            ceiling=ceiling,
        )
        entry.member = key[-2]
        results.append(entry)
    return results


def gradient_norms(dump: Dump) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """The per-layer gradient norms a dump records (``grad_mean/<layer>``, ``grad_std/<layer>``).

    Parameters
    ----------
    dump : Dump
        An activation dump (:func:`mi_toolkit.dumps.open_dump`), e.g. one ``mi-toolkit
        train`` wrote.

    Returns
    -------
    epochs : numpy.ndarray
        (E,) recorded epochs.
    layers : list of str
        Layers with gradient statistics, in the dump's order.
    grad_mean, grad_std : numpy.ndarray
        (members, E, layers) norms, ready for :func:`layer_phases`.

    Raises
    ------
    ValueError
        When the dump records no gradient statistics.
    """
    first = dump.epoch(dump.epochs[0])
    recorded = [key.split("/", 1)[1] for key in first if key.startswith("grad_mean/")]
    if not recorded:
        raise ValueError(
            "the dump records no gradient statistics (grad_mean/<layer>); train with "
            "gradient tracking (mi-toolkit train records them) or pass grad_mean= and "
            "grad_std= arrays"
        )
    layers = [name for name in dump.layers if name in recorded]
    layers += [name for name in recorded if name not in layers]
    epochs = [dump.epoch(e) for e in dump.epochs]
    mean = np.stack([[arrays[f"grad_mean/{n}"] for n in layers] for arrays in epochs])
    spread = np.stack([[arrays[f"grad_std/{n}"] for n in layers] for arrays in epochs])
    # (E, L, R) -> (R, E, L)
    return (
        np.asarray(dump.epochs),
        layers,
        np.moveaxis(mean, 2, 0).astype(np.float64),
        np.moveaxis(spread, 2, 0).astype(np.float64),
    )
