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

ENV_SOURCE = "LRL_MNIST_DIR"


class MNISTChecksumError(RuntimeError):
    """A local MNIST file does not have the md5 that torchvision lists for it."""


def prepare_mnist(root: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """Make ``root`` hold MNIST in torchvision's layout (root/MNIST/raw); returns ``root``.

    Nothing happens if it is already there. Otherwise the files come from ``source`` (or LRL_MNIST_DIR)
    when given, else from torchvision's download.
    """
    root = Path(root)
    dataset = _Layout(root)
    if dataset.complete():
        return root
    source = source or os.environ.get(ENV_SOURCE) or None
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


class _Layout:
    def __init__(self, root: Path):
        self.raw = root / "MNIST" / "raw"

    def complete(self) -> bool:
        return all((self.raw / Path(name).stem).is_file() for name, _ in MNIST.resources)


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
    if not 1 <= n <= n_available:
        raise ValueError(f"eval_images must be between 1 and {n_available}; got {n}")
    return torch.randperm(n_available, generator=torch.Generator().manual_seed(seed))[:n].sort().values


def main(argv=None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description="Fetch MNIST into a folder (the pipeline's data stage).")
    parser.add_argument("root", help="destination folder, e.g. data/mnist")
    parser.add_argument("--source", help=f"local folder with the four .gz files (default: ${ENV_SOURCE}, "
                                         "else torchvision's download)")
    args = parser.parse_args(argv)
    root = prepare_mnist(args.root, args.source)
    print(f"MNIST ready under {root}")


if __name__ == "__main__":
    main()
