"""Latent restriction loss for Defense-GAN's latent recovery (J. Cho): the tested core of the paper."""
from .attacks import fgsm, fgsm_in_batches
from .checks import resolve_device
from .data import MNISTChecksumError, eval_indices, load_mnist, prepare_mnist
from .evaluation import accuracy_ci, mcnemar_exact
from .models import Classifier, Discriminator, Generator
from .recovery import RecoveryResult, initial_latents, recover_latents, select_restarts
from .restriction import (RESTRICTIONS, latent_restriction_loss, project_to_sphere, restriction_term,
                          standard_normal_quantiles)
from .resumable import recover_latents_resumable
from .training import predict, train_classifier, train_gan

__all__ = [
    "fgsm", "fgsm_in_batches", "resolve_device", "MNISTChecksumError", "eval_indices", "load_mnist",
    "prepare_mnist",
    "accuracy_ci", "mcnemar_exact", "Classifier", "Discriminator", "Generator", "RecoveryResult",
    "initial_latents", "recover_latents", "select_restarts", "RESTRICTIONS", "latent_restriction_loss",
    "project_to_sphere", "restriction_term",
    "standard_normal_quantiles", "recover_latents_resumable", "predict", "train_classifier", "train_gan",
]
