"""Defended accuracy across FGSM magnitudes (08_fgsm_sweep): the paper's defenses against weaker attacks."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import artifacts
from .evaluation import accuracy_ci, mcnemar_exact
from .reporting import NO_DEFENSE, select_images


def accuracy_by_magnitude(per_eps: dict[float, dict[str, pd.DataFrame]], image_ids, against: str = "lrl"
                          ) -> pd.DataFrame:
    """One row per (magnitude, defense) on the images ``image_ids``: accuracy (%, 95 % CI) and an exact
    McNemar test against the defense ``against`` on the same images.

    ``per_eps`` maps an FGSM magnitude to per-image tables (reporting.PER_IMAGE_COLUMNS) of the defenses
    recovered from the images attacked at that magnitude; eps 0 means the unattacked images (the
    `inputs: clean` variants), whose undefended prediction is ``pred_clean``. The tables may hold more
    images than ``image_ids`` (the 1000 images of the attack stage): only ``image_ids`` are scored.
    """
    image_ids = list(image_ids)
    rows = []
    for eps in sorted(per_eps):
        tables = {name: select_images(table, image_ids, f"eps {eps}, {name}")
                  for name, table in per_eps[eps].items()}
        if against not in tables:
            raise ValueError(f"eps {eps}: no results for the reference defense {against!r}; "
                             f"got {', '.join(tables)}")
        first = tables[against]
        undefended = first.pred_clean if eps == 0 else first.pred_adv
        correct = {NO_DEFENSE: (undefended == first.label).to_numpy(),
                   **{name: (t.pred_defended == t.label).to_numpy() for name, t in tables.items()}}
        for name, right in correct.items():
            accuracy = accuracy_ci(right)
            p = float("nan") if name == against else mcnemar_exact(right, correct[against])["p_value"]
            rows.append({"eps": float(eps), "defense": name, "accuracy %": 100 * accuracy["accuracy"],
                         "ci low %": 100 * accuracy["ci_low"], "ci high %": 100 * accuracy["ci_high"],
                         "n": accuracy["n"], f"McNemar p vs {against}": p})
    return pd.DataFrame(rows)


def load_sweep(sweep_dir, defenses) -> dict[float, dict[str, pd.DataFrame]]:
    """The per-image tables of ``defenses`` at every magnitude under ``sweep_dir``: one folder per
    magnitude, holding the attack's run.json (its ``eps``) and one folder per defense (notebook 04)."""
    runs = sorted(Path(sweep_dir).glob("*/run.json"))
    if not runs:
        raise FileNotFoundError(f"no FGSM magnitudes under {sweep_dir}: run `dvc repro recover_sweep` first")
    per_eps = {}
    for run in runs:
        eps = float(json.loads(run.read_text())["eps"])
        if eps in per_eps:
            raise ValueError(f"two folders of {sweep_dir} hold eps {eps}; remove the stale one")
        per_eps[eps] = artifacts.read_per_image_tables(run.parent, defenses, "sweep recovery")
    return per_eps


def load_magnitudes(sweep_dir, recover_dir, attack_eps: float, defenses: dict[str, str]):
    """Every magnitude of the sweep (``load_sweep``), plus ``attack_eps`` from the attacked variants under
    ``recover_dir`` (the keys of ``defenses``) and eps 0 from their clean counterparts (its values).
    Returns those tables and the sweep's image ids, the images they are scored on."""
    per_eps = load_sweep(sweep_dir, defenses)
    image_ids = next(iter(per_eps.values()))[next(iter(defenses))]["index"].tolist()
    per_eps[attack_eps] = artifacts.read_per_image_tables(recover_dir, defenses, "recovery")
    clean = artifacts.read_per_image_tables(recover_dir, defenses.values(), "recovery")
    per_eps[0.0] = {name: clean[clean_name] for name, clean_name in defenses.items()}
    return per_eps, image_ids


def magnitude_metrics(summary: pd.DataFrame) -> dict:
    """``accuracy_by_magnitude``'s accuracies as `dvc metrics` reads them: eps 0.3 -> "eps_0p3" (DVC
    reads dots in metric names as nesting), then defense -> accuracy in [0, 1]."""
    return {f"eps_{eps:g}".replace(".", "p"): dict(zip(rows.defense, rows["accuracy %"] / 100))
            for eps, rows in summary.groupby("eps")}
