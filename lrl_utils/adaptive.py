"""An adaptive white-box attack on the defense: PGD with BPDA (Athalye, Carlini & Wagner, 2018).

The recovery x -> G(z*(x)) has no useful gradient, so BPDA runs it forward and, backward, treats it as
the identity: the attacker steps x along sign(d loss(classifier(G(z*))) / d G(z*)). With the identity as
the defense this is plain PGD on the bare classifier.

The defense is random (its restarts). An attacker who does not know its seed can average the gradient over
several draws of it at every step, each with fresh restarts: EOT (expectation over transformation, same
paper), ``eot_samples`` below.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from . import artifacts
from .checks import check_at_least_one, check_choice, check_images, check_labels, check_number
from .evaluation import accuracy_ci, ci_text, mcnemar_exact
from .recovery import recover_latents
from .training import predict

# Settings of a recover stage's run.json that are not arguments of recover_latents.
_NOT_RECOVERY = {"inputs"}
KEEP = ("first_fooled", "last")  # which PGD iterate each image keeps


def defense_from_run(generator, settings: dict, *, seed: int | None = None, fresh_restarts: bool = False,
                     device=None):
    """The defense of a recovered variant, as a function (x, image_ids, draw=0) -> G(z*), with the settings
    its run.json recorded; ``seed`` replaces the seed of the restarts (an attacker does not know it).
    With ``fresh_restarts`` every draw has its own restarts: draw k uses seed + k."""
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if k not in _NOT_RECOVERY}
    if seed is not None:
        kwargs["seed"] = seed

    def defend(x, image_ids, draw=0):
        draw_seed = kwargs["seed"] + draw if fresh_restarts else kwargs["seed"]
        return recover_latents(generator, x, image_ids=image_ids, device=device, progress=False,
                               **{**kwargs, "seed": draw_seed}).x_rec
    return defend


def identity_defense(x, image_ids, draw=0):
    """No defense: PGD against the bare classifier."""
    return x


def bpda_pgd(classifier, defend, x, y, image_ids, *, eps: float, step_size: float, steps: int,
             eot_samples: int = 1, keep: str = "first_fooled") -> dict:
    """L-infinity PGD from x through ``defend`` (BPDA: its Jacobian taken as the identity).

    At every iterate the attacker runs ``eot_samples`` draws of the defense (draw numbers t * eot_samples + e,
    so a defense with fresh restarts never repeats them) and steps along the sign of their summed gradient
    (EOT); an image counts as misclassified when every draw misclassifies it.

    ``keep="first_fooled"``: each image keeps the first iterate that the attacker saw misclassified (the
    last iterate if none was): exact against a defense the attacker sees as it is. Against a random
    defense that rule keeps iterates that fooled a few lucky draws; ``keep="last"`` keeps the last iterate.
    Returns ``x_adv``, ``fooled_at`` (the first iterate the attacker saw misclassified, -1 if none) and
    ``attacker_accuracy`` at iterates 0..steps: for "first_fooled" the share of images not yet fooled,
    for "last" the accuracy the attacker saw at that iterate.
    """
    check_images(x)
    check_labels(y, x.shape[0])
    check_choice("keep", keep, KEEP)
    check_number("eps", eps, low=0)
    check_number("step_size", step_size, low=0, low_open=True)
    check_at_least_one(steps=steps, eot_samples=eot_samples)
    was_training = classifier.training
    classifier.eval()
    try:
        return _pgd(classifier, defend, x.detach(), y, image_ids, eps, step_size, steps, eot_samples, keep)
    finally:
        classifier.train(was_training)


def _pgd(classifier, defend, x, y, image_ids, eps, step_size, steps, eot_samples, keep):
    device = next(classifier.parameters()).device
    x_adv, kept = x.clone(), x.clone()
    fooled_at = torch.full((len(x),), -1, dtype=torch.long)
    attacker_accuracy = []
    for t in range(steps + 1):
        wrong, grad = torch.ones(len(x), dtype=torch.bool), torch.zeros_like(x)
        for e in range(eot_samples):
            x_rec = defend(x_adv, image_ids, t * eot_samples + e).detach().to(device).requires_grad_(True)
            logits = classifier(x_rec)
            wrong &= logits.argmax(1).cpu() != y.cpu()
            if t < steps:
                # Summed, not averaged: each image's step depends only on its own gradient's sign.
                grad += torch.autograd.grad(F.cross_entropy(logits, y.to(device), reduction="sum"),
                                            x_rec)[0].to(grad.device)
        newly = wrong & (fooled_at < 0)
        fooled_at[newly] = t
        kept[newly] = x_adv[newly]
        attacker_accuracy.append(float((fooled_at < 0 if keep == "first_fooled" else ~wrong).float().mean()))
        if t == steps:
            break
        step = x_adv + step_size * grad.sign()
        x_adv = torch.min(torch.max(step, x - eps), x + eps).clamp(-1, 1).detach()
    final = fooled_at < 0 if keep == "first_fooled" else torch.ones(len(x), dtype=torch.bool)
    kept[final] = x_adv[final]
    return {"x_adv": kept, "fooled_at": fooled_at, "attacker_accuracy": attacker_accuracy}


def bpda_pgd_resumable(classifier, defend, x, y, image_ids, work_dir, *, chunk_images: int, key: dict,
                       generator=None, log=print, **pgd) -> dict:
    """``bpda_pgd`` over consecutive image chunks, each saved under ``work_dir`` in a folder named by a
    hash of what determines the result: ``key`` (the defense's settings), ``pgd``, the images and the
    weights of the classifier and of the ``generator`` the defense uses, so a cut-off run resumes."""
    check_at_least_one(chunk_images=chunk_images)
    # Every PGD setting, defaults included, so that leaving one out or giving its default is one folder.
    defaults = {name: p.default for name, p in inspect.signature(bpda_pgd).parameters.items()
                if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}
    identity = {**key, **defaults, **pgd}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    for tensor in [x, *_weights(classifier), *_weights(generator)]:
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    folder = Path(work_dir) / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(x), chunk_images):
        path = folder / f"chunk_{start:06d}.pt"
        end = min(start + chunk_images, len(x))
        if path.exists():
            parts.append(torch.load(path))
            log(f"images {start}-{end - 1}: loaded from {path}")
            continue
        part = bpda_pgd(classifier, defend, x[start:end], y[start:end], image_ids[start:end], **pgd)
        artifacts.save(part, path)
        parts.append(part)
        log(f"images {start}-{end - 1}: attacked, saved to {path}")
    n = torch.tensor([len(p["x_adv"]) for p in parts], dtype=torch.float)
    curves = torch.tensor([p["attacker_accuracy"] for p in parts])
    return {"x_adv": torch.cat([p["x_adv"] for p in parts]),
            "fooled_at": torch.cat([p["fooled_at"] for p in parts]),
            "attacker_accuracy": ((curves * n[:, None]).sum(0) / n.sum()).tolist()}


def attack_variant(classifier, generator, x, y, image_ids, settings: dict, work_dir, *, attacker_seed: int,
                   chunk_images: int, device=None, eot_samples: int = 1, **pgd) -> dict:
    """BPDA-PGD against one recovered variant, from the settings of its run.json. The attacker runs the
    defense with restarts drawn from ``attacker_seed`` (its own, or the variant's seed for an attacker who
    knows it); with ``eot_samples`` > 1 it averages over that many draws per step, each with fresh
    restarts (seeds attacker_seed, attacker_seed + 1, ...). Each image it returns is then judged by the
    real defense, with the variant's own seed. Returns ``bpda_pgd``'s result plus ``correct`` (per image,
    whether the defended classifier is right)."""
    attacker_view = defense_from_run(generator, settings, seed=attacker_seed, fresh_restarts=eot_samples > 1,
                                     device=device)
    out = bpda_pgd_resumable(classifier, attacker_view, x, y, image_ids, work_dir, chunk_images=chunk_images,
                             generator=generator, key={"settings": settings, "seed": attacker_seed},
                             eot_samples=eot_samples, **pgd)
    defend = defense_from_run(generator, settings, device=device)
    out["correct"] = (predict(classifier, defend(out["x_adv"], image_ids)) == y.cpu()).numpy()
    return out


def results_table(correct: dict, fgsm_correct: dict) -> pd.DataFrame:
    """One row per target (index): its accuracy under the paper's FGSM and under PGD/BPDA (95 % Wilson
    interval) on the same images. Both dicts map a target to per-image 0/1 correctness."""
    rows = {}
    for target, right in correct.items():
        accuracy = accuracy_ci(right)
        rows[target] = {"FGSM (paper's attack) %": 100 * fgsm_correct[target].mean(),
                        "PGD / BPDA %": 100 * accuracy["accuracy"],
                        "95% CI": ci_text(accuracy),
                        "n": len(right)}
    return pd.DataFrame(rows).T


def paired_tests(correct: dict, pairs) -> dict:
    """Exact McNemar test under PGD/BPDA of each pair (a, b) of targets, named "a vs b"."""
    return {f"{a} vs {b}": mcnemar_exact(correct[a], correct[b]) for a, b in pairs}


def adaptive_metrics(correct: dict, tests: dict) -> dict:
    """`dvc metrics` of a stage: each target's accuracy under PGD/BPDA, and the p-value of each paired test."""
    return {**{f"{target}_pgd_accuracy": float(right.mean()) for target, right in correct.items()},
            **{f"mcnemar_p_{pair.replace(' ', '_')}": test["p_value"] for pair, test in tests.items()}}


def _weights(module):
    return [] if module is None else [t for _, t in sorted(module.state_dict().items())]
