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


def write_per_image(folder, labels, right, pred_adv_right):
    """A recovery's per_image.csv with test-set indices from 100: each image's label, and a defended and an
    undefended prediction that are right where ``right`` and ``pred_adv_right`` say (wrong: label + 1)."""
    import numpy as np
    import pandas as pd
    folder.mkdir(parents=True)
    labels = np.asarray(labels)
    wrong = (labels + 1) % 10
    pd.DataFrame({"index": np.arange(100, 100 + len(labels)), "label": labels, "pred_clean": labels,
                  "pred_adv": np.where(pred_adv_right, labels, wrong), "pred_defended": np.where(right, labels, wrong),
                  "reconstruction_mse": 0.1, "restriction": 0.2}).to_csv(folder / "per_image.csv", index=False)


def tiny_attack(n: int, first_index: int, noise: float = 0.0):
    """A tiny generator, a linear 3-class classifier and an attack dict of ``n`` of the generator's own images
    (test-set indices from ``first_index``), "attacked" by seeded Gaussian ``noise``: what evaluate_defense takes."""
    from lrl_utils import predict
    generator = TinyGenerator().eval()
    torch.manual_seed(0)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = generator(torch.randn(n, 8, generator=torch.Generator().manual_seed(3))).detach()
    labels = predict(classifier, x)
    x_adv = (x + noise * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))).clamp(-1, 1)
    attack = {"indices": torch.arange(first_index, first_index + n), "labels": labels, "pred_clean": labels,
              "pred_adv": predict(classifier, x_adv), "x_clean": x, "x_adv": x_adv}
    return generator, classifier, attack
