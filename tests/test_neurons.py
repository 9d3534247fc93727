"""Neuron importance: per-neuron information, selectivity and cumulative ablation."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from mi_toolkit import estimate_mi
from mi_toolkit.neurons import (
    ablation_order,
    class_selectivity,
    cumulative_ablation,
    neuron_information,
)
from mi_toolkit.result import MIToolkitWarning


def test_importing_the_module_does_not_load_torch():
    code = (
        "import sys, mi_toolkit.neurons, mi_toolkit.phases, mi_toolkit.plots; "
        "print('torch' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_per_neuron_information_against_known_values():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 4000)
    copy = labels.astype(float)  # carries the label: 1 bit
    noise = rng.standard_normal(4000)  # independent of it: 0 bits
    dead = np.zeros(4000)  # a dead ReLU
    info = neuron_information(np.stack([copy, noise, dead], axis=1), labels)
    # The copy's two clusters fall in two of the 33 levels: H(T) = I(T;Y) = H(Y).
    h_y = estimate_mi(labels, labels, "binning", units="bits").value
    assert info.mi[0] == pytest.approx(h_y, abs=1e-12)
    assert info.entropy[0] == pytest.approx(h_y, abs=1e-12)
    # Noise: the plug-in bias is about (occupied bins - 1)/(2N ln 2) bits (Miller 1955).
    occupied = len(np.unique(np.round((noise - noise.min()) * 32 / np.ptp(noise))))
    assert 0 <= info.mi[1] < 3 * (occupied - 1) / (2 * 4000 * math.log(2))
    assert info.entropy[1] > 3.0  # ~33 levels of a Gaussian
    assert (info.mi[2], info.entropy[2], info.selectivity[2]) == (0.0, 0.0, 0.0)
    assert info.mi_error[0] >= 0 and info.units == "bits" and info.method == "binning"
    assert info.params["n_bits"] == 5


def test_another_method_can_be_passed():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 2000)
    t = labels + rng.standard_normal(2000)
    info = neuron_information(t[:, None], labels, "ksg", units="nats", k=5)
    assert info.mi[0] == pytest.approx(estimate_mi(t, labels, "ksg", k=5).value)
    assert math.isnan(info.entropy[0])  # ksg has no entropy


def test_class_selectivity_of_constructed_neurons():
    labels = np.repeat([0, 1, 2], 10)
    one_class = (labels == 1).astype(float)  # responds to one class only
    uniform = np.ones(30)
    half = np.where(labels == 0, 3.0, 1.0)  # (3 - 1) / (3 + 1)
    selectivity = class_selectivity(np.stack([one_class, uniform, half], axis=1), labels)
    assert selectivity.tolist() == [1.0, 0.0, 0.5]
    with pytest.warns(MIToolkitWarning, match="shifted by its minimum"):
        shifted = class_selectivity(np.stack([one_class - 1.0], axis=1), labels)
    assert shifted.tolist() == [1.0]


def test_ablation_orders():
    scores = [0.2, 0.9, 0.2, 0.5]
    assert ablation_order(scores, "descending").tolist() == [1, 3, 0, 2]
    assert ablation_order(scores, "ascending").tolist() == [0, 2, 3, 1]
    random = ablation_order(scores, "random", seed=3)
    assert sorted(random.tolist()) == [0, 1, 2, 3]
    assert random.tolist() == ablation_order(scores, "random", seed=3).tolist()
    with pytest.raises(ValueError, match="order must be one of"):
        ablation_order(scores, "sideways")


def test_cumulative_ablation_calls_the_model_with_growing_sets():
    seen = []

    def evaluate(units):
        seen.append(sorted(units.tolist()))
        return 1.0 - 0.1 * len(units)

    curves = cumulative_ablation(evaluate, [0.1, 0.3, 0.2], random_seeds=[0, 1], layer="h")
    assert curves.n_ablated.tolist() == [0, 1, 2, 3]
    assert seen[:4] == [[], [1], [1, 2], [0, 1, 2]]  # descending: 1, then 2, then 0
    assert curves.accuracy["descending"] == pytest.approx([1.0, 0.9, 0.8, 0.7])
    assert curves.random.shape == (2, 4)


torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from mi_toolkit.neurons import ablate_layer, model_accuracy, units_zeroed  # noqa: E402


class LabelAndNoise(nn.Module):
    """A hand-built network: hidden units 0-1 copy the label's sign, 2-5 copy noise inputs,
    and the output reads every unit (the noise units with small weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
        self.out = nn.Linear(6, 2)
        with torch.no_grad():
            self.hidden[0].weight.copy_(torch.eye(6) * 3.0)
            self.hidden[0].bias.zero_()
            readout = torch.tensor([1.0, 1.0, 0.3, 0.3, 0.3, 0.3])
            self.out.weight.copy_(torch.stack([-readout, readout]))
            self.out.bias.zero_()

    def forward(self, x):
        return self.out(self.hidden(x))


def label_and_noise_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    signal = (2 * y - 1)[:, None] + 0.3 * rng.standard_normal((n, 2))
    x = np.concatenate([signal, rng.standard_normal((n, 4))], axis=1)
    return torch.tensor(x, dtype=torch.float32), y


def test_descending_ablation_hurts_more_than_ascending_on_a_constructed_network():
    model = LabelAndNoise()
    x_train, y_train = label_and_noise_data(4000, seed=0)
    x_test, y_test = label_and_noise_data(4000, seed=1)
    with torch.no_grad():
        hidden = model.hidden(x_train).numpy()
    info = neuron_information(hidden, y_train)
    # The two label units carry nearly 1 bit; the noise units nearly nothing.
    assert info.mi[:2].min() > 0.8 and info.mi[2:].max() < 0.02
    curves = ablate_layer(model, "hidden", x_test, y_test, info.mi, random_seeds=range(5))
    full = model_accuracy(model, x_test, y_test)
    for curve in (*curves.accuracy.values(), *curves.random):
        assert curve[0] == full  # nothing zeroed yet
        assert curve[-1] == pytest.approx(np.mean(y_test == 0))  # all zeroed: logits 0, class 0
    descending, ascending = curves.accuracy["descending"], curves.accuracy["ascending"]
    # Zeroing the two label units first leaves only noise (about chance); zeroing the
    # noise units first leaves the label units, which decide alone (better than full).
    assert descending[2] < 0.6 and ascending[4] > full
    assert descending[1:-1].max() < ascending[1:-1].min()
    # Random orders lie between the two on average.
    assert descending.sum() < curves.random.mean(axis=0).sum() < ascending.sum()


def test_ablation_curves_of_a_tiny_trained_nets_model():
    from mi_toolkit.nets.models import MLP

    rng = np.random.default_rng(2)
    centres = rng.standard_normal((3, 4)) * 2.0
    y = rng.integers(0, 3, 1200)
    x = torch.tensor(centres[y] + rng.standard_normal((1200, 4)), dtype=torch.float32)
    model = MLP((4, 8, 3), activation="relu", seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: more threads only contend on a busy machine
    try:
        for _ in range(25):  # full batch: deterministic
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[:800]), torch.as_tensor(y[:800]))
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    accuracy = model_accuracy(model, x[800:], y[800:])
    assert accuracy > 0.8
    with torch.no_grad():
        hidden = model.layers["layer1"](x[:800]).numpy()
    info = neuron_information(hidden, y[:800])
    curves = ablate_layer(model, "layers.layer1", x[800:], y[800:], info.mi, random_seeds=[0, 1])
    assert curves.layer == "layers.layer1" and curves.n_ablated.tolist() == list(range(9))
    assert curves.accuracy["descending"][0] == curves.accuracy["ascending"][0] == accuracy
    # The hooks are gone afterwards: the model is as trained.
    assert model_accuracy(model, x[800:], y[800:]) == accuracy
    # With every unit zeroed the output is the next block's response to zeros: one class.
    with torch.no_grad():
        constant = int(model.layers["output"](torch.zeros(1, 8)).argmax())
    for curve in (*curves.accuracy.values(), *curves.random):
        assert curve[-1] == pytest.approx(np.mean(y[800:] == constant))
    assert curves.random.shape == (2, 9) and curves.importance.tolist() == info.mi.tolist()


def test_units_zeroed_checks_its_arguments():
    model = LabelAndNoise()
    x, _ = label_and_noise_data(10, seed=0)
    with pytest.raises(ValueError, match="'nope' is not a module of the model"):
        with units_zeroed(model, "nope", [0]):
            pass
    with pytest.raises(ValueError, match="unit 6 is out of range: 'hidden' has 6 units"):
        with units_zeroed(model, "hidden", [6]):
            model(x)
    with units_zeroed(model, "hidden", [0, 5]):
        zeroed = model.hidden(x)
    assert torch.all(zeroed[:, [0, 5]] == 0) and torch.all(zeroed[:, 1:5] != 0)
    assert torch.all(model.hidden(x)[:, 0] != 0)  # hook removed


def test_units_of_a_convolution_are_its_flattened_outputs():
    # As the activation recorder stores a layer: (channels, height, width) flattened.
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    x = torch.ones(3, 1, 2, 2)
    with units_zeroed(model, "0", [0, 5]):  # channel 0 (0, 0) and channel 1 (0, 1)
        out = model(x)
    assert out[:, 0, 0, 0].eq(0).all() and out[:, 1, 0, 1].eq(0).all()
    assert int(out.eq(0).sum()) == 2 * 3
