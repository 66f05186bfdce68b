"""The networks: the paper's Defense-GAN "Model A" classifier (and Defense-GAN's other MNIST classifiers, to
find one as fragile as the paper's) and the GANs for 28x28 MNIST: a DCGAN, and the author's later GAN."""
from __future__ import annotations

import torch
from torch import nn

LATENT_DIM = 256
AUTHOR_WIDTH = 32  # the author's networks at a quarter of his width 128 (his classifier's first layer)


def _model_a(first_padding: int = 0, dropout: bool = True) -> nn.Sequential:
    """Defense-GAN's "Model A". padding 0 (VALID, 28 -> 24) is the network of this project's paper runs;
    Defense-GAN's code pads its first convolution (SAME, 28 -> 28)."""
    side = (28 + 2 * first_padding - 4 - 5) // 2 + 1  # after the two convolutions: 10, or 12 with SAME
    drop = nn.Dropout if dropout else (lambda p: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, padding=first_padding), nn.ReLU(),
        nn.Conv2d(64, 64, 5, stride=2), nn.ReLU(),
        drop(0.25), nn.Flatten(),
        nn.Linear(64 * side * side, 128), nn.ReLU(),
        drop(0.5),
        nn.Linear(128, 10),
    )


def _model_b() -> nn.Sequential:
    """Defense-GAN's "Model B": dropout on the input, three convolutions, one linear layer."""
    return nn.Sequential(
        nn.Dropout(0.2),
        nn.Conv2d(1, 64, 8, stride=2, padding=3), nn.ReLU(),   # SAME: 28 -> 14
        nn.Conv2d(64, 128, 6, stride=2), nn.ReLU(),            # 14 -> 5
        nn.Conv2d(128, 128, 5), nn.ReLU(),                     # 5 -> 1
        nn.Dropout(0.5), nn.Flatten(),
        nn.Linear(128, 10),
    )


def _model_c() -> nn.Sequential:
    """Defense-GAN's "Model C": Model A with a 3x3 first convolution of 128 channels."""
    return nn.Sequential(
        nn.Conv2d(1, 128, 3, padding=1), nn.ReLU(),            # SAME: 28 -> 28
        nn.Conv2d(128, 64, 5, stride=2), nn.ReLU(),            # 28 -> 12
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def _model_d() -> nn.Sequential:
    """Defense-GAN's "Model D": a fully connected network, 200-200."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 200), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(200, 200), nn.ReLU(),
        nn.Linear(200, 10),
    )


def _small_convnet() -> nn.Sequential:
    """A small MNIST convnet (two 3x3 convolutions with max-pooling, a 128-unit layer): not a classifier under
    attack, but the feature space of the generator measures (its 128-d penultimate layer)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 14 -> 7
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def _norm_convs(channels_in: int, channels_out: int, depth: int) -> list[nn.Module]:
    """``depth`` 3x3 convolutions (SAME, no bias), each followed by leaky ReLU (0.2) and InstanceNorm."""
    layers = []
    for k in range(depth):
        layers += [nn.Conv2d(channels_in if k == 0 else channels_out, channels_out, 3, padding=1, bias=False),
                   nn.LeakyReLU(0.2), nn.InstanceNorm2d(channels_out, affine=True)]
    return layers


def _author_convnet(width: int = AUTHOR_WIDTH, outputs: int = 10) -> nn.Sequential:
    """The seed paper author's later MNIST classifier (jeongik-jo/LatentRegulation, Classifier/Model.py): a 3x3
    convolution, then twice (average-pool, three 3x3 convolutions doubling the channels), InstanceNorm and
    leaky ReLU throughout, no dropout, one linear layer. His has width 128 (128-256-512 channels, 30 MB of
    weights); ``width`` 32 keeps its shape at a sixteenth of the weights and compute (2.1 MB)."""
    return nn.Sequential(
        *_norm_convs(1, width, 1),                                          # 28
        nn.AvgPool2d(2), *_norm_convs(width, 2 * width, 3),                 # 14
        nn.AvgPool2d(2), *_norm_convs(2 * width, 4 * width, 3),             # 7
        nn.Flatten(),
        nn.Linear(4 * width * 7 * 7, outputs),
    )


# The classifiers a settings file may name (`classifiers.<name>.architecture`). Dropout rates are those the
# architectures' names carry in the literature (the share dropped).
CLASSIFIER_ARCHITECTURES = {
    "model_a": _model_a,
    "model_a_same": lambda: _model_a(first_padding=2),
    "model_a_no_dropout": lambda: _model_a(dropout=False),
    "model_b": _model_b,
    "model_c": _model_c,
    "model_d": _model_d,
    "small_convnet": _small_convnet,
    "author_convnet": _author_convnet,
}


class Classifier(nn.Module):
    """An MNIST classifier of one of CLASSIFIER_ARCHITECTURES: image [N, 1, 28, 28] -> 10 logits. The
    default is the paper runs' "Model A": two 5x5 convolutions, dropout, a 128-unit layer."""

    def __init__(self, architecture: str = "model_a"):
        super().__init__()
        if architecture not in CLASSIFIER_ARCHITECTURES:
            raise ValueError(f"unknown classifier architecture {architecture!r}; the architectures are "
                             f"{', '.join(CLASSIFIER_ARCHITECTURES)}")
        self.architecture = architecture
        self.net = CLASSIFIER_ARCHITECTURES[architecture]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Generator(nn.Module):
    """A generator of one of GENERATOR_ARCHITECTURES: z [N, latent_dim] -> image [N, 1, 28, 28] in [-1, 1]."""

    def __init__(self, latent_dim: int = LATENT_DIM, architecture: str = "dcgan"):
        super().__init__()
        _check_architecture(architecture)
        self.latent_dim, self.architecture = latent_dim, architecture
        if architecture == "dcgan":  # Linear -> 128x7x7, two transposed convolutions
            self.channels = 128  # of the 7x7 layer
            self.project = nn.Sequential(nn.Linear(latent_dim, 128 * 7 * 7, bias=False))
            self.net = nn.Sequential(
                nn.BatchNorm2d(128), nn.ReLU(),
                nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),  # 7 -> 14
                nn.BatchNorm2d(64), nn.ReLU(),
                nn.ConvTranspose2d(64, 1, 4, 2, 1),                 # 14 -> 28
                nn.Tanh(),
            )
        else:  # the author's later generator (Gan/Model.py): twice (upsample, three 3x3 convolutions halving)
            width = AUTHOR_WIDTH
            self.channels = 4 * width
            self.project = nn.Sequential(nn.Linear(latent_dim, 4 * width * 7 * 7), nn.LeakyReLU(0.2))
            self.net = nn.Sequential(
                nn.InstanceNorm2d(4 * width, affine=True),
                nn.Upsample(scale_factor=2), *_norm_convs(4 * width, 2 * width, 3),   # 7 -> 14
                nn.Upsample(scale_factor=2), *_norm_convs(2 * width, width, 3),       # 14 -> 28
                nn.Conv2d(width, 1, 1), nn.Tanh(),
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, self.channels, 7, 7))


class Discriminator(nn.Module):
    """The generator's mirror: image [N, 1, 28, 28] -> one score per image (a logit, or the least-squares
    GAN's score)."""

    def __init__(self, architecture: str = "dcgan"):
        super().__init__()
        _check_architecture(architecture)
        self.architecture = architecture
        if architecture == "dcgan":
            self.net = nn.Sequential(
                nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),                          # 28 -> 14
                nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # -> 7
                nn.Flatten(),
                nn.Linear(128 * 7 * 7, 1),
            )
        else:  # the author's: his classifier's network with one output
            self.net = _author_convnet(AUTHOR_WIDTH, outputs=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


# The generators a settings file may name (`generators.<name>.architecture`), each with its discriminator.
# author_gan: the author's later GAN (jeongik-jo/LatentRegulation, Gan/Model.py) at a quarter of his width
# (128-64-32 channels for 512-256-128), InstanceNorm and leaky ReLU; his loss is the least-squares GAN's.
GENERATOR_ARCHITECTURES = ("dcgan", "author_gan")


def _check_architecture(architecture: str) -> None:
    if architecture not in GENERATOR_ARCHITECTURES:
        raise ValueError(f"unknown generator architecture {architecture!r}; the architectures are "
                         f"{', '.join(GENERATOR_ARCHITECTURES)}")
