"""Training loops for the classifiers and the GANs, in plain sight (after pytorch/examples dcgan)."""
from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from tqdm import tqdm  # the text bar: tqdm.auto warns in kernels without ipywidgets

from .artifacts import save
from .models import Classifier, Discriminator, Generator


def _batches(n: int, batch_size: int, rng: torch.Generator):
    order = torch.randperm(n, generator=rng)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def train_classifier(x, y, *, epochs: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                     architecture: str = "model_a", device="cpu", progress: bool = True):
    """A ``Classifier(architecture)`` trained by Adam on cross-entropy with a cosine learning-rate decay
    over the epochs; returns the model (eval mode) and one history row per epoch."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    model = Classifier(architecture).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        started, total_loss, correct = time.perf_counter(), 0.0, 0
        for idx in tqdm(list(_batches(len(x), batch_size, rng)), desc=f"classifier epoch {epoch}",
                        disable=not progress, mininterval=10.0):
            xb, yb = x[idx].to(device), y[idx].to(device)
            loss, logits = classifier_step(model, optimiser, xb, yb)
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        history.append({"epoch": epoch, "lr": schedule.get_last_lr()[0], "loss": total_loss / len(x),
                        "train_accuracy": correct / len(x), "seconds": time.perf_counter() - started})
        schedule.step()
    return model.eval(), history


def classifier_step(model, optimiser, xb, yb):
    """One Adam step on the cross-entropy of a batch; returns the loss and the logits (before the step)."""
    logits = model(xb)
    loss = F.cross_entropy(logits, yb)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss, logits


def train_gan(x, *, epochs: int, batch_size: int = 64, lr: float = 2e-4, beta1: float = 0.5,
              latent_dim: int = 256, architecture: str = "dcgan", loss: str = "nonsaturating", seed: int = 0,
              device="cpu", progress: bool = True, evaluate=None, keep: str = "last", checkpoint=None):
    """A GAN of ``architecture`` (models.GENERATOR_ARCHITECTURES) trained by the DCGAN recipe (Radford et al.
    2016): Adam(2e-4, beta1 0.5), z ~ N(0, I), the DCGAN's weight init (for "dcgan"; the author's GAN keeps
    PyTorch's), and ``loss``: "nonsaturating" (the DCGAN's) or "least_squares" (Mao et al. 2017, the author's).

    ``evaluate(generator) -> dict`` (e.g. sample_measures.fid_tracker), if given, adds its measures to
    each epoch's history row. ``keep``: the weights of the last epoch, or ("best_fid") of the epoch whose
    ``fid_train`` is lowest. ``checkpoint``: a file where the whole state is saved after each epoch, so
    that a run cut off resumes there and ends as an uninterrupted one would (same device and threads); a
    run with more ``epochs`` continues it too (nothing in the recipe depends on the number of epochs).
    Returns generator and discriminator (eval mode) and one history row per epoch (``kept``: the epoch
    whose weights are returned).
    """
    if keep not in KEEP_EPOCH:
        raise ValueError(f"keep must be one of {KEEP_EPOCH}; got {keep!r}")
    if loss not in GAN_LOSSES:
        raise ValueError(f"loss must be one of {list(GAN_LOSSES)}; got {loss!r}")
    if keep == "best_fid" and evaluate is None:
        raise ValueError("keep='best_fid' needs evaluate (a function returning the epoch's fid_train)")
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = Generator(latent_dim, architecture).to(device), Discriminator(architecture).to(device)
    if architecture == "dcgan":
        generator.apply(_dcgan_init)
        discriminator.apply(_dcgan_init)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
    state = _GanState(generator, discriminator, opt_g, opt_d, rng, device)
    if checkpoint is not None and Path(checkpoint).exists():
        state.restore(checkpoint)
        if len(state.history) > epochs:  # nothing runs an epoch backwards: refuse rather than overwrite it
            raise ValueError(f"{checkpoint} holds {len(state.history)} epochs of this run, more than epochs={epochs}: "
                             f"set epochs to {len(state.history)} or more, or move the file away to train afresh")
    for epoch in range(len(state.history) + 1, epochs + 1):
        generator.train(), discriminator.train()
        started, sums, count = time.perf_counter(), {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}, 0
        for idx in tqdm(list(_batches(len(x), batch_size, rng)), desc=f"GAN epoch {epoch}",
                        disable=not progress, mininterval=10.0):
            real = x[idx].to(device)
            noise = torch.randn(len(idx), latent_dim, device=device)
            loss_d, loss_g, scores_real, scores_fake = gan_step(generator, discriminator, opt_g, opt_d, real, noise, loss)
            n = len(idx)
            sums["loss_d"] += loss_d.item() * n
            sums["loss_g"] += loss_g.item() * n
            sums["d_real"] += GAN_LOSSES[loss].belief(scores_real).sum().item()
            sums["d_fake"] += GAN_LOSSES[loss].belief(scores_fake).sum().item()
            count += n
        row = {"epoch": epoch, **{k: v / count for k, v in sums.items()},
               "seconds": time.perf_counter() - started}
        if evaluate is not None:
            row.update(evaluate(generator.eval()))  # eval mode: batch norm's running statistics, as G is used
        state.end_epoch(row, keep)
        if checkpoint is not None:
            state.save(checkpoint)
    state.load_kept()
    history = [{**row, "kept": row["epoch"] == state.kept_epoch} for row in state.history]
    return generator.eval(), discriminator.eval(), history


def checkpoint_path(work_dir, name: str, settings: dict, tensors: dict) -> Path:
    """A training run's checkpoint file, ``work_dir/<name>-<key>.pt`` (train_gan's ``checkpoint``): the key
    hashes ``settings`` and ``tensors`` (the training images, the feature network's weights: all that the run's
    result depends on), so a changed run starts afresh and never resumes another's state. Leave ``epochs`` out
    of ``settings``: a longer run then continues a shorter one's checkpoint."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for key, tensor in sorted(tensors.items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    return Path(work_dir) / f"{name}-{digest.hexdigest()[:16]}.pt"


KEEP_EPOCH = ("last", "best_fid")


class _GanState:
    """Everything a GAN run needs to go on after an epoch: both networks, both Adams, the batch order's and
    the noise's random streams, the history, and the weights of the epoch kept so far."""

    def __init__(self, generator, discriminator, opt_g, opt_d, rng, device):
        self.modules = {"generator": generator, "discriminator": discriminator, "opt_g": opt_g, "opt_d": opt_d}
        self.rng, self.device = rng, torch.device(device)
        self.history, self.kept_epoch, self.kept = [], None, None

    def end_epoch(self, row: dict, keep: str) -> None:
        self.history.append(row)
        if keep == "last":  # the networks as they are: nothing to set aside
            self.kept_epoch = row["epoch"]
        elif row["fid_train"] == min(r["fid_train"] for r in self.history):
            self.kept_epoch = row["epoch"]
            self.kept = {name: copy.deepcopy(self.modules[name].state_dict()) for name in ("generator", "discriminator")}

    def load_kept(self) -> None:
        for name, weights in (self.kept or {}).items():
            self.modules[name].load_state_dict(weights)

    def save(self, path) -> None:
        save({**{name: module.state_dict() for name, module in self.modules.items()},
              "batch_order_rng": self.rng.get_state(), "noise_rng": _noise_rng_state(self.device),
              "history": self.history, "kept_epoch": self.kept_epoch, "kept": self.kept}, path)

    def restore(self, path) -> None:
        try:
            saved = torch.load(path, map_location=self.device, weights_only=True)
            for name, module in self.modules.items():
                module.load_state_dict(saved[name])
            self.rng.set_state(saved["batch_order_rng"])
            _set_noise_rng_state(self.device, saved["noise_rng"])
            self.history, self.kept_epoch, self.kept = saved["history"], saved["kept_epoch"], saved["kept"]
        except Exception as err:  # truncated, another kind of file, a checkpoint of other networks
            raise ValueError(f"{path} cannot be resumed from: it is not a complete checkpoint of this GAN run "
                             f"({type(err).__name__}: {' '.join(str(err).split())[:120]}). It holds nothing but the progress of an "
                             f"unfinished training run: delete it to train from the first epoch") from None


def _noise_rng_state(device: torch.device) -> torch.Tensor:
    """The state of the stream ``torch.randn(..., device=device)`` draws from."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


def _set_noise_rng_state(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state.cpu(), device)
    else:
        torch.set_rng_state(state.cpu())


class GanLoss(NamedTuple):
    """A GAN objective on the discriminator's scores: ``d(real, fake)``, ``g(fake)``, and ``belief(scores)``,
    the discriminator's verdict "real" on the history's scale (D(x): 1 real, 0 fake)."""
    d: Callable
    g: Callable
    belief: Callable


GAN_LOSSES = {
    # The DCGAN's: binary cross-entropy on logits; the generator maximises log D(G(z)) (non-saturating).
    "nonsaturating": GanLoss(
        d=lambda real, fake: (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                              + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))),
        g=lambda fake: F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)),
        belief=torch.sigmoid),
    # The least-squares GAN's (Mao et al. 2017) as the author's Gan/Train.py has it: real -> 1, fake -> 0.
    "least_squares": GanLoss(
        d=lambda real, fake: ((real - 1) ** 2 + fake ** 2).mean(),
        g=lambda fake: ((fake - 1) ** 2).mean(),
        belief=lambda scores: scores),
}


def gan_step(generator, discriminator, opt_g, opt_d, real, noise, loss: str = "nonsaturating"):
    """One discriminator and one generator Adam step on ``loss`` (GAN_LOSSES); returns both losses and the
    discriminator's scores on the real and the fake batch."""
    objective = GAN_LOSSES[loss]
    fake = generator(noise)
    # Discriminator: real -> real, fake -> fake.
    scores_real, scores_fake = discriminator(real), discriminator(fake.detach())
    loss_d = objective.d(scores_real, scores_fake)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # Generator: make the discriminator call fakes real.
    loss_g = objective.g(discriminator(fake))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g, scores_real, scores_fake


def _dcgan_init(module: torch.nn.Module) -> None:
    if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    elif isinstance(module, torch.nn.BatchNorm2d):
        torch.nn.init.normal_(module.weight, 1.0, 0.02)
        torch.nn.init.zeros_(module.bias)


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels (on the CPU), with the model in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    preds = torch.cat([model(x[i:i + batch_size].to(device)).argmax(1).cpu()
                       for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return preds
