"""The compression estimator: lossless PCA, a tiny autoencoder, saving, reuse, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _cases import Z, gaussian_pairs

from mi_toolkit import KL, estimate_mi
from mi_toolkit.estimators import compression
from mi_toolkit.estimators.compression import FittedCompressor, clear_cache, fit_compressor


def embedded_pairs(
    n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """2+2-D Gaussian latents, linearly embedded in 20 and 15 dimensions."""
    u, v, truth = gaussian_pairs(2, n, seed, rho=0.6)
    rng = np.random.default_rng(seed + 100)
    return u @ rng.standard_normal((2, 20)), v @ rng.standard_normal((2, 15)), u, v, truth


def blob_images(n: int, width: int, seed: int) -> np.ndarray:
    """(n, width, width) images of a Gaussian blob at a uniform random centre."""
    centres = np.random.default_rng(seed).uniform(0.2, 0.8, size=(n, 2))
    grid = (np.arange(width) + 0.5) / width
    across = np.exp(-10.0 * (grid - centres[:, :1]) ** 2)
    down = np.exp(-10.0 * (grid - centres[:, 1:]) ** 2)
    return down[:, :, None] * across[:, None, :]


TINY = {"hidden": 32, "max_epochs": 25, "batch_size": 32, "progress": False}


@pytest.fixture
def count_fits(monkeypatch):
    """Count calls of the function that fits one side (the cache starts empty)."""
    clear_cache()
    calls = []
    original = compression.fit_side

    def counted(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(compression, "fit_side", counted)
    yield calls
    clear_cache()


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if any compressor is fitted: errors must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a compressor was fitted before the input was refused")

    monkeypatch.setattr(compression, "fit_side", refuse)
    clear_cache()


def test_pca_of_a_linear_embedding_recovers_the_latent_mi():
    x, y, u, v, truth = embedded_pairs(2000, seed=3)
    inner = KL(whiten=True)
    result = estimate_mi(x, y, "compression", inner=inner, gaussianize=False, shuffle_correction=0)
    # Lossless: PCA keeps the 2 latent dimensions of each side and all of their variance.
    for side in ("x", "y"):
        assert result.details[side]["code_dim"] == 2
        assert result.details[side]["unexplained_variance"] < 1e-12
    assert "lossy_compression" not in result.warning_kinds
    # The codes are an invertible linear map of the latents, to which whitened KL is blind:
    # the same number as on the latents themselves, and so within its error of the truth.
    on_latents = estimate_mi(u, v, inner)
    assert result.value == pytest.approx(on_latents.value, abs=1e-9)
    assert abs(result.value - truth) < Z * result.standard_error


def test_gaussianized_codes_keep_the_mi():
    x, y, _, _, truth = embedded_pairs(2000, seed=3)
    result = estimate_mi(x, y, "compression")  # the defaults: gaussianized, weighted KL
    assert abs(result.value - truth) < Z * result.standard_error


def test_a_lossy_pca_warns_and_estimates_low():
    x, y, _, _, truth = embedded_pairs(2000, seed=4)
    with pytest.warns(UserWarning, match="compression is lossy"):
        result = estimate_mi(x, y, "compression", code_dim=1, inner=KL(whiten=True))
    assert "lossy_compression" in result.warning_kinds
    assert result.details["x"]["unexplained_variance"] > 0.05
    # One of two independent latent pairs is left on each side, at best half of the MI
    # (the data-processing inequality), well below the truth.
    assert result.value < truth - Z * result.standard_error


@pytest.mark.parametrize("decoder", ["mlp", "conv"])
def test_a_tiny_autoencoder_round_trips_small_images(decoder):
    images = blob_images(300, 8, seed=0)
    fitted = fit_compressor(images, "autoencoder", code_dim=2, decoder=decoder, **TINY)
    assert fitted.config["decoder"] == decoder
    assert fitted.sample_shape == (8, 8) and fitted.code_dim == 2
    rows = images.reshape(300, -1)
    back = fitted.reconstruct(rows)
    relative_error = np.mean((back - rows) ** 2) / images.var()
    # A constant guess scores 1; two numbers (the blob's centre) describe each image.
    assert relative_error < 0.1
    assert fitted.unexplained < 0.1
    codes = fitted.encode(rows)
    assert codes.shape == (300, 2) and np.all(np.abs(codes) < 1)


def sliced_distance(codes: np.ndarray, slices: int, seed: int) -> float:
    """The training's sliced Wasserstein penalty of a numpy batch of codes."""
    import torch

    from mi_toolkit.estimators._compression_training import (
        random_directions,
        sliced_wasserstein_to_normal,
    )

    directions = random_directions(codes.shape[1], slices, torch.Generator().manual_seed(seed))
    return float(sliced_wasserstein_to_normal(torch.as_tensor(codes), directions))


def test_the_sliced_penalty_is_near_zero_for_normal_codes_and_grows_off_them():
    rng = np.random.default_rng(0)
    normal = rng.standard_normal((2000, 4))
    at_rest = sliced_distance(normal, 256, seed=1)
    # Sorted N(0, 1) samples against N(0, 1)'s quantiles: O(log B / B) off zero.
    assert at_rest < 0.01
    # Doubled codes: each projection is N(0, 4), at squared distance (2 − 1)² = 1 from N(0, 1).
    assert sliced_distance(2 * normal, 256, seed=1) == pytest.approx(1.0 + at_rest, abs=0.05)
    # Shifted by μ = (1, 0, 0, 0): the squared shift of a projection on a random unit
    # vector is 1/4 on average over the sphere of R^4 (256 directions: SE ≈ 0.015).
    shifted = sliced_distance(normal + np.array([1.0, 0, 0, 0]), 256, seed=1)
    assert shifted - at_rest == pytest.approx(0.25, abs=0.06)


def test_the_prior_penalty_pulls_linear_codes_towards_a_standard_normal(tmp_path):
    images = blob_images(300, 8, seed=2)
    common = {"code_dim": 2, "code_activation": "linear", **TINY}
    free = fit_compressor(images, "autoencoder", **common)
    pulled = fit_compressor(images, "autoencoder", prior_weight=1.0, **common)
    rows = images.reshape(300, -1)
    codes = pulled.encode(rows)
    # The penalty brings the held-out codes closer to N(0, I) than free training does, and
    # close to it: unit spread (a tanh code could not exceed 1).
    assert pulled.config["prior_distance"] < free.config["prior_distance"] / 2
    assert pulled.config["prior_distance"] < 0.1
    assert np.all(np.abs(codes.std(axis=0) - 1) < 0.3)
    assert np.all(np.abs(codes.mean(axis=0)) < 0.3)
    assert pulled.unexplained < 0.2  # it still reconstructs
    # The option survives a save and load: same codes, same settings.
    pulled.save(tmp_path / "pulled.npz")
    loaded = FittedCompressor.load(tmp_path / "pulled.npz")
    np.testing.assert_array_equal(loaded.encode(rows), codes)
    assert (loaded.config["code_activation"], loaded.config["prior_weight"]) == ("linear", 1.0)


def test_the_shuffle_correction_subtracts_the_estimate_on_shuffled_codes():
    x, y, _, _, truth = embedded_pairs(1000, seed=8)
    plain = estimate_mi(x, y, "compression", shuffle_correction=0)
    assert "shuffled_estimates" not in plain.details
    fixed = estimate_mi(x, y, "compression", shuffle_correction=4)
    nulls = fixed.details["shuffled_estimates"]
    assert nulls.shape == (4,)
    # Shuffling y's rows makes the pair independent: the shuffled estimates are near 0,
    # far below the estimate of the real pair.
    assert abs(nulls.mean()) < Z * plain.standard_error
    assert plain.value > truth / 2
    assert fixed.value == pytest.approx(plain.value - nulls.mean(), abs=1e-12)
    assert fixed.components["I(shuffled)"] == pytest.approx(nulls.mean())
    assert fixed.standard_error >= plain.standard_error
    again = estimate_mi(x, y, "compression", shuffle_correction=4)
    assert again.value == fixed.value  # seeded by random_state
    # The default corrects with 10 shuffles (the first 4 are those above: same seed).
    default = estimate_mi(x, y, "compression")
    assert default.details["shuffled_estimates"].shape == (10,)
    np.testing.assert_array_equal(default.details["shuffled_estimates"][:4], nulls)
    assert default.value == pytest.approx(
        plain.value - default.details["shuffled_estimates"].mean(), abs=1e-12
    )


def test_the_shuffle_correction_removes_the_bias_at_independence_on_curved_codes():
    # Independent sides, each a 4-D Gaussian pushed through tanh(z·M) (invertible, so the
    # true MI is 0): bounded, curved codes like an autoencoder's, on which weighted
    # whitened KL is biased far below 0 (seed 0: −1.84, SE 0.79).
    rng = np.random.default_rng(0)
    mixing = rng.normal(0, 1.5, (4, 4))
    x, y = (np.tanh(rng.standard_normal((1000, 4)) @ mixing) for _ in range(2))
    plain = estimate_mi(x, y, "compression", compressor=None, shuffle_correction=0)
    fixed = estimate_mi(x, y, "compression", compressor=None, shuffle_correction=4)
    assert plain.value < -1.0
    assert abs(fixed.value) < 0.2


@pytest.mark.parametrize("kind", ["pca", "autoencoder"])
def test_a_saved_compressor_gives_the_same_codes_when_reloaded(kind, tmp_path):
    images = blob_images(200, 8, seed=1)
    fitted = fit_compressor(images, kind, code_dim=2, **(TINY if kind == "autoencoder" else {}))
    path = tmp_path / "compressor.npz"
    fitted.save(path)
    loaded = FittedCompressor.load(path)
    rows = images.reshape(200, -1)
    np.testing.assert_array_equal(loaded.encode(rows), fitted.encode(rows))
    assert (loaded.kind, loaded.sample_shape, loaded.unexplained) == (
        kind,
        (8, 8),
        fitted.unexplained,
    )


def test_x_is_compressed_once_across_the_epochs_of_a_run(count_fits):
    x, _, u, _, _ = embedded_pairs(500, seed=5)
    rng = np.random.default_rng(6)
    layers = [np.tanh(u * scale + rng.standard_normal(u.shape)) for scale in (0.5, 1.0, 2.0)]
    values = [
        estimate_mi(x, layer, "compression", compressor=("pca", None)).value for layer in layers
    ]
    assert count_fits == ["pca"]  # one fit of X, reused from the cache for later epochs
    assert values[0] < values[1] < values[2]  # the layers carry more of u each time
    # An explicitly fitted compressor is never refitted; with the cache off, every call fits.
    fitted = fit_compressor(x, "pca")
    count_fits.clear()
    estimate_mi(x, layers[0], "compression", compressor=(fitted, None))
    assert count_fits == []
    for layer in layers:
        estimate_mi(x, layer, "compression", compressor=("pca", None), cache=False)
    assert count_fits == ["pca"] * 3


def test_a_discrete_side_is_left_as_it_is():
    x, _, u, _, _ = embedded_pairs(600, seed=7)
    labels = (u[:, 0] > 0).astype(int)
    result = estimate_mi(x, labels, "compression", inner=KL(whiten=True))
    assert result.details["y"]["reason"] == "discrete"
    # I(u; sign(u_0)) = log 2 at most, and the kNN estimate against labels is close to it.
    assert 0.5 < result.value < math.log(2) + 0.1


@pytest.mark.parametrize(
    ("x", "params", "message"),
    [
        (blob_images(30, 8, 0), {"compressor": "autoencoder", "code_dim": 2}, "each needs"),
        (
            blob_images(60, 8, 0),
            {"compressor": "autoencoder", "code_dim": 2, "fit_x": np.zeros((60, 4, 16))},
            "shape",
        ),
        (np.ones((60, 3)).cumsum(0), {"code_dim": 5}, "larger than its 3 features"),
        (np.ones((60, 3)).cumsum(0), {"fit_x": np.zeros((60, 4))}, "fit_x has 4 features"),
        (blob_images(60, 6, 0), {"compressor": "autoencoder", "code_dim": 2}, "multiples of 4"),
    ],
)
def test_bad_input_is_refused_before_any_fit(x, params, message, no_training):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((len(x), 2))
    with pytest.raises(ValueError, match=message):
        estimate_mi(x, y, "compression", **params)


def test_bad_input_on_y_is_refused_before_x_is_fitted(no_training):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="larger than"):
        estimate_mi(
            rng.standard_normal((60, 4)),
            rng.standard_normal((60, 2)),
            "compression",
            code_dim=(2, 3),
        )


def test_a_fitted_compressor_refuses_images_of_another_shape(no_training):
    fitted = FittedCompressor(
        "pca",
        64,
        (8, 8),
        2,
        0.0,
        {"shift": np.zeros(64), "scale": np.ones(1), "components": np.eye(2, 64)},
    )
    images = np.zeros((40, 4, 16))
    with pytest.raises(ValueError, match="images of shape"):
        estimate_mi(images, np.arange(40.0), "compression", compressor=(fitted, None))


def test_bad_parameters_are_refused_when_built():
    with pytest.raises(ValueError, match="needs code_dim"):
        compression.CompressionEstimator(compressor="autoencoder")
    with pytest.raises(ValueError, match="compressor must be"):
        compression.CompressionEstimator(compressor="umap")
    with pytest.raises(ValueError, match="unknown method"):
        compression.CompressionEstimator(inner="nope")
    with pytest.raises(ValueError, match="another method"):
        compression.CompressionEstimator(inner="compression")
    with pytest.raises(ValueError, match="decoder must be one of"):
        compression.CompressionEstimator(decoder="deconv")
    with pytest.raises(ValueError, match="code_activation must be one of"):
        compression.CompressionEstimator(code_activation="relu")
    with pytest.raises(ValueError, match="code_activation='linear'"):
        compression.CompressionEstimator(prior_weight=1.0)
    with pytest.raises(ValueError, match="shuffle_correction must be 0"):
        compression.CompressionEstimator(shuffle_correction=1)


def test_small_data_gets_smaller_batches_so_that_a_fit_still_takes_its_steps():
    from mi_toolkit.estimators._compression_training import _MIN_STEPS, _batch_size

    # 4,000 training rows (n = 5,000): the batch size as given, 8 steps an epoch.
    assert _batch_size(512, 4000, 30) == 512
    # 240 rows: batches of 36, 7 steps an epoch, 210 in 30 epochs instead of 30.
    assert _batch_size(512, 240, 30) == 36
    assert math.ceil(240 / 36) * 30 >= _MIN_STEPS
    assert _batch_size(512, 3, 1) == 1


def test_the_default_inner_takes_ten_neighbours_on_codes_where_its_weights_allow():
    # k = 10 measured better on 4+4-wide codes (benchmarks/results/compression.md, fifth
    # pass); from 12 joint columns on, k = 10's weights reach ±64, so the own k stays.
    from mi_toolkit.estimators.kl import KLEstimator

    default = compression.DEFAULT_INNER
    assert compression.inner_for_codes(default, 8, 5000).k == 10
    assert compression.inner_for_codes(default, 11, 5000).k == 10
    assert compression.inner_for_codes(default, 12, 5000).k is None
    chosen = KLEstimator(k=3, weighted=True, whiten=True)
    assert compression.inner_for_codes(chosen, 8, 5000) is chosen
    x = np.random.default_rng(0).standard_normal((400, 4))
    y = x + 0.5 * np.random.default_rng(1).standard_normal((400, 4))
    result = estimate_mi(x, y, "compression", compressor=None, shuffle_correction=0)
    assert result.details["inner_details"]["k"] == {"x": 10, "y": 10, "(x, y)": 10}
