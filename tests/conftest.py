import os
from pathlib import Path

import pytest
import torch

from helpers import REPO, TinyGenerator
from lrl_utils import Generator


@pytest.fixture
def tiny_generator():
    return TinyGenerator().eval()


@pytest.fixture(scope="session")
def mnist_source():
    """The local folder of MNIST's four .gz files that tests and CI use (LRL_MNIST_DIR)."""
    source = os.environ.get("LRL_MNIST_DIR") or str(REPO.parent / "shared" / "data" / "mnist")
    if not Path(source, "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"MNIST's .gz files are not in {source}: set LRL_MNIST_DIR to a folder holding them")
    return Path(source)


@pytest.fixture(scope="module")
def dcgan_case():
    """An untrained, seeded DCGAN generator and six of its images to recover."""
    torch.manual_seed(0)
    generator = Generator().eval()
    with torch.no_grad():
        x = generator(torch.randn(6, 256)).clamp(-1, 1)
    return generator, x
