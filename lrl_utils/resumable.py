"""Recovery in saved image chunks, so that a long run that is cut off resumes where it stopped.

Chunks live in ``work_dir/<key>/``, where the key hashes everything that determines the result
(settings, generator weights, images, ids). A change of any of them starts a fresh folder, so old
chunks are never reused by mistake and never overwritten.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from . import artifacts
from .recovery import RecoveryResult, recover_latents

# Settings that change how fast a result is computed, not what it is.
_SPEED_ONLY = {"batch_size", "device", "progress"}


def recover_latents_resumable(generator, x, image_ids, work_dir, *, chunk_images: int = 100,
                              log=print, **settings) -> RecoveryResult:
    """``recover_latents`` over consecutive chunks of ``chunk_images`` images, each saved when done."""
    image_ids = [int(i) for i in image_ids]
    folder = Path(work_dir) / _key(generator, x, image_ids, settings)
    folder.mkdir(parents=True, exist_ok=True)
    _write_if_absent(folder / "settings.json", json.dumps(_describe(settings, image_ids), indent=1))
    parts = []
    for start in range(0, len(x), chunk_images):
        path = folder / f"chunk_{start:06d}.pt"
        if path.exists():
            parts.append(RecoveryResult(**torch.load(path)))
            log(f"chunk {start}-{start + len(parts[-1].z) - 1}: loaded from {path}")
            continue
        end = min(start + chunk_images, len(x))
        part = recover_latents(generator, x[start:end], image_ids=image_ids[start:end], **settings)
        artifacts.save(dataclasses.asdict(part), path)
        parts.append(part)
        log(f"chunk {start}-{end - 1}: recovered, saved to {path}")
    return RecoveryResult.concat(parts)


def _key(generator, x, image_ids, settings) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(_describe(settings, image_ids), sort_keys=True).encode())
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(x.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def settings_record(settings: dict, drop=_SPEED_ONLY) -> dict:
    """``settings`` as JSON holds them (tuples as lists), without the keys in ``drop``."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items() if k not in drop}


def _describe(settings: dict, image_ids) -> dict:
    return {"settings": settings_record(settings), "image_ids": image_ids}


def _write_if_absent(path: Path, text: str) -> None:
    if not path.exists():
        path.write_text(text)
