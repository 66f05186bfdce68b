"""Training loops for the classifier and the DCGAN, in plain sight (after pytorch/examples dcgan)."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm  # the text bar: tqdm.auto warns in kernels without ipywidgets

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
              latent_dim: int = 256, seed: int = 0, device="cpu", progress: bool = True):
    """The DCGAN recipe (Radford et al. 2016): Adam(2e-4, beta1 0.5), z ~ N(0, I), non-saturating loss.

    Returns generator and discriminator (eval mode) and one history row per logged interval.
    """
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    generator, discriminator = Generator(latent_dim).to(device), Discriminator().to(device)
    generator.apply(_dcgan_init)
    discriminator.apply(_dcgan_init)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
    history = []
    for epoch in range(1, epochs + 1):
        generator.train(), discriminator.train()
        started, sums, count = time.perf_counter(), {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}, 0
        for idx in tqdm(list(_batches(len(x), batch_size, rng)), desc=f"GAN epoch {epoch}",
                        disable=not progress, mininterval=10.0):
            real = x[idx].to(device)
            noise = torch.randn(len(idx), latent_dim, device=device)
            loss_d, loss_g, logits_real, logits_fake = gan_step(generator, discriminator, opt_g, opt_d, real, noise)
            n = len(idx)
            sums["loss_d"] += loss_d.item() * n
            sums["loss_g"] += loss_g.item() * n
            sums["d_real"] += torch.sigmoid(logits_real).sum().item()
            sums["d_fake"] += torch.sigmoid(logits_fake).sum().item()
            count += n
        row = {"epoch": epoch, **{k: v / count for k, v in sums.items()},
               "seconds": time.perf_counter() - started}
        history.append(row)
    return generator.eval(), discriminator.eval(), history


def gan_step(generator, discriminator, opt_g, opt_d, real, noise):
    """One discriminator and one generator Adam step; returns both losses and the discriminator's logits
    on the real and the fake batch."""
    fake = generator(noise)
    # Discriminator: real -> 1, fake -> 0.
    logits_real, logits_fake = discriminator(real), discriminator(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
              + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # Generator: make the discriminator call fakes real.
    logits_gen = discriminator(fake)
    loss_g = F.binary_cross_entropy_with_logits(logits_gen, torch.ones_like(logits_gen))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g, logits_real, logits_fake


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
