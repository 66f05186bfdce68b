"""The fast gradient sign method (Goodfellow et al. 2015), the paper's attack."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import check_at_least_one, check_images, check_labels, check_number
from .data import eval_indices
from .training import predict


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
         clip: tuple[float, float] | None = (-1.0, 1.0)) -> torch.Tensor:
    """x_adv = clip(x + eps * sign(d loss / d x)), with the model in eval mode (no dropout)."""
    check_images(x)
    check_number("eps (the noise magnitude)", eps, low=0)
    check_labels(y, x.shape[0])
    if clip is not None:
        low, high = (check_number(f"clip[{k}]", v) for k, v in enumerate(clip))
        if low >= high:
            raise ValueError(f"clip must be (low, high) with low < high, e.g. (-1.0, 1.0); got {clip!r}")
    was_training = model.training
    model.eval()
    try:
        x = x.detach().clone().requires_grad_(True)
        # Summed, not averaged: the sign is the same, and small per-image gradients do not underflow.
        loss = F.cross_entropy(model(x), y, reduction="sum")
        grad, = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    x_adv = x.detach() + eps * grad.sign()
    return x_adv.clamp(*clip) if clip is not None else x_adv


def fgsm_in_batches(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                    batch_size: int = 500) -> torch.Tensor:
    """``fgsm`` over a large set, ``batch_size`` images at a time on the model's device (bounds memory on
    small machines); the result is on the CPU, like ``x``."""
    check_at_least_one(batch_size=batch_size)
    device = next(model.parameters()).device
    return torch.cat([fgsm(model, x[i:i + batch_size].to(device), y[i:i + batch_size].to(device), eps).cpu()
                      for i in range(0, len(x), batch_size)])


def fgsm_test_images(classifier: torch.nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, *, eps: float,
                     images: int, seed: int) -> dict:
    """FGSM ``eps`` on ``images`` test images drawn with ``seed``: what the attack stage stores in attack.pt
    (indices, labels, x_clean, x_adv, pred_clean, pred_adv, eps)."""
    indices = eval_indices(len(x_test), images, seed)
    x_clean, labels = x_test[indices], y_test[indices]
    x_adv = fgsm_in_batches(classifier, x_clean, labels, eps)
    return {"indices": indices, "labels": labels, "x_clean": x_clean, "x_adv": x_adv,
            "pred_clean": predict(classifier, x_clean), "pred_adv": predict(classifier, x_adv), "eps": eps}
