"""How fragile a classifier is without any defense: clean accuracy, FGSM at each magnitude, and PGD.

The paper's classifier keeps 1.4 % of the attacked images under FGSM 0.7; Defense-GAN's Model A, as
trained here, keeps far more. Comparing candidate networks on the same images tells which one is as
fragile as the paper's (notebook 10_classifiers).
"""
from __future__ import annotations

import pandas as pd
import torch

from .adaptive import bpda_pgd, identity_defense
from .attacks import fgsm_in_batches
from .evaluation import accuracy_ci
from .training import predict


def undefended_accuracy(classifier, x: torch.Tensor, y: torch.Tensor, *, magnitudes, pgd: dict) -> list[dict]:
    """One row per attack on ``x`` (clean, FGSM at each of ``magnitudes``, PGD with ``pgd``'s eps,
    step_size and steps), each with its accuracy and 95 % Wilson interval in %."""
    def row(attack, eps, x_attacked):
        acc = accuracy_ci(predict(classifier, x_attacked) == y)
        return {"attack": attack, "eps": eps, "accuracy %": 100 * acc["accuracy"],
                "ci low %": 100 * acc["ci_low"], "ci high %": 100 * acc["ci_high"], "n": acc["n"]}

    rows = [row("clean", 0.0, x)]
    rows += [row("FGSM", eps, fgsm_in_batches(classifier, x, y, eps)) for eps in sorted(magnitudes)]
    steps = bpda_pgd(classifier, identity_defense, x, y, list(range(len(x))), **pgd)["x_adv"]
    rows.append(row(f"PGD-{pgd['steps']}", pgd["eps"], steps))
    return rows


def fragility_table(classifiers: dict, x, y, *, magnitudes, pgd: dict) -> pd.DataFrame:
    """``undefended_accuracy`` of each of ``classifiers`` (name -> network) on the same images."""
    return pd.DataFrame([{"classifier": name, **row} for name, model in classifiers.items()
                         for row in undefended_accuracy(model, x, y, magnitudes=magnitudes, pgd=pgd)])


def summary(table: pd.DataFrame, eps: float) -> pd.DataFrame:
    """One row per classifier: clean, FGSM ``eps`` and PGD accuracy (%), for the README and metrics."""
    pick = {"unattacked %": table.attack == "clean", f"FGSM {eps:g} %": (table.attack == "FGSM") & (table.eps == eps),
            "PGD %": table.attack.str.startswith("PGD")}
    return pd.DataFrame({column: table[rows].set_index("classifier")["accuracy %"] for column, rows in pick.items()})
