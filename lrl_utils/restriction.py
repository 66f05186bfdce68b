"""The latent restriction loss: a 1-D Wasserstein distance between z's elements and N(0, 1).

Each of a latent's d elements is treated as one sample of a 1-D distribution. Sorting makes the
distance invariant to permutations of z's elements, which is the property the paper relies on.
"""
from __future__ import annotations

import torch

from .checks import check_number

REFERENCES = ("quantiles", "samples")
# What keeps z near N(0, I) during recovery (compared in the ablations; "w1" is the paper's loss):
#   w1, w2        Wasserstein-1 / -2 between z's elements and N(0, 1) (to ``reference``)
#   gaussian_nll  mean of z^2: N(0, I)'s negative log-likelihood up to constants, the usual MAP prior
#   moments       (mean - 0)^2 + (std - 1)^2 of z's elements: W2^2 between their Gaussian fit and N(0, 1)
#   sphere        no loss term: z is projected back to the sphere of radius sqrt(d) after every step
RESTRICTIONS = ("w1", "w2", "gaussian_nll", "moments", "sphere")


def standard_normal_quantiles(d: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """The d mid-point quantiles Phi^-1((i - 1/2) / d), i = 1..d: a deterministic stand-in for N(0, 1)."""
    u = (torch.arange(d, dtype=torch.float64) + 0.5) / d
    return torch.special.ndtri(u).to(dtype=dtype, device=device)


def latent_restriction_loss(
    z: torch.Tensor,
    reference: str | torch.Tensor = "quantiles",
    p: float = 1,
    *,
    sample_size: int = 10_000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Wasserstein-p distance between the empirical distribution of each row of ``z`` and N(0, 1).

    Args:
        z: latents of shape [batch, d] (a single latent of shape [d] is treated as a batch of one).
        reference: ``"quantiles"`` compares with the d standard-normal mid-point quantiles (default,
            deterministic); ``"samples"`` with a fresh N(0, 1) sample of ``sample_size`` values drawn
            from ``generator`` at each call (as the paper author's code does); a 1-D tensor compares
            with that fixed sample.
        p: the order of the distance, p >= 1.

    Returns:
        A tensor of shape [batch], differentiable with respect to ``z``.
    """
    if z.dim() == 1:
        z = z.unsqueeze(0)
    if z.dim() != 2:
        raise ValueError(f"z must have shape [batch, d]; got {tuple(z.shape)}")
    check_number("p (the order of the Wasserstein distance)", p, low=1)
    d = z.shape[1]
    if isinstance(reference, torch.Tensor):
        ref = reference.to(dtype=z.dtype, device=z.device).flatten()
    elif reference == "quantiles":
        ref = standard_normal_quantiles(d, dtype=z.dtype, device=z.device)
    elif reference == "samples":
        ref = torch.randn(sample_size, generator=generator, dtype=torch.float32)
        ref = ref.to(dtype=z.dtype, device=z.device)
    else:
        raise ValueError(
            f"unknown reference {reference!r}: use one of {REFERENCES} or a 1-D tensor of samples"
        )
    z_sorted = z.sort(dim=1).values
    ref_sorted = ref.sort().values
    if ref_sorted.numel() == d:
        gaps = (z_sorted - ref_sorted).abs()
        weights = None
    else:
        gaps, weights = _quantile_function_gaps(z_sorted, ref_sorted)
    return _wasserstein_p(gaps, weights, p)


def restriction_term(z: torch.Tensor, restriction: str, reference: str | torch.Tensor = "quantiles") -> torch.Tensor:
    """The per-latent loss term of ``restriction`` (one of RESTRICTIONS) for latents ``z`` [batch, d].

    ``reference`` is used by the Wasserstein terms only (see ``latent_restriction_loss``).
    "sphere" has no loss term (it acts by projection, see ``project_to_sphere``): asking for it is an error.
    """
    if restriction == "w1":
        return latent_restriction_loss(z, reference, p=1)
    if restriction == "w2":
        return latent_restriction_loss(z, reference, p=2)
    if restriction == "gaussian_nll":
        return z.pow(2).mean(dim=1)
    if restriction == "moments":
        return z.mean(dim=1).pow(2) + (z.std(dim=1, correction=0) - 1).pow(2)
    if restriction == "sphere":
        raise ValueError("restriction 'sphere' has no loss term: it projects z with project_to_sphere")
    raise ValueError(f"unknown restriction {restriction!r}: choose one of {', '.join(map(repr, RESTRICTIONS))}")


def project_to_sphere(z: torch.Tensor) -> torch.Tensor:
    """Each row of ``z`` [batch, d] rescaled to norm sqrt(d), where N(0, I_d) concentrates (as in PULSE)."""
    return z * (z.shape[1] ** 0.5 / z.norm(dim=1, keepdim=True))


def _quantile_function_gaps(z_sorted: torch.Tensor, ref_sorted: torch.Tensor):
    """|F_z^-1(u) - F_ref^-1(u)| on the pieces where both quantile functions are constant.

    With n and m samples the quantile functions step at multiples of 1/n and 1/m; between merged
    steps both are constant, so W_p^p is an exact weighted sum over those pieces (as scipy computes it).
    """
    n, m = z_sorted.shape[1], ref_sorted.numel()
    steps = torch.cat([torch.arange(1, n + 1, dtype=torch.float64) / n,
                       torch.arange(1, m + 1, dtype=torch.float64) / m]).unique()
    widths = torch.diff(steps, prepend=steps.new_zeros(1))
    mids = steps - widths / 2
    z_idx = (mids * n).floor().long().clamp_max(n - 1).to(z_sorted.device)
    r_idx = (mids * m).floor().long().clamp_max(m - 1).to(z_sorted.device)
    gaps = (z_sorted[:, z_idx] - ref_sorted[r_idx]).abs()
    return gaps, widths.to(dtype=z_sorted.dtype, device=z_sorted.device)


def _wasserstein_p(gaps: torch.Tensor, weights: torch.Tensor | None, p: float) -> torch.Tensor:
    powered = gaps if p == 1 else gaps.pow(p)
    mean = powered.mean(dim=1) if weights is None else (powered * weights).sum(dim=1)
    return mean if p == 1 else mean.pow(1.0 / p)
