"""The three networks of the paper: Defense-GAN's "Model A" classifier and a DCGAN for 28x28 MNIST."""
from __future__ import annotations

import torch
from torch import nn

LATENT_DIM = 256


class Classifier(nn.Module):
    """Defense-GAN's "Model A": two 5x5 convolutions, dropout, a 128-unit layer, 10 logits."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 5), nn.ReLU(),                # 28 -> 24
            nn.Conv2d(64, 64, 5, stride=2), nn.ReLU(),     # 24 -> 10
            nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(64 * 10 * 10, 128), nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Generator(nn.Module):
    """DCGAN generator: z [N, latent_dim] -> image [N, 1, 28, 28] in [-1, 1]."""

    def __init__(self, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.latent_dim = latent_dim
        self.project = nn.Sequential(nn.Linear(latent_dim, 128 * 7 * 7, bias=False))
        self.net = nn.Sequential(
            nn.BatchNorm2d(128), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1),                 # 14 -> 28
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, 128, 7, 7))


class Discriminator(nn.Module):
    """The generator's mirror: image [N, 1, 28, 28] -> one real/fake logit per image."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),                          # 28 -> 14
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # -> 7
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
