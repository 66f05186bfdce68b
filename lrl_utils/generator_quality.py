"""How good is each generator? Its samples measured in a MNIST feature space (sample_measures), and how well it
inverts clean images.

The defense can only return images in its generator's range, and at the paper's lr it mostly keeps the best of
10 random samples, so the generator's quality bounds the defended accuracy. Measured here (notebook
13_generator_quality): each generator's FID, precision and recall against the test images, and its reach: clean
test images inverted with a large step budget (no restriction), their reconstruction MSE and the attacked
classifier's accuracy on G(z*).
"""
from __future__ import annotations

import pandas as pd
import torch

from . import artifacts
from .data import eval_indices
from .evaluation import accuracy_ci
from .resumable import recover_latents_resumable
from .sample_measures import sample_quality, samples
from .training import predict


def inversion(generator, classifier, x: torch.Tensor, y: torch.Tensor, image_ids, *, resume_dir,
              chunk_images: int, **settings) -> tuple[dict, torch.Tensor]:
    """Clean images ``x`` recovered with ``settings`` (recover_latents'): mean reconstruction MSE, the
    classifier's accuracy on G(z*) with its 95 % interval, and the mean W1 of z* to N(0, 1) (did the images
    need latents unlike the generator's inputs?); and the reconstructions."""
    result = recover_latents_resumable(generator, x, image_ids, resume_dir, chunk_images=chunk_images, **settings)
    accuracy = accuracy_ci(predict(classifier, result.x_rec) == y)
    return {"inversion MSE": result.reconstruction_mse.mean().item(), "inversion accuracy": accuracy,
            "inversion W1": result.restriction.mean().item()}, result.x_rec


def measure(project, feature_net, x_train, x_test, y_test, device="cpu") -> tuple[pd.DataFrame, dict]:
    """Notebook 13's table: MNIST's training images against its test images (the floor), then each generator
    of `generators`: its samples' quality and its inversion of clean test images (drawn with
    `attack.eval_seed`) by the attacked classifier; and the images its figure shows, ten per row."""
    settings, seed = project.settings["generator_quality"], project.settings["seed"]
    n, k = settings["samples"], settings["neighbours"]
    if len(x_train) < n:
        raise ValueError(f"generator_quality.samples is {n}, but only {len(x_train)} training images were given: "
                         f"the floor needs as many as the samples (load at least {n})")
    rows = [quality_row("MNIST training images", sample_quality(feature_net, x_train[:n], x_test, k))]
    classifier = artifacts.load_classifier(project.classifier_path(), device)  # the attacked one
    ids = eval_indices(len(x_test), settings["inversion"]["images"], project.settings["attack"]["eval_seed"])
    shown = {}
    for name, generator_run in project.settings["generators"].items():
        generator, _ = artifacts.load_gan(project.generator_path(name), device, generator_run["latent_dim"],
                                          generator_run["architecture"])
        images = samples(generator, n, generator_run["latent_dim"], seed)
        inverted, x_rec = inversion(generator, classifier, x_test[ids], y_test[ids], ids.tolist(),
                                    resume_dir=project.cache_dir("recovery"),
                                    chunk_images=project.settings["recover"]["chunk_images"], device=device,
                                    **inversion_settings(project))
        rows.append(quality_row(name, sample_quality(feature_net, images, x_test, k), inverted))
        shown[f"{name}: samples"], shown[f"{name}: G(z*)"] = images[:10], x_rec[:10]
    shown["clean test images"] = x_test[ids][:10]
    return pd.DataFrame(rows), shown


def inversion_settings(project) -> dict:
    """recover_latents' settings of the inversion: `recover`'s options and seed (layout.Project.recover_options)
    with `generator_quality.inversion`'s steps and lr, and no restriction (alpha 0)."""
    inversion_run = project.settings["generator_quality"]["inversion"]
    return {**project.recover_options(), "steps": inversion_run["steps"], "lr": inversion_run["lr"],
            "alpha": 0.0, "restriction": "w1", "reference": "quantiles"}


def quality_row(name: str, quality: dict, inverted: dict | None = None) -> dict:
    """One row of the table: FID, precision, recall and, for a generator, its inversion (accuracy in %)."""
    row = {"generator": name, **quality}
    if inverted is not None:
        accuracy = inverted["inversion accuracy"]
        row.update({"inversion MSE": inverted["inversion MSE"], "inversion accuracy %": 100 * accuracy["accuracy"],
                    "inversion low %": 100 * accuracy["ci_low"], "inversion high %": 100 * accuracy["ci_high"],
                    "inversion W1": inverted["inversion W1"]})
    return row


def metrics(table) -> dict:
    """What `metrics.json` keeps per row: FID, precision, recall, and the inversion's MSE and accuracy."""
    return {r["generator"]: {key: None if pd.isna(r[key]) else round(float(r[key]), 4)  # NaN: no inversion
                             for key in ("FID", "precision", "recall", "inversion MSE", "inversion accuracy %",
                                         "inversion W1")
                             if key in r}
            for r in table.to_dict("records")}
