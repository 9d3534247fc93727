"""Models of mi_toolkit.nets: activations, initialisation, binary gradients, noise, ensemble."""

import math

import numpy as np
import pytest
import torch
from _cases import Z

from mi_toolkit.nets import MLP, ActivationRecorder, BinaryMLP, ConvNet, GaussianNoise, MLPEnsemble
from mi_toolkit.nets.activations import sign_swish, sign_swish_derivative
from mi_toolkit.nets.binary import binarize, clip_latent_weights, sign
from mi_toolkit.nets.ensemble import FlatAdam, FlatSGD

torch.set_num_threads(1)
SIZES = (12, 10, 7, 5, 4, 3, 2)
POINTS = torch.tensor(
    [-2.0, -1.0, -0.75, -0.3, 0.0, 0.1, 0.5, 0.999, 1.0, 1.5], dtype=torch.float64
)


def _surrogate_grad(name: str, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    binarize(x, name).sum().backward()
    return x.grad


def test_sign_forward_maps_zero_to_plus_one():
    out = binarize(POINTS, "ste")
    expected = [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(sign(torch.zeros(3)).numpy(), [1, 1, 1])


def test_ste_gradient():
    expected = [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    np.testing.assert_array_equal(_surrogate_grad("ste", POINTS).numpy(), expected)


def test_approx_sign_gradient():
    expected = [0, 0, 0.5, 1.4, 2, 1.8, 1, 0.002, 0, 0]
    np.testing.assert_allclose(_surrogate_grad("approx-sign", POINTS).numpy(), expected, atol=1e-12)


def test_swish_sign_gradient_matches_the_published_formula():
    beta = 5.0
    x = POINTS.numpy()
    formula = beta * (2 - beta * x * np.tanh(beta * x / 2)) / (1 + np.cosh(beta * x))
    np.testing.assert_allclose(_surrogate_grad("swish-sign", POINTS).numpy(), formula, rtol=1e-12)
    # At 0 the formula is β·2/2 = β.
    assert _surrogate_grad("swish-sign", torch.zeros(1, dtype=torch.float64)).item() == 5.0


def test_sign_swish_derivative_is_the_swish_sign_surrogate():
    x = POINTS.clone().requires_grad_(True)
    sign_swish(x, 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _surrogate_grad("swish-sign", POINTS), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), sign_swish_derivative(POINTS).numpy(), rtol=1e-12)
    # g saturates at ±1 and is odd.
    big = torch.tensor([-50.0, 50.0], dtype=torch.float64)
    np.testing.assert_allclose(sign_swish(big).numpy(), [-1, 1], atol=1e-12)


def test_binary_mlp_is_binary_and_clips_latent_weights():
    model = BinaryMLP(SIZES, "approx-sign", seed=1)
    x = torch.rand(64, 12)
    recorder = ActivationRecorder(model, [f"layers.layer{i}" for i in range(1, 6)])
    for values in recorder.record(x).values():
        assert set(np.unique(values)) <= {-1.0, 1.0}
    optimizer = torch.optim.SGD(model.parameters(), lr=100.0)
    torch.nn.functional.cross_entropy(model(x), torch.randint(0, 2, (64,))).backward()
    optimizer.step()
    clip_latent_weights(model)
    weights = torch.cat([b[0].weight.reshape(-1) for b in model.layers.values()])
    assert weights.abs().max() == 1.0


def test_unknown_surrogate_or_activation():
    with pytest.raises(ValueError, match="approx-sign"):
        BinaryMLP(SIZES, "identity")
    with pytest.raises(ValueError, match="sign-swish"):
        MLP(SIZES, "gelu")
    with pytest.raises(ValueError, match="sizes"):
        MLP((12,), "tanh")


@pytest.mark.parametrize("init,fan", [("szt", "in"), ("saxe", "out")])
def test_truncated_normal_init(init, fan):
    model = MLP((400, 900, 2), "tanh", init=init, seed=0)
    w = model.layers["layer1"][0].weight.detach().numpy()
    sigma = 1 / math.sqrt(400 if fan == "in" else 900)
    # A normal truncated at ±2σ has standard deviation 0.87962σ; with 360 000 draws the
    # sample std has relative standard error about 1/√(2·360 000) ≈ 0.0012 (measured +0.08%).
    assert w.std() == pytest.approx(0.87962 * sigma, rel=Z / math.sqrt(2 * 360_000))
    assert np.abs(w).max() <= 2 * sigma
    assert (model.layers["layer1"][0].bias == 0).all()


def test_noise_injection():
    noise = GaussianNoise(0.5)
    x = torch.full((20000, 1), 3.0)
    torch.manual_seed(0)
    noisy = noise(x)
    # Sample std of 20 000 normals: relative standard error 1/√40 000 = 0.5 % (measured
    # +0.46% and -0.06%); their mean: standard error 0.5/√20 000 = 0.0035 (measured -0.006).
    assert noisy.std().item() == pytest.approx(0.5, rel=Z / math.sqrt(40_000))
    assert noisy.mean().item() == pytest.approx(3.0, abs=Z * 0.5 / math.sqrt(20_000))
    relative = GaussianNoise(0.1, relative=True)
    assert relative(x).std().item() == pytest.approx(0.3, rel=Z / math.sqrt(40_000))
    noise.eval()
    assert torch.equal(noise(x), x)
    kept = GaussianNoise(0.5, at_eval=True).eval()
    assert not torch.equal(kept(x), x)
    model = MLP(SIZES, "tanh", noise=GaussianNoise(0.1))
    assert sum(isinstance(m, GaussianNoise) for m in model.modules()) == 6


def test_conv_classifier_shapes():
    model = ConvNet((8, 8), 10, seed=0)
    recorder = ActivationRecorder(model, ["layers.conv1", "layers.conv2", "layers.dense"])
    shapes = {k: v.shape for k, v in recorder.record(torch.rand(5, 64)).items()}
    assert shapes == {"layers.conv1": (5, 128), "layers.conv2": (5, 64), "layers.dense": (5, 32)}
    assert model(torch.rand(5, 64)).shape == (5, 10)


@pytest.mark.parametrize("activation", ["tanh", "relu", "hardtanh", "sign-swish", "linear"])
def test_ensemble_gradient_equals_autograd(activation):
    ensemble = MLPEnsemble(SIZES, activation, seeds=(3, 4), dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 32, 12, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 2, (2, 32), generator=generator)
    ensemble.gradient(x, torch.nn.functional.one_hot(y, 2).double())
    for member, seed in enumerate((3, 4)):
        model = MLP(SIZES, activation, seed=seed).double()
        torch.nn.functional.cross_entropy(model(x[member]), y[member]).backward()
        linears = [block[0] for block in model.layers.values()]
        for layer, linear in enumerate(linears):
            np.testing.assert_allclose(
                ensemble.grad_weights[layer][member].numpy(),
                linear.weight.grad.T.numpy(),
                atol=1e-14,
            )
            np.testing.assert_allclose(
                ensemble.grad_biases[layer][member, 0].numpy(), linear.bias.grad.numpy(), atol=1e-14
            )


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_ensemble_optimisers_match_torch_optim(optimizer):
    ensemble = MLPEnsemble(SIZES, "tanh", seeds=(5,), dtype=torch.float64)
    model = MLP(SIZES, "tanh", seed=5).double()
    if optimizer == "adam":
        flat, reference = (
            FlatAdam(ensemble.params, 0.01),
            torch.optim.Adam(model.parameters(), 0.01),
        )
    else:
        flat = FlatSGD(ensemble.params, 0.1, momentum=0.9)
        reference = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    for _ in range(20):
        x = torch.rand(16, 12, generator=generator, dtype=torch.float64)
        y = torch.randint(0, 2, (16,), generator=generator)
        ensemble.gradient(x[None], torch.nn.functional.one_hot(y, 2).double()[None])
        flat.step(ensemble.grads)
        reference.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        reference.step()
    copy = ensemble.to_module(0)
    for ours, theirs in zip(copy.parameters(), model.parameters(), strict=True):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)


def test_recorder_records_what_the_ensemble_computes():
    ensemble = MLPEnsemble(SIZES, "sign-swish", seeds=(0, 1), beta=3.0)
    x = torch.rand(50, 12, generator=torch.Generator().manual_seed(3))
    layers, _ = ensemble.forward_all(x)
    names = [f"layers.{n}" for n in ensemble.layer_names()]
    softmax = {"layers.output": lambda z: torch.softmax(z, dim=1)}
    for member in (0, 1):
        recorded = ActivationRecorder(ensemble.to_module(member), names, softmax).record(x)
        for name, ours in zip(names, layers, strict=True):
            # float32 both ways, summed in different orders: a few ulps (1.2e-7) of values ~1.
            np.testing.assert_allclose(recorded[name], ours[member].numpy(), rtol=1e-5, atol=1e-6)


def test_recorder_rejects_unknown_layers():
    with pytest.raises(ValueError, match="unknown"):
        ActivationRecorder(MLP(SIZES), ["layers.layer9"])
