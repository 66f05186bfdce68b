"""lrl_utils.generator_quality: FID, precision and recall against independent computations and known cases,
and the inversion of clean images with the settings the notebook passes."""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers import REPO, TinyGenerator
from lrl_utils import Classifier, predict
from lrl_utils.layout import Project
from lrl_utils.generator_quality import inversion, inversion_settings, metrics, quality_row
from lrl_utils.sample_measures import features, frechet_distance, precision_recall, samples


def _gaussian(n, d, mean, scale, seed):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale + mean


def test_frechet_distance_equals_the_formula_computed_another_way():
    a, b = _gaussian(3000, 4, 0.0, 1.0, 0), _gaussian(3000, 4, 1.0, 2.0, 1)
    a_np, b_np = a.numpy(), b.numpy()
    cov_a, cov_b = np.cov(a_np, rowvar=False), np.cov(b_np, rowvar=False)
    # Tr((S_a S_b)^(1/2)) is the sum of the square roots of S_a S_b's eigenvalues (real, >= 0)
    root_trace = np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)).sum()
    expected = ((a_np.mean(0) - b_np.mean(0)) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * root_trace
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, b) == pytest.approx(4 * (1 + 1), rel=0.1)  # N(0, I) vs N(1, 4I): |1|^2 + (2 - 1)^2 per dim


def test_frechet_distance_is_zero_for_the_same_rows_and_a_shift_adds_its_squared_length():
    a = _gaussian(500, 3, 0.0, 1.0, 2)
    assert abs(frechet_distance(a, a)) < 1e-6
    shift = torch.tensor([3.0, 0.0, 4.0], dtype=torch.float64)
    assert frechet_distance(a, a + shift) == pytest.approx(25.0, abs=1e-6)


def test_a_feature_that_is_never_active_adds_nothing_and_raises_no_warning():
    """ReLU features that are 0 for every image make both covariances singular: the distance is that of
    the other features alone."""
    a, b = _gaussian(2000, 5, 0.0, 1.0, 5).relu(), (_gaussian(2000, 5, 0.5, 1.0, 6)).relu()
    a[:, 2], b[:, 2] = 0, 0
    kept = [0, 1, 3, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # A zero eigenvalue comes out of eigh as about ±1e-16, which CPU decides, and its square root as up to
        # 1e-8: the dead feature may add that much (9.6e-9 seen on an Intel Xeon), no more.
        assert frechet_distance(a, b) == pytest.approx(frechet_distance(a[:, kept], b[:, kept]), abs=1e-7)


def test_precision_and_recall_of_a_case_worked_by_hand():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0]])
    # k = 1: each real's ball has radius 1 (its nearest other point), so 0.5 is inside and 10 is not; each
    # fake's ball has radius 9.5 (the other fake), which holds every real.
    assert precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}
    assert precision_recall(real, real, k=1) == {"precision": 1.0, "recall": 1.0}
    far = real + 100
    assert precision_recall(real, far, k=1) == {"precision": 0.0, "recall": 0.0}
    assert precision_recall(real, fake, k=1, chunk=1) == precision_recall(real, fake, k=1)  # chunking: same result
    with pytest.raises(ValueError, match="k = 2 neighbours need more than 2 real and fake samples; got 4 and 2"):
        precision_recall(real, fake, k=2)


def test_features_are_the_penultimate_layer_and_samples_are_seeded():
    torch.manual_seed(0)
    net = Classifier("small_convnet").eval()
    x = torch.rand(7, 1, 28, 28) * 2 - 1
    got = features(net, x, batch_size=3)
    assert got.shape == (7, 128) and (got >= 0).all()  # after the ReLU
    logits = net.net[-1](got)
    assert torch.allclose(logits, net(x), atol=1e-5)
    generator = TinyGenerator().eval()
    first = samples(generator, 5, 8, seed=3)
    assert torch.equal(first, samples(generator, 5, 8, seed=3))
    assert torch.allclose(first, samples(generator, 5, 8, seed=3, batch_size=2), atol=1e-6)  # other batches: rounding
    assert not torch.allclose(first, samples(generator, 5, 8, seed=4), atol=0.01)


def test_inversion_settings_take_the_section_the_recover_options_and_no_restriction():
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    got = inversion_settings(Project(REPO / "params.yaml"))
    section = settings["generator_quality"]["inversion"]
    assert (got["steps"], got["lr"], got["alpha"]) == (section["steps"], section["lr"], 0.0)
    assert got["restarts"] == settings["recover"]["restarts"] and got["seed"] == settings["seed"]


def test_inversion_of_the_generators_own_images_and_the_classifiers_accuracy_on_them(tmp_path):
    generator = TinyGenerator().eval()
    with torch.no_grad():
        x = generator(torch.randn(6, 8, generator=torch.Generator().manual_seed(5)))
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    y = predict(classifier, x)
    result, x_rec = inversion(generator, classifier, x, y, list(range(6)), resume_dir=tmp_path, chunk_images=4,
                              steps=300, lr=0.05, restarts=3, seed=0, progress=False)
    assert result["inversion MSE"] == pytest.approx(float(((x_rec - x) ** 2).mean()), rel=1e-4)
    assert result["inversion MSE"] < 0.01  # its own images: in its range
    assert result["inversion accuracy"]["correct"] == int((predict(classifier, x_rec) == y).sum())
    assert result["inversion W1"] > 0  # alpha 0: nothing pulls z* to N(0, 1)
    row = quality_row("tiny", {"FID": 1.0, "precision": 0.5, "recall": 0.25}, result)
    table = pd.DataFrame([quality_row("floor", {"FID": 0.1, "precision": 1.0, "recall": 1.0}), row])
    kept = metrics(table)
    assert kept["floor"]["inversion MSE"] is None and kept["tiny"]["FID"] == 1.0
    assert kept["tiny"]["inversion accuracy %"] == round(100 * result["inversion accuracy"]["accuracy"], 4)
