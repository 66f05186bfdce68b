"""What reduced precision does to the defense: `python -m lrl_utils.precision_check --precision bf16`.

Recovers the attacked images of each FGSM variant of params.yaml again, in the given precision, with
the pipeline's trained models and the settings each variant's run.json records, and compares the defended predictions with the committed
fp32 results (results/recover/<variant>/per_image.csv): accuracy of both, agreement, exact McNemar.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from . import artifacts
from .defense import INPUTS
from .evaluation import accuracy_ci, mcnemar_exact
from .layout import PAPER_ATTACK, Project
from .reporting import load_variant, machine_info, read_settings
from .resumable import recover_latents_resumable
from .training import predict


def check(precision: str, params_path="params.yaml", compile: bool = False, variants=None) -> dict:
    """Recover each of ``variants`` (default: every FGSM variant of params.yaml) again with the settings its
    run.json records, in ``precision``, and compare with its committed fp32 per_image.csv."""
    project = Project(params_path)
    params = project.settings
    names = variants or [name for name, v in params["variants"].items() if v["inputs"] == "adversarial"]
    classifier = artifacts.load_classifier(project.classifier_path())
    generator, _ = artifacts.load_gan(project.generator_path(), latent_dim=project.latent_dim)
    attack = artifacts.load_attack(project.attack(PAPER_ATTACK).path)
    report = {"precision": precision, "compile": compile, "variants": {}, "machine": machine_info()}
    for name in names:
        exact, _ = load_variant(project.recover_dir, name)
        settings = {**read_settings(f"{project.recover_dir}/{name}"), "precision": precision, "compile": compile}
        images = attack[INPUTS[settings.pop("inputs")]]
        settings["betas"] = tuple(settings["betas"])
        started = time.perf_counter()
        result = recover_latents_resumable(generator, images, attack["indices"], project.cache_dir("recovery"),
                                           chunk_images=params["recover"]["chunk_images"], **settings)
        reduced = predict(classifier, result.x_rec).numpy()
        labels = exact["label"].to_numpy()
        report["variants"][name] = {
            "fp32_accuracy": accuracy_ci(exact["pred_defended"].to_numpy() == labels),
            f"{precision}_accuracy": accuracy_ci(reduced == labels),
            "same_prediction": float((reduced == exact["pred_defended"].to_numpy()).mean()),
            "mcnemar_fp32_vs_reduced": mcnemar_exact(exact["pred_defended"].to_numpy() == labels, reduced == labels),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="bf16", choices=["bf16", "tf32"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--variants", nargs="+", help="variants to check (default: every FGSM variant)")
    parser.add_argument("--out", default=None, help="default results/precision_<precision>.json")
    args = parser.parse_args(argv)
    report = check(args.precision, compile=args.compile, variants=args.variants)
    rows = {name: {"fp32 %": 100 * v["fp32_accuracy"]["accuracy"],
                   f"{args.precision} %": 100 * v[f"{args.precision}_accuracy"]["accuracy"],
                   "same prediction %": 100 * v["same_prediction"],
                   "McNemar p": v["mcnemar_fp32_vs_reduced"]["p_value"]} for name, v in report["variants"].items()}
    print(pd.DataFrame(rows).T.round(4).to_string())
    out = Path(args.out or f"results/precision_{args.precision}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
