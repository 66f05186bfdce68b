"""Recovery in saved image chunks, so that a long run that is cut off resumes where it stopped.

Chunks live in ``work_dir/<key>/``, where the key hashes everything that determines the result
(settings, generator weights, images, ids). A change of any of them starts a fresh folder, so old
chunks are never reused by mistake and never overwritten.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import torch

from . import artifacts
from .checks import check_at_least_one, check_ids
from .recovery import RecoveryResult, recover_latents

# Settings that change how fast a result is computed, not what it is, and so are left out of the key.
# batch_size changes it within float rounding only: other batch shapes run other kernels, so z differs
# in the last digits (about 1e-4 after 10 steps); a cut-off run resumed with another batch_size mixes
# chunks computed both ways. The thread count does the same (other splits of the same sums), and is also
# left out of the key; each chunk records it instead, so a run says with how many threads it was computed.
_SPEED_ONLY = {"batch_size", "device", "progress"}
UNRECORDED = "not recorded"  # the thread count of a chunk saved before chunks recorded it


def recover_latents_resumable(generator, x, image_ids, work_dir, *, chunk_images: int = 100,
                              log=print, timing: dict | None = None, **settings) -> RecoveryResult:
    """``recover_latents`` over consecutive chunks of ``chunk_images`` images, each saved when done.

    Each chunk records the seconds it took and the process's torch thread count, so that a run resumed
    over several calls, or filled by workers (``fill_chunks``), still knows its whole compute time and how
    it was computed: if ``timing`` is a dict, it receives ``chunk_seconds`` (the sum over all chunks, loaded
    or computed), ``chunks_loaded``, ``chunks_computed`` and ``chunk_torch_threads`` (how many chunks were
    computed with each thread count, e.g. ``{"1": 20}``).
    """
    check_at_least_one(chunk_images=chunk_images)
    image_ids = check_ids(image_ids, len(x))
    folder = _cache_folder(generator, x, image_ids, work_dir, settings)
    parts, seconds, threads, loaded = [], [], [], 0
    for start, end in _chunks(len(x), chunk_images):
        path = _chunk_path(folder, start, end)
        if path.exists():
            saved = _load_chunk(path, image_ids[start:end])
            record = {"compute_seconds": saved.pop("compute_seconds"),
                      "torch_threads": saved.pop("torch_threads", UNRECORDED)}
            part = RecoveryResult(**saved)
            loaded += 1
            log(f"chunk {start}-{end - 1}: loaded from {path}")
        else:
            part, record = _compute_chunk(generator, x, image_ids, start, end, path, settings)
            log(f"chunk {start}-{end - 1}: recovered, saved to {path}")
        parts.append(part)
        seconds.append(record["compute_seconds"])
        threads.append(record["torch_threads"])
    if timing is not None:
        timing.update(chunk_seconds=round(sum(seconds), 1),
                      chunks_loaded=loaded, chunks_computed=len(parts) - loaded,
                      chunk_torch_threads=dict(sorted(Counter(map(str, threads)).items())))
    return RecoveryResult.concat(parts)


def fill_chunks(generator, x, image_ids, work_dir, *, worker: int, workers: int, chunk_images: int = 100,
                log=print, **settings) -> int:
    """One worker's share of ``recover_latents_resumable``'s chunks: chunk i (in image order) when
    i % workers == worker, unless it is saved already. N processes, worker 0 to N-1, fill one recovery's
    cache together (each write is atomic); ``recover_latents_resumable`` with the same arguments then
    loads every chunk and only assembles. Returns how many chunks this call computed."""
    check_at_least_one(chunk_images=chunk_images, workers=workers)
    if not isinstance(worker, int) or isinstance(worker, bool) or not 0 <= worker < workers:
        raise ValueError(f"worker must be an integer from 0 to workers - 1 = {workers - 1}; got {worker!r}")
    image_ids = check_ids(image_ids, len(x))
    folder = _cache_folder(generator, x, image_ids, work_dir, settings)
    computed = 0
    for i, (start, end) in enumerate(_chunks(len(x), chunk_images)):
        path = _chunk_path(folder, start, end)
        if i % workers != worker or path.exists():
            continue
        _compute_chunk(generator, x, image_ids, start, end, path, settings)
        computed += 1
        log(f"worker {worker}/{workers}: chunk {start}-{end - 1} recovered, saved to {path}")
    return computed


def _cache_folder(generator, x, image_ids, work_dir, settings) -> Path:
    """The recovery's chunk folder, ``work_dir/<key>/``, made with a settings.json that says what it holds."""
    folder = Path(work_dir) / _key(generator, x, image_ids, settings)
    folder.mkdir(parents=True, exist_ok=True)
    _write_if_absent(folder / "settings.json", json.dumps(_describe(settings, image_ids), indent=1))
    return folder


def _chunks(n: int, chunk_images: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk_images, n)) for start in range(0, n, chunk_images)]


def _chunk_path(folder: Path, start: int, end: int) -> Path:
    # Named by the images it holds: another chunk_images never picks up a chunk of other images.
    return folder / f"chunk_{start:06d}-{end - 1:06d}.pt"


def _compute_chunk(generator, x, image_ids, start, end, path, settings) -> tuple[RecoveryResult, dict]:
    """Recover one chunk and save it with its record (seconds, thread count); returns both, as saved."""
    started = time.perf_counter()
    part = recover_latents(generator, x[start:end], image_ids=image_ids[start:end], **settings)
    record = {"compute_seconds": time.perf_counter() - started, "torch_threads": torch.get_num_threads()}
    artifacts.save({**dataclasses.asdict(part), "image_ids": image_ids[start:end], **record}, path)
    return part, record


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


def _load_chunk(path: Path, image_ids: list[int]) -> dict:
    """A saved chunk, which must hold the recovery of exactly ``image_ids``; anything else is refused."""
    try:
        saved = torch.load(path)
        held = saved.pop("image_ids")
        rows = len(saved["z"])
    except Exception as err:  # truncated, not a torch file, another kind of file
        raise ValueError(f"the recovery chunk {path} cannot be read ({type(err).__name__}: {err}); it is a "
                         f"cache: delete it and rerun, and it is recomputed") from err
    if held != image_ids or rows != len(image_ids):
        raise ValueError(f"the recovery chunk {path} holds {rows} images {held[:3]}... but should hold the "
                         f"{len(image_ids)} images {image_ids[:3]}...: it is a cache: delete it and rerun")
    return saved


def _write_if_absent(path: Path, text: str) -> None:
    if not path.exists():
        artifacts.write_text(text, path)
