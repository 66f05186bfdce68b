"""The paper's table and what lies beyond it, one row per setting: `python -m lrl_utils.headline`.

Each row holds the accuracy without defense, with α = 0 (Defense-GAN) and with α = 1 (the restriction),
each with its 95 % Wilson interval, the exact McNemar p of α = 1 against α = 0 on the same images, and the
number of images. Every number is computed from committed result files of the runs the row names (their
per-image tables, or the adaptive attacks' result tables). The rows go

- into results/headline/, one small JSON file each, so that `dvc metrics show` prints one line per row,
  the paper's first;
- into README.md between its `headline` markers (`--readme README.md`), so that the README's table
  cannot drift from the results (tests/test_readme.py checks that it has not).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import artifacts, reporting
from .evaluation import accuracy_ci, mcnemar_exact
from .layout import EOT_ATTACKER, FULL_TEST_ATTACK, PAPER_ATTACK, Project
from .reporting import PAPER, paired_correct


@dataclass(frozen=True)
class Row:
    """One setting: the α = 0 and α = 1 runs that defend the same images, and what the undefended
    classifier saw (``undefended``: the per-image column of its prediction)."""
    name: str
    label: str
    alpha0: str
    alpha1: str
    undefended: str = "pred_adv"


def rows_of(project: Project) -> tuple[list[Row], list[tuple[str, str, str]]]:
    """The rows that the project's settings (params.yaml, or a profile) declare: the paper's setting, every
    test image, the unattacked images, each magnitude of the FGSM sweep (strongest first) and each pair of
    `headline.pairs`; then each adaptive attacker, weakest first, as (name, label, folder)."""
    params, (alpha0, alpha1) = project.settings, project.defenses
    eps = params["attack"]["eps"]

    def row(name, label, attack, a0=alpha0, a1=alpha1, **kw):
        return Row(name, label, project.recovery_dir(attack, a0), project.recovery_dir(attack, a1), **kw)

    rows = [row("01_fgsm", f"FGSM {eps:g} (the paper's setting)", PAPER_ATTACK),
            row("02_fgsm_every_test_image", f"FGSM {eps:g}, every test image", FULL_TEST_ATTACK),
            row("03_clean", "no attack (what the defense costs)", PAPER_ATTACK, project.clean_twin(alpha0),
                project.clean_twin(alpha1), undefended="pred_clean")]
    magnitudes = sorted(params["fgsm_sweep"]["magnitudes"].items(), key=lambda item: -item[1])
    for i, (key, magnitude) in enumerate(magnitudes):
        rows.append(row(f"{4 + i:02d}_fgsm_{key}", f"FGSM {magnitude:g}", key))
    for key, (a0, a1) in params["headline"]["pairs"].items():
        rows.append(row(f"{len(rows) + 1:02d}_fgsm_{key}", f"FGSM {eps:g}, {_change(params, alpha0, a0)}",
                        PAPER_ATTACK, a0, a1))
    kinds = {name: _attacker_kind(name, attacker, params["seed"]) for name, attacker in project.attackers().items()}
    attackers = sorted(kinds, key=lambda name: (kinds[name], name))  # the weakest attacker first
    adaptive = [(f"{len(rows) + 1 + i:02d}_bpda_{name}", f"PGD/BPDA ε {params['adaptive']['eps']:g}, "
                 f"{ATTACKER_LABELS[kinds[name]]}", project.adaptive_dir(name)) for i, name in enumerate(attackers)]
    return rows, adaptive


def _change(params: dict, base: str, variant: str) -> str:
    """What sets ``variant`` apart from the paper's ``base`` recovery, e.g. "recovery lr 0.1 instead of 0.001"."""
    ours, theirs = params["variants"][variant], params["variants"][base]
    changed = [f"recovery {key} {ours[key]:g} instead of {theirs[key]:g}" if isinstance(ours[key], float)
               else f"recovery {key} {ours[key]} instead of {theirs[key]}"
               for key in ours if key != "alpha" and ours[key] != theirs[key]]
    return ", ".join(changed) or "recovery as the paper's"


def _attacker_kind(name: str, attacker: dict, defense_seed: int) -> int:
    """0: PGD with its own restarts; 1: EOT over restarts it draws; 2: PGD with the defense's seed (strongest)."""
    return 1 if name == EOT_ATTACKER else 2 if attacker["seed"] == defense_seed else 0


ATTACKER_LABELS = ["attacker with its own restarts", "EOT over the defense's restarts",
                   "attacker knows the defense's seed"]


ADAPTIVE_TARGETS = ("no defense", "defensegan", "lrl")
COLUMNS = ["no defense %", "α = 0 %", "α = 1 %", "α=1 − α=0", "McNemar p", "images"]
# dvc metrics show sorts columns by name: numbered keys keep the table's order.
METRIC_KEYS = dict(zip(COLUMNS, ["1 no defense %", "2 alpha 0 %", "3 alpha 1 %", "4 alpha 1 - alpha 0",
                                 "5 McNemar p", "6 images"]))
START, END = "<!-- headline:start (python -m lrl_utils.headline --readme README.md) -->", "<!-- headline:end -->"


def _percent(acc: dict) -> str:
    return f"{100 * acc['accuracy']:.1f} ({100 * acc['ci_low']:.1f}–{100 * acc['ci_high']:.1f})"


def _p(p: float) -> str:
    return f"{p:.2g}"


def paper_row() -> dict:
    return {"setting": "paper (reported): FGSM 0.7", "no defense %": f"{100 * PAPER['no_defense']:.1f}",
            "α = 0 %": f"{100 * PAPER['defensegan']:.1f}", "α = 1 %": f"{100 * PAPER['lrl']:.1f}",
            "α=1 − α=0": f"{100 * (PAPER['lrl'] - PAPER['defensegan']):+.1f}", "McNemar p": "–",
            "images": "1000"}


def run_row(row: Row, root=".") -> dict:
    """A row from the two runs' per_image.csv, paired by image (runs on other images are refused)."""
    a0, a1 = (_per_image(Path(root) / folder) for folder in (row.alpha0, row.alpha1))
    right0, right1 = paired_correct(a0, a1, (row.alpha0, row.alpha1))
    acc0, acc1 = accuracy_ci(right0), accuracy_ci(right1)
    return {"setting": row.label, "no defense %": _percent(accuracy_ci(a0[row.undefended] == a0.label)),
            "α = 0 %": _percent(acc0), "α = 1 %": _percent(acc1),
            "α=1 − α=0": f"{100 * (acc1['accuracy'] - acc0['accuracy']):+.1f}",
            "McNemar p": _p(mcnemar_exact(right1, right0)["p_value"]), "images": str(len(a0))}


def adaptive_row(label: str, folder, root=".") -> dict:
    """A row from an adaptive attack's results.csv (accuracy and CI per target) and metrics.json (McNemar)."""
    folder = Path(root) / folder
    table = pd.read_csv(_require(folder / "results.csv")).set_index("target")
    metrics = json.loads(_require(folder / "metrics.json").read_text())
    cells = {}
    for column, target in zip(["no defense %", "α = 0 %", "α = 1 %"], ADAPTIVE_TARGETS):
        low, high = (float(v) for v in table.loc[target, "95% CI"].split(" - "))
        cells[column] = f"{table.loc[target, 'PGD / BPDA %']:.1f} ({low:.1f}–{high:.1f})"
    gain = table.loc["lrl", "PGD / BPDA %"] - table.loc["defensegan", "PGD / BPDA %"]
    return {"setting": label, **cells, "α=1 − α=0": f"{gain:+.1f}",
            "McNemar p": _p(metrics["mcnemar_p_lrl_vs_defensegan"]), "images": str(int(table["n"].iloc[0]))}


def all_rows(project: Project, root=".") -> dict[str, dict]:
    """Every row by file stem: the paper's reported numbers first, then ours."""
    runs, adaptive = rows_of(project)
    rows = {"00_paper_reported": paper_row()}
    rows.update({row.name: run_row(row, root) for row in runs})
    rows.update({name: adaptive_row(label, folder, root) for name, label, folder in adaptive})
    return rows


def write_metrics(rows: dict[str, dict], out_dir) -> None:
    """One JSON file per row (old rows' files removed first, so a dropped row does not linger)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        stale.unlink()
    for name, row in rows.items():
        values = {METRIC_KEYS[c]: row[c] for c in COLUMNS}
        artifacts.write_text(json.dumps({"setting": row["setting"], **values}, indent=1, ensure_ascii=False) + "\n",
                             out_dir / f"{name}.json")


def markdown_table(rows: dict[str, dict]) -> str:
    """The rows as the README shows them; the paper's reported row (name 00_...) in italics."""
    lines = []
    for name, row in rows.items():
        cells = [row["setting"], *(row[c] for c in COLUMNS)]
        lines.append([f"*{c}*" for c in cells] if name.startswith("00_") else cells)
    return reporting.markdown_table(["setting", *COLUMNS], lines)


def render_readme(text: str, rows: dict[str, dict]) -> str:
    """``text`` with the table between the headline markers replaced by the rows' table."""
    return reporting.render_between(text, START, END, markdown_table(rows), "the README's headline table")


def _per_image(folder: Path) -> pd.DataFrame:
    return pd.read_csv(_require(folder / "per_image.csv"))


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the headline table reads it; run `dvc repro` for the stage "
                                f"that writes it (see dvc.yaml)")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="results/headline", help="where the rows' JSON files go")
    parser.add_argument("--params", default="params.yaml", help="the settings that name the runs")
    parser.add_argument("--readme", action="append", default=[], metavar="FILE",
                        help="also render the table into this Markdown file (README.md, the paper's page), between "
                             "its markers; may be given more than once")
    args = parser.parse_args(argv)
    rows = all_rows(Project(args.params))
    write_metrics(rows, args.out_dir)
    print(markdown_table(rows))
    for document in args.readme:
        reporting.render_file(document, lambda text: render_readme(text, rows))


if __name__ == "__main__":
    main()
