"""The paired differences and Holm's adjustment (lrl_utils.paired): known values, an independent computation,
and the committed comparisons table recomputed from the per-image files."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from helpers import REPO
from lrl_utils.layout import Project
from lrl_utils.paired import comparison_table, holm, paired_difference

RESULTS = REPO / "results"


def _pairs(only1: int, only0: int, both: int, neither: int):
    """Per-image results of two defenses with these discordant and concordant counts."""
    right0 = [False] * only1 + [True] * only0 + [True] * both + [False] * neither
    right1 = [True] * only1 + [False] * only0 + [True] * both + [False] * neither
    return np.array(right0), np.array(right1)


def test_the_paper_setting_as_the_review_recomputed_it():
    # 36 images right only with α = 1, 84 only with α = 0, of 1000 (README finding 1): −4.8 [−6.9, −2.7]
    right0, right1 = _pairs(36, 84, 433, 447)
    diff = paired_difference(right0, right1)
    assert (round(diff["difference"], 1), round(diff["low"], 1), round(diff["high"], 1)) == (-4.8, -6.9, -2.7)
    assert diff["McNemar p"] == pytest.approx(binomtest(36, 120, 0.5).pvalue)


@pytest.mark.parametrize("only1, only0, both, neither", [(36, 84, 433, 447), (5, 0, 40, 55), (7, 7, 10, 6)])
def test_wald_interval_from_the_discordant_counts(only1, only0, both, neither):
    """The textbook form: var = (b + c − (b − c)² / n) / n², independent of the per-image computation."""
    diff = paired_difference(*_pairs(only1, only0, both, neither))
    n = only1 + only0 + both + neither
    half = norm.ppf(0.975) * np.sqrt(only1 + only0 - (only1 - only0) ** 2 / n) / n
    assert diff["difference"] == pytest.approx(100 * (only1 - only0) / n)
    assert (diff["low"], diff["high"]) == pytest.approx((100 * ((only1 - only0) / n - half),
                                                         100 * ((only1 - only0) / n + half)))
    assert diff["images"] == n and diff["only α = 1 right"] == only1 and diff["only α = 0 right"] == only0


def test_no_discordant_image_gives_a_zero_width_interval_at_zero():
    diff = paired_difference(*_pairs(0, 0, 30, 20))
    assert diff["difference"] == diff["low"] == diff["high"] == 0 and diff["McNemar p"] == 1.0


def test_refuses_different_numbers_of_images():
    with pytest.raises(ValueError, match="same images"):
        paired_difference([True, False], [True, False, True])


def test_holm_by_hand():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.04·1, 0.06) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    p = np.random.default_rng(0).uniform(size=50)
    adjusted = holm(p)
    assert (adjusted >= p).all() and (adjusted <= 1).all()
    assert (np.diff(adjusted[np.argsort(p)]) >= 0).all()  # step-down: monotone in the raw order


@pytest.fixture(scope="module")
def table():
    return comparison_table(Project(REPO / "params.yaml"), root=REPO)


def test_committed_table_is_what_the_files_give(table):
    committed = pd.read_csv(RESULTS / "comparisons/comparisons.csv")
    assert list(committed["name"]) == list(table["name"])
    for column in ("difference", "low", "high"):
        assert committed[column].to_numpy() == pytest.approx(table[column].to_numpy(), abs=1e-4)
    assert committed["Holm p"].to_numpy() == pytest.approx(table["Holm p"].to_numpy())
    metrics = json.loads((RESULTS / "comparisons/metrics.json").read_text())
    assert metrics["comparisons"] == len(table)


def test_agrees_with_the_grid_and_the_maps(table):
    grid = pd.read_csv(RESULTS / "grid_summary/grid.csv")
    ours = table[table.family == "grid"]
    assert len(ours) == len(grid)
    assert ours["difference"].to_numpy() == pytest.approx(grid["α = 1 − α = 0"].to_numpy(), abs=1e-6)
    assert ours["McNemar p"].to_numpy() == pytest.approx(grid["McNemar p"].to_numpy())
    cells = pd.read_csv(RESULTS / "lr_alpha_map_summary/paper_pair/map.csv").set_index("cell")
    maps = table[table.name.str.startswith("paper_pair/")]
    for name, gain in zip(maps.name, maps.difference):
        assert gain == pytest.approx(cells.loc[name.split("/")[1], "gain over α 0"], abs=1e-6)


def test_each_comparison_once(table):
    assert not table["name"].duplicated().any()
    assert (table["low"] <= table["difference"]).all() and (table["difference"] <= table["high"]).all()
