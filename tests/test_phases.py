"""Phases as numbers: peaks and falls of I(X;T), and the drift-to-diffusion transition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mi_toolkit.dumps import Dump
from mi_toolkit.phases import (
    PhaseRule,
    detect_compression,
    detect_diffusion,
    gradient_norms,
    layer_phases,
    phase_report,
    phases_from_table,
    scatter_noise,
    smooth_log_window,
    summarize_phases,
)

# 150 log-spaced recorded epochs up to 3000, as nets records them.
EPOCHS = np.unique(np.round(np.logspace(0, np.log10(3000), 150)).astype(int))
POSITION = np.log10(EPOCHS + 1.0)
NOISE = 0.1  # bits, the scatter of one recorded value


def rise_and_fall(peak_epoch: int, peak: float, fall: float) -> np.ndarray:
    """I(X;T) rising linearly in log epoch from peak - 4 to ``peak``, then falling by
    ``fall`` linearly in log epoch until the last epoch."""
    top = math.log10(peak_epoch + 1.0)
    rising = peak - 4.0 * (top - POSITION) / (top - POSITION[0])
    falling = peak - fall * (POSITION - top) / (POSITION[-1] - top)
    return np.where(POSITION <= top, rising, falling)


def noisy(curve: np.ndarray, seed: int, scale: float = NOISE) -> np.ndarray:
    return curve + scale * np.random.default_rng(seed).standard_normal(len(curve))


def test_smoothing_averages_within_the_log_window():
    smoothed, _, counts = smooth_log_window([0, 9, 10, 99], [1.0, 2.0, 4.0, 8.0], 0.2)
    # log10(10) = 1 and log10(11) = 1.04 share a window of 0.2 decades; the others are alone.
    assert smoothed.tolist() == [1.0, 3.0, 3.0, 8.0]
    assert counts.tolist() == [1, 2, 2, 1]


def test_scatter_noise_recovers_the_noise_under_a_trend():
    trend = np.linspace(0.0, 30.0, 2000) ** 0.5
    sigma = scatter_noise(noisy(trend, seed=1, scale=0.2))
    # 2000 second differences: the robust estimate's relative error is about 3 %.
    assert sigma == pytest.approx(0.2, rel=0.1)


@pytest.mark.parametrize(("peak_epoch", "fall"), [(30, 2.0), (300, 1.0), (1000, 0.8)])
def test_a_known_peak_and_fall_are_found(peak_epoch, fall):
    truth = rise_and_fall(peak_epoch, peak=8.0, fall=fall)
    result = detect_compression(EPOCHS, noisy(truth, seed=peak_epoch))
    assert result.compressed
    # The smoothed maximum lies within one window (0.2 decades) of the true peak.
    assert abs(math.log10(result.peak_epoch + 1) - math.log10(peak_epoch + 1)) <= 0.2
    # Smoothing lowers the peak by at most half a window's slope; the end is averaged
    # over the last half window (about 10 points), so its noise is about 0.03 bits.
    assert result.fall == pytest.approx(fall, abs=0.25)
    assert result.fall_fraction == pytest.approx(result.fall / result.peak)
    assert result.threshold < result.fall


def test_noise_alone_gives_no_compression():
    # 40 flat noisy curves and 40 that rise to a plateau: none has a phase of compression.
    flat = [detect_compression(EPOCHS, noisy(np.full(len(EPOCHS), 5.0), s)) for s in range(40)]
    plateau = 5.0 * (1.0 - np.exp(-EPOCHS / 50.0))
    rising = [detect_compression(EPOCHS, noisy(plateau, s)) for s in range(40)]
    assert not any(r.compressed for r in flat + rising)
    # ...while the fall they report is of the noise's size, not zero.
    assert 0 < max(r.fall for r in flat) < 5 * NOISE


def test_a_fall_within_the_standard_errors_is_not_compression():
    truth = rise_and_fall(100, peak=8.0, fall=0.3)
    values = noisy(truth, seed=3, scale=0.02)
    errors = np.full(len(EPOCHS), 2.0)  # the estimator says each value is ± 2 bits
    assert detect_compression(EPOCHS, values).compressed  # the scatter alone is small
    verdict = detect_compression(EPOCHS, values, errors)  # noise="auto": the larger
    assert not verdict.compressed
    assert verdict.noise > 0.3


def test_minimum_fall_and_fraction_are_enforced():
    truth = rise_and_fall(100, peak=8.0, fall=0.3)  # 3.75 % of the peak
    values = noisy(truth, seed=4, scale=0.01)
    assert detect_compression(EPOCHS, values).compressed
    assert not detect_compression(EPOCHS, values, rule=PhaseRule(min_fraction=0.05)).compressed
    assert not detect_compression(EPOCHS, values, rule=PhaseRule(min_fall=0.5)).compressed


def test_a_curve_that_keeps_rising_has_its_peak_at_the_end():
    result = detect_compression(EPOCHS, POSITION)
    assert result.peak_epoch == EPOCHS[-1]
    assert result.fall == 0.0
    assert not result.compressed


def test_a_peak_at_the_log_n_ceiling_is_noted():
    # A layer that tells all 4096 inputs apart from epoch 100 on, then falls 2 bits.
    saturated = np.minimum(rise_and_fall(300, peak=13.0, fall=3.0), 12.0)
    result = detect_compression(EPOCHS, saturated, ceiling=12.0)
    assert result.compressed and result.peak == pytest.approx(12.0)
    assert "log N ceiling" in result.note
    below = detect_compression(EPOCHS, rise_and_fall(300, peak=8.0, fall=1.0), ceiling=12.0)
    assert below.note == ""
    [entry] = layer_phases(EPOCHS, saturated, ceiling=12.0)
    [row] = summarize_phases([entry])
    assert row["at_ceiling"] == 1
    assert "peak at the log N ceiling in 1 members" in phase_report([row])[0]


def gradient_curves(transition: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """‖mean‖ falling as (e + 1)^-1/2 so that it meets ‖std‖ = 0.5 at ``transition``,
    both with 20 % multiplicative noise."""
    rng = np.random.default_rng(seed)
    mean = 0.5 * np.sqrt((transition + 1.0) / (EPOCHS + 1.0))
    spread = np.full(len(EPOCHS), 0.5)
    return mean * np.exp(0.2 * rng.standard_normal(len(EPOCHS))), spread * np.exp(
        0.2 * rng.standard_normal(len(EPOCHS))
    )


@pytest.mark.parametrize("transition", [20, 200])
def test_the_drift_to_diffusion_epoch_is_found(transition):
    result = detect_diffusion(EPOCHS, *gradient_curves(transition, seed=transition))
    assert result.epoch is not None
    # log SNR falls by half a decade per decade, so its noise (0.28 in ln, smoothed over
    # about 10 points) moves the crossing by well under 0.2 decades.
    assert abs(math.log10(result.epoch + 1) - math.log10(transition + 1)) <= 0.2
    assert result.snr[-1] < 1 < result.snr[0]


def test_gradients_without_a_transition_say_why():
    flat = np.exp(0.2 * np.random.default_rng(0).standard_normal(len(EPOCHS)))
    drifting = detect_diffusion(EPOCHS, 3.0 * flat, np.ones(len(EPOCHS)))
    assert drifting.epoch is None and "still drifting" in drifting.note
    diffusing = detect_diffusion(EPOCHS, 0.3 * flat, np.ones(len(EPOCHS)))
    assert diffusing.epoch is None and "no drift phase" in diffusing.note


def seed_ensemble() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4 seeds × 2 layers: layer 0 compresses (peak near epoch 100), layer 1 does not."""
    i_xt = np.stack(
        [
            np.stack(
                [
                    noisy(rise_and_fall(int(100 * 1.2**seed), 8.0, 1.5), seed),
                    noisy(np.full(len(EPOCHS), 3.0), seed + 10),
                ],
                axis=1,
            )
            for seed in range(4)
        ]
    )
    curves = [gradient_curves(100, seed) for seed in range(4)]
    mean = np.stack([np.stack([m, m], axis=1) for m, _ in curves])
    spread = np.stack([np.stack([s, s], axis=1) for _, s in curves])
    return i_xt, mean, spread


def test_phases_per_seed_and_their_spread():
    i_xt, mean, spread = seed_ensemble()
    phases = layer_phases(EPOCHS, i_xt, None, mean, spread, layers=["h1", "h2"])
    assert [(p.member, p.layer) for p in phases[:3]] == [(0, "h1"), (0, "h2"), (1, "h1")]
    summary = {row["layer"]: row for row in summarize_phases(phases)}
    assert summary["h1"]["compressed"] == 4 and summary["h2"]["compressed"] == 0
    peaks = [p.compression.peak_epoch for p in phases if p.layer == "h1"]
    assert summary["h1"]["peak_epoch_mean"] == pytest.approx(np.mean(peaks))
    assert summary["h1"]["peak_epoch_std"] == pytest.approx(np.std(peaks, ddof=1))
    assert summary["h1"]["fall_mean"] == pytest.approx(1.5, abs=0.25)
    assert summary["h1"]["with_diffusion"] == 4
    assert abs(math.log10(summary["h1"]["diffusion_epoch_mean"] / 100)) < 0.2
    lines = phase_report(summarize_phases(phases))
    assert lines[0].startswith("h1: I(X;T) peaks at epoch")
    assert "in 4 of 4 members" in lines[0] and "in 0 of 4 members" in lines[1]


def test_a_tidy_table_gives_the_same_phases_as_arrays():
    i_xt, mean, spread = seed_ensemble()
    rows = [
        {
            "run": "tanh",
            "method": "binning",
            "member": member,
            "epoch": int(epoch),
            "layer": layer,
            "i_xt": float(i_xt[member, row, column]),
            "grad_mean": float(mean[member, row, column]),
            "grad_std": float(spread[member, row, column]),
        }
        for member in range(4)
        for row, epoch in enumerate(EPOCHS)
        for column, layer in enumerate(["h1", "h2"])
    ]
    rows.reverse()  # the table's order must not matter
    from_rows = {(p.member, p.layer): p for p in phases_from_table(rows)}
    columns = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    from_columns = {(p.member, p.layer): p for p in phases_from_table(columns)}
    direct = layer_phases(EPOCHS, i_xt, None, mean, spread, layers=["h1", "h2"])
    for entry in direct:
        for table in (from_rows, from_columns):
            other = table[(entry.member, entry.layer)]
            assert other.compression == entry.compression
            assert other.diffusion.epoch == entry.diffusion.epoch
            assert other.group == {"run": "tanh", "method": "binning"}


def test_a_table_with_missing_values_and_no_member_column():
    rows = [
        {"epoch": int(e), "layer": "h1", "i_xt": None if row == 5 else float(v), "run": None}
        for row, (e, v) in enumerate(zip(EPOCHS, rise_and_fall(100, 8.0, 1.5), strict=True))
    ]
    [entry] = phases_from_table(rows)
    assert (entry.member, entry.group) == (0, {"run": None})
    assert entry.compression.compressed and entry.diffusion is None
    assert entry.compression.fall == pytest.approx(1.5, abs=0.25)


def test_gradient_norms_are_read_from_a_dump():
    epochs = [0, 1, 3]

    def load(epoch: int) -> dict[str, np.ndarray]:
        return {
            "act/h1": np.zeros((2, 4, 3)),
            "grad_mean/h1": np.array([epoch, 10.0 + epoch]),
            "grad_std/h1": np.array([1.0, 2.0]),
            "train_loss": np.array([0.5, 0.5]),
        }

    dump = Dump(layers=["h1"], epochs=epochs, members=2, labels=None, _load=load)
    read_epochs, layers, mean, spread = gradient_norms(dump)
    assert read_epochs.tolist() == epochs and layers == ["h1"]
    assert mean.shape == (2, 3, 1)
    assert mean[:, :, 0].tolist() == [[0.0, 1.0, 3.0], [10.0, 11.0, 13.0]]
    assert spread[1, :, 0].tolist() == [2.0, 2.0, 2.0]
    bare = Dump(layers=["h1"], epochs=[0], members=1, labels=None, _load=lambda e: {})
    with pytest.raises(ValueError, match="no gradient statistics"):
        gradient_norms(bare)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="i_xt must have one value per epoch"):
        detect_compression([0, 1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        detect_compression([0, 2, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="window must be > 0"):
        PhaseRule(window=0)
    with pytest.raises(ValueError, match="noise must be one of"):
        PhaseRule(noise="bootstrap")
    with pytest.raises(ValueError, match="pass both grad_mean and grad_std"):
        layer_phases(EPOCHS, POSITION, grad_mean=POSITION)
    with pytest.raises(ValueError, match="grad_mean and grad_std are norms"):
        detect_diffusion([0, 1], [-1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="no column 'i_xt'"):
        phases_from_table({"epoch": [0], "layer": ["a"]})
