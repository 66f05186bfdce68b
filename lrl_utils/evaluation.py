"""Accuracy with a 95 % confidence interval, the exact McNemar test for paired defenses, and the
undefended accuracy under FGSM across magnitudes."""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import binomtest

from .attacks import fgsm_in_batches
from .training import predict


def outcomes(values, name: str = "correct") -> np.ndarray:
    """Per-image right/wrong results as a 1-D bool array: booleans or 0/1, one per image. Anything else
    (predictions, labels, None, a matrix, nothing) is refused rather than read as right/wrong."""
    if values is None or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of per-image results (True/False or 1/0); got "
                         f"{'None' if values is None else f'shape {np.shape(values)}'}")
    array = np.asarray(values)
    if array.size == 0:
        raise ValueError(f"{name} is empty: an accuracy or a test of zero images is undefined")
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold per-image results, True/False or 1/0; got values such as "
                         f"{sorted(set(array.tolist()) - {0, 1})[:5]} (compare predictions with labels first)")
    return array.astype(bool)


def accuracy_ci(correct, confidence: float = 0.95) -> dict:
    """Accuracy of a 0/1 vector with its Wilson score interval (scipy's binomtest)."""
    correct = outcomes(correct)
    k, n = int(correct.sum()), int(correct.size)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return {"accuracy": k / n, "ci_low": float(ci.low), "ci_high": float(ci.high), "correct": k, "n": n}


def ci_text(accuracy: dict) -> str:
    """``accuracy_ci``'s interval in percent, as the tables print it: "48.6 - 54.8"."""
    return f"{100 * accuracy['ci_low']:.1f} - {100 * accuracy['ci_high']:.1f}"


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact (binomial) McNemar test of two classifiers scored on the same images.

    ``only_a``/``only_b`` count the images that exactly one of them gets right; under the null hypothesis
    of equal accuracy each discordant image is a fair coin, so p is a two-sided binomial test.
    """
    a, b = outcomes(correct_a, "correct_a"), outcomes(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"McNemar's test needs the same images for both: got {a.size} and {b.size} results")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_a": only_a, "only_b": only_b, "p_value": float(p)}


def fgsm_accuracy_by_eps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps_values,
                         batch_size: int = 500) -> dict[float, float]:
    """Undefended accuracy under FGSM at each magnitude: how strong the single-step attack is."""
    accuracy = {}
    for eps in eps_values:
        x_adv = fgsm_in_batches(model, x, y, eps, batch_size)
        accuracy[float(eps)] = int((predict(model, x_adv) == y.cpu()).sum()) / len(x)
    return accuracy
