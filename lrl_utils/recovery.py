"""Defense-GAN's latent recovery, with the optional latent restriction loss.

For each image x, R random restarts z_0 ~ N(0, I) are each moved by ``steps`` Adam steps on
    loss(z) = mean((G(z) - x)^2) + alpha * W(z, N(0, 1))
and one restart per image is kept. W is the paper's Wasserstein-1 restriction by default; the other
``restriction`` options (see restriction.RESTRICTIONS) exist for the ablations. All N x R latents are optimised together; the summed loss makes
each latent's gradient, and so its whole trajectory, independent of the other latents in the batch.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm  # the text bar: tqdm.auto warns in kernels without ipywidgets

from .checks import check_at_least_one, check_choice, check_ids, check_images, check_number, resolve_device
from .restriction import (REFERENCES, RESTRICTIONS, latent_restriction_loss, project_to_sphere,
                          restriction_term, standard_normal_quantiles)
from .speed import PRECISIONS, LossStep, auto_batch_size, cuda_float_mode

SELECT_RULES = ("reconstruction", "total")
SAMPLE_SIZE = 10_000        # N(0, 1) sample drawn each step for reference="samples", as the author's code


@dataclass
class RecoveryResult:
    """Per image: the kept latent, its image G(z) and losses; per restart: final latents and losses.

    ``restriction`` is always the W1 distance to the N(0, 1) quantiles, whatever the loss used, so
    that variants are measured on one scale.
    """
    z: torch.Tensor                          # [N, d]
    x_rec: torch.Tensor                      # [N, C, H, W]
    reconstruction_mse: torch.Tensor         # [N]
    restriction: torch.Tensor                # [N]
    best_restart: torch.Tensor               # [N]
    restart_z: torch.Tensor                  # [N, R, d]
    restart_reconstruction_mse: torch.Tensor  # [N, R]
    restart_restriction: torch.Tensor        # [N, R]
    alpha: float
    select: str

    @classmethod
    def concat(cls, parts: list["RecoveryResult"]) -> "RecoveryResult":
        """Join results of consecutive image chunks recovered with the same settings."""
        fields = {k: torch.cat([getattr(p, k) for p in parts]) for k in cls._tensor_fields()}
        return cls(**fields, alpha=parts[0].alpha, select=parts[0].select)

    @classmethod
    def _tensor_fields(cls):
        return [k for k, f in cls.__dataclass_fields__.items() if f.type == "torch.Tensor"]


def initial_latents(seed: int, image_ids, restarts: int, latent_dim: int) -> torch.Tensor:
    """Restart inits [len(image_ids), restarts, latent_dim] ~ N(0, I), one random stream per image."""
    ids = [int(i) for i in image_ids]
    z = torch.empty(len(ids), restarts, latent_dim)
    for row, image_id in enumerate(ids):
        # SeedSequence mixes (seed, id) so that neighbouring ids and seeds give unrelated streams.
        stream = int(np.random.SeedSequence([seed, image_id]).generate_state(1, np.uint64)[0] >> 1)
        z[row] = torch.randn(restarts, latent_dim, generator=torch.Generator().manual_seed(stream))
    return z


def moved_from_init(z: torch.Tensor, best_restart: torch.Tensor, init: torch.Tensor) -> torch.Tensor:
    """Each kept latent minus the init of the restart it came from [N, d]; ``init`` [N, restarts, d] is
    ``initial_latents`` of the recovery's seed and images."""
    return z - init[torch.arange(len(z)), best_restart]


def select_restarts(reconstruction_mse, restriction, alpha: float, select: str) -> torch.Tensor:
    """Index of the kept restart per image: lowest MSE (Defense-GAN) or lowest total loss (author's code)."""
    check_choice("select", select, SELECT_RULES)
    score = reconstruction_mse if select == "reconstruction" else reconstruction_mse + alpha * restriction
    return score.argmin(dim=1)


def recover_latents(
    generator: torch.nn.Module,
    x: torch.Tensor,
    *,
    steps: int = 200,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    restarts: int = 10,
    alpha: float = 0.0,
    restriction: str = "w1",
    reference: str = "quantiles",
    select: str = "reconstruction",
    batch_size: int | None = None,
    seed: int = 0,
    image_ids=None,
    device=None,
    progress: bool = True,
    latent_dim: int | None = None,
    compile: bool = False,
    precision: str = "fp32",
) -> RecoveryResult:
    """Find, for each image in ``x`` ([N, C, H, W] in [-1, 1]), the latent whose G(z) is closest.

    ``batch_size`` caps how many latents (images x restarts) are optimised at once (None or 0:
    automatic: as many as fit a memory budget); it changes the result within float rounding only (other
    batch shapes run other kernels, so z may differ in its last digits). ``device``
    defaults to the generator's device.

    ``restriction`` picks the term alpha weighs ("w1", the paper's, "w2", "gaussian_nll", "moments"), or
    "sphere": no term (alpha must be 0), z is projected to the sphere of radius sqrt(d) after each step.
    ``reference`` ("quantiles" or "samples") is the N(0, 1) stand-in of the Wasserstein terms.

    Speed options: ``compile=True`` runs each step through ``torch.compile`` (falling back to eager,
    with a warning, where compilation is unavailable); ``precision="bf16"`` runs the generator under
    bfloat16 autocast, ``"tf32"`` allows TF32 matmuls on CUDA. Both change the numbers slightly: fp32
    is the exact path.

    Image i's restart inits are drawn on the CPU from (``seed``, ``image_ids[i]``) (ids default to
    0..N-1; pass test-set indices), so an image's result does not depend on which images share its
    call, and is the same on any device.
    """
    check_images(x)
    check_at_least_one(steps=steps, restarts=restarts)
    check_number("lr", lr, low=0, low_open=True)
    check_number("alpha", alpha, low=0)
    check_number("seed", seed, integer=True, low=0)
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"betas must be Adam's two decay rates (beta1, beta2); got {betas!r}")
    for k, beta in enumerate(betas, start=1):
        check_number(f"beta{k}", beta, low=0)
        if beta >= 1:
            raise ValueError(f"beta{k} must be < 1 (Adam's decay rate); got {beta!r}")
    if image_ids is not None:
        image_ids = check_ids(image_ids, len(x))
    check_choice("restriction", restriction, RESTRICTIONS)
    check_choice("reference", reference, REFERENCES)
    check_choice("select", select, SELECT_RULES)
    check_choice("precision", precision, PRECISIONS)
    if restriction == "sphere" and alpha:
        raise ValueError(f"restriction 'sphere' projects z and has no loss term for alpha to weigh: "
                         f"set alpha=0 (got {alpha})")
    if batch_size:
        check_at_least_one(batch_size=batch_size)
    elif batch_size is not None and batch_size != 0:
        raise ValueError(f"batch_size must be an integer >= 1, or 0/None for automatic; got {batch_size!r}")
    device = _recovery_device(generator, device)
    latent_dim = latent_dim or getattr(generator, "latent_dim", None)
    if latent_dim is None:
        raise ValueError("the generator has no latent_dim attribute: pass latent_dim=")

    n = x.shape[0]
    total = n * restarts
    z_init = initial_latents(seed, range(n) if image_ids is None else image_ids, restarts, latent_dim)
    z_init = z_init.reshape(total, latent_dim)
    image_of = torch.arange(n).repeat_interleave(restarts)

    was_training = generator.training
    grad_flags = [p.requires_grad for p in generator.parameters()]
    generator.eval().requires_grad_(False)
    try:
        _check_generator_fits(generator, latent_dim, x, device)
        chunk = batch_size or min(total, auto_batch_size(generator, latent_dim, device))
        loss = functools.partial(recovery_loss, alpha=float(alpha), restriction=restriction)
        step = LossStep(generator, loss, compile=compile, precision=precision, device=device)
        bar = tqdm(total=total * steps, unit="latent-step", unit_scale=True, disable=not progress,
                   mininterval=5.0, desc=f"recover alpha={alpha:g}")
        finals = []
        with cuda_float_mode(precision, device):  # fp32 on a GPU is fp32: no TF32 unless asked for
            for start in range(0, total, chunk):
                idx = slice(start, min(start + chunk, total))
                finals.append(_optimise_chunk(
                    step, z_init[idx], x[image_of[idx]], steps=steps, lr=lr, betas=betas,
                    reference=reference, project=restriction == "sphere", seed=seed, device=device, bar=bar))
        bar.close()
    finally:
        generator.train(was_training)
        for p, flag in zip(generator.parameters(), grad_flags):
            p.requires_grad_(flag)

    restart_z = torch.cat([f[0] for f in finals]).view(n, restarts, latent_dim)
    restart_mse = torch.cat([f[1] for f in finals]).view(n, restarts)
    restart_restr = torch.cat([f[2] for f in finals]).view(n, restarts)
    best = select_restarts(restart_mse, restart_restr, alpha, select)
    rows = torch.arange(n)
    return RecoveryResult(
        z=restart_z[rows, best], x_rec=torch.cat([f[3] for f in finals]).view(n, restarts, *x.shape[1:])[rows, best],
        reconstruction_mse=restart_mse[rows, best], restriction=restart_restr[rows, best],
        best_restart=best, restart_z=restart_z, restart_reconstruction_mse=restart_mse,
        restart_restriction=restart_restr, alpha=float(alpha), select=select,
    )


def _optimise_chunk(step, z0, target, *, steps, lr, betas, reference, project, seed, device, bar):
    """Adam on a chunk of latents; returns their final z, MSE, W1-to-quantiles and G(z), on the CPU."""
    z = z0.to(device).clone().requires_grad_(True)
    target = target.to(device)
    optimiser = torch.optim.Adam([z], lr=lr, betas=betas)
    quantiles = standard_normal_quantiles(z.shape[1], device=device)
    # The same reference-sample sequence for every chunk keeps results independent of chunking.
    samples = torch.Generator().manual_seed(seed + 1) if reference == "samples" else None
    for _ in range(steps):
        optimiser.zero_grad(set_to_none=True)
        ref = quantiles if samples is None else torch.randn(SAMPLE_SIZE, generator=samples).to(device)
        step(z, target, ref).sum().backward()
        optimiser.step()
        if project:
            with torch.no_grad():
                z.copy_(project_to_sphere(z))
        bar.update(z.shape[0])
    with torch.no_grad():
        x_rec = step.generator(z)
        mse = reconstruction_mse(x_rec, target)
        restriction = latent_restriction_loss(z, quantiles)
    return z.detach().cpu(), mse.cpu(), restriction.cpu(), x_rec.cpu()


def recovery_loss(x_rec, z, target, ref, *, alpha: float, restriction: str) -> torch.Tensor:
    """The paper's per-latent loss: MSE(G(z), x) + alpha * restriction(z), given x_rec = G(z)."""
    loss = reconstruction_mse(x_rec.float(), target)
    if alpha:
        loss = loss + alpha * restriction_term(z, restriction, ref)
    return loss


def reconstruction_mse(x_rec: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (x_rec - target).pow(2).flatten(1).mean(dim=1)


def _recovery_device(generator, device) -> torch.device:
    """Recover where the generator lives unless told otherwise; never move the caller's module."""
    param = next(generator.parameters(), None)
    own = param.device if param is not None else torch.device("cpu")
    if device is None:
        return own
    device = resolve_device(device)
    if param is not None and own != device:
        raise ValueError(f"the generator is on {own} but device={str(device)!r} was asked for: "
                         f"move it first with generator.to({str(device)!r})")
    return device


def _check_generator_fits(generator, latent_dim: int, x: torch.Tensor, device) -> None:
    probe = torch.zeros(2, latent_dim, device=device)
    try:
        with torch.no_grad():
            out = generator(probe)
    except RuntimeError as err:
        raise ValueError(
            f"the generator does not accept latents of size {latent_dim}: {err}. "
            f"Pass the latent_dim the generator was trained with."
        ) from err
    if tuple(out.shape[1:]) != tuple(x.shape[1:]):
        raise ValueError(
            f"the generator makes images of shape {tuple(out.shape[1:])}, but x has images of shape "
            f"{tuple(x.shape[1:])}"
        )
