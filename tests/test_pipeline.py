"""`dvc repro` really runs the pipeline: on a copy of the project whose params.yaml is the quick profile."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from helpers import REPO

DVC = str(Path(sys.executable).with_name("dvc"))
QUICK = yaml.safe_load((REPO / "profiles" / "quick.yaml").read_text())
QUICK_VARIANTS = QUICK["variants"]
MAGNITUDES = QUICK["fgsm_sweep"]["magnitudes"]
STAGES = ["data", "train_classifier", "train_gan", "attack", *[f"recover@{v}" for v in QUICK_VARIANTS],
          *[f"{s}@{m}" for s in ("attack_sweep", "recover_sweep") for m in MAGNITUDES],
          *[f"adaptive_attack@{a}" for a in QUICK["adaptive"]["attackers"]], "adaptive_attack_eot",
          "analysis", "ablations", "fgsm_sweep", "attack_full_test", "recover_full_test", "full_test"]


def _run(args, cwd, env=None, timeout=1200):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_dvc_repro_runs_every_stage_of_the_quick_profile(tmp_path, mnist_source):
    project = tmp_path / "project"
    project.mkdir()
    for name in ["dvc.yaml", "lrl_utils", "notebooks", "profiles", ".dvcignore"]:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, project / name)
    shutil.copy(REPO / "profiles" / "quick.yaml", project / "params.yaml")
    # The stages call `python` and `papermill`: those of this environment, as if it were activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "LRL_MNIST_DIR": str(mnist_source), "PYTHONPATH": str(project), "PATH": path}
    _run(["git", "init", "-q"], project)
    _run([DVC, "init", "-q"], project)

    log = _run([DVC, "repro"], project, env)

    for stage in STAGES:
        assert f"Running stage '{stage}'" in log, f"stage {stage} did not run:\n{log[-3000:]}"
    assert "up to date" in _run([DVC, "status"], project, env)
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(STAGES)
    for stage in lock.values():
        for out in stage.get("outs", []):
            assert (project / out["path"]).exists(), out["path"]
    metrics = json.loads(_run([DVC, "metrics", "show", "--json"], project, env))
    shown = json.dumps(metrics)
    for key in ["test_accuracy", "adversarial_accuracy", "defended_accuracy", "mcnemar_p_value", "lrl_accuracy",
                "sphere_accuracy", "no defense_pgd_accuracy", "mcnemar_lrl_vs_defensegan", *MAGNITUDES]:
        assert key in shown, key
    executed = json.loads((project / "results/notebooks/05_analysis.ipynb").read_text())
    assert any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code")
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
