"""Every α = 1 against α = 0 comparison, as a paired difference: `python -m lrl_utils.paired results/comparisons`.

Each comparison defends the same attacked images twice, so what it estimates is the paired difference of
two accuracies, α = 1 − α = 0, and its interval must be the paired one (two Wilson intervals that overlap
say nothing about it). For every comparison the project has per-image files for (the headline table's rows,
every row of the grid, every other variant on the paper's images against the α = 0 variant at its lr, every
α > 0 cell of both lr × α maps against α = 0 at its lr) this module gives

- the difference in points with its 95 % Wald interval for paired proportions (Agresti, *Categorical Data
  Analysis*, 3rd ed., §11.1.1): the mean of the per-image differences d = right(α = 1) − right(α = 0) ±
  1.96 × sd(d) / √n, which depends only on the discordant counts;
- McNemar's exact p and, beside it, Holm's step-down adjustment over *all* the comparisons of the table
  (statsmodels), since they were many, and they share images and networks;

and draws the forest plots: the grid's networks at the paper's lr and at lr 0.1 (the summary figure), and
every comparison grouped by recovery lr, each with the paper's reported +8.8 as a line.

The adaptive attacks' rows are left out: their stages kept accuracies and McNemar's p, not per-image results,
so their paired interval cannot be computed without rerunning them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from . import artifacts
from .evaluation import mcnemar_exact, outcomes
from .headline import rows_of
from .layout import PAPER_ATTACK, Project
from .reporting import PAPER, paired_correct

PAPER_GAIN = 100 * (PAPER["lrl"] - PAPER["defensegan"])  # the paper's +8.8 points


def paired_difference(right0, right1, confidence: float = 0.95) -> dict:
    """α = 1 − α = 0 on the same images, in points, with its Wald interval for paired proportions and
    McNemar's exact p. ``right0`` and ``right1`` say, per image, whether each defense got it right."""
    right0, right1 = outcomes(right0, "right0"), outcomes(right1, "right1")
    if right0.shape != right1.shape:
        raise ValueError(f"a paired difference needs the same images: got {right0.size} and {right1.size} results")
    d = right1.astype(float) - right0.astype(float)
    n, z = d.size, norm.ppf(0.5 + confidence / 2)
    half = z * d.std() / np.sqrt(n)  # population sd: the Wald variance (b + c − (b − c)² / n) / n²
    test = mcnemar_exact(right1, right0)
    return {"α = 0 %": 100 * right0.mean(), "α = 1 %": 100 * right1.mean(), "difference": 100 * d.mean(),
            "low": 100 * (d.mean() - half), "high": 100 * (d.mean() + half),
            "only α = 1 right": test["only_a"], "only α = 0 right": test["only_b"],
            "McNemar p": test["p_value"], "images": n}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (one family)."""
    return multipletests(np.asarray(p_values, dtype=float), method="holm")[1]


def _compare(folder0, folder1, root, kind) -> dict:
    tables = [artifacts.read_per_image(Path(root) / folder, kind) for folder in (folder0, folder1)]
    return paired_difference(*paired_correct(*tables, names=(str(folder0), str(folder1))))


def headline_comparisons(project: Project, root=".") -> list[dict]:
    """The headline table's rows that have per-image files (the adaptive attacks' do not)."""
    variants, rows = project.settings["variants"], []
    for row in rows_of(project)[0]:
        lr = variants[Path(row.alpha0).name]["lr"]
        rows.append({"family": "headline", "name": row.name, "label": row.label, "lr": lr, "alpha": 1.0,
                     "folders": (row.alpha0, row.alpha1), **_compare(row.alpha0, row.alpha1, root, "recovery")})
    return rows


def grid_comparisons(project: Project, root=".") -> list[dict]:
    """Each network of the grid (the paper's pair first) at each pair of `grid.pairs`."""
    variants, rows = project.settings["variants"], []
    for attack in [PAPER_ATTACK, *project.settings["grid"]["networks"]]:
        networks = project.attack(attack)
        seed = project.restart_seed(attack)
        for alpha0, alpha1 in project.settings["grid"]["pairs"]:
            folders = (project.recovery_dir(attack, alpha0), project.recovery_dir(attack, alpha1))
            lr = variants[alpha0]["lr"]
            label = f"{networks.classifier} · {networks.generator} · restart seed {seed}" + (
                " (the paper's pair)" if attack == PAPER_ATTACK else "")
            rows.append({"family": "grid", "name": f"{attack}/lr_{lr:g}", "label": label, "lr": lr, "alpha": 1.0,
                         "classifier": networks.classifier, "generator": networks.generator, "restart seed": seed,
                         "folders": folders, **_compare(*folders, root, "grid recovery")})
    return rows


def map_comparisons(project: Project, root=".") -> list[dict]:
    """Each α > 0 cell of each lr × α map against the α = 0 cell of its lr."""
    rows = []
    for map_name in project.maps:
        cells = project.map_recoveries(map_name)
        reference = {run.settings["lr"]: run.folder for run in cells if run.settings["alpha"] == 0}
        for run in cells:
            lr, alpha = run.settings["lr"], run.settings["alpha"]
            if alpha == 0:
                continue
            folders = (reference[lr], run.folder)
            rows.append({"family": "map", "name": f"{map_name}/{run.variant}", "label": f"{map_name}, α = {alpha:g}",
                         "lr": lr, "alpha": alpha, "folders": folders, **_compare(*folders, root, "map recovery")})
    return rows


def variant_comparisons(project: Project, root=".") -> list[dict]:
    """Each other variant on the paper's attack (another α, restriction or reference) against the α = 0 variant
    with the paper's restriction settings, the same inputs and the same lr: the ablations."""
    variants, rows = project.settings["variants"], []

    def is_reference(v):
        return v["alpha"] == 0 and v["restriction"] == "w1" and v["reference"] == "quantiles"

    for name, settings in variants.items():
        if is_reference(settings):
            continue
        same = [other for other, v in variants.items() if is_reference(v) and v["lr"] == settings["lr"]
                and v["inputs"] == settings["inputs"]]
        if not same:
            continue
        folders = (project.recovery_dir(PAPER_ATTACK, same[0]), project.recovery_dir(PAPER_ATTACK, name))
        changed = ", ".join(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
                            for key, value in settings.items() if key not in ("lr", "inputs")
                            and value != variants[same[0]][key])
        label = f"{name}: {changed}" + (", unattacked images" if settings["inputs"] == "clean" else "")
        rows.append({"family": "variant", "name": name, "label": label, "lr": settings["lr"],
                     "alpha": settings["alpha"], "folders": folders, **_compare(*folders, root, "recovery")})
    return rows


def comparison_table(project: Project, root=".") -> pd.DataFrame:
    """Every comparison once (a headline or variant row that is also a grid row is kept as the grid's, a
    variant row that is a headline row as the headline's), with Holm's p over all of them."""
    rows, seen = [], set()
    for family in (grid_comparisons, headline_comparisons, variant_comparisons, map_comparisons):
        for row in family(project, root):
            if row["folders"] not in seen:
                seen.add(row["folders"])
                rows.append(row)
    order = {"headline": 0, "grid": 1, "variant": 2, "map": 3}
    table = pd.DataFrame(rows).sort_values("family", key=lambda f: f.map(order), kind="stable")
    table = table.drop(columns="folders").reset_index(drop=True)
    table["Holm p"] = holm(table["McNemar p"])
    return table


def significant(table: pd.DataFrame, column: str = "Holm p", level: float = 0.05) -> pd.Series:
    return table[column] < level


def forest(table: pd.DataFrame, title: str, columns: list[float] | None = None, family_size: int | None = None,
           path=None):
    """A forest plot: each comparison's paired difference and 95 % interval, filled where Holm's p < 0.05,
    with 0 and the paper's +8.8 as lines. ``columns``: one panel per lr (rows must then match across
    panels, as the grid's networks do); else one panel, the comparisons grouped by lr."""
    if columns:
        panels = [table[table.lr == lr].reset_index(drop=True) for lr in columns]
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.28 * len(panels[0]) + 1.6),
                                 sharey=True, squeeze=False)
        for ax, lr, rows in zip(axes[0], columns, panels):
            _draw(ax, rows, np.arange(len(rows))[::-1])
            ax.set_title(f"recovery lr {lr:g}", fontsize=10)
        axes[0, 0].set_yticks(np.arange(len(panels[0]))[::-1], panels[0]["label"], fontsize=8)
    else:
        ordered = table.sort_values(["lr", "family"], kind="stable").reset_index(drop=True)
        fig, ax = plt.subplots(figsize=(8, 0.2 * (len(ordered) + 2 * ordered.lr.nunique()) + 1.6))
        y, ticks, labels, position = [], [], [], 0
        for lr, rows in ordered.groupby("lr", sort=True):
            position -= 1.5
            ax.text(-0.01, position + 0.3, f"recovery lr {lr:g}", transform=ax.get_yaxis_transform(), ha="right",
                    fontsize=9, fontweight="bold")
            for _, row in rows.iterrows():
                position -= 1
                y.append(position), ticks.append(position), labels.append(f"{row.family}: {row.label}")
        _draw(ax, ordered, np.array(y))
        ax.set_yticks(ticks, labels, fontsize=6.5)
        axes = np.array([[ax]])
    for ax in axes[0]:
        ax.axvline(0, color="grey", lw=1)
        ax.axvline(PAPER_GAIN, color="tab:red", ls="--", lw=1, label=f"paper: {PAPER_GAIN:+.1f}")
        ax.set_xlabel("α = 1 − α = 0 (points), 95 % paired interval"), ax.grid(axis="x", alpha=0.3)
    axes[0, -1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{title}\n(filled: Holm's p < 0.05 over all {len(table) if family_size is None else family_size} "
                 "comparisons of results/comparisons/comparisons.csv)", fontsize=10)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return fig


def _draw(ax, rows: pd.DataFrame, y: np.ndarray) -> None:
    strong = significant(rows).to_numpy()  # Holm's p is over every comparison of the table, not the rows drawn
    ax.hlines(y, rows["low"], rows["high"], color="tab:blue", lw=1.5)
    ax.plot(rows["difference"][strong], y[strong], "o", color="tab:blue", ms=5, label="Holm p < 0.05")
    ax.plot(rows["difference"][~strong], y[~strong], "o", mfc="white", color="tab:blue", ms=5, label="Holm p ≥ 0.05")


def save(table: pd.DataFrame, out_dir) -> None:
    """comparisons.csv, metrics.json and the two forest plots."""
    out_dir = Path(out_dir)
    rounded = table.round({c: 4 for c in ("α = 0 %", "α = 1 %", "difference", "low", "high")})
    artifacts.write_csv(rounded, out_dir / "comparisons.csv")
    artifacts.write_json(metrics(table), out_dir / "metrics.json")
    grid = table[table.family == "grid"]
    forest(grid, "α = 1 − α = 0 on every (classifier, generator, restarts) of the grid, same 1000 FGSM 0.7 images",
           columns=sorted(grid.lr.unique()), family_size=len(table), path=out_dir / "forest.png")
    forest(table, "Every comparison of α = 1 with α = 0, by recovery lr", path=out_dir / "forest_all.png")
    plt.close("all")


def metrics(table: pd.DataFrame) -> dict:
    """How many comparisons, and how many are significant before and after Holm, per family and lr."""
    out = {"comparisons": len(table), "significant raw": int(significant(table, "McNemar p").sum()),
           "significant Holm": int(significant(table).sum())}
    for (family, lr), rows in table.groupby(["family", "lr"]):
        out[f"{family}/lr_{lr:g}"] = {"comparisons": len(rows), "below 0": int((rows.difference < 0).sum()),
                                      "significant raw": int(significant(rows, "McNemar p").sum()),
                                      "significant Holm": int(significant(rows).sum())}
    grid = table[table.family == "grid"]  # the grid alone as the family: what a reader of its table would adjust for
    grid_holm = pd.Series(holm(grid["McNemar p"]), index=grid.index) < 0.05
    out["grid alone, Holm"] = {f"lr_{lr:g}": int(grid_holm[grid.lr == lr].sum()) for lr in sorted(grid.lr.unique())}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="results/comparisons", help="where the table and plots go")
    parser.add_argument("--params", default="params.yaml", help="the settings that name the runs")
    args = parser.parse_args(argv)
    table = comparison_table(Project(args.params))
    save(table, args.out_dir)
    print(table[["family", "name", "lr", "difference", "low", "high", "McNemar p", "Holm p"]].to_string())


if __name__ == "__main__":
    main()
