"""Tables and metrics of the results: per-image rows, per-variant metrics, the paper comparison."""
from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

import pandas as pd
import torch

from .artifacts import MissingArtifactError, load_checked, write_text
from .evaluation import accuracy_ci, ci_text, mcnemar_exact

# The numbers the paper reports (J. Cho, "Add latent restriction loss when recovering latent vector").
PAPER = {
    "classifier_clean": 0.9938,
    "no_defense": 0.014,
    "defensegan": 0.553,
    "lrl": 0.641,
}
PAPER_LR = 0.001  # the paper's Adam learning rate for the recovery; figures name other rates
NO_DEFENSE = "no defense"  # the name of the undefended row in the tables of several defenses
PER_IMAGE_COLUMNS = ["index", "label", "pred_clean", "pred_adv", "pred_defended",
                     "reconstruction_mse", "restriction"]


def load_variant(recover_dir, name: str) -> tuple[pd.DataFrame, dict]:
    """A recovered variant's per-image table and recovery tensors; a variant that was never recovered
    gets an error naming the stage that makes it."""
    folder = Path(recover_dir) / name
    if not (folder / "per_image.csv").is_file() or not (folder / "recovery.pt").is_file():
        raise MissingArtifactError(
            f"no results for variant {name!r} in {folder}: they are made by the DVC stage 'recover@{name}'. "
            f"Run `dvc repro recover@{name}`; if {name!r} is not under `variants:` in params.yaml, add it "
            f"there first (or fix the name)."
        )
    recovery = load_checked(folder / "recovery.pt", "recovery", ["z", "x_rec", "best_restart", "restart_z"])
    return pd.read_csv(folder / "per_image.csv"), recovery


def variant_label(settings: dict) -> str:
    """How figures name a recovery variant, from the settings its run.json records: "α = 1", plus what
    differs from the paper's recovery (restriction, reference sample, learning rate, clean inputs)."""
    restriction = settings.get("restriction", "w1")
    if restriction == "sphere":
        label = "sphere projection"
    else:
        label = f"α = {settings['alpha']:g}"
        if restriction != "w1" and settings["alpha"] != 0:
            label += f" {restriction}"
        if settings.get("reference") == "samples" and settings["alpha"] != 0:
            label += " (sampled N(0, 1))"
    if settings.get("lr", PAPER_LR) != PAPER_LR:
        label += f", lr {settings['lr']:g}"
    if settings.get("inputs") == "clean":
        label += ", clean images"
    return label


def variant_labels(folder, names) -> dict[str, str]:
    """``variant_label`` of each variant recovered under ``folder/<name>/``, read from its run.json."""
    return {name: variant_label(read_settings(Path(folder) / name)) for name in names}


def read_settings(variant_dir) -> dict:
    """The settings a recovery recorded in its run.json."""
    path = Path(variant_dir) / "run.json"
    if not path.is_file():
        raise MissingArtifactError(f"{path} not found: it is written with the variant's results by the recover "
                                   f"stage (notebooks/04_recover_latents.ipynb); run that stage first")
    return json.loads(path.read_text())["settings"]


def per_image_table(attack: dict, result, pred_defended: torch.Tensor) -> pd.DataFrame:
    """One row per evaluated image, in the attack stage's order."""
    return pd.DataFrame({
        "index": attack["indices"].numpy(),
        "label": attack["labels"].numpy(),
        "pred_clean": attack["pred_clean"].numpy(),
        "pred_adv": attack["pred_adv"].numpy(),
        "pred_defended": pred_defended.numpy(),
        "reconstruction_mse": result.reconstruction_mse.numpy(),
        "restriction": result.restriction.numpy(),
    })[PER_IMAGE_COLUMNS]


def variant_metrics(table: pd.DataFrame) -> dict:
    """What `dvc metrics show` prints for a variant: defended accuracy (with CI) and mean losses."""
    return {
        "defended_accuracy": accuracy_ci(table.pred_defended == table.label),
        "mean_reconstruction_mse": float(table.reconstruction_mse.mean()),
        "mean_restriction": float(table.restriction.mean()),
    }


def summary_metrics(classifier_metrics: dict, attack_metrics: dict, tables: dict[str, pd.DataFrame],
                    comparison: dict) -> dict:
    """results/metrics.json: the headline numbers, flat so that `dvc metrics show` prints one row."""
    per_variant = {v: variant_metrics(t) for v, t in tables.items()}
    return {
        "classifier_clean_accuracy": classifier_metrics["test_accuracy"]["accuracy"],
        "no_defense_accuracy": attack_metrics["adversarial_accuracy"]["accuracy"],
        **{f"{v}_accuracy": m["defended_accuracy"]["accuracy"] for v, m in per_variant.items()},
        **{f"{v}_mean_reconstruction_mse": m["mean_reconstruction_mse"] for v, m in per_variant.items()},
        **{f"{v}_mean_restriction": m["mean_restriction"] for v, m in per_variant.items()},
        "mcnemar_p_value": comparison["p_value"],
    }


def loss_table(tables: dict[str, pd.DataFrame], clean_variants) -> pd.DataFrame:
    """Mean reconstruction MSE and mean W1 to N(0, 1) of each variant's kept latents."""
    return pd.DataFrame({v: {"inputs": "clean" if v in clean_variants else "FGSM",
                             "mean reconstruction MSE": m["mean_reconstruction_mse"],
                             "mean W1 to N(0,1)": m["mean_restriction"]}
                         for v, m in ((v, variant_metrics(t)) for v, t in tables.items())}).T


def run_info(started: float, **details) -> dict:
    """How a stage ran: its wall time (from ``started``, a perf_counter value), settings and machine."""
    return {"seconds": round(time.perf_counter() - started, 1), **details, "machine": machine_info()}


def results_table(classifier_metrics: dict, attack_metrics: dict, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's table beside ours: accuracy with its 95 % Wilson interval, in percent."""
    rows = [("classifier clean accuracy (test set)", "classifier_clean", classifier_metrics["test_accuracy"]),
            ("FGSM, no defense", "no_defense", attack_metrics["adversarial_accuracy"])]
    names = {"defensegan": "FGSM, Defense-GAN (alpha 0)", "lrl": "FGSM, Defense-GAN + restriction (alpha 1)",
             "defensegan_clean": "clean, through Defense-GAN (alpha 0)",
             "lrl_clean": "clean, through Defense-GAN + restriction (alpha 1)"}
    for variant, table in tables.items():
        rows.append((names.get(variant, f"FGSM, {variant}"), variant,
                     accuracy_ci(table.pred_defended == table.label)))
    return pd.DataFrame([{
        "setting": label,
        "paper %": round(100 * PAPER[key], 2) if key in PAPER else float("nan"),
        "this repo %": round(100 * acc["accuracy"], 2),
        "95% CI": ci_text(acc),
        "n": acc["n"],
    } for label, key, acc in rows])


def select_images(table: pd.DataFrame, image_ids: list, what: str) -> pd.DataFrame:
    """``table``'s rows for ``image_ids``, in that order; every id must be there."""
    by_id = table.set_index("index")
    missing = sorted(set(image_ids) - set(by_id.index))
    if missing:
        raise ValueError(f"{what}: {len(missing)} of the {len(image_ids)} images were not recovered "
                         f"(first ids {missing[:5]}); were both runs made from the same attack.eval_seed?")
    return by_id.loc[image_ids].reset_index()


def compare_variants(tables: dict[str, pd.DataFrame], a: str, b: str) -> dict:
    """Exact McNemar test of variants ``a`` and ``b`` on the same images: ``only_a`` counts the images
    that only ``a`` gets right, ``only_b`` those that only ``b`` gets right."""
    return mcnemar_exact(*paired_correct(tables[a], tables[b], (a, b)))


def paired_correct(table_a: pd.DataFrame, table_b: pd.DataFrame, names=("a", "b")):
    """Whether each run defended each image correctly, paired by image index (test-set index), as two bool
    arrays in the order of ``table_a``. Runs on different images, or with an image twice, are refused:
    McNemar's test compares the same images."""
    for name, table in zip(names, (table_a, table_b)):
        if table["index"].duplicated().any():
            raise ValueError(f"{name!r} holds an image twice (index {table['index'][table['index'].duplicated()].iloc[0]})")
    only_a = set(table_a["index"]) - set(table_b["index"])
    only_b = set(table_b["index"]) - set(table_a["index"])
    if only_a or only_b:
        raise ValueError(f"{names[0]!r} and {names[1]!r} were evaluated on different images ({len(only_a)} only in "
                         f"{names[0]!r}, {len(only_b)} only in {names[1]!r}): a paired test needs the same images")
    merged = table_a.merge(table_b, on="index", suffixes=("_a", "_b"), validate="one_to_one")
    return ((merged.pred_defended_a == merged.label_a).to_numpy(),
            (merged.pred_defended_b == merged.label_b).to_numpy())


def machine_info() -> dict:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else _cpu_name()
    return {"platform": platform.platform(), "device": device, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d")}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def project_root(start=None) -> Path:
    """The folder holding dvc.yaml, searched upwards from ``start`` (default: the working directory)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml in {here} or above: run from inside the project")


def use_project_root() -> Path:
    """Make paths relative to the project root, wherever the notebook was opened (JupyterLab, nbval)."""
    root = project_root()
    os.chdir(root)
    return root


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table: the header, then one line per row (cells as ``str`` gives them)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def render_between(text: str, start: str, end: str, body: str, what: str) -> str:
    """``text`` with what lies between the lines ``start`` and ``end`` replaced by ``body``; nothing else
    changes. A text without both markers is refused: ``what`` names it in the error."""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{what} has no markers for it: put {start!r} and {end!r} where it goes")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def render_file(path, render) -> None:
    """Rewrite the Markdown file ``path`` as ``render`` (text -> text) returns it, whole or not at all."""
    path = Path(path)
    write_text(render(path.read_text()), path)
    print(f"table rendered into {path}")
