"""The grid (lrl_utils.grid): the paper's comparison on other networks, from their per-image tables; and the
FGSM that a grid network's recover stage runs again instead of storing its images."""
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.stats import binomtest

from helpers import REPO, write_per_image
from lrl_utils import artifacts, eval_indices, fgsm_test_images, grid, load_mnist, predict
from lrl_utils.defense import attacked_images
from lrl_utils.grid import grid_table, metrics, readable, seed_spread
from lrl_utils.layout import PAPER_ATTACK, Project
from lrl_utils.models import Classifier


def _project(tmp_path) -> Project:
    """params.yaml with one grid network, model_d, and MNIST under ``tmp_path``."""
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    settings["data"]["dir"] = str(tmp_path / "mnist")
    settings["grid"]["networks"] = {"model_d": {"classifier": "model_d", "generator": "dcgan", "restart_seed": 0}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return Project(tmp_path / "params.yaml")


def test_the_attack_run_again_is_the_one_the_attack_stage_stored(tmp_path, mnist_source):
    """A grid network's images come from the same function as attack.pt: with Model A, the committed file."""
    stored = artifacts.load_attack(REPO / "results/attack/attack.pt")
    x_test, y_test = load_mnist(tmp_path / "mnist", train=False, source=mnist_source)
    classifier = artifacts.load_classifier(REPO / "models/classifiers/model_a.pt")
    again = fgsm_test_images(classifier, x_test, y_test, eps=0.7, images=1000, seed=0)
    assert list(again) == list(stored)
    for key in ("indices", "labels", "x_clean", "pred_clean"):
        assert torch.equal(again[key], stored[key]), key
    # x_adv: sign(grad) flips where a gradient is ~0 when the CPU's kernels differ. On the AMD EPYC that made
    # attack.pt every pixel agreed; on the same model with AVX2 kernels (2026-12-08) 0.15 % of the pixels of 31 of
    # the 1000 images flipped and 4 predictions changed, the accuracy not (paper/lab_notes.md). Bounded here: a
    # grid network's images are these up to such flips.
    assert (again["x_adv"] != stored["x_adv"]).float().mean() < 5e-3
    assert (again["pred_adv"] != stored["pred_adv"]).sum() <= 10
    assert abs((again["pred_adv"] == again["labels"]).float().mean() - (stored["pred_adv"] == stored["labels"]).float().mean()) <= 0.005
    assert again["eps"] == stored["eps"] == 0.7


def test_a_grid_network_is_attacked_again_with_its_own_classifier(tmp_path, mnist_source, monkeypatch):
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)  # the project's paths are relative to its root
    load_mnist(tmp_path / "mnist", train=False, source=mnist_source)  # the data stage's folder
    torch.manual_seed(0)
    classifier = Classifier("model_d").eval()
    attack = project.attack("model_d")
    images = attacked_images(project, attack, classifier)
    assert torch.equal(images["indices"], eval_indices(10000, 1000, 0))
    assert images["eps"] == 0.7 and not (tmp_path / attack.folder).exists()  # nothing stored
    assert (images["x_adv"] - images["x_clean"]).abs().max() <= 0.7 + 1e-6
    assert torch.equal(images["pred_adv"], predict(classifier, images["x_adv"]))
    with pytest.raises(FileNotFoundError, match="results/attack/attack.pt not found"):
        attacked_images(project, project.attack(PAPER_ATTACK), classifier)  # stored: read, never recomputed


def test_each_network_and_lr_gets_accuracies_the_gain_and_mcnemar(tmp_path):
    project = _project(tmp_path)
    n, rng = 40, np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    truth = {}
    for attack in (PAPER_ATTACK, "model_d"):
        for variant in project.grid_variants:
            right = rng.random(n) < (0.4 if "alpha0" in variant or variant == "defensegan" else 0.7)
            truth[attack, variant] = right
            write_per_image(tmp_path / project.recovery_dir(attack, variant), labels, right, np.arange(n) < 3)
    table = grid_table(project, root=tmp_path)
    assert list(zip(table.network, table.classifier, table.lr)) == [
        ("paper", "model_a", 0.001), ("paper", "model_a", 0.1), ("model_d", "model_d", 0.001), ("model_d", "model_d", 0.1)]
    row = table.iloc[2]  # model_d at the paper's lr: defensegan against lrl
    right0, right1 = truth["model_d", "defensegan"], truth["model_d", "lrl"]
    assert row["α = 0 %"] == pytest.approx(100 * right0.mean()) and row["α = 1 %"] == pytest.approx(100 * right1.mean())
    assert row["α = 1 − α = 0"] == pytest.approx(100 * (right1.mean() - right0.mean()))
    assert row["no defense %"] == pytest.approx(100 * 3 / n) and row["clean %"] == 100 and row["images"] == n
    gained, lost = int((right1 & ~right0).sum()), int((right0 & ~right1).sum())
    assert row["McNemar p"] == pytest.approx(binomtest(gained, gained + lost, 0.5).pvalue)
    assert row["α = 0 low %"] < row["α = 0 %"] < row["α = 0 high %"]
    shown = readable(table)
    assert shown.loc[2, "α = 1 %"].startswith(f"{row['α = 1 %']:.1f} (") and shown.loc[2, "recovery lr"] == "0.001"
    assert metrics(table)["model_d/lr_0.1"]["gain"] == round(table.iloc[3]["α = 1 − α = 0"], 2)


def test_a_network_run_on_other_images_is_refused(tmp_path):
    project = _project(tmp_path)
    for attack in (PAPER_ATTACK, "model_d"):
        for variant in project.grid_variants:
            write_per_image(tmp_path / project.recovery_dir(attack, variant), [1, 2, 3], [True] * 3, [False] * 3)
    table = pd.read_csv(tmp_path / "results/grid/model_d/lrl/per_image.csv")
    table.assign(index=table["index"] + 1).to_csv(tmp_path / "results/grid/model_d/lrl/per_image.csv", index=False)
    with pytest.raises(ValueError, match="'defensegan' and 'lrl' were evaluated on different images"):
        grid_table(project, root=tmp_path)
    (tmp_path / "results/grid/model_d/lrl/per_image.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"dvc repro recover_grid"):
        grid_table(project, root=tmp_path)


def test_a_network_with_another_restart_seed_recovers_from_other_restarts_and_gets_its_spread(tmp_path):
    project = _project(tmp_path)
    settings = project.settings
    settings["grid"]["networks"]["model_a_seed3"] = {"classifier": "model_a", "generator": "dcgan", "restart_seed": 3}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    project = Project(tmp_path / "params.yaml")
    seeds = {run.attack.name: project.recovery_settings(run)["seed"] for run in project.recoveries()}
    assert seeds["model_a_seed3"] == 3 and seeds["model_d"] == 0 and seeds[PAPER_ATTACK] == settings["seed"] == 0
    seeded, paper = project.recoveries("model_a_seed3", "lrl")[0], project.recoveries(PAPER_ATTACK, "lrl")[0]
    assert {**project.recovery_settings(seeded), "seed": 0} == project.recovery_settings(paper)  # nothing else differs
    n, labels = 10, np.zeros(10, int)
    accuracy = {PAPER_ATTACK: (0.5, 0.3), "model_d": (0.2, 0.2), "model_a_seed3": (0.7, 0.6)}  # α = 0, α = 1
    for attack, (a0, a1) in accuracy.items():
        for variant in project.grid_variants:
            share = a0 if variant in ("defensegan", "lr_0p1_alpha0") else a1
            write_per_image(tmp_path / project.recovery_dir(attack, variant), labels, np.arange(n) < share * n,
                            np.zeros(n, bool))
    table = grid_table(project, root=tmp_path)
    assert table["restart seed"].tolist() == [0, 0, 0, 0, 3, 3]
    spread = seed_spread(table)  # model_a + dcgan at both lrs, over seeds 0 and 3; model_d has one seed
    assert spread[["classifier", "lr", "restart seeds"]].values.tolist() == [["model_a", 0.001, "0 3"], ["model_a", 0.1, "0 3"]]
    row = spread.iloc[0]
    assert (row["α = 0 % mean"], row["α = 0 % min"], row["α = 0 % max"]) == pytest.approx((60, 50, 70))
    assert (row["α = 1 − α = 0 mean"], row["α = 1 − α = 0 min"], row["α = 1 − α = 0 max"]) == pytest.approx((-15, -20, -10))
    assert seed_spread(table[table.network != "model_a_seed3"]).empty


def test_the_committed_grid_csv_is_what_the_committed_per_image_tables_give():
    computed = grid_table(Project(REPO / "params.yaml"), root=REPO)
    committed = grid.read_summary(REPO / grid.SUMMARY_CSV)
    assert list(committed.columns) == list(computed.columns)
    assert committed.network.tolist() == computed.network.tolist() and committed.lr.tolist() == computed.lr.tolist()
    numbers = [c for c in computed.columns if computed[c].dtype.kind == "f" and c != "McNemar p"]
    assert np.abs(committed[numbers].to_numpy() - computed[numbers].to_numpy()).max() <= 5e-5  # csv: 4 decimals
    assert committed["McNemar p"].to_numpy() == pytest.approx(computed["McNemar p"].to_numpy(), rel=1e-12)


def test_the_documents_grid_table_is_the_one_the_committed_grid_csv_gives():
    doc = (REPO / "paper/results_in_full.md").read_text()
    table = grid.read_summary(REPO / grid.SUMMARY_CSV)
    assert grid.render_doc(doc, table) == doc, (
        "paper/results_in_full.md's grid table differs from grid.csv: run "
        "`python -m lrl_utils.grid --doc paper/results_in_full.md`")
    assert doc.count("| model_a | dcgan | 0 | 0.001 | 99.4 (98.7–99.7) | 23.1 (20.6–25.8) | 51.7 (48.6–54.8) |") == 1


def test_rendering_the_grid_table_replaces_only_what_lies_between_its_markers(tmp_path):
    table = pd.DataFrame([{"network": "n", "classifier": "c", "generator": "g", "restart seed": 2, "lr": 0.1,
                           **{f"{name}{end} %": value + shift for name, value in
                              (("clean", 99.0), ("no defense", 1.0), ("α = 0", 50.0), ("α = 1", 62.25))
                              for end, shift in (("", 0), (" low", -1), (" high", 1))},
                           "α = 1 − α = 0": 12.25, "McNemar p": 3.14159e-7, "images": 1000}])
    text = f"# Results\n\nbefore\n{grid.START}\nold table\n{grid.END}\nafter\n"
    rendered = grid.render_doc(text, table)
    assert rendered == (f"# Results\n\nbefore\n{grid.START}\n"
                        "| classifier | generator | restart seed | recovery lr | clean % | no defense % | α = 0 % | α = 1 % "
                        "| α=1 − α=0 | McNemar p | images |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
                        "| c | g | 2 | 0.1 | 99.0 (98.0–100.0) | 1.0 (0.0–2.0) | 50.0 (49.0–51.0) | 62.2 (61.2–63.2) "
                        f"| +12.2 | 3.1e-07 | 1000 |\n{grid.END}\nafter\n")
    assert grid.render_doc(rendered, table) == rendered
    with pytest.raises(ValueError, match="grid table has no markers"):
        grid.render_doc("# no markers\n", table)
    csv, doc = tmp_path / "grid.csv", tmp_path / "doc.md"
    table.to_csv(csv, index=False)
    doc.write_text(text)
    grid.main(["--csv", str(csv), "--doc", str(doc)])
    assert doc.read_text() == rendered
    with pytest.raises(FileNotFoundError, match="dvc repro grid"):
        grid.main(["--csv", str(tmp_path / "absent.csv")])
