"""The pipeline's data stage: `python -m lrl_utils.fetch_mnist data/mnist`.

A module of its own (not `python -m lrl_utils.data`): lrl_utils imports data.py, and running an already
imported module with -m makes runpy warn."""
from __future__ import annotations

import argparse

from .data import ENV_SOURCE, prepare_mnist


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Fetch MNIST into a folder (the pipeline's data stage).")
    parser.add_argument("root", help="destination folder, e.g. data/mnist")
    parser.add_argument("--source", help=f"local folder with the four .gz files (default: ${ENV_SOURCE}, "
                                         "else torchvision's download)")
    args = parser.parse_args(argv)
    root = prepare_mnist(args.root, args.source)
    print(f"MNIST ready under {root}")


if __name__ == "__main__":
    main()
