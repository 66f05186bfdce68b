"""The ablations (06_ablations): every recovered variant in one table, and re-selection among a run's
saved restarts, which costs no new recovery."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from .checks import check_number
from .evaluation import accuracy_ci, mcnemar_exact
from .recovery import initial_latents, moved_from_init, select_restarts
from .reporting import load_variant, paired_correct, read_settings
from .training import predict

# Runs recorded before `restriction` was an option of recover_latents used the paper's W1 term.
_SETTING_DEFAULTS = {"restriction": "w1", "reference": "quantiles"}
SETTINGS = ["inputs", "alpha", "restriction", "reference", "lr"]


def runs_table(recover_dir, against: str = "lrl") -> pd.DataFrame:
    """One row per variant recovered under ``recover_dir``: its settings, defended accuracy (%, 95 % CI),
    mean losses, how far its latents moved from their init, and an exact McNemar test against the
    variant ``against`` (the paper's alpha = 1) on the same images, for variants with the same inputs."""
    folders = sorted(p.parent for p in Path(recover_dir).glob("*/run.json"))
    if not folders:
        raise FileNotFoundError(f"no recovered variants in {recover_dir}: run `dvc repro recover` first")
    loaded = {f.name: _load(f) for f in folders}
    if against not in loaded:
        raise ValueError(f"the reference variant {against!r} is not among the recovered ones: "
                         f"{', '.join(loaded)}")
    ref_settings, ref_table, _ = loaded[against]
    rows = []
    for name, (settings, table, recovery) in loaded.items():
        correct = table.pred_defended == table.label
        accuracy = accuracy_ci(correct)
        paired = settings["inputs"] == ref_settings["inputs"] and name != against
        test = (mcnemar_exact(*paired_correct(table, ref_table, (name, against))) if paired
                else {"only_a": float("nan"), "only_b": float("nan"), "p_value": float("nan")})
        moved = latent_movement(recovery, table["index"].tolist(), settings["seed"])
        rows.append({
            "variant": name, **{k: settings[k] for k in SETTINGS},
            "accuracy %": 100 * accuracy["accuracy"], "ci low %": 100 * accuracy["ci_low"],
            "ci high %": 100 * accuracy["ci_high"], "n": accuracy["n"],
            "mean MSE": float(table.reconstruction_mse.mean()), "mean W1": float(table.restriction.mean()),
            "mean L2 moved": moved["mean L2 distance to init"],
            "mean |element moved|": moved["mean |element change|"],
            "max |element moved|": moved["max |element change|"],
            f"only this right (vs {against})": test["only_a"], f"only {against} right": test["only_b"],
            f"McNemar p vs {against}": test["p_value"],
        })
    return pd.DataFrame(rows).set_index("variant")


def ablation_groups(runs: pd.DataFrame, against: str = "lrl") -> dict[str, pd.DataFrame]:
    """The rows of ``runs_table`` each ablation compares, on the attacked images:
    "alpha": the paper's W1 term and learning rate, any alpha; "restriction": at the paper's learning
    rate, every restriction term at ``against``'s alpha, the sphere projection and no restriction (alpha 0);
    "lr": the W1 term at alpha 0 and ``against``'s alpha, any learning rate."""
    paper = runs.loc[against]
    adversarial = runs[runs.inputs == "adversarial"]
    w1 = (adversarial.restriction == "w1") & (adversarial.reference == "quantiles")
    at_lr = adversarial.lr == paper.lr
    two_alphas = adversarial.alpha.isin([0.0, paper.alpha])
    restricted = (adversarial.alpha == paper.alpha) | (adversarial.restriction == "sphere")
    return {
        "alpha": adversarial[w1 & at_lr].sort_values("alpha"),
        "restriction": adversarial[at_lr & (restricted | (w1 & (adversarial.alpha == 0)))]
        .sort_values(["alpha", "restriction", "reference"]),
        "lr": adversarial[w1 & two_alphas].sort_values(["alpha", "lr"]),
    }


def reselect(recovery: dict, table: pd.DataFrame, generator, classifier, *, restarts: int, select: str,
             alpha: float) -> dict:
    """Defended accuracy had the run kept, among its first ``restarts`` restarts, the one chosen by
    ``select`` ("reconstruction": lowest MSE; "total": lowest MSE + alpha * W1). The restarts are
    independent draws, so the first k are a sample of k restarts."""
    available = recovery["restart_z"].shape[1]
    check_number(f"restarts (between 1 and the {available} the run saved)", restarts, integer=True, low=1,
                 high=available)
    check_number("alpha", alpha, low=0)
    best = select_restarts(recovery["restart_reconstruction_mse"][:, :restarts],
                           recovery["restart_restriction"][:, :restarts], alpha, select)
    z = recovery["restart_z"][torch.arange(len(best)), best]
    device = next(generator.parameters()).device
    with torch.no_grad():
        x_rec = torch.cat([generator.eval()(z[i:i + 500].to(device)).cpu() for i in range(0, len(z), 500)])
    return accuracy_ci(predict(classifier, x_rec).numpy() == table.label.to_numpy())


def reselection_table(recover_dir, variants, generator, classifier, restart_counts=(1, 3, 10),
                      rules=("reconstruction", "total")) -> pd.DataFrame:
    """``reselect`` for each variant, number of restarts (those of ``restart_counts`` the run saved, and
    all it saved) and selection rule: accuracy % with 95 % CI."""
    rows = []
    for name in variants:
        table, recovery = load_variant(recover_dir, name)
        available = recovery["restart_z"].shape[1]
        for k in sorted({k for k in restart_counts if k <= available} | {available}):
            for rule in rules:
                acc = reselect(recovery, table, generator, classifier, restarts=k, select=rule,
                               alpha=recovery["alpha"])
                rows.append({"variant": name, "alpha": recovery["alpha"], "restarts": k, "select": rule,
                             "accuracy %": 100 * acc["accuracy"], "ci low %": 100 * acc["ci_low"],
                             "ci high %": 100 * acc["ci_high"]})
    return pd.DataFrame(rows)


def _load(folder: Path):
    settings = {**_SETTING_DEFAULTS, **read_settings(folder)}
    table, recovery = load_variant(folder.parent, folder.name)
    return settings, table, recovery


def latent_movement(recovery: dict, image_ids, seed: int) -> dict:
    """How far the kept latents moved from their restart's initial value (recomputed from the seed)."""
    restart_z = recovery["restart_z"]
    init = initial_latents(seed, image_ids, restart_z.shape[1], restart_z.shape[2])
    moved = moved_from_init(recovery["z"], recovery["best_restart"], init)
    return {"mean L2 distance to init": moved.norm(dim=1).mean().item(),
            "mean |element change|": moved.abs().mean().item(),
            "max |element change|": moved.abs().max().item(),
            "L2 norm of init (about sqrt(d))": init.norm(dim=2).mean().item()}
