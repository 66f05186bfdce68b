"""A committed recovery computed again, in another precision or on another device, against its files:
`python -m lrl_utils.precision_check --precision bf16`.

Recovers the attacked images of each FGSM variant of params.yaml again, with the pipeline's trained models
and the settings each variant's run.json records (the precision, torch.compile and the device as asked),
and compares with the committed fp32 results (results/recover/<variant>/per_image.csv): accuracy of both,
agreement of the defended predictions, exact McNemar, and the largest difference in reconstruction MSE.
`lrl_utils.gpu_check` runs the same comparison on a GPU.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import artifacts
from .checks import resolve_device
from .defense import INPUTS
from .evaluation import accuracy_ci, mcnemar_exact
from .layout import PAPER_ATTACK, Project, Recovery
from .recovery import recover_latents
from .reporting import machine_info, read_settings
from .training import predict


def recompute(run: Recovery, classifier, generator, *, precision: str, compile: bool, images: int = 0) -> dict:
    """Recover ``run``'s images (its first ``images``; 0 = all) again with the settings its run.json records,
    in ``precision``, on the networks' device, and compare with its committed per_image.csv."""
    committed = artifacts.read_per_image(run.folder, "recovery")
    settings = {**read_settings(run.folder), "precision": precision, "compile": compile}
    attack = artifacts.load_attack(run.attack.path)
    n = images or len(attack["indices"])
    x, ids = attack[INPUTS[settings.pop("inputs")]][:n], attack["indices"][:n]
    committed = committed.iloc[:n]
    if committed["index"].tolist() != ids.tolist():
        raise ValueError(f"{run.folder}/per_image.csv is not in the order of {run.attack.path}: remake it with "
                         f"`dvc repro` of its recover stage")
    settings["betas"] = tuple(settings["betas"])
    device = next(generator.parameters()).device
    started = time.perf_counter()
    result = recover_latents(generator, x, image_ids=ids.tolist(), device=device, progress=False, **settings)
    seconds = time.perf_counter() - started
    again, before = predict(classifier, result.x_rec).numpy(), committed["pred_defended"].to_numpy()
    labels = committed["label"].to_numpy()
    return {
        "images": n, "precision": precision, "compile": compile, "device": str(device),
        "committed_accuracy": accuracy_ci(before == labels),
        "recomputed_accuracy": accuracy_ci(again == labels),
        "same_prediction": float((again == before).mean()),
        "mcnemar_committed_vs_recomputed": mcnemar_exact(before == labels, again == labels),
        "max_abs_mse_difference": float(np.abs(result.reconstruction_mse.numpy()
                                               - committed["reconstruction_mse"].to_numpy()).max()),
        "seconds": round(seconds, 1),
        "latent_steps_per_s": round(n * settings["restarts"] * settings["steps"] / seconds),
    }


def check(precision: str, params_path="params.yaml", compile: bool = False, variants=None, device="cpu",
          attack=PAPER_ATTACK, images: int = 0) -> dict:
    """``recompute`` each of ``variants`` (default: every FGSM variant recovered on ``attack``)."""
    project = Project(params_path)
    runs = [run for run in project.recoveries(attack) if run.settings["inputs"] == "adversarial"
            and (not variants or run.variant in variants)]
    classifier, generator = artifacts.load_networks(project, resolve_device(device))
    report = {"precision": precision, "compile": compile, "attack": attack, "variants": {}, "machine": machine_info()}
    for run in runs:
        report["variants"][run.variant] = recompute(run, classifier, generator, precision=precision,
                                                    compile=compile, images=images)
    return report


def table(report: dict) -> pd.DataFrame:
    rows = {name: {"committed %": 100 * v["committed_accuracy"]["accuracy"],
                   f"{v['precision']} on {v['device']} %": 100 * v["recomputed_accuracy"]["accuracy"],
                   "same prediction %": 100 * v["same_prediction"],
                   "McNemar p": v["mcnemar_committed_vs_recomputed"]["p_value"],
                   "max |MSE diff|": v["max_abs_mse_difference"], "s": v["seconds"]}
            for name, v in report["variants"].items()}
    return pd.DataFrame(rows).T


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "tf32"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--variants", nargs="+", help="variants to check (default: every FGSM variant)")
    parser.add_argument("--images", type=int, default=0, help="only the first N images (default 0: all)")
    parser.add_argument("--out", default=None, help="default results/precision_<precision>.json")
    args = parser.parse_args(argv)
    report = check(args.precision, compile=args.compile, variants=args.variants, device=args.device,
                   images=args.images)
    print(table(report).round(4).to_string())
    out = Path(args.out or f"results/precision_{args.precision}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
