"""Speed of ``mi_toolkit.nets`` training against a plain torch loop, measured in one run.

The goal (issue 5): 8000 epochs of the 12-bit network 12-10-7-5-4-3-2 (3277 training
samples, mini-batches of 256, Adam), recording the 274 epochs of Shwartz-Ziv & Tishby's
grid on all 4096 inputs, in ≤ 60 s on 2 shared CPU cores; 50 seeds as one ensemble in
≤ 10 min.

The peer is the loop one writes without the toolkit: ``nn.Sequential``, ``torch.optim.Adam``,
a shuffled mini-batch loop, and at each recorded epoch a forward pass with hooks saving
every layer with ``np.savez``. Both run on one torch thread (two threads make every tiny
kernel wait for a thread hand-off: 20× slower on this machine; see TrainConfig.num_threads).

Full runs of the peer take minutes, so each side is timed as
``time = epochs · t_epoch + records · t_record``, with t_epoch from a run of a few hundred
epochs without recording and t_record from recording a few times; for the single-seed
toolkit run the full 8000 epochs are also timed, which checks the extrapolation.
Set ``MI_BENCH_FULL=1`` to also run the 50-seed ensemble for all 8000 epochs (about 7 GB of
activations in a temporary directory).

Run with ``make bench`` or ``python benchmarks/bench_nets.py``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mi_toolkit.nets import TrainConfig, record_epochs, train
from mi_toolkit.nets.config import prepare_data
from mi_toolkit.nets.engines import EnsembleEngine
from mi_toolkit.nets.training import _threads

EPOCHS = 8000
GRID = record_epochs("log", EPOCHS)
CONFIG = TrainConfig(lr=1e-4, epochs=EPOCHS, record="log", restart_epoch=None, num_threads=1)


def _plain_loop(epochs: int, record: set[int], out: Path, seed: int = 0) -> tuple[float, float]:
    """The peer: a straightforward torch training loop with hook-based recording.

    Returns
    -------
    training, recording : float
        The seconds spent training and the seconds spent recording.
    """
    prepared = prepare_data(CONFIG)
    x_train, y_train = prepared.x_train, prepared.onehot_train.argmax(dim=1)
    torch.manual_seed(seed)
    sizes = (12, 10, 7, 5, 4, 3, 2)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    model = nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    captured: dict[str, torch.Tensor] = {}
    recorded = [m for m in model if isinstance(m, nn.Tanh)] + [model[-1]]
    for i, module in enumerate(recorded):
        module.register_forward_hook(lambda m, inp, o, i=i: captured.__setitem__(f"l{i}", o))
    n = len(x_train)
    training = recording = 0.0
    for epoch in range(epochs):
        start_epoch = time.perf_counter()
        order = torch.randperm(n)
        for start in range(0, n, 256):
            rows = order[start : start + 256]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[rows]), y_train[rows])
            loss.backward()
            optimizer.step()
        start_record = time.perf_counter()
        training += start_record - start_epoch
        if epoch in record:
            with torch.no_grad():
                model(prepared.x_all)
            arrays = {k: v.numpy() for k, v in captured.items()}
            arrays["l5"] = torch.softmax(captured["l5"], dim=1).numpy()
            np.savez(out / f"epoch_{epoch:06d}.npz", **arrays)
            recording += time.perf_counter() - start_record
    return training, recording


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure_plain_loop(epochs: int = 200, records: int = 20) -> dict[str, float]:
    """Plain-loop t_epoch and t_record, and its extrapolated 8000-epoch time."""
    with tempfile.TemporaryDirectory() as tmp, _threads(1):
        training, _ = _plain_loop(epochs, set(), Path(tmp))
        _, recording = _plain_loop(records, set(range(records)), Path(tmp))
    t_epoch, t_record = training / epochs, recording / records
    return {
        "t_epoch": t_epoch,
        "t_record": t_record,
        "total": EPOCHS * t_epoch + len(GRID) * t_record,
    }


def measure_toolkit(seeds: int, epochs: int = 200, records: int = 20) -> dict[str, float]:
    """The toolkit's t_epoch and t_record for an ensemble of ``seeds``, extrapolated."""
    config = replace(CONFIG, seeds=tuple(range(seeds)), epochs=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        train_only = _seconds(
            lambda: train(replace(config, record=f"every:{epochs}"), Path(tmp) / "a", quiet=True)
        )
        with_records = _seconds(
            lambda: train(
                replace(config, epochs=records, record="all"), Path(tmp) / "b", quiet=True
            )
        )
    # The every:K run records 2 epochs; count them as training epochs (a small overestimate).
    t_epoch = train_only / epochs
    t_record = max(with_records / records - t_epoch, 0.0)
    return {
        "t_epoch": t_epoch,
        "t_record": t_record,
        "total": EPOCHS * t_epoch + len(GRID) * t_record,
    }


def full_run(seeds: int) -> float:
    """Seconds for the whole 8000-epoch run with the 274 recorded epochs."""
    with tempfile.TemporaryDirectory() as tmp:
        return _seconds(lambda: train(replace(CONFIG, seeds=tuple(range(seeds))), tmp, quiet=True))


def step_time(seeds: int, steps: int = 300) -> float:
    """Seconds per mini-batch step of the ensemble alone (no shuffling, no recording)."""
    config = replace(CONFIG, seeds=tuple(range(seeds)))
    with _threads(1):
        prepared = prepare_data(config)
        engine = EnsembleEngine(config, config.seeds, 2)
        x = prepared.x_train[:256].expand(seeds, -1, -1).contiguous()
        y = prepared.onehot_train[:256].expand(seeds, -1, -1).contiguous()
        engine.net.gradient(x, y)

        def run() -> None:
            for _ in range(steps):
                engine.net.gradient(x, y)
                engine.optimizer.step(engine.net.grads)

        return _seconds(run) / steps


def test_single_seed_8000_epochs(benchmark):
    peer = measure_plain_loop()
    ours = measure_toolkit(1)
    full = benchmark.pedantic(full_run, args=(1,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "toolkit_8000_epochs_s": full,
            "toolkit_extrapolated_s": ours["total"],
            "plain_loop_extrapolated_s": peer["total"],
            "speed_up_vs_plain_loop": peer["total"] / full,
        }
    )


def test_fifty_seed_ensemble(benchmark):
    ours = benchmark.pedantic(measure_toolkit, args=(50,), rounds=1, iterations=1)
    one = measure_toolkit(1)
    benchmark.extra_info.update(
        {
            "ensemble_50_extrapolated_s": ours["total"],
            "single_seed_extrapolated_s": one["total"],
            "ensemble_vs_50_single_runs": 50 * one["total"] / ours["total"],
        }
    )
    if os.environ.get("MI_BENCH_FULL"):
        benchmark.extra_info["ensemble_50_full_s"] = full_run(50)


def main() -> None:
    print(f"recorded epochs: {len(GRID)} of {EPOCHS}")
    peer = measure_plain_loop()
    print(
        f"plain torch loop: {peer['t_epoch'] * 1e3:.2f} ms/epoch, {peer['t_record'] * 1e3:.1f} ms/"
        f"record -> {peer['total']:.0f} s for 8000 epochs (extrapolated)"
    )
    for seeds in (1, 50):
        ours = measure_toolkit(seeds)
        print(
            f"toolkit, {seeds} seed(s): {ours['t_epoch'] * 1e3:.2f} ms/epoch, "
            f"{ours['t_record'] * 1e3:.1f} ms/record -> {ours['total']:.0f} s (extrapolated); "
            f"{step_time(seeds) * 1e6:.0f} µs per step"
        )
    full = full_run(1)
    ratio = peer["total"] / full
    print(f"toolkit, 1 seed, full 8000 epochs: {full:.1f} s; plain loop / toolkit = {ratio:.1f}")
    if os.environ.get("MI_BENCH_FULL"):
        print(f"toolkit, 50 seeds, full 8000 epochs: {full_run(50):.0f} s")


if __name__ == "__main__":
    main()
