"""Latent restriction loss for Defense-GAN's latent recovery (J. Cho): the tested core of the paper.

The names below are imported on first use (PEP 562), not when the package is: a notebook that uses
`lrl.load_mnist` loads data.py and what it imports, nothing else. So each DVC stage depends on exactly
the modules its notebook uses (tests/test_dvc_deps.py derives them from this table), and editing one
module does not invalidate stages that never run it.
"""
import importlib

# public name -> the module of this package that defines it
_EXPORTS = {
    "fgsm": "attacks", "fgsm_in_batches": "attacks", "fgsm_test_images": "attacks",
    "resolve_device": "checks",
    "MNISTChecksumError": "data", "eval_indices": "data", "load_mnist": "data", "prepare_mnist": "data",
    "accuracy_ci": "evaluation", "mcnemar_exact": "evaluation",
    "Classifier": "models", "Discriminator": "models", "Generator": "models",
    "RecoveryResult": "recovery", "initial_latents": "recovery", "recover_latents": "recovery",
    "select_restarts": "recovery",
    "RESTRICTIONS": "restriction", "latent_restriction_loss": "restriction", "project_to_sphere": "restriction",
    "restriction_term": "restriction", "standard_normal_quantiles": "restriction",
    "recover_latents_resumable": "resumable",
    "checkpoint_path": "training", "predict": "training", "train_classifier": "training", "train_gan": "training",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted({*globals(), *__all__})
