"""How fast is latent recovery here? `python -m lrl_utils.benchmark [--quick] [--profile | --training]`.

Measures, in one run on one machine, the latent-steps per second (one latent moved by one Adam step,
i.e. one forward and backward pass of the generator) of the ways recovery can be looped, the FLOPs of
one latent-step, the machine's measured matmul peak, and the projected wall time of the paper-scale runs.
With ``--profile``: where the time of the fastest exact path goes (torch.profiler's table of operators).
With ``--training``: whether the recovery's speed-ups (torch.compile, channels-last) also speed up the
training steps of the classifier and the GAN, and the epoch times they project.
Speed is a measurement to print, never an assertion.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import json
import math
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from .checks import resolve_device
from .models import Classifier, Discriminator, Generator
from .recovery import recover_latents, recovery_loss
from .speed import LossStep, auto_batch_size, cuda_float_mode
from .reporting import machine_info
from .restriction import standard_normal_quantiles
from .training import classifier_step, gan_step, train_classifier, train_gan

PAPER_LATENT_STEPS = 1000 * 10 * 200
FULL_TEST_LATENT_STEPS = 10_000 * 10 * 200
TRAINING_IMAGES = 60_000
TRAINING_SPEEDUPS = ("compiled", "channels_last")


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
    loss = functools.partial(recovery_loss, alpha=alpha, restriction="w1")
    step = LossStep(generator, loss, compile=False, precision="fp32", device=device)
    with FlopCounterMode(display=False) as counter:
        step(z, target, standard_normal_quantiles(generator.latent_dim, device=device)).sum().backward()
    return counter.get_total_flops() / batch


def _generator_and_images(n: int, device):
    """A seeded, untrained, frozen generator and ``n`` of its images (on the CPU) to recover: speed does
    not depend on the weights."""
    torch.manual_seed(0)
    generator = Generator().to(device).eval().requires_grad_(False)
    with torch.no_grad():
        x = generator(torch.randn(n, generator.latent_dim, device=device)).clamp(-1, 1).cpu()
    return generator, x


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
    images = 100 if quick else (200 if device.type == "cpu" else 2000)
    steps = 10 if quick else 50
    loop_images = 2 if quick else 4
    generator, x = _generator_and_images(images, device)
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
    # Reduced precision: bf16 everywhere; TF32 only exists on CUDA, and there each is also tried compiled.
    reduced = ["bf16", "tf32"] if device.type == "cuda" else ["bf16"]
    for letter, precision in zip("ef", reduced):
        paths[f"{letter}_batched_{precision}"] = {
            "latent_steps_per_s": _rate(batched(precision=precision), batch_steps, device), "exact": False}
    if device.type == "cuda":
        for letter, precision in zip("gh", reduced):
            recover_latents(generator, x, restarts=restarts, batch_size=auto, compile=True, precision=precision,
                            **common)  # compile outside the timing
            paths[f"{letter}_batched_compiled_{precision}"] = {
                "latent_steps_per_s": _rate(batched(compile=True, precision=precision), batch_steps, device),
                "exact": False}

    flops = flops_per_latent_step(generator, alpha, device)
    peaks = {"fp32": matmul_peak(torch.float32, device), "bf16": matmul_peak(torch.bfloat16, device)}
    if device.type == "cuda":
        with cuda_float_mode("tf32", device):
            peaks["tf32"] = matmul_peak(torch.float32, device)
    for name, path in paths.items():
        gflops = path["latent_steps_per_s"] * flops / 1e9
        peak = peaks[name.rsplit("_", 1)[-1] if name.endswith(("bf16", "tf32")) else "fp32"]
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


def measure_training(quick: bool = False, device=None, speedups=TRAINING_SPEEDUPS) -> dict:
    """Seconds per training step of the classifier and of the GAN (at the training loops' default batch
    sizes), eager and with each of ``speedups``, and the epoch over MNIST's 60000 training images that
    each projects."""
    device = resolve_device(device)
    steps, warmup = (3, 2) if quick else (40, 5)
    networks = {"classifier": (_classifier_stepper, train_classifier), "gan": (_gan_stepper, train_gan)}
    report = {"quick": quick, "device": str(device), "steps": steps, "networks": {}, "machine": machine_info()}
    for network, (stepper, loop) in networks.items():
        batch = inspect.signature(loop).parameters["batch_size"].default
        rows = {}
        for path in ("eager", *speedups):
            torch.manual_seed(0)
            step = stepper(path, batch, device)
            started = time.perf_counter()
            for _ in range(warmup):  # compiles on the first calls
                step()
            warmup_s = time.perf_counter() - started
            seconds = 1 / _rate(lambda: [step() for _ in range(steps)], steps, device)
            rows[path] = {"seconds_per_step": seconds, "warmup_s": round(warmup_s, 1),
                          "epoch_s": seconds * math.ceil(TRAINING_IMAGES / batch)}
        for row in rows.values():
            row["speedup_over_eager"] = rows["eager"]["seconds_per_step"] / row["seconds_per_step"]
        report["networks"][network] = {"batch_size": batch, "paths": rows}
    return report


def _prepare(module, path, device):
    module = module.to(device)
    if path == "channels_last":
        module = module.to(memory_format=torch.channels_last)
    return torch.compile(module) if path == "compiled" else module


def _random_images(n, path, device):
    x = torch.rand(n, 1, 28, 28, device=device) * 2 - 1
    return x.contiguous(memory_format=torch.channels_last) if path == "channels_last" else x


def _classifier_stepper(path, batch, device):
    model = Classifier().to(device)
    optimiser = torch.optim.Adam(model.parameters())  # its cost does not depend on its settings
    model, x = _prepare(model, path, device), _random_images(batch, path, device)
    y = torch.randint(0, 10, (batch,), device=device)
    return lambda: classifier_step(model, optimiser, x, y)


def _gan_stepper(path, batch, device):
    generator, discriminator = Generator().to(device), Discriminator().to(device)
    opt_g, opt_d = torch.optim.Adam(generator.parameters()), torch.optim.Adam(discriminator.parameters())
    latent_dim = generator.latent_dim
    generator, discriminator = _prepare(generator, path, device), _prepare(discriminator, path, device)
    real = _random_images(batch, path, device)
    return lambda: gan_step(generator, discriminator, opt_g, opt_d, real,
                            torch.randn(batch, latent_dim, device=device))


def format_training_table(report: dict) -> str:
    lines = [f"training steps on {report['machine']['device']} ({report['device']}, "
             f"{report['machine']['torch_threads']} threads), {report['machine']['date']}", "",
             "| network (batch) | path | ms per step | projected epoch (60000 images) | vs eager | compile/warm-up |",
             "|---|---|---|---|---|---|"]
    for network, entry in report["networks"].items():
        for path, row in entry["paths"].items():
            lines.append(f"| {network} ({entry['batch_size']}) | {path} | {1000 * row['seconds_per_step']:.1f} | "
                         f"{row['epoch_s']:.0f} s | {row['speedup_over_eager']:.2f}x | {row['warmup_s']} s |")
    return "\n".join(lines)


def profile_recovery(quick: bool = False, device=None, alpha: float = 1.0, restarts: int = 10) -> str:
    """torch.profiler's operator table (by self time) of the compiled batched path, after warm-up."""
    device = resolve_device(device)
    generator, x = _generator_and_images(20 if quick else 50, device)
    run = dict(restarts=restarts, alpha=alpha, progress=False, device=device, compile=True,
               batch_size=auto_batch_size(generator, generator.latent_dim, device))
    recover_latents(generator, x, steps=3, **run)  # compile outside the profile
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities, with_flops=True) as profile:
        recover_latents(generator, x, steps=5 if quick else 20, **run)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return profile.key_averages().table(sort_by=key, row_limit=20)


def format_table(report: dict) -> str:
    lines = [f"latent recovery on {report['machine']['device']} ({report['device']}, "
             f"{report['machine']['torch_threads']} threads), {report['machine']['date']}",
             f"one latent-step = {report['flops_per_latent_step'] / 1e6:.1f} MFLOP; matmul peak "
             + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in report["matmul_peak_gflops"].items()),
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
    parser.add_argument("--profile", action="store_true",
                        help="print the profiler's operator table of the compiled path (writes nothing)")
    parser.add_argument("--training", action="store_true",
                        help="time the training steps instead (eager, compiled, channels-last)")
    parser.add_argument("--out", default=None,
                        help="JSON file (default results/benchmark[_training][_quick].json)")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile_recovery(quick=args.quick, device=args.device))
        return
    if args.training:
        report = measure_training(quick=args.quick, device=args.device)
        print(format_training_table(report))
    else:
        report = measure(quick=args.quick, device=args.device)
        print(format_table(report))
    name = "benchmark" + ("_training" if args.training else "") + ("_quick" if args.quick else "")
    out = Path(args.out or f"results/{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
