"""Record the activations of named modules of any torch model, with forward hooks.

>>> recorder = ActivationRecorder(model, ["encoder.0", "encoder.2", "head"])  # doctest: +SKIP
>>> writer = DumpWriter("run", recorder.layer_names, members=1, epochs=epochs)  # doctest: +SKIP
>>> for epoch in range(n_epochs):  # doctest: +SKIP
...     train_one_epoch(model)
...     if epoch in epochs:
...         recorder.write(writer, epoch, x_eval, {"train_loss": loss})
>>> writer.finish()  # doctest: +SKIP

The dump it writes is the one :func:`mi_toolkit.dumps.open_dump` reads, the same format
``mi-toolkit train`` writes, so one's own networks go through the same analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from mi_toolkit.dumps import DumpWriter


class ActivationRecorder:
    """Capture what named submodules output during a forward pass.

    Outputs are flattened per sample to (n, features) arrays of the model's dtype. Tuple outputs
    (e.g. of recurrent modules) are recorded by their first element.

    Parameters
    ----------
    model : torch.nn.Module
        Any ``nn.Module``.
    layers : sequence of str
        Names of submodules as in ``model.named_modules()``, in the order to record
        them; the recorded name is the module name.
    transforms : mapping of str to callable, optional
        Functions applied to a layer's output before it is stored, by layer name (e.g.
        ``torch.softmax`` on logits).
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str],
        transforms: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    ) -> None:
        modules = dict(model.named_modules())
        unknown = [name for name in layers if name not in modules]
        if unknown or not layers:
            raise ValueError(
                f"layers must name submodules of the model; unknown: {unknown}; "
                f"available: {', '.join(n for n in modules if n)}"
            )
        self.model = model
        self.layer_names = list(layers)
        self.transforms = dict(transforms or {})
        self._modules = {name: modules[name] for name in layers}
        self._captured: dict[str, list[torch.Tensor]] = {}

    def _hook(self, name: str) -> Callable:
        transform = self.transforms.get(name)

        def hook(module: nn.Module, inputs: tuple, output) -> None:
            value = output[0] if isinstance(output, tuple) else output
            value = value.detach()
            if transform is not None:
                value = transform(value)
            self._captured[name].append(value.reshape(len(value), -1))

        return hook

    @torch.no_grad()
    def record(
        self, x: torch.Tensor | np.ndarray, batch_size: int = 8192, eval_mode: bool = True
    ) -> dict[str, np.ndarray]:
        """Run the model on ``x`` (in batches) and return each layer's outputs (n, d).

        With ``eval_mode`` the model is switched to ``eval()`` for the pass (batch norm uses
        its running statistics, dropout and training noise are off) and back after.
        """
        x = torch.as_tensor(x)
        was_training = self.model.training
        if eval_mode:
            self.model.eval()
        self._captured = {name: [] for name in self.layer_names}
        handles = [m.register_forward_hook(self._hook(n)) for n, m in self._modules.items()]
        try:
            for start in range(0, len(x), batch_size):
                self.model(x[start : start + batch_size])
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(was_training)
        missing = [name for name, parts in self._captured.items() if not parts]
        if missing:
            raise RuntimeError(f"layers {missing} were not called in the model's forward pass")
        return {name: torch.cat(parts).numpy() for name, parts in self._captured.items()}

    def write(
        self,
        writer: DumpWriter,
        epoch: int,
        x: torch.Tensor | np.ndarray,
        metrics: Mapping[str, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """Record on ``x`` and store the result as ``epoch`` of a one-member dump."""
        activations = self.record(x)
        scalars = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in (metrics or {}).items()}
        writer.write_epoch(epoch, {k: v[None] for k, v in activations.items()}, scalars)
        return activations


def model_layers(model: nn.Module) -> list[str]:
    """Recorded layer names of our models: ``layers.<name>`` for each block."""
    if not isinstance(getattr(model, "layers", None), nn.ModuleDict):
        raise TypeError("model_layers needs a model with a 'layers' ModuleDict (ours)")
    return [f"layers.{name}" for name in model.layers]
