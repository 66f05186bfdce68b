"""`dvc repro` really runs the pipeline: on a copy of the project whose params.yaml is the quick profile."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers import REPO
from lrl_utils import quick
from lrl_utils.layout import PAPER_ATTACK, Project

DVC = str(Path(sys.executable).with_name("dvc"))
QUICK = yaml.safe_load((REPO / "profiles" / "quick.yaml").read_text())
QUICK_VARIANTS = QUICK["variants"]
MAGNITUDES = QUICK["fgsm_sweep"]["magnitudes"]


def _run(args, cwd, env=None, timeout=1200):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_dvc_repro_runs_every_stage_of_the_quick_profile(tmp_path, mnist_source):
    # The same copy as `python -m lrl_utils.quick` makes (the README's quick-profile command).
    project = quick.prepare(REPO, tmp_path / "project")
    env = {**quick.environment(project), "LRL_MNIST_DIR": str(mnist_source)}

    log = _run([DVC, "repro"], project, env)

    stages = _run([DVC, "stage", "list", "--name-only"], project, env).split()
    # One recover stage per variant on the paper attack, one per other attack (its `defenses`): the layout's runs.
    recoveries = Project(REPO / "profiles" / "quick.yaml").recoveries()
    assert {s for s in stages if s.startswith("recover@")} == {
        f"recover@{r.variant}" for r in recoveries if r.attack.name == PAPER_ATTACK}
    assert {s for s in stages if s.startswith("recover_sweep@")} == {f"recover_sweep@{m}" for m in MAGNITUDES}
    for stage in stages:
        assert f"Running stage '{stage}'" in log, f"stage {stage} did not run:\n{log[-3000:]}"
    assert "up to date" in _run([DVC, "status"], project, env)
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages)
    for stage in lock.values():
        for out in stage.get("outs", []):
            assert (project / out["path"]).exists(), out["path"]
    shown = _run([DVC, "metrics", "show"], project, env).splitlines()
    # One line per row of the headline table, the paper's reported numbers first, readable in a terminal.
    rows = [line for line in shown if line.startswith("results/headline/")]
    assert rows[0].startswith("results/headline/00_paper_reported.json") and "64.1" in rows[0]
    assert len(rows) == 1 + 3 + len(MAGNITUDES) + 1 + len(QUICK["adaptive"]["attackers"]) + 1
    assert max(len(line) for line in shown) < 250
    assert "5 McNemar p" in shown[0]
    _assert_every_drawing_cell_shows_its_figure(project / "results/notebooks", len(stages))
    _assert_reading_a_notebook_leaves_dvc_status_clean(project, env)
    _assert_precision_check_runs(project, env)
    _assert_a_failed_rerun_keeps_the_last_results(project, env)
    _assert_two_workers_fill_a_recovery_the_stage_assembles(project, env)
    _assert_the_readme_experiment_runs(project, env)
    table = (project / "results/recover/lrl/per_image.csv").read_text().splitlines()
    assert table[0] == "index,label,pred_clean,pred_adv,pred_defended,reconstruction_mse,restriction"
    assert len(table) == 1 + yaml.safe_load((project / "params.yaml").read_text())["attack"]["eval_images"]
    runs = (project / "results/ablations/runs.csv").read_text().splitlines()
    assert len(runs) == 1 + len(QUICK_VARIANTS)
    summary = (project / "results/fgsm_sweep_summary/summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 3 * (len(MAGNITUDES) + 2)  # clean, the sweep and the attack stage's eps
    full_test = (project / "results/full_test/lrl/per_image.csv").read_text().splitlines()
    assert len(full_test) == 1 + QUICK["full_test"]["images"]
    assert not (project / "results/full_test/lrl/recovery.pt").exists()  # per-restart latents: chunk cache only
    comparison = (project / "results/full_test/summary/comparison.csv").read_text().splitlines()
    assert len(comparison) == 1 + 3  # no defense and the two paper variants
    # A grid network attacks its classifier again: with the paper's own pair, the paper attack's recoveries.
    for variant in ("defensegan", "lrl"):
        again = (project / f"results/grid/model_a_dcgan/{variant}/per_image.csv").read_bytes()
        assert again == (project / f"results/recover/{variant}/per_image.csv").read_bytes(), variant
    pairs = len(QUICK["grid"]["pairs"])
    assert len(pd.read_csv(project / "results/grid_summary/grid.csv")) == pairs * (1 + len(QUICK["grid"]["networks"]))
    spread = pd.read_csv(project / "results/grid_summary/seed_spread.csv")  # model_a + dcgan: the paper row, seeds 0 and 1
    assert spread["restart seeds"].tolist() == ["0 0 1"] * pairs and set(spread.generator) == {"dcgan"}
    # The map's cells at the recover stage's settings: the same recovery on a subset of its images (other
    # chunks, so equal within float rounding), each cell with how far its latents moved.
    for cell, variant in [("lr0.001_alpha0", "defensegan"), ("lr0.001_alpha1", "lrl"), ("lr0.1_alpha0", "lr_0p1_alpha0"),
                          ("lr0.1_alpha1", "lr_0p1_alpha1")]:
        mapped = pd.read_csv(project / f"results/lr_alpha_map/paper_pair/{cell}/per_image.csv")
        recovered = pd.read_csv(project / f"results/recover/{variant}/per_image.csv").set_index("index")
        assert len(mapped) == QUICK["lr_alpha_map"]["images"] and set(mapped["index"]) <= set(recovered.index)
        assert np.allclose(mapped.reconstruction_mse, recovered.loc[mapped["index"], "reconstruction_mse"], rtol=1e-3)
        moved = pd.read_csv(project / f"results/lr_alpha_map/paper_pair/{cell}/movement.csv")
        assert moved["index"].tolist() == mapped["index"].tolist() and (moved.l2_moved > 0).all()
    assert len(pd.read_csv(project / "results/lr_alpha_map_summary/paper_pair/map.csv")) == 4
    quality = pd.read_csv(project / "results/generator_quality/quality.csv")
    assert quality.generator.tolist() == ["MNIST training images", *QUICK["generators"]]
    assert (project / f"models/classifiers/{QUICK['generator_quality']['features']}.pt").is_file()
    for name, run in QUICK["generators"].items():  # each generator's FID curve, and the epoch it keeps
        history = pd.read_csv(project / f"results/generators/{name}/history.csv")
        assert history.epoch.tolist() == list(range(1, run["epochs"] + 1)) and (history.fid_train > 0).all()
        kept = history.loc[history.kept, "epoch"].tolist()
        assert kept == ([run["epochs"]] if run["keep"] == "last" else [history.loc[history.fid_train.idxmin(), "epoch"]])


def _assert_every_drawing_cell_shows_its_figure(executed_dir, n_stages):
    """Each cell that calls lrl_utils.plots carries its image in the executed notebook (MPLBACKEND=Agg in CI)."""
    notebooks = sorted(executed_dir.glob("*.ipynb"))
    # every stage but data, headline, comparisons and paper (python -m modules) executes a notebook
    assert len(notebooks) == n_stages - 4
    drawing_cells = 0
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or "plots." not in source:
                continue
            drawing_cells += 1
            images = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
            assert len(images) >= source.count("plots."), f"{path.name}: a figure is missing in\n{source}"
        text = path.read_text()
        assert "TqdmWarning" not in text and str(executed_dir.parent.parent) not in text, path.name
    assert drawing_cells >= 15


def _assert_reading_a_notebook_leaves_dvc_status_clean(project, env):
    """What JupyterLab's autosave did to an open executed notebook (another kernel display name, no final
    newline) is not a change to the pipeline."""
    path = project / "results/notebooks/05_analysis.ipynb"
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"  # as Jupyter saves it
    assert path.read_text().endswith("}\n")
    notebook["metadata"]["kernelspec"]["display_name"] = "Python 3"
    path.write_text(json.dumps(notebook, indent=1))
    assert "up to date" in _run([DVC, "status"], project, env)


def _assert_precision_check_runs(project, env):
    out = project / "precision.json"
    _run([sys.executable, "-m", "lrl_utils.precision_check", "--precision", "fp32", "--compile", "--variants", "lrl",
          "--out", str(out)], project, env)
    report = json.loads(out.read_text())["variants"]["lrl"]
    assert report["committed_accuracy"]["n"] == report["images"] == QUICK["attack"]["eval_images"]
    # fp32 again, in one batch instead of the stage's chunks: equal within float rounding
    assert report["same_prediction"] >= 0.98 and report["max_abs_mse_difference"] < 1e-3


def _assert_a_failed_rerun_keeps_the_last_results(project, env):
    """Outputs are persistent and every write is atomic: a stage that fails half-way (here: its input
    damaged) leaves the last complete results and executed notebook in place, and dvc status says so."""
    attack = project / "results/attack/attack.pt"
    kept = {p: p.read_bytes() for p in [project / "results/results_table.csv", project / "results/metrics.json",
                                        project / "results/figures/recovery_grid.png",
                                        project / "results/notebooks/05_analysis.ipynb"]}
    good = attack.read_bytes()
    attack.write_bytes(good[: len(good) // 3])
    done = subprocess.run([DVC, "repro", "-s", "analysis"], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "cannot be read as the attack artifact" in done.stdout + done.stderr
    assert all(path.read_bytes() == content for path, content in kept.items())
    assert (project / "results/notebooks/05_analysis.failed.ipynb").is_file()
    attack.write_bytes(good)
    assert "up to date" in _run([DVC, "status"], project, env)


def _assert_two_workers_fill_a_recovery_the_stage_assembles(project, env):
    """`python -m lrl_utils.recovery_worker` processes share two variants' chunks; each stage then computes
    none and writes the same per-image table."""
    variants = ["lrl", "defensegan"]
    tables = {v: project / f"results/recover/{v}/per_image.csv" for v in variants}
    before = {v: table.read_bytes() for v, table in tables.items()}
    shutil.rmtree(project / ".cache/recovery")
    chunks = -(-QUICK["attack"]["eval_images"] // QUICK["recover"]["chunk_images"])
    for worker in range(2):
        out = _run([sys.executable, "-m", "lrl_utils.recovery_worker", "paper", *variants, "--worker", str(worker),
                    "--workers", "2"], project, env)
        for variant in variants:
            assert f"{len(range(worker, chunks, 2))} chunks computed for paper/{variant}" in out, out
    _run([DVC, "repro", "-s", "-f", *[f"recover@{v}" for v in variants]], project, env)
    for variant, table in tables.items():
        assert json.loads((table.parent / "run.json").read_text())["chunks_computed"] == 0, variant
        assert table.read_bytes() == before[variant], variant



def _assert_the_readme_experiment_runs(project, env):
    """The README's `dvc exp run --temp -S ...` example, on the quick profile: it runs in a temporary copy and leaves
    the workspace's params.yaml and results as they were; `dvc exp show` then holds the experiment's value."""
    example = re.search(r"`(dvc exp run [^`]+)`", (REPO / "README.md").read_text()).group(1).split()
    assert "--temp" in example  # the workspace is the user's: the example must not rewrite it
    key, value = example[-1].split("=")
    _run(["git", "add", "-A"], project)
    _run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-qm", "quick"], project)
    params, table = (project / "params.yaml").read_bytes(), (project / "results/ablations/runs.csv").read_bytes()
    assert f"{key.split('.')[-1]}: {value}" not in (project / "params.yaml").read_text()
    _run([DVC, "exp", "run", *example[3:]], project, env)
    assert (project / "params.yaml").read_bytes() == params
    assert (project / "results/ablations/runs.csv").read_bytes() == table
    shown = _run([DVC, "exp", "show", "--json"], project, env)
    assert f'"{key.split(".")[-1]}": {float(value)}' in shown, shown[:2000]
