"""The lr x alpha map: where does the restriction start to help, and how far has z moved there?

Each map of `lr_alpha_map.maps` is a pair of networks; each of its cells recovers the same attacked images (that
classifier attacked with the paper's FGSM, that generator inverting) with one recovery lr and one alpha (stage
recover_map@<map>). Within each lr, every alpha is tested against alpha 0 on the
same images with McNemar's exact test (notebook 12_lr_alpha_map).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from . import artifacts
from .evaluation import accuracy_ci, mcnemar_exact
from .layout import Project
from .reporting import paired_correct
from .restriction import latent_restriction_loss


def map_table(project: Project, map_name: str, root=".") -> pd.DataFrame:
    """One row per cell, lr-major: defended accuracy in % with its 95 % Wilson interval, the gain over alpha 0
    at the same lr with McNemar's exact p (alpha 0's own row: gain 0, no p), the mean reconstruction MSE and
    W1, and how far the kept latents moved from their init (mean L2 distance and mean |element change|)."""
    runs = project.map_recoveries(map_name)
    tables = {run.variant: artifacts.read_per_image(Path(root) / run.folder, "map recovery") for run in runs}
    reference = {run.settings["lr"]: run.variant for run in runs if run.settings["alpha"] == 0}
    rows = []
    for run in runs:
        lr, alpha, table = run.settings["lr"], run.settings["alpha"], tables[run.variant]
        movement = pd.read_csv(artifacts.require(Path(root) / run.folder / "movement.csv", "map recovery"))
        right0, right = paired_correct(tables[reference[lr]], table, names=(reference[lr], run.variant))
        acc = accuracy_ci(right)
        rows.append({"cell": run.variant, "lr": lr, "alpha": alpha, "accuracy %": 100 * acc["accuracy"],
                     "ci low %": 100 * acc["ci_low"], "ci high %": 100 * acc["ci_high"],
                     "gain over α 0": 100 * (right.mean() - right0.mean()),
                     "McNemar p": mcnemar_exact(right, right0)["p_value"] if alpha else float("nan"),
                     "mean MSE": table.reconstruction_mse.mean(), "mean W1": table.restriction.mean(),
                     "mean L2 moved": movement.l2_moved.mean(), "mean |element moved|": movement.mean_abs_moved.mean(),
                     "images": len(table)})
    return pd.DataFrame(rows)


def best_against_best(project: Project, map_name: str, table: pd.DataFrame, root=".") -> dict:
    """Does the restriction beat a well-chosen lr? The most accurate cell with alpha > 0 against the most
    accurate with alpha 0 (any lr; the first in the map's order on a tie), McNemar's exact test on the same images."""
    best = {kind: rows.sort_values("accuracy %", ascending=False, kind="stable").iloc[0]
            for kind, rows in (("alpha > 0", table[table.alpha > 0]), ("alpha 0", table[table.alpha == 0]))}
    folders = {run.variant: Path(root) / run.folder for run in project.map_recoveries(map_name)}
    cells = [best["alpha > 0"]["cell"], best["alpha 0"]["cell"]]
    right, right0 = paired_correct(*[artifacts.read_per_image(folders[c], "map recovery") for c in cells], names=cells)
    test = mcnemar_exact(right, right0)
    return {"best alpha > 0": cells[0], "best alpha 0": cells[1], "alpha > 0 accuracy %": float(100 * right.mean()),
            "alpha 0 accuracy %": float(100 * right0.mean()), "difference": float(100 * (right.mean() - right0.mean())),
            "only alpha > 0 right": test["only_a"], "only alpha 0 right": test["only_b"], "McNemar p": test["p_value"]}


def init_restriction(latent_dim: int, seed: int, draws: int = 1000) -> float:
    """The mean W1 to N(0, 1) of random N(0, I) latents, as the recovery's inits are: the level below which
    there is no drift for the restriction to undo."""
    z = torch.randn(draws, latent_dim, generator=torch.Generator().manual_seed(seed))
    return latent_restriction_loss(z).mean().item()


def pivot(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the map as a grid: one row per lr, one column per alpha."""
    return table.pivot(index="lr", columns="alpha", values=column)


def gain_and_movement(table: pd.DataFrame) -> pd.DataFrame:
    """Per lr (rows), each alpha's gain over alpha 0 (columns), beside how far z moved with alpha 0 and how far
    its elements then are from N(0, 1) (mean W1)."""
    return pivot(table, "gain over α 0").round(1).assign(
        **{"L2 moved at α = 0": pivot(table, "mean L2 moved")[0].round(2),
           "W1 at α = 0": pivot(table, "mean W1")[0].round(3)})


def save(table: pd.DataFrame, best: dict, init_w1: float, out_dir) -> None:
    """map.csv (4 decimals, McNemar's p unrounded) and metrics.json (every cell, ``best_against_best`` and
    the W1 of random inits)."""
    artifacts.write_csv(table.round(4).assign(**{"McNemar p": table["McNemar p"]}), f"{out_dir}/map.csv")
    artifacts.write_json({**metrics(table), "best_against_best": best, "init_w1": round(init_w1, 4)},
                         f"{out_dir}/metrics.json")


def metrics(table: pd.DataFrame) -> dict:
    """What `metrics.json` keeps per cell: accuracy, the gain over alpha 0 and its p, how far z moved."""
    return {r["cell"]: {"accuracy %": round(r["accuracy %"], 2), "gain": round(r["gain over α 0"], 2),
                        "mcnemar_p": None if pd.isna(r["McNemar p"]) else r["McNemar p"],
                        "mean_l2_moved": round(r["mean L2 moved"], 4)}
            for _, r in table.iterrows()}
