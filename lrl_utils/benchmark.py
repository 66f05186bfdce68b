"""How fast is latent recovery here? `python -m lrl_utils.benchmark [--quick]`.

Measures, in one run on one machine, the latent-steps per second (one latent moved by one Adam step,
i.e. one forward and backward pass of the generator) of the ways recovery can be looped, the FLOPs of
one latent-step, the machine's measured matmul peak, and the projected wall time of the paper-scale runs.
Speed is a measurement to print, never an assertion.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from .checks import resolve_device
from .models import Generator
from .recovery import _Step, auto_batch_size, recover_latents
from .reporting import machine_info
from .restriction import standard_normal_quantiles

PAPER_LATENT_STEPS = 1000 * 10 * 200
FULL_TEST_LATENT_STEPS = 10_000 * 10 * 200


def matmul_peak(dtype: torch.dtype, device: torch.device, n: int = 2048, seconds: float = 1.0,
                repeats: int = 3) -> float:
    """GFLOP/s of a large square torch.mm, best of ``repeats`` timed bursts: the practical peak the
    recovery is measured against."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(repeats):
        _sync(device)
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            torch.mm(a, b)
            runs += 1
        _sync(device)
        best = max(best, 2 * n ** 3 * runs / (time.perf_counter() - started) / 1e9)
    return best


def flops_per_latent_step(generator, alpha: float, device, batch: int = 64) -> float:
    """Forward and backward FLOPs of one step, per latent, counted by torch.utils.flop_counter, with the
    generator frozen as in recovery (no weight gradients)."""
    generator.requires_grad_(False)
    z = torch.randn(batch, generator.latent_dim, device=device, requires_grad=True)
    target = torch.zeros(batch, 1, 28, 28, device=device)
    step = _Step(generator, alpha, "w1", compile=False, precision="fp32", device=device)
    with FlopCounterMode(display=False) as counter:
        step(z, target, standard_normal_quantiles(generator.latent_dim, device=device)).sum().backward()
    return counter.get_total_flops() / batch


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(run, latent_steps: int, device) -> float:
    _sync(device)
    started = time.perf_counter()
    run()
    _sync(device)
    return latent_steps / (time.perf_counter() - started)


def measure(quick: bool = False, device=None, alpha: float = 1.0, restarts: int = 10) -> dict:
    device = resolve_device(device)
    torch.manual_seed(0)
    generator = Generator().to(device).eval().requires_grad_(False)
    images = 100 if quick else (200 if device.type == "cpu" else 2000)
    steps = 10 if quick else 50
    loop_images = 2 if quick else 4
    with torch.no_grad():
        x = generator(torch.randn(images, generator.latent_dim, device=device)).clamp(-1, 1).cpu()
    common = dict(steps=steps, alpha=alpha, progress=False, device=device)
    auto = auto_batch_size(generator, generator.latent_dim, device)

    def per_restart():  # (a) one restart at a time
        for i in range(loop_images):
            for r in range(restarts):
                recover_latents(generator, x[i:i + 1], restarts=1, image_ids=[i * restarts + r],
                                batch_size=1, **common)

    def per_image():  # (b) one image at a time, its restarts batched (the author's code)
        for i in range(loop_images):
            recover_latents(generator, x[i:i + 1], restarts=restarts, image_ids=[i], batch_size=restarts, **common)

    def batched(**options):  # (c)-(e) all images x restarts together
        return lambda: recover_latents(generator, x, restarts=restarts, batch_size=auto, **common, **options)

    loop_steps = loop_images * restarts * steps
    batch_steps = images * restarts * steps
    paths = {}
    paths["a_per_restart_loop"] = {"latent_steps_per_s": _rate(per_restart, loop_steps, device), "exact": True}
    paths["b_per_image_loop"] = {"latent_steps_per_s": _rate(per_image, loop_steps, device), "exact": True}
    paths["c_batched_eager"] = {"latent_steps_per_s": _rate(batched(), batch_steps, device), "exact": True}
    started = time.perf_counter()
    recover_latents(generator, x[:1], restarts=restarts, batch_size=auto, compile=True, **common)
    recover_latents(generator, x, restarts=restarts, batch_size=auto, compile=True, **common)  # all shapes
    warmup = time.perf_counter() - started
    paths["d_batched_compiled"] = {"latent_steps_per_s": _rate(batched(compile=True), batch_steps, device),
                                   "exact": True, "compile_and_warmup_s": round(warmup, 1)}
    reduced = "bf16"
    paths[f"e_batched_{reduced}"] = {"latent_steps_per_s": _rate(batched(precision=reduced), batch_steps, device),
                                     "exact": False}

    flops = flops_per_latent_step(generator, alpha, device)
    peaks = {"fp32": matmul_peak(torch.float32, device), "bf16": matmul_peak(torch.bfloat16, device)}
    for name, path in paths.items():
        gflops = path["latent_steps_per_s"] * flops / 1e9
        peak = peaks["bf16" if name.endswith("bf16") else "fp32"]
        path.update(gflops=gflops, fraction_of_peak=gflops / peak)
    fastest = max((p for p in paths if paths[p]["exact"]), key=lambda p: paths[p]["latent_steps_per_s"])
    rate = paths[fastest]["latent_steps_per_s"]
    return {
        "quick": quick, "device": str(device), "images": images, "restarts": restarts, "steps": steps,
        "loop_images": loop_images,
        "alpha": alpha, "batch_size": auto, "flops_per_latent_step": flops,
        "matmul_peak_gflops": peaks, "paths": paths, "fastest_exact_path": fastest,
        "speedup_over_per_image_loop": rate / paths["b_per_image_loop"]["latent_steps_per_s"],
        "projected_seconds": {"paper_1000x10x200": PAPER_LATENT_STEPS / rate,
                              "full_test_10000x10x200": FULL_TEST_LATENT_STEPS / rate},
        "machine": machine_info(),
    }


def format_table(report: dict) -> str:
    lines = [f"latent recovery on {report['machine']['device']} ({report['device']}, "
             f"{report['machine']['torch_threads']} threads), {report['machine']['date']}",
             f"one latent-step = {report['flops_per_latent_step'] / 1e6:.1f} MFLOP; matmul peak "
             f"fp32 {report['matmul_peak_gflops']['fp32']:.0f} GFLOP/s, bf16 {report['matmul_peak_gflops']['bf16']:.0f} GFLOP/s",
             "", "| path | latent-steps/s | GFLOP/s | of matmul peak |", "|---|---|---|---|"]
    for name, path in report["paths"].items():
        lines.append(f"| {name} | {path['latent_steps_per_s']:,.0f} | {path['gflops']:.1f} | "
                     f"{100 * path['fraction_of_peak']:.0f} % |")
    projected = report["projected_seconds"]
    lines += ["", f"fastest exact path: {report['fastest_exact_path']}, "
                  f"{report['speedup_over_per_image_loop']:.1f}x the per-image loop (b)",
              f"projected: paper scale (1000 x 10 x 200) {projected['paper_1000x10x200'] / 60:.1f} min; "
              f"full test set (10000 x 10 x 200) {projected['full_test_10000x10x200'] / 60:.1f} min"]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: CUDA when available)")
    parser.add_argument("--out", default=None,
                        help="JSON file (default results/benchmark.json, or results/benchmark_quick.json with --quick)")
    args = parser.parse_args(argv)
    report = measure(quick=args.quick, device=args.device)
    print(format_table(report))
    out = Path(args.out or ("results/benchmark_quick.json" if args.quick else "results/benchmark.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
