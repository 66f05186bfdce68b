"""The lr x alpha map (lrl_utils.lr_alpha_map): its cells as the settings name them, how far each kept latent
moved from its init (movement.csv), and the table and heatmaps read from the cells' per-image results."""
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.stats import binomtest, norm, wasserstein_distance

from helpers import REPO, tiny_attack, write_per_image
from lrl_utils import plots
from lrl_utils.defense import evaluate_defense, movement_table
from lrl_utils.layout import Project
from lrl_utils.lr_alpha_map import best_against_best, init_restriction, map_table, metrics, pivot
from lrl_utils.recovery import initial_latents


MAP = "paper_pair"


def _project(tmp_path, lrs=(0.001, 0.1), alphas=(0, 1, 3)) -> Project:
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    settings["lr_alpha_map"].update(lrs=list(lrs), alphas=list(alphas), images=40)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return Project(tmp_path / "params.yaml")


def test_each_cell_is_the_named_variant_at_its_lr_and_alpha():
    paper = Project(REPO / "params.yaml")
    settings = paper.settings["lr_alpha_map"]
    cells = paper.map_cells
    assert list(cells)[:5] == ["lr0.001_alpha0", "lr0.001_alpha0.3", "lr0.001_alpha1", "lr0.001_alpha3",
                               "lr0.003_alpha0"]  # lr-major, in the settings' order
    assert len(cells) == len(settings["lrs"]) * len(settings["alphas"])
    base = paper.settings["variants"][settings["variant"]]
    assert cells["lr0.03_alpha0.3"] == {**base, "lr": 0.03, "alpha": 0.3}
    assert len(paper.maps) >= 2
    for name, pair in paper.maps.items():  # each map: its networks, the map's images, its own folder
        attack = paper.attack(name)
        assert (attack.classifier, attack.generator, attack.images, attack.eps, attack.stored) == (
            pair["classifier"], pair["generator"], settings["images"], paper.settings["attack"]["eps"], False)
        runs = paper.map_recoveries(name)
        assert [r.folder for r in runs] == [f"results/lr_alpha_map/{name}/{cell}" for cell in cells]
        assert [r.settings for r in runs] == list(cells.values())
        assert all(r.save_movement and not r.save_recovery and r.settings.get("seed") is None for r in runs)
    assert not any(r.save_movement for r in paper.recoveries() if r.attack.name not in paper.maps)
    with pytest.raises(ValueError, match="map_name 'paper' is not a map of lr_alpha_map.maps"):
        paper.map_recoveries("paper")


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """One tiny recovery through evaluate_defense with save_movement, as the map's stage runs it."""
    out = tmp_path_factory.mktemp("map")
    generator, classifier, attack = tiny_attack(12, first_index=500)
    settings = dict(steps=15, restarts=3, seed=7, progress=False, alpha=1.0, restriction="w1", lr=0.2)
    _, _, result = evaluate_defense(classifier, generator, attack, out / "cell", resume_dir=out / "cache",
                                    chunk_images=5, save_recovery=False, save_movement=True, **settings)
    return out, attack, result


def test_movement_is_the_distance_of_the_kept_latent_from_its_own_restarts_init(recovered):
    out, attack, result = recovered
    written = pd.read_csv(out / "cell" / "movement.csv")
    assert list(written.columns) == ["index", "l2_moved", "mean_abs_moved"]
    assert written["index"].tolist() == list(range(500, 512))
    init = initial_latents(7, range(500, 512), 3, 8)  # recomputed here from the seed, independently of the run
    for row, kept in enumerate(result.best_restart.tolist()):
        moved = result.z[row] - init[row, kept]
        assert written.l2_moved[row] == pytest.approx(float(np.linalg.norm(moved.numpy())), rel=1e-5)
        assert written.mean_abs_moved[row] == pytest.approx(float(moved.abs().mean()), rel=1e-5)
    assert (written.l2_moved > 0).all()
    assert not (out / "cell" / "recovery.pt").exists()


def test_a_latent_still_at_its_init_has_moved_zero(recovered):
    _, attack, result = recovered
    stay = type(result)(**{**result.__dict__, "z": initial_latents(7, range(500, 512), 3, 8)[
        torch.arange(12), result.best_restart]})
    assert (movement_table(stay, attack["indices"], 7)[["l2_moved", "mean_abs_moved"]] == 0).all().all()


def _write_cell(folder, labels, right, moved):
    write_per_image(folder, labels, right, pred_adv_right=False)
    index = np.arange(100, 100 + len(labels))
    pd.DataFrame({"index": index, "l2_moved": moved, "mean_abs_moved": moved / 16}).to_csv(
        folder / "movement.csv", index=False)


def test_the_table_tests_each_alpha_against_alpha_0_at_its_lr(tmp_path):
    project = _project(tmp_path)
    n, rng = 40, np.random.default_rng(0)
    labels, truth = rng.integers(0, 10, n), {}
    for run in project.map_recoveries(MAP):
        lr, alpha = run.settings["lr"], run.settings["alpha"]
        truth[lr, alpha] = rng.random(n) < 0.3 + 0.1 * alpha * (lr > 0.01)
        _write_cell(tmp_path / run.folder, labels, truth[lr, alpha], np.full(n, 10 * lr / (1 + alpha)))
    table = map_table(project, MAP, root=tmp_path)
    assert list(zip(table.lr, table.alpha)) == [(lr, a) for lr in (0.001, 0.1) for a in (0.0, 1.0, 3.0)]
    row = table.set_index("cell").loc["lr0.1_alpha3"]
    right0, right3 = truth[0.1, 0], truth[0.1, 3]
    assert row["accuracy %"] == pytest.approx(100 * right3.mean())
    assert row["gain over α 0"] == pytest.approx(100 * (right3.mean() - right0.mean()))
    gained, lost = int((right3 & ~right0).sum()), int((right0 & ~right3).sum())
    assert row["McNemar p"] == pytest.approx(binomtest(gained, gained + lost, 0.5).pvalue)
    assert row["mean L2 moved"] == pytest.approx(10 * 0.1 / 4) and row["images"] == n
    alpha0 = table[table.alpha == 0]
    assert (alpha0["gain over α 0"] == 0).all() and alpha0["McNemar p"].isna().all()
    assert pivot(table, "accuracy %").shape == (2, 3)
    assert metrics(table)["lr0.001_alpha0"]["mcnemar_p"] is None
    best = best_against_best(project, MAP, table, root=tmp_path)
    top = table[table.alpha > 0].sort_values("accuracy %", ascending=False, kind="stable").iloc[0]
    top0 = table[table.alpha == 0].sort_values("accuracy %", ascending=False, kind="stable").iloc[0]
    assert (best["best alpha > 0"], best["best alpha 0"]) == (top["cell"], top0["cell"])
    a_right = truth[top["lr"], top["alpha"]]
    b_right = truth[top0["lr"], 0]
    assert best["difference"] == pytest.approx(100 * (a_right.mean() - b_right.mean()))
    only_a, only_b = int((a_right & ~b_right).sum()), int((b_right & ~a_right).sum())
    assert (best["only alpha > 0 right"], best["only alpha 0 right"]) == (only_a, only_b)
    assert best["McNemar p"] == pytest.approx(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    figure = plots.lr_alpha_heatmaps(table, MAP)
    assert figure._suptitle.get_text() == MAP
    gain_panel = figure.axes[1]
    assert f"p {row['McNemar p']:.2g}" in " ".join(t.get_text() for t in gain_panel.texts)


def test_a_cell_on_other_images_or_without_its_movement_is_refused(tmp_path):
    project = _project(tmp_path, lrs=(0.01,), alphas=(0, 1))
    for run in project.map_recoveries(MAP):
        _write_cell(tmp_path / run.folder, [1, 2, 3], [True] * 3, np.ones(3))
    cell = tmp_path / f"results/lr_alpha_map/{MAP}/lr0.01_alpha1"
    table = pd.read_csv(cell / "per_image.csv")
    table.assign(index=table["index"] + 1).to_csv(cell / "per_image.csv", index=False)
    with pytest.raises(ValueError, match="'lr0.01_alpha0' and 'lr0.01_alpha1' were evaluated on different images"):
        map_table(project, MAP, root=tmp_path)
    (cell / "movement.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"movement.csv not found: .*dvc repro recover_map"):
        map_table(project, MAP, root=tmp_path)


def test_the_w1_of_random_inits_agrees_with_scipy():
    z = torch.randn(20, 64, generator=torch.Generator().manual_seed(3)).numpy()
    quantiles = norm.ppf((np.arange(64) + 0.5) / 64)  # the N(0, 1) stand-in: its mid-point quantiles
    expected = np.mean([wasserstein_distance(row, quantiles) for row in z])
    assert init_restriction(64, seed=3, draws=20) == pytest.approx(expected, rel=1e-5)


def test_the_committed_cells_with_a_recovered_variants_settings_equal_its_results_on_their_images():
    """A map on the paper's pair: a cell with the settings of a variant recovered on the paper attack is the same
    recovery on a subset of its images: the same FGSM images and the same per-image results."""
    paper = Project(REPO / "params.yaml")
    variants = paper.settings["variants"]
    assert paper.maps[MAP] == {"classifier": paper.settings["attack"]["classifier"],
                               "generator": paper.settings["recover"]["generator"]}
    matched = 0
    for run in paper.map_recoveries(MAP):
        twins = [name for name, settings in variants.items() if settings == run.settings]
        if not twins or not (REPO / run.folder / "per_image.csv").is_file():
            continue
        cell = pd.read_csv(REPO / run.folder / "per_image.csv")
        full = pd.read_csv(REPO / paper.recovery_dir("paper", twins[0]) / "per_image.csv").set_index("index")
        assert cell.set_index("index").equals(full.loc[cell["index"]]), (run.variant, twins[0])
        matched += 1
    assert matched >= 8


def test_a_cell_with_a_grid_runs_settings_equals_its_results_on_their_images():
    """A map on a grid network's pair (restart seed as the map's): a cell with the settings of a variant of
    `grid.pairs` is that grid recovery again on the first images, recomputed (other chunk keys), so equal."""
    paper = Project(REPO / "params.yaml")
    variants, networks = paper.settings["variants"], paper.settings["grid"]["networks"]
    matched = 0
    for name, pair in paper.maps.items():
        twins = [network for network, entry in networks.items()
                 if (entry["classifier"], entry["generator"], entry["restart_seed"]) ==
                 (pair["classifier"], pair["generator"], paper.settings["seed"])]
        for run in paper.map_recoveries(name):
            same = [v for v in paper.grid_variants if variants[v] == run.settings]
            if not twins or not same:
                continue
            cell = pd.read_csv(REPO / run.folder / "per_image.csv").set_index("index")
            grid = pd.read_csv(REPO / paper.recovery_dir(twins[0], same[0]) / "per_image.csv").set_index("index")
            assert cell.equals(grid.loc[cell.index]), (name, run.variant, twins[0], same[0])
            matched += 1
    assert matched >= 4  # the main pair's lr 0.001 and lr 0.1 cells at alpha 0 and 1
