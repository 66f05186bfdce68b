"""Input checks shared by the public functions: each error says what was wrong and what to do."""
from __future__ import annotations

import math
import numbers

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


def check_number(name: str, value, *, integer: bool = False, low=None, high=None, low_open: bool = False):
    """``value`` must be a real number (an integer if ``integer``: not 2.0, not True), finite, and within
    [low, high] (``low`` excluded if ``low_open``); returns it. The error names the argument, its value and
    what is allowed."""
    kind = "an integer" if integer else "a finite number"
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        bounds.append(f"<= {high}")
    allowed = f"{kind}{' ' + ' and '.join(bounds) if bounds else ''}"
    wrong_type = isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real)
    if wrong_type or not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r} ({type(value).__name__})")
    if low is not None and (value <= low if low_open else value < low) or high is not None and value > high:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return value


def check_at_least_one(**values: int) -> None:
    for key, value in values.items():
        check_number(key, value, integer=True, low=1)


def check_labels(y, n: int, name: str = "y") -> None:
    """Class labels: an integer tensor of shape [n], every label >= 0 (cross-entropy would silently skip
    the label -100, leaving that image unattacked)."""
    if not isinstance(y, torch.Tensor) or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of class labels; got "
                        f"{type(y).__name__ if not isinstance(y, torch.Tensor) else y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name} must hold one label per image, shape [{n}]; got {tuple(y.shape)}")
    if n and y.min().item() < 0:
        raise ValueError(f"{name} holds negative labels ({y.min().item()}): labels are class numbers 0, 1, ...")


def check_ids(image_ids, n: int) -> list[int]:
    """Image ids (test-set indices): ``n`` integers; floats are refused, not truncated."""
    ids = image_ids.tolist() if isinstance(image_ids, torch.Tensor) else list(image_ids)
    if len(ids) != n:
        raise ValueError(f"image_ids must name each of the {n} images; got {len(ids)} ids")
    for i in ids:
        check_number("each of image_ids", i, integer=True, low=0)
    return [int(i) for i in ids]


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
