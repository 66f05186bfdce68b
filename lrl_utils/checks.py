"""Input checks shared by the public functions: each error says what was wrong and what to do."""
from __future__ import annotations

import torch


def check_images(x: torch.Tensor, name: str = "x") -> None:
    """An image batch must be [N, C, H, W], finite, and scaled to [-1, 1] like the GAN's training data."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, C, H, W]; got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"{name} must be an image batch of shape [N, C, H, W] (e.g. [N, 1, 28, 28]); got shape "
            f"{tuple(x.shape)}. Add the batch/channel axes with x.view(-1, 1, 28, 28)."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).flatten(1).any(1).nonzero().flatten().tolist()
        raise ValueError(f"{name} holds NaN or infinite values (images at batch positions {bad[:10]})")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6:
        raise ValueError(
            f"{name} must be scaled to [-1, 1] (pixels * 2 - 1 for [0, 1] images); its values span "
            f"[{lo:.3g}, {hi:.3g}]"
        )


def check_at_least_one(**values: int) -> None:
    for key, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{key} must be an integer >= 1; got {value!r}")


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(repr, choices))}")


def resolve_device(device=None) -> torch.device:
    """CUDA when available, CPU otherwise; ``device`` ("cpu", "cuda", "cuda:1", "auto") overrides."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but CUDA is not available here; use 'cpu' or 'auto'")
    return device
