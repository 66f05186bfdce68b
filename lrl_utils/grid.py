"""The paper's table on other networks: α = 0 against α = 1 for each (classifier, generator) of the grid.

Today's verdict on the restriction rests on one classifier and one generator. The grid repeats the paper's
comparison with each network of `grid.networks` (another classifier attacked with the paper's FGSM on the
same images, or another generator inverting them), for each pair of `grid.pairs` (the paper's lr, and
lr 0.1), and tests α = 1 against α = 0 on the same images with McNemar's exact test (notebook 11_grid). A
network listed again with another `restart_seed` gives the spread of the comparison due to the restarts alone.

`python -m lrl_utils.grid --doc paper/results_in_full.md` renders the committed grid.csv into that document
between its `grid` markers, so that its table cannot drift from the results (tests/test_grid.py checks it).
"""
from __future__ import annotations

import argparse

import pandas as pd

from . import artifacts, reporting
from .evaluation import accuracy_ci, mcnemar_exact
from .layout import PAPER_ATTACK, Project
from .reporting import paired_correct


def grid_attacks(project: Project) -> list:
    """The paper's attack (the paper's pair of networks) first, then each network of `grid.networks`."""
    return [project.attack(PAPER_ATTACK)] + [project.attack(name) for name in project.settings["grid"]["networks"]]


def grid_table(project: Project, root=".") -> pd.DataFrame:
    """One row per (network, pair of `grid.pairs`): accuracies in % with 95 % Wilson intervals (clean and
    undefended as the attacked classifier sees them, then α = 0 and α = 1 defended), α = 1's gain and the
    exact McNemar p of α = 1 against α = 0, paired by test image."""
    variants, rows = project.settings["variants"], []
    for attack in grid_attacks(project):
        for alpha0, alpha1 in project.settings["grid"]["pairs"]:
            kind = "recovery" if attack.name == PAPER_ATTACK else "grid recovery"
            runs = [artifacts.read_per_image(f"{root}/{project.recovery_dir(attack.name, v)}", kind)
                    for v in (alpha0, alpha1)]
            right0, right1 = paired_correct(*runs, names=(alpha0, alpha1))
            table = runs[0]
            cells = {"clean": table.pred_clean == table.label, "no defense": table.pred_adv == table.label,
                     "α = 0": right0, "α = 1": right1}
            row = {"network": attack.name, "classifier": attack.classifier, "generator": attack.generator,
                   "restart seed": project.restart_seed(attack.name),
                   "lr": variants[alpha0]["lr"], "α = 0 variant": alpha0, "α = 1 variant": alpha1}
            for name, right in cells.items():
                acc = accuracy_ci(right)
                row.update({f"{name} %": 100 * acc["accuracy"], f"{name} low %": 100 * acc["ci_low"],
                            f"{name} high %": 100 * acc["ci_high"]})
            row["α = 1 − α = 0"] = row["α = 1 %"] - row["α = 0 %"]
            row["McNemar p"] = mcnemar_exact(right1, right0)["p_value"]
            row["images"] = len(table)
            rows.append(row)
    return pd.DataFrame(rows)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the notebook and the README show it: one cell per accuracy, "acc (low–high)"."""
    def cell(row, name):
        return f"{row[f'{name} %']:.1f} ({row[f'{name} low %']:.1f}–{row[f'{name} high %']:.1f})"

    return pd.DataFrame([{"classifier": r["classifier"], "generator": r["generator"], "restart seed": r["restart seed"],
                          "recovery lr": f"{r['lr']:g}",
                          **{f"{name} %": cell(r, name) for name in ("clean", "no defense", "α = 0", "α = 1")},
                          "α=1 − α=0": f"{r['α = 1 − α = 0']:+.1f}", "McNemar p": f"{r['McNemar p']:.2g}",
                          "images": r["images"]} for _, r in table.iterrows()])


START, END = "<!-- grid:start (python -m lrl_utils.grid --doc paper/results_in_full.md) -->", "<!-- grid:end -->"
SUMMARY_CSV = "results/grid_summary/grid.csv"


def markdown(table: pd.DataFrame) -> str:
    """The table as `readable` shows it, in Markdown."""
    shown = readable(table)
    return reporting.markdown_table(list(shown.columns), shown.values.tolist())


def render_doc(text: str, table: pd.DataFrame) -> str:
    """``text`` with the table between the grid markers replaced by ``table``'s."""
    return reporting.render_between(text, START, END, markdown(table), "the document's grid table")


def read_summary(path=SUMMARY_CSV) -> pd.DataFrame:
    """The grid stage's grid.csv, as `save` wrote it."""
    return pd.read_csv(artifacts.require(path, "grid table"))


SPREAD_COLUMNS = ("α = 0 %", "α = 1 %", "α = 1 − α = 0")


def seed_spread(table: pd.DataFrame) -> pd.DataFrame:
    """For each (classifier, generator, lr) recovered from more than one restart seed: the seeds, and the
    mean, smallest and largest of α = 0's and α = 1's accuracy and of α = 1's gain over them: how much the
    random restarts alone move the paper's comparison on the same attacked images."""
    rows = []
    for (classifier, generator, lr), runs in table.groupby(["classifier", "generator", "lr"], sort=False):
        if runs["restart seed"].nunique() < 2:
            continue
        row = {"classifier": classifier, "generator": generator, "lr": lr,
               "restart seeds": " ".join(str(seed) for seed in runs["restart seed"])}
        for column in SPREAD_COLUMNS:
            row.update({f"{column} mean": runs[column].mean(), f"{column} min": runs[column].min(),
                        f"{column} max": runs[column].max()})
        rows.append(row)
    return pd.DataFrame(rows)


def readable_spread(table: pd.DataFrame) -> pd.DataFrame:
    """`seed_spread` as the notebook shows it: rounded, the lr as written in params.yaml ("0.001", not "0.0")."""
    return seed_spread(table).round(2).assign(lr=lambda spread: spread.lr.map("{:g}".format))


def save(table: pd.DataFrame, out_dir) -> None:
    """grid.csv (percentages to 4 decimals, McNemar's p unrounded: it can be 1e-13), seed_spread.csv and
    metrics.json."""
    artifacts.write_csv(table.round(4).assign(**{"McNemar p": table["McNemar p"]}), f"{out_dir}/grid.csv")
    artifacts.write_csv(seed_spread(table).round(4), f"{out_dir}/seed_spread.csv")
    artifacts.write_json(metrics(table), f"{out_dir}/metrics.json")


def metrics(table: pd.DataFrame) -> dict:
    """What `metrics.json` keeps: per network and lr, the two defended accuracies, the gain and p."""
    return {f"{r['network']}/lr_{r['lr']:g}": {"alpha0 %": round(r["α = 0 %"], 2), "alpha1 %": round(r["α = 1 %"], 2),
                                               "gain": round(r["α = 1 − α = 0"], 2), "mcnemar_p": r["McNemar p"]}
            for _, r in table.iterrows()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Print the grid stage's table in Markdown; with --doc, also "
                                                 "render it into a document between its grid markers.")
    parser.add_argument("--csv", default=SUMMARY_CSV, help="the grid stage's table (default: %(default)s)")
    parser.add_argument("--doc", help="render the table into this Markdown file, between its grid markers")
    args = parser.parse_args(argv)
    table = read_summary(args.csv)
    print(markdown(table))
    if args.doc:
        reporting.render_file(args.doc, lambda text: render_doc(text, table))


if __name__ == "__main__":
    main()
