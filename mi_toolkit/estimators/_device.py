"""The ``device=`` parameter shared by the estimators with a torch path."""

from __future__ import annotations


def check_device(device: object) -> None:
    """Raise unless ``device`` is None, "cpu", "cuda", "cuda:<index>" or "auto"."""
    if device is None:
        return
    if not isinstance(device, str) or not (
        device in ("cpu", "cuda", "auto") or device.startswith("cuda:")
    ):
        raise ValueError(
            f"device must be None (numba), 'cpu', 'cuda', 'cuda:<index>' or 'auto'; got {device!r}"
        )


def resolve_backend(device: str | None) -> str | None:
    """The torch device to use, or None for numba ("auto" without CUDA means numba)."""
    if device is None:
        return None
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a declared dependency
        raise ImportError(
            f"device={device!r} needs torch; install it or pass device=None"
        ) from None
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} was asked for, but torch sees no CUDA device")
    return device
