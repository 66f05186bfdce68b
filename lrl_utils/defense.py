"""One defense variant end to end: recover the attacked images, classify G(z), write the results."""
from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import pandas as pd
import torch

from . import artifacts
from .attacks import fgsm_test_images
from .checks import check_choice
from .data import load_mnist
from .recovery import initial_latents, moved_from_init
from .reporting import per_image_table, run_info, variant_metrics
from .resumable import recover_latents_resumable, settings_record
from .training import predict


INPUTS = {"adversarial": "x_adv", "clean": "x_clean"}


def attacked_images(project, attack, classifier) -> dict:
    """The tensors of a ``layout.Attack``: read from the attack stage's attack.pt, or, for an attack that is
    not stored (a grid network's), FGSM run again with ``classifier``, the network it attacks (seconds)."""
    if attack.stored:
        return artifacts.load_attack(attack.path)
    x_test, y_test = load_mnist(project.data_dir, train=False)
    return fgsm_test_images(classifier, x_test, y_test, eps=attack.eps, images=attack.images, seed=attack.seed)


def evaluate_defense(classifier, generator, attack: dict, out_dir, *, resume_dir, chunk_images: int,
                     inputs: str = "adversarial", save_recovery: bool = True, save_movement: bool = False,
                     **settings):
    """Defend the attack stage's ``inputs`` images ("adversarial": x_adv, or "clean": x_clean, to
    measure what the defense costs) with ``recover_latents(**settings)``; writes into ``out_dir``:
    per_image.csv (one row per image), metrics.json, run.json (settings, this call's wall time, the compute
    time summed over all chunks and their count by thread count, machine) and,
    unless ``save_recovery`` is False, recovery.pt (kept and per-restart latents and losses: 14 MB per
    1000 images; the full test set leaves them in the chunks under ``resume_dir`` only) and, if
    ``save_movement``, movement.csv (how far each kept latent moved from its init: a few kB instead).
    Returns the per-image table, the metrics and the recovery result.
    """
    check_choice("inputs", inputs, INPUTS)
    started, timing = time.perf_counter(), {}
    result = recover_latents_resumable(generator, attack[INPUTS[inputs]], attack["indices"], resume_dir,
                                       chunk_images=chunk_images, timing=timing, **settings)
    table = per_image_table(attack, result, predict(classifier, result.x_rec))
    described = settings_record(settings, drop=("device", "progress"))
    metrics = variant_metrics(table)
    out_dir = Path(out_dir)
    artifacts.write_csv(table, out_dir / "per_image.csv")
    artifacts.write_json(metrics, out_dir / "metrics.json")
    # "seconds" is this call's wall time; "chunk_seconds" the recovery's compute time summed over all its
    # chunks, including those an earlier, interrupted call or a worker computed ("chunk_torch_threads": with
    # how many threads; "machine" describes this process).
    artifacts.write_json(run_info(started, **timing, settings={**described, "inputs": inputs}),
                         out_dir / "run.json")
    if save_movement:
        artifacts.write_csv(movement_table(result, attack["indices"], settings["seed"]), out_dir / "movement.csv")
    if save_recovery:
        artifacts.save(dataclasses.asdict(result), out_dir / "recovery.pt")
    elif (out_dir / "recovery.pt").exists():
        warnings.warn(f"{out_dir / 'recovery.pt'} is left from an earlier run and does not belong to these "
                      f"results; delete it (save_recovery=False writes none)")
    return table, metrics, result


def movement_table(result, image_ids, seed: int) -> pd.DataFrame:
    """One row per image: the L2 distance of its kept latent from that restart's init, and the mean |change|
    of its elements (the init is N(0, I), so its L2 norm is about sqrt(latent_dim))."""
    init = initial_latents(seed, image_ids, result.restart_z.shape[1], result.restart_z.shape[2])
    moved = moved_from_init(result.z, result.best_restart, init)
    return pd.DataFrame({"index": torch.as_tensor(image_ids).numpy(), "l2_moved": moved.norm(dim=1).numpy(),
                         "mean_abs_moved": moved.abs().mean(dim=1).numpy()})
