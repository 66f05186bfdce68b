import numpy as np
import pytest
from scipy.stats import binom, norm

from lrl_utils import accuracy_ci, mcnemar_exact


def test_wilson_interval_matches_the_formula():
    correct = np.r_[np.ones(553), np.zeros(447)]
    got = accuracy_ci(correct)
    k, n, z = 553, 1000, norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert got["accuracy"] == 0.553 and got["n"] == 1000
    assert got["ci_low"] == pytest.approx(centre - half, abs=1e-9)
    assert got["ci_high"] == pytest.approx(centre + half, abs=1e-9)


def test_exact_mcnemar_is_a_binomial_test_on_discordant_pairs():
    a = np.array([1] * 10 + [0] * 2 + [1] * 50 + [0] * 38, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 50 + [0] * 38, bool)
    got = mcnemar_exact(a, b)
    assert (got["only_a"], got["only_b"]) == (10, 2)
    assert got["p_value"] == pytest.approx(2 * binom.cdf(2, 12, 0.5), abs=1e-12)
    assert mcnemar_exact(a, a)["p_value"] == 1.0


def test_mcnemar_needs_paired_results():
    with pytest.raises(ValueError, match="same images"):
        mcnemar_exact([1, 0], [1, 0, 1])


def test_fgsm_sweep_matches_fgsm_at_each_magnitude():
    import torch
    from lrl_utils import Classifier, fgsm, predict
    from lrl_utils.evaluation import fgsm_accuracy_by_eps
    torch.manual_seed(0)
    model = Classifier().eval()
    x = torch.rand(30, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1
    y = predict(model, x)  # every image starts correct
    sweep = fgsm_accuracy_by_eps(model, x, y, [0.0, 0.5], batch_size=7)
    assert sweep[0.0] == 1.0
    assert sweep[0.5] == (predict(model, fgsm(model, x, y, 0.5)) == y).float().mean().item()


def test_compare_variants_counts_each_side_under_its_own_name():
    import pandas as pd
    from lrl_utils.reporting import compare_variants
    index = list(range(6))
    tables = {
        "a": pd.DataFrame({"index": index, "label": [1] * 6, "pred_defended": [1, 1, 1, 1, 0, 0]}),
        "b": pd.DataFrame({"index": index, "label": [1] * 6, "pred_defended": [1, 0, 0, 0, 1, 0]}),
    }
    got = compare_variants(tables, "a", "b")
    assert (got["only_a"], got["only_b"]) == (3, 1)  # a: 4 right, b: 2 right
    tables["b"]["index"] = index[::-1]  # the same images in another order: paired by image, not by row
    got = compare_variants(tables, "a", "b")
    assert (got["only_a"], got["only_b"]) == (3, 1)  # a right on 0-3, b now on images 5 and 1
    tables["b"]["index"] = [i + 1 for i in index]  # other images
    with pytest.raises(ValueError, match="different images"):
        compare_variants(tables, "a", "b")


def test_ci_text_prints_the_interval_in_percent_to_one_decimal():
    from lrl_utils.evaluation import ci_text
    assert ci_text({"ci_low": 0.48612, "ci_high": 0.5476}) == "48.6 - 54.8"
