import math

import numpy as np
import pandas as pd
import pytest

from lrl_utils.sweep import NO_DEFENSE, accuracy_by_magnitude


def _table(ids, label, pred_clean, pred_adv, pred_defended):
    n = len(ids)
    return pd.DataFrame({"index": ids, "label": label, "pred_clean": pred_clean, "pred_adv": pred_adv,
                         "pred_defended": pred_defended, "reconstruction_mse": np.zeros(n),
                         "restriction": np.zeros(n)})


def _exact_mcnemar(only_a, only_b):
    """Two-sided exact binomial p of the discordant pairs, written out from the binomial pmf."""
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def test_scores_only_the_sweep_images_and_pairs_defenses_on_them():
    ids = np.arange(100, 120)
    label = np.zeros(20, dtype=int)
    # The first 10 ids are the sweep's; the last 10 (all wrong) must not count.
    lrl = _table(ids, label, pred_clean=np.r_[np.zeros(9), 1, np.ones(10)],
                 pred_adv=np.r_[np.zeros(3), np.ones(17)], pred_defended=np.r_[np.zeros(8), np.ones(12)])
    dgan = _table(ids, label, pred_clean=lrl.pred_clean, pred_adv=lrl.pred_adv,
                  pred_defended=np.r_[np.zeros(2), np.ones(18)])
    shuffled = {"lrl": lrl.sample(frac=1, random_state=0), "defensegan": dgan.sample(frac=1, random_state=1)}
    out = accuracy_by_magnitude({0.7: shuffled, 0.0: {"lrl": lrl, "defensegan": dgan}}, ids[:10][::-1])
    assert out.eps.tolist() == [0.0] * 3 + [0.7] * 3          # sorted by magnitude
    row = out.set_index(["eps", "defense"])["accuracy %"]
    assert row[(0.7, NO_DEFENSE)] == pytest.approx(30.0)      # pred_adv: 3 of 10 right
    assert row[(0.0, NO_DEFENSE)] == pytest.approx(90.0)      # eps 0: pred_clean, 9 of 10
    assert row[(0.7, "lrl")] == pytest.approx(80.0) and row[(0.7, "defensegan")] == pytest.approx(20.0)
    p = out.set_index(["eps", "defense"])["McNemar p vs lrl"]
    assert p[(0.7, "defensegan")] == pytest.approx(_exact_mcnemar(0, 6))   # lrl alone right on 6 images
    assert p[(0.7, NO_DEFENSE)] == pytest.approx(_exact_mcnemar(0, 5))
    assert np.isnan(p[(0.7, "lrl")])
    assert (out.n == 10).all()


def test_missing_images_or_reference_defense_are_clear_errors():
    ids = np.arange(5)
    t = _table(ids, np.zeros(5, int), np.zeros(5), np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="2 of the 7 images were not recovered"):
        accuracy_by_magnitude({0.3: {"lrl": t}}, range(7))
    with pytest.raises(ValueError, match="reference defense 'lrl'"):
        accuracy_by_magnitude({0.3: {"defensegan": t}}, ids)


def test_load_sweep_reads_each_magnitude_and_refuses_missing_or_doubled_ones(tmp_path):
    import json
    from lrl_utils.artifacts import MissingArtifactError
    from lrl_utils.sweep import load_sweep
    t = _table(np.arange(3), np.zeros(3, int), np.zeros(3), np.zeros(3), np.zeros(3))
    for key, eps in [("eps_0p1", 0.1), ("eps_0p3", 0.3)]:
        (tmp_path / key / "lrl").mkdir(parents=True)
        (tmp_path / key / "run.json").write_text(json.dumps({"eps": eps}))
        t.to_csv(tmp_path / key / "lrl" / "per_image.csv", index=False)
    loaded = load_sweep(tmp_path, ["lrl"])
    assert sorted(loaded) == [0.1, 0.3] and loaded[0.3]["lrl"].equals(t)
    with pytest.raises(MissingArtifactError, match="recover_sweep"):
        load_sweep(tmp_path, ["lrl", "defensegan"])
    (tmp_path / "eps_0p3_old").mkdir()
    (tmp_path / "eps_0p3_old" / "run.json").write_text(json.dumps({"eps": 0.3}))
    with pytest.raises(ValueError, match="two folders"):
        load_sweep(tmp_path, ["lrl"])
    with pytest.raises(FileNotFoundError, match="no FGSM magnitudes"):
        load_sweep(tmp_path / "nothing", ["lrl"])
