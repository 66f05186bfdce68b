import numpy as np
import pandas as pd
import pytest

from lrl_utils.evaluation import accuracy_ci
from lrl_utils.artifacts import read_per_image_tables
from lrl_utils.full_test_set import accuracy_by_group, full_test_metrics, subset_comparison
from lrl_utils.reporting import compare_variants
from lrl_utils.reporting import NO_DEFENSE


def _table(ids, label, pred_adv, pred_defended):
    n = len(ids)
    return pd.DataFrame({"index": ids, "label": label, "pred_clean": label, "pred_adv": pred_adv,
                         "pred_defended": pred_defended, "reconstruction_mse": np.zeros(n),
                         "restriction": np.zeros(n)})


def _runs():
    """A full run of 20 images and a subset run of 5 of them (ids 3, 7, 11, 15, 19, shuffled)."""
    ids = np.arange(20)
    label = ids % 2
    wrong = 1 - label
    full = {"defensegan": _table(ids, label, pred_adv=np.where(ids < 4, label, wrong),
                                 pred_defended=np.where(ids < 10, label, wrong)),
            "lrl": _table(ids, label, pred_adv=np.where(ids < 4, label, wrong),
                          pred_defended=np.where(ids < 15, label, wrong))}
    sub = [3, 7, 11, 15, 19]
    subset = {name: table.set_index("index").loc[sub].reset_index() for name, table in full.items()}
    # Image 11 (label 1): lrl gets it right in the full run, wrong in the subset run.
    subset["lrl"].loc[subset["lrl"]["index"] == 11, "pred_defended"] = 0
    return full, {name: table.sample(frac=1, random_state=0) for name, table in subset.items()}


def test_subset_comparison_scores_all_images_the_subset_within_and_the_subset_run():
    full, subset = _runs()
    out = subset_comparison(full, subset).set_index("defense")
    assert list(out.index) == [NO_DEFENSE, "defensegan", "lrl"]
    assert out.loc["lrl", "accuracy %"] == pytest.approx(75.0)          # ids 0-14 of 20
    assert out.loc["defensegan", "accuracy %"] == pytest.approx(50.0)
    assert out.loc[NO_DEFENSE, "accuracy %"] == pytest.approx(20.0)     # pred_adv right on ids 0-3
    ci = accuracy_ci(np.r_[np.ones(15), np.zeros(5)])
    assert out.loc["lrl", "ci low %"] == pytest.approx(100 * ci["ci_low"])
    # Within the full run the subset's ids 3, 7, 11 are right for lrl; in the subset run only 3 and 7.
    assert out.loc["lrl", "subset, full run %"] == pytest.approx(60.0)
    assert out.loc["lrl", "subset run %"] == pytest.approx(40.0)
    assert out.loc["lrl", "same prediction %"] == pytest.approx(80.0)
    assert out.loc["defensegan", "same prediction %"] == pytest.approx(100.0)
    assert out.loc[NO_DEFENSE, "subset run %"] == pytest.approx(20.0)   # id 3 only
    assert (out["n"] == 20).all() and (out["subset n"] == 5).all()
    assert out.loc["lrl", "paper %"] == pytest.approx(64.1) and out.loc[NO_DEFENSE, "paper %"] == pytest.approx(1.4)


def test_a_subset_image_missing_from_the_full_run_is_a_clear_error():
    full, subset = _runs()
    full = {name: table[table["index"] != 7] for name, table in full.items()}
    with pytest.raises(ValueError, match="attack.eval_seed"):
        subset_comparison(full, subset)


def test_accuracy_by_group_counts_each_digit_and_each_half_separately():
    full, _ = _runs()
    out = accuracy_by_group(full, "digit").set_index(["defense", "digit"])
    # lrl right on ids 0-14: even ids (digit 0) 0..14 = 8 of 10, odd ids (digit 1) 1..13 = 7 of 10.
    assert out.loc[("lrl", 0), "accuracy %"] == pytest.approx(80.0)
    assert out.loc[("lrl", 1), "accuracy %"] == pytest.approx(70.0)
    assert out.loc[(NO_DEFENSE, 0), "accuracy %"] == pytest.approx(20.0)
    assert (out["n"] == 10).all()
    shifted = {name: table.assign(index=table["index"] + 4990) for name, table in full.items()}  # 10 per half
    halves = accuracy_by_group(shifted, "half").set_index(["defense", "half"])
    assert halves.loc[("lrl", "first 5000"), "accuracy %"] == pytest.approx(100.0)  # ids 4990-4999
    assert halves.loc[("lrl", "last 5000"), "accuracy %"] == pytest.approx(50.0)    # 5000-5004 of 5000-5009
    with pytest.raises(ValueError, match="unknown group 'writer'"):
        accuracy_by_group(full, "writer")


def test_metrics_hold_accuracies_and_the_paired_test(tmp_path):
    full, subset = _runs()
    metrics = full_test_metrics(subset_comparison(full, subset), compare_variants(full, "lrl", "defensegan"),
                                "lrl", "defensegan")
    assert metrics["lrl"]["accuracy"] == pytest.approx(0.75) and metrics["lrl"]["n"] == 20
    assert metrics["lrl"]["subset_run_accuracy"] == pytest.approx(0.4)
    test = metrics["mcnemar_lrl_vs_defensegan"]
    assert (test["only_a"], test["only_b"]) == (5, 0)
    assert test["p_value"] == pytest.approx(2 / 2 ** 5)


def test_load_tables_names_the_stage_of_a_missing_run(tmp_path):
    full, _ = _runs()
    (tmp_path / "lrl").mkdir()
    full["lrl"].to_csv(tmp_path / "lrl" / "per_image.csv", index=False)
    assert read_per_image_tables(tmp_path, ["lrl"], "full test recovery")["lrl"].equals(full["lrl"])
    with pytest.raises(FileNotFoundError, match="recover_full_test"):
        read_per_image_tables(tmp_path, ["lrl", "defensegan"], "full test recovery")
