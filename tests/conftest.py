import os
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]


class TinyGenerator(nn.Module):
    """A small known generator: z [N, 8] -> [N, 1, 4, 4], with a BatchNorm so eval mode matters."""

    latent_dim = 8

    def __init__(self):
        super().__init__()
        torch.manual_seed(1234)
        self.linear = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.8, 1.2)

    def forward(self, z):
        return torch.tanh(self.bn(self.linear(z))).view(-1, 1, 4, 4)


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
