"""The GPU check, under 10 minutes on one NVIDIA GPU: `bash scripts/gpu_check.sh` (this module's wrapper).

1. The device tests (tests/test_device.py) on CUDA: recovery on the GPU against the CPU, compiled against
   eager, TF32 and bf16 against fp32, the restriction term, the memory budget.
2. The recovery benchmark on CUDA (lrl_utils.benchmark): latent-steps/s, GFLOP/s and the share of the GPU's
   measured matmul peak, eager and compiled, in fp32, TF32 and bf16.
3. Committed paper-scale recoveries computed again on the GPU (lrl_utils.precision_check.recompute) and
   compared with their committed CPU per_image.csv: agreement of the defended predictions. fp32 must agree
   on at least 98 % of the images (a few near-ties of the restart selection may flip with float rounding);
   TF32 and bf16 are reported.

Writes report.json and summary.md to --out (default results/gpu_check). Exits 2 at once without CUDA, and
1 when the tests fail or an fp32 recovery disagrees.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import artifacts, benchmark
from .layout import PAPER_ATTACK, Project
from .precision_check import recompute
from .reporting import machine_info

RUNS = ["paper/lrl", "paper/defensegan", "full_test/lrl"]  # attack/variant: two of the paper's 1000, all 10000
PRECISIONS = ["fp32", "tf32", "bf16"]  # fp32 for every run; the reduced ones on the paper attack's runs
FP32_AGREEMENT = 0.98
NO_CUDA = ("no CUDA device: torch {version} sees none (torch.cuda.is_available() is False). This check needs "
           "one NVIDIA GPU with a CUDA build of torch. On a CPU, the tests (`pytest`) and the CPU benchmark "
           "(`python -m lrl_utils.benchmark`) are what runs; `--device cpu` runs this check's steps on the CPU.")


def device_tests(device: torch.device) -> dict:
    """pytest on tests/test_device.py; on CUDA its GPU tests must run (LRL_REQUIRE_CUDA), not be skipped."""
    env = {**os.environ, "LRL_REQUIRE_CUDA": "1" if device.type == "cuda" else ""}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "tests/test_device.py", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, env=env)
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    print("\n".join(tail))
    return {"passed": done.returncode == 0, "seconds": round(time.perf_counter() - started, 1), "tail": tail}


def recoveries(project: Project, runs, precisions, device, images: int, compile: bool = True) -> list[dict]:
    """``recompute`` of each of ``runs`` (``layout.Recovery``) in each of ``precisions`` (the first only off
    the paper attack)."""
    classifier, generator = artifacts.load_networks(project, device)
    rows = []
    for run in runs:
        name = f"{run.attack.name}/{run.variant}"
        for precision in precisions if run.attack.name == PAPER_ATTACK else precisions[:1]:
            row = {"run": name, **recompute(run, classifier, generator, precision=precision, compile=compile,
                                            images=images)}
            print(f"{name} {precision}: {100 * row['same_prediction']:.1f} % same predictions as committed, "
                  f"accuracy {100 * row['recomputed_accuracy']['accuracy']:.1f} % "
                  f"(committed {100 * row['committed_accuracy']['accuracy']:.1f} %), {row['seconds']} s")
            rows.append(row)
    return rows


def summary(report: dict) -> str:
    lines = [f"# GPU check: {report['machine']['device']} ({report['device']}), {report['machine']['date']}", ""]
    if "tests" in report:
        lines += [f"device tests: {'passed' if report['tests']['passed'] else 'FAILED'} "
                  f"({report['tests']['seconds']} s)", ""]
    if "benchmark" in report:
        lines += [benchmark.format_table(report["benchmark"]), ""]
    lines += ["| run | precision | images | same predictions | accuracy (committed) | max abs MSE diff | s | latent-steps/s |",
              "|---|---|---|---|---|---|---|---|"]
    for row in report["recoveries"]:
        lines.append(f"| {row['run']} | {row['precision']} | {row['images']} | {100 * row['same_prediction']:.1f} % | "
                     f"{100 * row['recomputed_accuracy']['accuracy']:.1f} % "
                     f"({100 * row['committed_accuracy']['accuracy']:.1f} %) | {row['max_abs_mse_difference']:.2g} | "
                     f"{row['seconds']} | {row['latent_steps_per_s']:,} |")
    lines += ["", f"verdict: {'pass' if report['passed'] else 'FAIL'}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to try the steps without a GPU")
    parser.add_argument("--runs", nargs="+", default=RUNS, help=f"attack/variant pairs (default {' '.join(RUNS)})")
    parser.add_argument("--precisions", nargs="+", default=PRECISIONS, choices=PRECISIONS,
                        help="the first is used for every run, the others on the paper attack's runs")
    parser.add_argument("--images", type=int, default=0, help="only each run's first N images (default 0: all)")
    parser.add_argument("--eager", action="store_true", help="recover without torch.compile (a quicker start)")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-benchmark", action="store_true")
    parser.add_argument("--settings", default="params.yaml")
    parser.add_argument("--out", default="results/gpu_check", help="folder for report.json and summary.md")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(NO_CUDA.format(version=torch.__version__), file=sys.stderr)
        return 2
    device = torch.device(args.device)
    project = Project(args.settings)
    runs = []
    for name in args.runs:  # refuse a bad run name before anything slow
        attack, _, variant = name.partition("/")
        if not variant:
            parser.error(f"--runs: {name!r} is not attack/variant (e.g. paper/lrl)")
        runs += project.recoveries(attack, variant)
    report = {"device": str(device), "machine": machine_info()}
    if not args.skip_tests:
        report["tests"] = device_tests(device)
    if not args.skip_benchmark:
        report["benchmark"] = benchmark.measure(device=device)
        print(benchmark.format_table(report["benchmark"]))
    report["recoveries"] = recoveries(project, runs, args.precisions, device, args.images, not args.eager)
    fp32 = [row for row in report["recoveries"] if row["precision"] == "fp32"]
    report["passed"] = (report.get("tests", {"passed": True})["passed"]
                        and all(row["same_prediction"] >= FP32_AGREEMENT for row in fp32))
    out = Path(args.out)
    artifacts.write_json(report, out / "report.json")
    artifacts.write_text(summary(report), out / "summary.md")
    print(f"\n{summary(report)}written to {out}/report.json and summary.md")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
