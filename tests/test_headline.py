"""The headline table: each row computed from its runs' files, and the README's copy of it up to date."""
import json

import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest

from helpers import REPO
from lrl_utils.layout import Project
from lrl_utils import headline


def _write_run(folder, labels, predictions, pred_adv):
    folder.mkdir(parents=True)
    pd.DataFrame({"index": range(10, 10 + len(labels)), "label": labels, "pred_clean": labels,
                  "pred_adv": pred_adv, "pred_defended": predictions}).to_csv(folder / "per_image.csv", index=False)


def test_a_row_holds_accuracies_cis_and_the_paired_test_of_its_two_runs(tmp_path):
    labels = [0] * 20
    _write_run(tmp_path / "a0", labels, [0] * 12 + [1] * 8, [0] * 3 + [1] * 17)   # 12 right
    _write_run(tmp_path / "a1", labels, [1] * 4 + [0] * 14 + [1] * 2, [0] * 3 + [1] * 17)  # 14 right
    row = headline.run_row(headline.Row("r", "a row", "a0", "a1"), root=tmp_path)
    assert row["α = 0 %"].startswith("60.0 (") and row["α = 1 %"].startswith("70.0 (")
    assert row["no defense %"].startswith("15.0 (") and row["α=1 − α=0"] == "+10.0" and row["images"] == "20"
    # a1 alone right on images 12-17 (6), a0 alone right on images 0-3 (4): an exact binomial test of 6 of 10
    assert row["McNemar p"] == f"{binomtest(6, 10, 0.5).pvalue:.2g}"
    low = binomtest(12, 20).proportion_ci(method="wilson").low
    assert row["α = 0 %"] == f"60.0 ({100 * low:.1f}–{100 * binomtest(12, 20).proportion_ci(method='wilson').high:.1f})"


def test_a_row_refuses_runs_on_different_images(tmp_path):
    _write_run(tmp_path / "a0", [0, 1], [0, 1], [1, 0])
    _write_run(tmp_path / "a1", [0, 1, 2], [0, 1, 2], [1, 0, 0])
    with pytest.raises(ValueError, match="different images"):
        headline.run_row(headline.Row("r", "a row", "a0", "a1"), root=tmp_path)
    with pytest.raises(FileNotFoundError, match="missing/per_image.csv not found"):
        headline.run_row(headline.Row("r", "a row", "a0", "missing"), root=tmp_path)


def test_a_headline_pair_is_one_line_of_the_settings_and_says_how_it_differs(tmp_path):
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    settings["variants"]["w2_alpha0"] = {**settings["variants"]["w2"], "alpha": 0.0}
    settings["headline"]["pairs"]["w2"] = ["w2_alpha0", "w2"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    rows, adaptive = headline.rows_of(Project(tmp_path / "params.yaml"))
    labels = {row.name: (row.label, row.alpha0, row.alpha1) for row in rows}
    assert labels["07_fgsm_lr_0p1"] == ("FGSM 0.7, recovery lr 0.1 instead of 0.001",
                                        "results/recover/lr_0p1_alpha0", "results/recover/lr_0p1_alpha1")
    assert labels["08_fgsm_w2"] == ("FGSM 0.7, recovery restriction w2 instead of w1",
                                    "results/recover/w2_alpha0", "results/recover/w2")
    # The adaptive rows follow, weakest attacker first, each labelled by what the attacker knows.
    assert [(name, label) for name, label, _ in adaptive] == [
        ("09_bpda_own_seed", "PGD/BPDA ε 0.7, attacker with its own restarts"),
        ("10_bpda_eot", "PGD/BPDA ε 0.7, EOT over the defense's restarts"),
        ("11_bpda_known_seed", "PGD/BPDA ε 0.7, attacker knows the defense's seed")]


def test_the_readme_table_is_the_one_the_committed_results_give():
    rows = headline.all_rows(Project(REPO / "params.yaml"), root=REPO)
    readme = (REPO / "README.md").read_text()
    assert headline.render_readme(readme, rows) == readme, (
        "README.md's headline table differs from the results: run `python -m lrl_utils.headline --readme README.md`")
    committed = {p.stem: json.loads(p.read_text()) for p in (REPO / "results/headline").glob("*.json")}
    assert list(rows) == sorted(committed)
    for name, row in rows.items():
        assert committed[name]["setting"] == row["setting"]
        assert committed[name]["3 alpha 1 %"] == row["α = 1 %"]


def test_rendering_needs_the_markers_and_touches_nothing_else():
    rows = {"00_paper_reported": headline.paper_row()}
    text = f"# Title\n\nbefore\n{headline.START}\nold table\n{headline.END}\nafter\n"
    rendered = headline.render_readme(text, rows)
    assert rendered.startswith("# Title\n\nbefore\n") and rendered.endswith(f"{headline.END}\nafter\n")
    assert "old table" not in rendered and "| *paper (reported): FGSM 0.7* | *1.4* | *55.3* | *64.1* |" in rendered
    with pytest.raises(ValueError, match="headline table has no markers"):
        headline.render_readme("# no markers\n", rows)
