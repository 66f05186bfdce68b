"""Reading and writing the pipeline's artifacts. A missing input names the stage that makes it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import torch

from .models import Classifier, Discriminator, Generator

# Which DVC stage (and notebook) makes each kind of artifact.
MADE_BY = {
    "mnist": ("data", "python -m lrl_utils.data"),
    "classifier": ("train_classifier", "notebooks/01_train_classifier.ipynb"),
    "gan": ("train_gan", "notebooks/02_train_gan.ipynb"),
    "attack": ("attack", "notebooks/03_attack_fgsm.ipynb"),
    "recovery": ("recover", "notebooks/04_recover_latents.ipynb"),
    "sweep recovery": ("recover_sweep", "notebooks/04_recover_latents.ipynb"),
    "full test recovery": ("recover_full_test", "notebooks/04_recover_latents.ipynb"),
}


class MissingArtifactError(FileNotFoundError):
    """An upstream artifact is not there yet."""


def require(path, kind: str) -> Path:
    path = Path(path)
    if not path.exists():
        stage, maker = MADE_BY[kind]
        raise MissingArtifactError(
            f"{path} not found: it is made by the DVC stage '{stage}'. Run `dvc repro {stage}` "
            f"(or execute {maker} with the same paths) first."
        )
    return path


def save(obj, path) -> Path:
    """torch.save through a temporary file, so an interrupted write never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def write_json(obj, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    return path


def write_csv(table, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def read_per_image(folder, kind: str) -> pd.DataFrame:
    """The per-image table (notebook 04) in ``folder``; ``kind`` (a key of MADE_BY) names its maker."""
    return pd.read_csv(require(Path(folder) / "per_image.csv", kind))


def read_per_image_tables(folder, names, kind: str) -> dict[str, pd.DataFrame]:
    """``read_per_image`` of each of ``names``, subfolders of ``folder``."""
    return {name: read_per_image(Path(folder) / name, kind) for name in names}


def save_classifier(model: Classifier, path, **info) -> Path:
    return save({"state_dict": model.state_dict(), **info}, path)


def load_classifier(path, device="cpu") -> Classifier:
    state = torch.load(require(path, "classifier"), map_location=device)
    model = Classifier().to(device)
    model.load_state_dict(state["state_dict"])
    return model.eval()


def save_gan(generator: Generator, discriminator: Discriminator, path, **info) -> Path:
    return save({"generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
                 "latent_dim": generator.latent_dim, **info}, path)


def load_gan(path, device="cpu", latent_dim: int | None = None) -> tuple[Generator, Discriminator]:
    """Generator and discriminator in eval mode; ``latent_dim``, if given, must match the checkpoint's."""
    state = torch.load(require(path, "gan"), map_location=device)
    if latent_dim is not None and latent_dim != state["latent_dim"]:
        raise ValueError(
            f"{path} holds a generator with a {state['latent_dim']}-d latent, but latent_dim={latent_dim} "
            f"was asked for: retrain the GAN (`dvc repro train_gan`) or set latent_dim to {state['latent_dim']}"
        )
    generator, discriminator = Generator(state["latent_dim"]).to(device), Discriminator().to(device)
    generator.load_state_dict(state["generator"])
    discriminator.load_state_dict(state["discriminator"])
    return generator.eval(), discriminator.eval()


def load_attack(path) -> dict:
    """The attack stage's tensors: indices, labels, x_clean, x_adv, pred_clean, pred_adv, eps."""
    return torch.load(require(path, "attack"))
