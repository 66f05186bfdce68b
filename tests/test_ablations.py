import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import tiny_attack
from lrl_utils import accuracy_ci, mcnemar_exact
from lrl_utils.ablations import ablation_groups, reselect, reselection_table, runs_table
from lrl_utils.defense import evaluate_defense

VARIANTS = {
    "defensegan": {"alpha": 0.0, "restriction": "w1", "lr": 0.05},
    "lrl": {"alpha": 1.0, "restriction": "w1", "lr": 0.05},
    "alpha_3": {"alpha": 3.0, "restriction": "w1", "lr": 0.05},
    "moments": {"alpha": 1.0, "restriction": "moments", "lr": 0.05},
    "sphere": {"alpha": 0.0, "restriction": "sphere", "lr": 0.05},
    "lr_big": {"alpha": 1.0, "restriction": "w1", "lr": 0.5},
    "lrl_clean": {"alpha": 1.0, "restriction": "w1", "lr": 0.05, "inputs": "clean"},
}


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """Every variant above recovered by the pipeline's own evaluate_defense, on a tiny generator."""
    out = tmp_path_factory.mktemp("recover")
    generator, classifier, attack = tiny_attack(30, first_index=100, noise=0.3)
    for name, variant in VARIANTS.items():
        evaluate_defense(classifier, generator, attack, out / name, resume_dir=out.parent / "cache",
                         chunk_images=10, steps=20, restarts=3, seed=0, progress=False,
                         **{"inputs": "adversarial", **variant})
    torch.save(attack, out / "attack.pt")
    return out, generator, classifier


def test_runs_table_has_every_variant_with_its_settings_and_an_independent_mcnemar(recovered):
    out, _, _ = recovered
    runs = runs_table(out, against="lrl")
    assert set(runs.index) == set(VARIANTS)
    assert runs.loc["moments", "restriction"] == "moments" and runs.loc["lr_big", "lr"] == 0.5
    tables = {v: pd.read_csv(out / v / "per_image.csv") for v in VARIANTS}
    ok = {v: (t.pred_defended == t.label).to_numpy() for v, t in tables.items()}
    assert runs.loc["alpha_3", "accuracy %"] == pytest.approx(100 * ok["alpha_3"].mean())
    assert runs.loc["alpha_3", "ci low %"] == pytest.approx(100 * accuracy_ci(ok["alpha_3"])["ci_low"])
    test = mcnemar_exact(ok["defensegan"], ok["lrl"])
    assert runs.loc["defensegan", "McNemar p vs lrl"] == pytest.approx(test["p_value"])
    assert runs.loc["defensegan", "only this right (vs lrl)"] == test["only_a"]
    assert np.isnan(runs.loc["lrl_clean", "McNemar p vs lrl"])    # other inputs: not paired
    assert np.isnan(runs.loc["lrl", "McNemar p vs lrl"])
    # a 10x larger learning rate moves the latents further from their init
    assert runs.loc["lr_big", "mean L2 moved"] > 2 * runs.loc["lrl", "mean L2 moved"]
    with pytest.raises(ValueError, match="'nope' is not among"):
        runs_table(out, against="nope")


def test_ablation_groups_pick_the_rows_each_ablation_compares(recovered):
    groups = ablation_groups(runs_table(recovered[0], against="lrl"), against="lrl")
    assert list(groups["alpha"].index) == ["defensegan", "lrl", "alpha_3"]
    assert set(groups["restriction"].index) == {"defensegan", "sphere", "lrl", "moments"}
    assert set(groups["lr"].index) == {"defensegan", "lrl", "lr_big"}


def test_reselection_with_all_restarts_reproduces_the_run_and_fewer_restarts_reconstruct_worse(recovered):
    out, generator, classifier = recovered
    table, recovery = pd.read_csv(out / "lrl" / "per_image.csv"), torch.load(out / "lrl" / "recovery.pt")
    again = reselect(recovery, table, generator, classifier, restarts=3, select="reconstruction", alpha=1.0)
    assert again["correct"] == int((table.pred_defended == table.label).sum())
    result = reselection_table(out, ["lrl"], generator, classifier, restart_counts=(1, 3, 10))
    assert sorted(set(result.restarts)) == [1, 3]          # 10 is more than the run saved
    one = recovery["restart_reconstruction_mse"][:, 0].mean()
    assert recovery["reconstruction_mse"].mean() <= one
    with pytest.raises(ValueError, match="between 1 and the 3"):
        reselect(recovery, table, generator, classifier, restarts=4, select="total", alpha=1.0)


def test_without_save_recovery_the_same_tables_and_no_recovery_file(recovered, tmp_path):
    out, generator, classifier = recovered
    attack = torch.load(out / "attack.pt")

    def run():
        evaluate_defense(classifier, generator, attack, tmp_path / "lrl", resume_dir=out.parent / "cache",
                         chunk_images=10, steps=20, restarts=3, seed=0, progress=False,
                         save_recovery=False, **{"inputs": "adversarial", **VARIANTS["lrl"]})

    with _no_warning():
        run()
    assert not (tmp_path / "lrl" / "recovery.pt").exists()
    assert (tmp_path / "lrl" / "per_image.csv").read_text() == (out / "lrl" / "per_image.csv").read_text()
    (tmp_path / "lrl" / "recovery.pt").write_text("left from an earlier run")
    with pytest.warns(UserWarning, match="earlier run"):
        run()
    assert (tmp_path / "lrl" / "recovery.pt").read_text() == "left from an earlier run"  # warned, not deleted


@contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
