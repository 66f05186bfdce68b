"""Figures of the notebooks: image grids, training curves, latent histograms against N(0, 1)."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
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


def fid_curve(history: pd.DataFrame, title: str, path=None):
    """A GAN's FID to training images per epoch (training.train_gan's ``fid_train``), the kept epoch ringed."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["epoch"], history["fid_train"], marker="o", label="FID of samples to training images")
    kept = history[history["kept"]]
    ax.scatter(kept["epoch"], kept["fid_train"], s=160, facecolors="none", edgecolors="C3", lw=2,
               label=f"kept: epoch {int(kept['epoch'].iloc[0])}, FID {kept['fid_train'].iloc[0]:.1f}")
    ax.set_xlabel("epoch"), ax.set_ylabel("FID"), ax.set_title(title), ax.legend(), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def latent_histograms(latents: dict[str, torch.Tensor], w1: dict, path=None, bins: int = 80):
    """Left: histogram of all elements of each variant's recovered latents, with the N(0, 1) density.
    Right: ``w1``, each image's W1 distance between its latent's elements and N(0, 1) (the paper's
    restriction, as per_image.csv records it), one histogram per variant, its mean as a dashed line."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    grid = np.linspace(-4.5, 4.5, 300)
    w1 = {label: np.asarray(values, dtype=float) for label, values in w1.items()}
    top = max(float(v.max()) for v in w1.values())
    for i, (label, z) in enumerate(latents.items()):
        color = f"C{i}"
        values = z.detach().cpu().numpy().ravel()
        left.hist(values, bins=bins, range=(-4.5, 4.5), density=True, histtype="step", lw=1.5, color=color,
                  label=f"{label}: mean {values.mean():.2f}, std {values.std():.2f}")
        right.hist(w1[label], bins=40, range=(0, top), alpha=0.5, color=color, label=label)
        right.axvline(w1[label].mean(), color=color, ls="--", lw=1.2, label=f"{label}: mean W1 {w1[label].mean():.3f}")
    left.plot(grid, norm.pdf(grid), "k-", lw=1.2, label="N(0, 1) density")
    left.set_xlabel("value of a recovered latent element"), left.set_ylabel("density")
    left.set_title("all elements of the kept latents"), left.legend(fontsize=8)
    right.set_xlabel("W1(elements of z, N(0, 1)) per image"), right.set_ylabel("images")
    right.set_title("distance to N(0, 1), one value per image"), right.legend(fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def alpha_sweep(runs: pd.DataFrame, paper: dict | None = None, path=None):
    """Defended accuracy (95 % CI bars), mean reconstruction MSE and mean W1 against alpha.
    ``runs``: rows of ablations.runs_table with an ``alpha`` column; ``paper``: alpha -> reported accuracy %."""
    runs = runs.sort_values("alpha")
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))  # at most about 1100 px: `dvc plots show` does not scale images
    err = [runs["accuracy %"] - runs["ci low %"], runs["ci high %"] - runs["accuracy %"]]
    axes[0].errorbar(runs["alpha"], runs["accuracy %"], yerr=err, marker="o", capsize=3, label="this repo")
    if paper:
        axes[0].plot(list(paper), list(paper.values()), "r*", markersize=11, label="paper")
    axes[0].set_ylabel("defended accuracy, FGSM 0.7 (%)"), axes[0].legend()
    axes[1].plot(runs["alpha"], runs["mean MSE"], marker="o")
    axes[1].set_ylabel("mean reconstruction MSE")
    axes[2].plot(runs["alpha"], runs["mean W1"], marker="o")
    axes[2].set_ylabel("mean W1(z, N(0, 1))")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=0.03)
        ax.set_xlabel("alpha"), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def accuracy_bars(runs: pd.DataFrame, title: str, reference: float | None = None, reference_label: str = "",
                  path=None):
    """Horizontal bars of defended accuracy with 95 % CIs, one per row of ``runs`` (index = label); a dashed
    line at ``reference`` (an accuracy in %), named ``reference_label`` in the legend."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(runs) + 1.2))
    err = [runs["accuracy %"] - runs["ci low %"], runs["ci high %"] - runs["accuracy %"]]
    ax.barh(list(map(str, runs.index)), runs["accuracy %"], xerr=err, capsize=3, color="tab:blue", alpha=0.7)
    if reference is not None:
        ax.axvline(reference, color="k", ls="--", lw=1, label=f"{reference_label} ({reference:.1f} %)")
        ax.legend(fontsize=8, loc="lower right")
    ax.invert_yaxis()
    ax.set_xlabel("defended accuracy (%), 95 % CI"), ax.set_title(title), ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def reselection(table: pd.DataFrame, path=None):
    """Accuracy against the number of restarts kept, per variant and selection rule."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, ((variant, rule), rows) in enumerate(table.groupby(["variant", "select"], sort=False)):
        err = [rows["accuracy %"] - rows["ci low %"], rows["ci high %"] - rows["accuracy %"]]
        # Shifted a little sideways (x is on a log scale), so that equal accuracies do not hide each other's line.
        ax.errorbar(rows["restarts"] * 1.03 ** i, rows["accuracy %"], yerr=err, marker="o", ms=4, capsize=3,
                    ls="-" if rule == "reconstruction" else "--", alpha=0.85, label=f"{variant}, lowest {rule}")
    ax.set_xscale("log"), ax.set_xticks(sorted(table["restarts"].unique()))
    ax.set_xticklabels(sorted(table["restarts"].unique()))
    ax.set_xlabel("restarts"), ax.set_ylabel("defended accuracy (%)"), ax.legend(fontsize=8), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def attack_curves(curves: dict[str, list[float]], path=None):
    """The accuracy an iterative attacker sees after each iteration, one line per target."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, curve in curves.items():
        ax.plot(range(len(curve)), [100 * a for a in curve], marker="o", label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    ax.set_xlabel("PGD iteration"), ax.set_ylabel("accuracy the attacker sees (%)")
    ax.set_ylim(-2, 102), ax.legend(), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def accuracy_by_magnitude(table: pd.DataFrame, path=None):
    """Accuracy (95 % CI bars) against the FGSM magnitude, one line per defense
    (rows of sweep.accuracy_by_magnitude)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, (defense, rows) in enumerate(table.groupby("defense", sort=False)):
        err = [rows["accuracy %"] - rows["ci low %"], rows["ci high %"] - rows["accuracy %"]]
        # Shifted a little sideways, so that equal accuracies do not hide each other's bars.
        ax.errorbar(rows["eps"] + 0.006 * i, rows["accuracy %"], yerr=err, marker="o", capsize=3, label=defense)
    ax.set_xlabel("FGSM magnitude eps (0 = unattacked)"), ax.set_ylabel("accuracy (%), 95 % CI")
    ax.set_ylim(-2, 102), ax.legend(), ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def fragility(table: pd.DataFrame, paper: tuple[float, float] | None = None, path=None):
    """Undefended accuracy (95 % CI bars) against the FGSM magnitude, one line per classifier, its PGD result
    as a cross (rows of fragility.fragility_table); ``paper``: the paper's (eps, accuracy %) point."""
    fig, ax = plt.subplots(figsize=(8.4, 3.8))
    for i, (name, rows) in enumerate(table.groupby("classifier", sort=False)):
        fgsm = rows[rows.attack != rows.attack.iloc[-1]]  # clean and FGSM; the last row is PGD
        err = [fgsm["accuracy %"] - fgsm["ci low %"], fgsm["ci high %"] - fgsm["accuracy %"]]
        line = ax.errorbar(fgsm["eps"] + 0.006 * i, fgsm["accuracy %"], yerr=err, marker="o", capsize=3,
                           label=f"{name}, FGSM")
        pgd = rows.iloc[-1]
        ax.plot(pgd["eps"] + 0.006 * i, pgd["accuracy %"], "x", ms=9, mew=2, color=line[0].get_color(),
                label=f"{name}, {pgd['attack']}")
    if paper is not None:
        ax.plot(*paper, "*", ms=14, color="black", label=f"paper: {paper[1]:g} % at FGSM {paper[0]:g}")
    ax.set_xlabel("attack magnitude eps (0 = unattacked)"), ax.set_ylabel("accuracy without defense (%), 95 % CI")
    ax.set_title("Each classifier without a defense"), ax.set_ylim(-2, 102), ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: inside, it hid the curves
    fig.tight_layout()
    return _finish(fig, path)


def grid_accuracy(table: pd.DataFrame, path=None):
    """Defended accuracy (95 % CI bars) of α = 0 and α = 1, one panel per recovery lr side by side and one pair of
    horizontal bars per network, the undefended accuracy as a black tick, McNemar's p at the right (rows of
    grid.grid_table). Networks run down the page, so that 21 of them stay legible at a page's width."""
    seeds = table["restart seed"].nunique() > 1  # name each network's restarts when they differ
    lrs = list(dict.fromkeys(table["lr"]))
    networks = len(table) // len(lrs)
    fig, axes = plt.subplots(1, len(lrs), figsize=(5.2 * len(lrs), 0.42 * networks + 1.6), sharey=True, squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        rows = table[table["lr"] == lr].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for offset, name in [(0.2, "α = 0"), (-0.2, "α = 1")]:
            err = [rows[f"{name} %"] - rows[f"{name} low %"], rows[f"{name} high %"] - rows[f"{name} %"]]
            ax.barh(y + offset, rows[f"{name} %"], 0.4, xerr=err, capsize=2, label=name)
        ax.plot(rows["no defense %"], y, "|", ms=12, mew=2, color="black", label="no defense")
        for yi, p in zip(y, rows["McNemar p"]):
            ax.text(101, yi, f"p = {p:.2g}", va="center", fontsize=7)
        ax.set_xlim(0, 118), ax.set_xlabel("accuracy under FGSM (%)"), ax.grid(axis="x", alpha=0.3)
        ax.set_title(f"recovery lr {lr:g}", fontsize=9)
    labels = [f"{classifier} · {generator}" + (f" · seed {seed}" if seeds else "")
              for classifier, generator, seed in table[table["lr"] == lrs[0]][["classifier", "generator", "restart seed"]].values]
    axes[0, 0].set_yticks(np.arange(networks)[::-1], labels, fontsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3)  # below: bars fill the axes
    fig.suptitle("α = 1 against α = 0 on each classifier and generator (95 % CI; seed: the restarts')", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def lr_alpha_heatmaps(table: pd.DataFrame, title: str, path=None):
    """Three heatmaps over recovery lr (rows) x alpha (columns), rows of lr_alpha_map.map_table: defended
    accuracy, alpha's gain over alpha 0 at the same lr (McNemar's p in each cell), and how far the kept
    latents moved from their init (mean L2 distance); ``title`` names the map."""
    lrs, alphas = sorted(table.lr.unique()), sorted(table.alpha.unique())
    grid = lambda column: table.pivot(index="lr", columns="alpha", values=column).loc[lrs, alphas].to_numpy()
    gain = grid("gain over α 0")
    panels = [("defended accuracy (%)", grid("accuracy %"), "viridis", None, "{:.1f}"),
              ("α's gain over α = 0 (points), McNemar p", gain, "RdBu", max(1.0, np.nanmax(np.abs(gain))), "{:+.1f}"),
              ("mean L2 distance z moved from its init", grid("mean L2 moved"), "magma", None, "{:.2f}")]
    p = grid("McNemar p")
    # One panel under the other, so that the cells' numbers stay legible at a page's width.
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 3 * (0.5 * len(lrs) + 1.3)))
    for ax, (panel_title, values, cmap, limit, fmt) in zip(axes, panels):
        image = ax.imshow(values, cmap=cmap, aspect="auto",
                          **({"vmin": -limit, "vmax": limit} if limit else {}))
        for (i, j), value in np.ndenumerate(values):
            text = fmt.format(value) + (f"\np {p[i, j]:.2g}" if limit and not np.isnan(p[i, j]) else "")
            shade = image.norm(value)  # white text on the colormap's dark end(s)
            dark = abs(shade - 0.5) > 0.3 if limit else shade < 0.5
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas]), ax.set_xlabel("α")
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs]), ax.set_ylabel("recovery lr")
        ax.set_title(panel_title, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def generator_quality(table: pd.DataFrame, path=None):
    """Rows of the generator measures (generator_quality.quality_row): FID (lower is better), precision and
    recall, and the attacked classifier's accuracy on the inverted clean images (95 % CI bars)."""
    names, x = table["generator"].tolist(), np.arange(len(table))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))  # at most about 1100 px: `dvc plots show` does not scale images
    axes[0].bar(x, table["FID"], color="tab:gray"), axes[0].set_title("FID (lower is better)", fontsize=9)
    for offset, name in [(-0.2, "precision"), (0.2, "recall")]:
        axes[1].bar(x + offset, table[name], 0.4, label=name)
    axes[1].set_ylim(0, 1.05), axes[1].legend(fontsize=8), axes[1].set_title("precision and recall (k-NN)", fontsize=9)
    inverted = table.dropna(subset=["inversion accuracy %"])
    xi = x[table["inversion accuracy %"].notna().to_numpy()]
    err = [inverted["inversion accuracy %"] - inverted["inversion low %"],
           inverted["inversion high %"] - inverted["inversion accuracy %"]]
    axes[2].bar(xi, inverted["inversion accuracy %"], yerr=err, capsize=3, color="tab:green")
    axes[2].set_ylim(0, 105), axes[2].set_title("accuracy on inverted clean images (%)", fontsize=9)
    for ax in axes:
        ax.set_xticks(x, names, fontsize=7, rotation=15), ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def accuracy_by_digit(table: pd.DataFrame, path=None):
    """Accuracy (95 % CI bars) per true digit, one group of bars per digit and one bar per defense
    (rows of full_test.accuracy_by_group with group "digit")."""
    defenses = list(dict.fromkeys(table["defense"]))
    width = 0.8 / len(defenses)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for i, defense in enumerate(defenses):
        rows = table[table["defense"] == defense]
        err = [rows["accuracy %"] - rows["ci low %"], rows["ci high %"] - rows["accuracy %"]]
        ax.bar(rows["digit"] + (i - (len(defenses) - 1) / 2) * width, rows["accuracy %"], width,
               yerr=err, capsize=2, label=defense)
    ax.set_xticks(range(10)), ax.set_xlabel("true digit"), ax.set_ylabel("accuracy (%), 95 % CI")
    ax.set_ylim(0, 100), ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(defenses), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return _finish(fig, path)


def _finish(fig, path):
    """Write the figure to ``path`` (if given) and show it inline when running in a notebook kernel.

    Shown as PNG bytes and then closed, so that the executed notebook carries the image whatever the
    matplotlib backend: with MPLBACKEND=Agg (as in CI) neither the inline backend's automatic display nor
    IPython's figure formatter is active, and displaying the Figure object would give only its text repr.
    Closing it keeps the inline backend, where active, from showing it a second time."""
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    if _in_kernel():
        from IPython.display import Image, display
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
        display(Image(data=png.getvalue(), format="png"))
        plt.close(fig)
    return fig


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (papermill, nbval, JupyterLab), False in scripts and tests."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
