"""A generator's samples measured in a MNIST feature space, the penultimate layer of a network trained for this
only (generator_quality.features, never attacked): FID and improved precision and recall, and the FID tracked
over a GAN's training epochs. Used by notebook 02 (the FID curve) and by generator_quality (notebook 13).

- FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features of real images and of
  samples G(z), z ~ N(0, I); 0 for identical distributions;
- precision and recall (Kynkäänniemi et al. 2019): the share of samples inside the real images' k-nearest-
  neighbour manifold (are samples realistic?), and of real images inside the samples' (is every digit covered?).
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import linalg

from . import artifacts
from .checks import check_at_least_one


@torch.no_grad()
def features(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The penultimate layer of ``net`` (a Classifier: everything but its last Linear) for images ``x``."""
    body = net.net[:-1].eval()
    device = next(net.parameters()).device
    return torch.cat([body(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to feature rows ``a`` and ``b``.

    Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the symmetric
    S_a^(1/2) S_b S_a^(1/2) (float64, eigh). This stays accurate (to about 1e-8, the square root of a zero
    eigenvalue's rounding) where the covariances are singular, as they are when a ReLU feature is never active,
    where a general matrix square root (scipy's sqrtm) warns and loses accuracy."""
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


def fid_tracker(feature_net, reference_images: torch.Tensor, n: int, latent_dim: int, seed: int, weights: str):
    """``evaluate`` for training.train_gan: ``fid_train``, the FID of ``n`` samples (the same latents, drawn
    with ``seed``, every epoch) of the generator as its file will hold it (``weights``, see
    artifacts.round_weights) against ``reference_images`` (training images: no test image chooses an epoch)."""
    reference = features(feature_net, reference_images)

    def evaluate(generator) -> dict:
        stored = artifacts.round_weights(copy.deepcopy(generator), weights)
        return {"fid_train": frechet_distance(reference, features(feature_net, samples(stored, n, latent_dim, seed)))}
    return evaluate


def sample_quality(feature_net, images: torch.Tensor, reference: torch.Tensor, k: int) -> dict:
    """FID, precision and recall of ``images`` against the ``reference`` images (the test set)."""
    fake, real = features(feature_net, images), features(feature_net, reference)
    return {"FID": frechet_distance(real, fake), **precision_recall(real, fake, k)}
