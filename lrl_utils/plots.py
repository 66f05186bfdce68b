"""Figures of the notebooks: image grids, training curves, latent histograms against N(0, 1)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.stats import norm


def image_grid(rows: dict[str, torch.Tensor], n: int = 10, titles=None, path=None):
    """One row of ``n`` images per entry of ``rows`` (label -> [N, 1, H, W] in [-1, 1])."""
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 1.05), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[c, 0].detach().cpu().numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if titles is not None and r == 0:
                ax.set_title(str(titles[c]), fontsize=8)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)


def training_curves(history: pd.DataFrame, columns: list[str], title: str, path=None):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for column in columns:
        ax.plot(history["epoch"], history[column], marker="o", label=column)
    ax.set_xlabel("epoch"), ax.set_title(title), ax.legend(), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def latent_histograms(latents: dict[str, torch.Tensor], path=None, bins: int = 80):
    """Histogram of all elements of each variant's recovered latents, with the N(0, 1) density."""
    fig, axes = plt.subplots(1, len(latents), figsize=(4.5 * len(latents), 3.5), squeeze=False, sharey=True)
    grid = np.linspace(-4.5, 4.5, 300)
    for ax, (label, z) in zip(axes[0], latents.items()):
        values = z.detach().cpu().numpy().ravel()
        ax.hist(values, bins=bins, range=(-4.5, 4.5), density=True, alpha=0.6, label="recovered z elements")
        ax.plot(grid, norm.pdf(grid), "k-", lw=1.5, label="N(0, 1)")
        ax.set_title(f"{label}: mean {values.mean():.2f}, std {values.std():.2f}")
        ax.set_xlabel("latent element value")
    axes[0, 0].set_ylabel("density"), axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def _finish(fig, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
