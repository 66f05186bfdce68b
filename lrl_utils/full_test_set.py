"""The paper's two defenses on every test image (09_full_test): do the 1000-image numbers hold?"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import check_choice
from .evaluation import accuracy_ci
from .reporting import NO_DEFENSE, PAPER, select_images

PAPER_KEYS = {NO_DEFENSE: "no_defense"}  # reporting.PAPER's name of a row that is not a variant
# How accuracy_by_group splits the test images: by true digit, or by MNIST's two writer populations (the
# first 5000 test images come from NIST's SD-3, written by Census Bureau employees, the last 5000 from
# SD-1, written by high-school students; LeCun et al. call the first half cleaner and easier).
GROUPS = {
    "digit": lambda table: table["label"].rename("digit"),
    "half": lambda table: pd.Series(np.where(table["index"] < 5000, "first 5000", "last 5000"), index=table.index),
}


def subset_comparison(full: dict[str, pd.DataFrame], subset: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per defense (and the undefended classifier): accuracy (%, 95 % CI) on all images of the
    ``full`` run, on the ``subset`` run's images within the full run, and in the subset run itself,
    with how often the two runs predict the same class for the same image.

    The subset run's images must all be in the full run (both drawn with the same seed); a difference
    between the two runs on the same image can only come from the computation (batching, CPU)."""
    rows = []
    for name, source, column in _targets(full):
        whole, small = full[source], subset[source]
        within = select_images(whole, small["index"].tolist(), f"{source}, full run")
        right_all = accuracy_ci(whole[column] == whole.label)
        right_within = accuracy_ci(within[column] == within.label)
        right_small = accuracy_ci(small[column] == small.label)
        rows.append({
            "defense": name, "paper %": round(100 * PAPER.get(PAPER_KEYS.get(name, name), float("nan")), 2),
            "n": right_all["n"], "accuracy %": 100 * right_all["accuracy"],
            "ci low %": 100 * right_all["ci_low"], "ci high %": 100 * right_all["ci_high"],
            "subset n": right_small["n"],
            "subset, full run %": 100 * right_within["accuracy"],
            "subset run %": 100 * right_small["accuracy"],
            "same prediction %": 100 * float((within[column].to_numpy() == small[column].to_numpy()).mean()),
        })
    return pd.DataFrame(rows)


def accuracy_by_group(full: dict[str, pd.DataFrame], group: str = "digit") -> pd.DataFrame:
    """Accuracy (%, 95 % CI) per ``group`` (see GROUPS), for the undefended classifier and each defense."""
    check_choice("group", group, GROUPS)
    rows = []
    for name, source, column in _targets(full):
        table = full[source]
        for value, members in table.groupby(GROUPS[group](table)):
            right = accuracy_ci(members[column] == members.label)
            rows.append({group: value, "defense": name, "accuracy %": 100 * right["accuracy"],
                         "ci low %": 100 * right["ci_low"], "ci high %": 100 * right["ci_high"],
                         "n": right["n"]})
    return pd.DataFrame(rows)


def full_test_metrics(comparison: pd.DataFrame, test: dict, a: str, b: str) -> dict:
    """`dvc metrics` of the stage: each defense's accuracy on all images and on the subset (in [0, 1]),
    and ``test``, the exact McNemar test of ``a`` against ``b`` on all images (reporting.compare_variants)."""
    metrics = {row.defense: {"accuracy": row["accuracy %"] / 100, "n": int(row.n),
                             "subset_run_accuracy": row["subset run %"] / 100}
               for _, row in comparison.iterrows()}
    return {**metrics, f"mcnemar_{a}_vs_{b}": test}


def _targets(full: dict[str, pd.DataFrame]):
    """(row name, variant whose table holds it, prediction column): the undefended classifier (its
    ``pred_adv``, the same in every table) first, then each defense."""
    yield NO_DEFENSE, next(iter(full)), "pred_adv"
    for name in full:
        yield name, name, "pred_defended"
