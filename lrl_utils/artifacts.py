"""Reading and writing the pipeline's artifacts. A missing input names the stage that makes it."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd
import torch

from .models import Classifier, Discriminator, Generator

QUICK_DIR = "quick"  # where the notebooks' defaults (the quick profile) read and write

# Which DVC stage (and notebook) makes each kind of artifact.
MADE_BY = {
    "mnist": ("data", "python -m lrl_utils.fetch_mnist"),
    "classifier": ("train_classifier", "notebooks/01_train_classifier.ipynb"),
    "gan": ("train_generator", "notebooks/02_train_gan.ipynb"),
    "attack": ("attack", "notebooks/03_attack_fgsm.ipynb"),
    "recovery": ("recover", "notebooks/04_recover_latents.ipynb"),
    "sweep recovery": ("recover_sweep", "notebooks/04_recover_latents.ipynb"),
    "full test recovery": ("recover_full_test", "notebooks/04_recover_latents.ipynb"),
    "grid recovery": ("recover_grid", "notebooks/04_recover_latents.ipynb"),
    "map recovery": ("recover_map", "notebooks/04_recover_latents.ipynb"),
    "grid table": ("grid", "notebooks/11_grid.ipynb"),
}


class MissingArtifactError(FileNotFoundError):
    """An upstream artifact is not there yet."""


def require(path, kind: str) -> Path:
    path = Path(path)
    if not path.exists():
        stage, maker = MADE_BY[kind]
        if path.parts[:1] == (QUICK_DIR,):
            how = (f"it is made by {maker} run with its defaults (the quick profile). Make every {QUICK_DIR}/ "
                   f"artifact with `pytest notebooks` (nbval runs the notebooks in order with their defaults)")
        else:
            how = (f"it is made by the DVC stage '{stage}'. Run `dvc repro {stage}` (or execute {maker} with "
                   f"the same paths)")
        raise MissingArtifactError(f"{path} not found: {how} first.")
    return path


def save(obj, path) -> Path:
    """torch.save through a temporary file, so an interrupted write never leaves half a file."""
    return _atomically(path, lambda tmp: torch.save(obj, tmp))


def write_json(obj, path) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", path)


def write_text(text: str, path) -> Path:
    return _atomically(path, lambda tmp: tmp.write_text(text))


def write_bytes(data: bytes, path) -> Path:
    return _atomically(path, lambda tmp: tmp.write_bytes(data))


def write_csv(table, path) -> Path:
    return _atomically(path, lambda tmp: table.to_csv(tmp, index=False))


def _atomically(path, write) -> Path:
    """``write(tmp)`` into a temporary folder of this writer's own (its name holds the process id and a
    random part, so that several processes can fill one folder), then an atomic rename onto ``path``:
    readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    own = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    own.mkdir()
    # The file keeps the target's name: torch.save names the archive inside after it, so the bytes of a
    # saved file do not depend on which writer made it.
    tmp = own / f"{path.name}.partial"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(own, ignore_errors=True)
    return path


def read_per_image(folder, kind: str) -> pd.DataFrame:
    """The per-image table (notebook 04) in ``folder``; ``kind`` (a key of MADE_BY) names its maker."""
    return pd.read_csv(require(Path(folder) / "per_image.csv", kind))


def read_per_image_tables(folder, names, kind: str) -> dict[str, pd.DataFrame]:
    """``read_per_image`` of each of ``names``, subfolders of ``folder``."""
    return {name: read_per_image(Path(folder) / name, kind) for name in names}


def save_classifier(model: Classifier, path, **info) -> Path:
    return save({"state_dict": model.state_dict(), "architecture": model.architecture, **info}, path)


class CorruptArtifactError(ValueError):
    """An artifact file is there but does not hold what its stage writes."""


def load_checked(path, kind: str, keys, device="cpu") -> dict:
    """torch.load of a ``kind`` artifact (a key of MADE_BY) that must be a dict holding ``keys``; a
    truncated, foreign or wrong-kind file gets an error naming the file, what was expected and its stage."""
    path = require(path, kind)
    stage, maker = MADE_BY[kind]
    try:
        state = torch.load(path, map_location=device)
    except Exception as err:  # truncated zip, random bytes, an empty file, a pickle torch refuses to load
        raise CorruptArtifactError(
            f"{path} cannot be read as the {kind} artifact: it is not a complete torch checkpoint (truncated, empty "
            f"or another kind of file; torch said {type(err).__name__}). "
            f"It is made by the DVC stage '{stage}' ({maker}): restore it with `git checkout -- {path}` if it is "
            f"committed, or remake it with `dvc repro {stage}`") from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise CorruptArtifactError(
            f"{path} is not a {kind} artifact: it lacks {', '.join(missing)}. It is made by the DVC stage "
            f"'{stage}' ({maker}): check the path, or remake it with `dvc repro {stage}`")
    return state


def load_classifier(path, device="cpu") -> Classifier:
    state = load_checked(path, "classifier", ["state_dict", "architecture"], device)
    model = Classifier(state["architecture"]).to(device)
    _load_weights(model, state["state_dict"], path, "classifier")
    return model.eval()


def _load_weights(module, weights, path, kind) -> None:
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as err:
        stage = MADE_BY[kind][0]
        raise CorruptArtifactError(f"{path}: its weights do not fit the {kind} network of this code "
                                   f"({(str(err).splitlines() or [''])[0][:160]}); remake it with `dvc repro {stage}`") from None


def save_gan(generator: Generator, discriminator: Discriminator, path, weights: str = "float32", **info) -> Path:
    """Both networks, their floating tensors stored as ``weights`` (see stored_weights)."""
    return save({"generator": stored_weights(generator, weights), "discriminator": stored_weights(discriminator, weights),
                 "latent_dim": generator.latent_dim, "architecture": generator.architecture, **info}, path)


WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def stored_weights(module: torch.nn.Module, weights: str) -> dict:
    """``module``'s state dict with its floating tensors in ``weights``: "float32", or "float16", which halves
    the file (a generator's 6.4 MB first layer would pass the project's 5 MB limit for a file in git)."""
    if weights not in WEIGHT_DTYPES:
        raise ValueError(f"weights must be one of {list(WEIGHT_DTYPES)}; got {weights!r}")
    dtype = WEIGHT_DTYPES[weights]
    return {key: value.to(dtype) if value.is_floating_point() else value for key, value in module.state_dict().items()}


def round_weights(module: torch.nn.Module, weights: str) -> torch.nn.Module:
    """``module`` with its floating weights and buffers rounded to ``weights`` and back (in place): the
    network its saved file holds, loaded. float32 changes nothing."""
    module.load_state_dict(stored_weights(module, weights))
    return module


def load_gan(path, device="cpu", latent_dim: int | None = None,
             architecture: str | None = None) -> tuple[Generator, Discriminator]:
    """Generator and discriminator in eval mode; ``latent_dim`` and ``architecture``, if given, must match the
    file's."""
    state = load_checked(path, "gan", ["generator", "discriminator", "latent_dim"], device)
    # Files saved before there was a second family of GANs name no architecture: they hold a DCGAN.
    stored = {"latent_dim": state["latent_dim"], "architecture": state.get("architecture", "dcgan")}
    for key, asked in (("latent_dim", latent_dim), ("architecture", architecture)):
        if asked is not None and asked != stored[key]:
            raise ValueError(f"{path} holds a generator of {key} {stored[key]!r}, but {key} {asked!r} was asked for: "
                             f"retrain the GAN (`dvc repro {MADE_BY['gan'][0]}`) or set {key} to {stored[key]!r}")
    generator = Generator(stored["latent_dim"], stored["architecture"]).to(device)
    discriminator = Discriminator(stored["architecture"]).to(device)
    _load_weights(generator, state["generator"], path, "gan")
    _load_weights(discriminator, state["discriminator"], path, "gan")
    return generator.eval(), discriminator.eval()


def load_networks(project, device="cpu", attack=None) -> tuple[Classifier, Generator]:
    """The classifier and generator a ``layout.Project``'s runs use (``attack.classifier``, ``recover.generator``),
    or those of one ``layout.Attack`` (a grid network's), in eval mode; the generator's latent size is checked
    against the settings'."""
    classifier_name, generator_name = (attack.classifier, attack.generator) if attack else (None, None)
    classifier = load_classifier(project.classifier_path(classifier_name), device)
    run = project.settings["generators"][project.generator_name(generator_name)]
    generator, _ = load_gan(project.generator_path(generator_name), device, run["latent_dim"], run["architecture"])
    return classifier, generator


def load_attack(path) -> dict:
    """The attack stage's tensors: indices, labels, x_clean, x_adv, pred_clean, pred_adv, eps."""
    return load_checked(path, "attack", ATTACK_KEYS)


ATTACK_KEYS = ["indices", "labels", "x_clean", "x_adv", "pred_clean", "pred_adv", "eps"]
