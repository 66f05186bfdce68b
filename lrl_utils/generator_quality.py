"""How good is each generator? Its samples measured in a MNIST feature space, and how well it inverts clean images.

The defense can only return images in its generator's range, and at the paper's lr it mostly keeps the best of
10 random samples, so the generator's quality bounds the defended accuracy. Measured here (notebook
13_generator_quality), in the 128-d penultimate layer of a small convnet trained on MNIST for this only (not a
classifier under attack):
- FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features of test images and of
  samples G(z), z ~ N(0, I); 0 for identical distributions;
- precision and recall (Kynkäänniemi et al. 2019): the share of samples inside the test images' k-nearest-
  neighbour manifold (are samples realistic?), and of test images inside the samples' (is every digit covered?).
And the generator's reach: clean test images inverted with a large step budget (no restriction), their
reconstruction MSE and the attacked classifier's accuracy on G(z*).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import linalg

from . import artifacts
from .checks import check_at_least_one
from .data import eval_indices
from .evaluation import accuracy_ci
from .resumable import recover_latents_resumable
from .training import predict


@torch.no_grad()
def features(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The penultimate layer of ``net`` (a Classifier: everything but its last Linear) for images ``x``."""
    body = net.net[:-1].eval()
    device = next(net.parameters()).device
    return torch.cat([body(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to feature rows ``a`` and ``b``.

    Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the symmetric
    S_a^(1/2) S_b S_a^(1/2) (float64, eigh): exact where the covariances are singular, as they are when a ReLU
    feature is never active, where a general matrix square root (scipy's sqrtm) warns and loses accuracy."""
    a, b = a.double().numpy(), b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * _trace_sqrt_product(cov_a, cov_b))


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    values, vectors = linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    return float(np.sqrt(linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum())


def _kth_neighbour_radius(points: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point."""
    return torch.cat([torch.cdist(points[i:i + chunk], points).kthvalue(k + 1, dim=1).values  # +1: itself
                      for i in range(0, len(points), chunk)])


def _share_inside(queries: torch.Tensor, points: torch.Tensor, radius: torch.Tensor, chunk: int) -> float:
    """The share of ``queries`` within ``radius[j]`` of some point j."""
    inside = [(torch.cdist(queries[i:i + chunk], points) <= radius).any(dim=1) for i in range(0, len(queries), chunk)]
    return torch.cat(inside).double().mean().item()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, chunk: int = 1000) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature rows ``fake`` against ``real``."""
    check_at_least_one(k=k)
    if k >= min(len(real), len(fake)):
        raise ValueError(f"k = {k} neighbours need more than {k} real and fake samples; got {len(real)} and "
                         f"{len(fake)}")
    real, fake = real.double(), fake.double()
    return {"precision": _share_inside(fake, real, _kth_neighbour_radius(real, k, chunk), chunk),
            "recall": _share_inside(real, fake, _kth_neighbour_radius(fake, k, chunk), chunk)}


@torch.no_grad()
def samples(generator: torch.nn.Module, n: int, latent_dim: int, seed: int, batch_size: int = 1000) -> torch.Tensor:
    """``n`` images G(z), z ~ N(0, I) drawn with ``seed`` (on the CPU: the same on every device)."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    device = next(generator.parameters()).device
    return torch.cat([generator.eval()(z[i:i + batch_size].to(device)).cpu() for i in range(0, n, batch_size)])


def sample_quality(feature_net, images: torch.Tensor, reference: torch.Tensor, k: int) -> dict:
    """FID, precision and recall of ``images`` against the ``reference`` images (the test set)."""
    fake, real = features(feature_net, images), features(feature_net, reference)
    return {"FID": frechet_distance(real, fake), **precision_recall(real, fake, k)}


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
        raise ValueError(f"generator_quality.samples is {n}, but only {len(x_train)} training images are loaded "
                         f"(generator_quality.features.train_limit): the floor needs as many as the samples")
    rows = [quality_row("MNIST training images", sample_quality(feature_net, x_train[:n], x_test, k))]
    classifier = artifacts.load_classifier(project.classifier_path(), device)  # the attacked one
    ids = eval_indices(len(x_test), settings["inversion"]["images"], project.settings["attack"]["eval_seed"])
    shown = {}
    for name, generator_run in project.settings["generators"].items():
        generator, _ = artifacts.load_gan(project.generator_path(name), device, generator_run["latent_dim"])
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
