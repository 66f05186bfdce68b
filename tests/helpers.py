"""Shared by the tests: the project root and a tiny known generator. (Imported as `helpers`, not from
conftest.py: a second module named conftest, e.g. under notebooks/, would clash.)"""
from pathlib import Path

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
