"""What makes recovery fast, kept apart from the algorithm in recovery.py: the step compiled with
torch.compile, reduced precision, and how many latents to optimise at once (a memory budget).
None of it changes what is computed: fp32 results equal the eager path within float tolerance
(tests/test_speed_paths.py); bf16/tf32 are opt-in and measured by precision_check.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch

PRECISIONS = ("fp32", "bf16", "tf32")
# Bytes of activations per chunk on the CPU when batch_size is automatic. Small: chunks that stay in
# cache ran faster here (2-core EPYC: ~2650 latent-steps/s at 500 latents vs ~1890 at 4000).
MEMORY_BUDGET = 256 * 2**20
MAX_BATCH = 8192


class LossStep:
    """``loss(G(z), z, target, ref)`` per latent for one step, eager or through torch.compile, with the
    generator in fp32 or reduced precision."""

    def __init__(self, generator, loss, *, compile: bool, precision: str, device: torch.device):
        self.generator, self.loss = generator, loss
        self.precision, self.device = precision, device
        self.compiled = torch.compile(self._loss, dynamic=False) if compile else None

    def __call__(self, z, target, ref):
        if self.compiled is not None:
            try:
                return self.compiled(z, target, ref)
            except Exception as err:  # no C++ compiler, unsupported platform, ...
                warnings.warn(f"torch.compile is unavailable here ({type(err).__name__}: {err}); "
                              f"recovering in eager mode", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self._loss(z, target, ref)

    def _loss(self, z, target, ref):
        with bf16_autocast(self.precision, self.device):
            x_rec = self.generator(z)
        return self.loss(x_rec, z, target, ref)


@contextmanager
def bf16_autocast(precision: str, device: torch.device):
    """bf16 autocast for what runs inside (the generator's forward; its backward follows its dtypes)."""
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


@contextmanager
def cuda_float_mode(precision: str, device: torch.device):
    """On CUDA, TF32 convolutions and matmuls exactly when ``precision`` is "tf32", for everything inside,
    backward passes included. PyTorch lets cuDNN convolutions use TF32 by default
    (torch.backends.cudnn.allow_tf32), so without this an "fp32" recovery on a GPU would not be fp32.
    Elsewhere: nothing (the CPU has no TF32)."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def auto_batch_size(generator, latent_dim: int, device: torch.device, budget_bytes: int | None = None) -> int:
    """How many latents to optimise at once: what the activations of one step fit in a memory budget
    (a quarter of free GPU memory, or MEMORY_BUDGET on the CPU), capped at MAX_BATCH."""
    if budget_bytes is None:
        budget_bytes = torch.cuda.mem_get_info(device)[0] // 4 if device.type == "cuda" else MEMORY_BUDGET
    # Saved activations per latent (two probe sizes, so that saved weights cancel), plus about as
    # much again for gradients and temporaries during backward.
    per_latent = max(1, 2 * (_saved_bytes(generator, latent_dim, 4, device)
                             - _saved_bytes(generator, latent_dim, 2, device)) // 2)
    return int(max(1, min(MAX_BATCH, budget_bytes // per_latent)))


def _saved_bytes(generator, latent_dim: int, n: int, device) -> int:
    saved = []
    probe = torch.zeros(n, latent_dim, device=device, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel() * t.element_size()) or t,
                                                  lambda t: t):
        generator(probe)
    return sum(saved)
