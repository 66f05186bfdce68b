"""MNIST scaled to [-1, 1], from torchvision's (md5-checked) download or a local folder of the .gz files.

A local folder holding the four original files (train/t10k images/labels, .gz) is the offline source:
pass it as ``source`` or set LRL_MNIST_DIR. Its files are md5-verified against torchvision's list
before use, and are only ever read.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
from torchvision.datasets import MNIST
from torchvision.datasets.utils import calculate_md5, extract_archive

from .checks import check_number

ENV_SOURCE = "LRL_MNIST_DIR"


class MNISTChecksumError(RuntimeError):
    """A local MNIST file does not have the md5 that torchvision lists for it."""


def prepare_mnist(root: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """Make ``root`` hold MNIST in torchvision's layout (root/MNIST/raw); returns ``root``.

    Nothing happens if it is already there. Otherwise the files come from ``source`` (or LRL_MNIST_DIR)
    when given, else from torchvision's download.
    """
    root = Path(root)
    source = source or os.environ.get(ENV_SOURCE) or None
    if source is not None:
        _refuse_source_inside(Path(source), root)
    dataset = _Layout(root)
    if dataset.complete():
        return root
    dataset.remove_damaged()
    if source is None:
        try:
            MNIST(str(root), train=True, download=True)
        except RuntimeError as err:
            raise RuntimeError(
                f"{err}\nMNIST could not be downloaded. On an offline machine, point {ENV_SOURCE} (or "
                f"source=) to a folder holding the four original .gz files."
            ) from err
        return root
    source = Path(source)
    files = [source / name for name, _ in MNIST.resources]
    _verify_local_files(files)
    dataset.raw.mkdir(parents=True, exist_ok=True)
    for src in files:
        staged = dataset.raw / src.name
        if staged.resolve() != src.resolve():
            shutil.copyfile(src, staged)
        extract_archive(str(staged), str(dataset.raw))
    return root


def _refuse_source_inside(source: Path, root: Path) -> None:
    """The destination is the data stage's output, which DVC deletes and rewrites: a source inside it (or
    the same folder) would be lost, so it is refused before anything is touched."""
    source_abs, root_abs = source.resolve(), root.resolve()
    if source_abs == root_abs or root_abs in source_abs.parents:
        raise ValueError(
            f"the MNIST source folder {source} ({ENV_SOURCE} or source=) is inside the destination {root}, which "
            f"the data stage owns (DVC deletes and rewrites it). Nothing was changed. Move the four .gz files to "
            f"a folder outside {root} (e.g. ../mnist) and point {ENV_SOURCE} there."
        )


def _verify_local_files(files: list[Path]) -> None:
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"the local MNIST folder {files[0].parent} lacks {', '.join(missing)}: it must hold the four "
            f"original .gz files ({', '.join(f.name for f in files)}); or unset {ENV_SOURCE} to download"
        )
    expected = dict(MNIST.resources)
    for f in files:
        got = calculate_md5(str(f))
        if got != expected[f.name]:
            raise MNISTChecksumError(
                f"{f} has md5 {got}, expected {expected[f.name]}: the file is corrupt or not the original "
                f"MNIST file. Replace it with a fresh copy (it was left as it is)."
            )


# Bytes of each extracted file (its idx header plus the data): a truncated one is re-extracted.
EXTRACTED_BYTES = {"train-images-idx3-ubyte": 16 + 60000 * 28 * 28, "train-labels-idx1-ubyte": 8 + 60000,
                   "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28, "t10k-labels-idx1-ubyte": 8 + 10000}


class _Layout:
    """torchvision's layout under the destination: root/MNIST/raw, the .gz files and what they unpack to."""

    def __init__(self, root: Path):
        self.raw = root / "MNIST" / "raw"

    def _extracted(self):
        return [self.raw / Path(name).stem for name, _ in MNIST.resources]

    def complete(self) -> bool:
        return all(f.is_file() and f.stat().st_size == EXTRACTED_BYTES[f.name] for f in self._extracted())

    def remove_damaged(self) -> None:
        """Delete extracted files of the wrong size (made by an earlier, interrupted extraction), so that
        they are extracted again rather than trusted; the .gz files are never touched here."""
        for f in self._extracted():
            if f.is_file() and f.stat().st_size != EXTRACTED_BYTES[f.name]:
                f.unlink()


def load_mnist(root: str | os.PathLike, train: bool, source=None, limit: int | None = None):
    """Images [N, 1, 28, 28] in [-1, 1] (float32) and labels [N] (int64); ``limit`` keeps the first N."""
    prepare_mnist(root, source)
    dataset = MNIST(str(root), train=train, download=False)
    images, labels = dataset.data, dataset.targets
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = images.unsqueeze(1).float().div(255.0).mul(2.0).sub(1.0)
    return x, labels.long()


def eval_indices(n_available: int, n: int, seed: int) -> torch.Tensor:
    """``n`` distinct test-set indices drawn with ``seed``, sorted for readability."""
    check_number(f"eval_images (between 1 and {n_available})", n, integer=True, low=1, high=n_available)
    check_number("eval_seed", seed, integer=True, low=0)
    return torch.randperm(n_available, generator=torch.Generator().manual_seed(seed))[:n].sort().values
