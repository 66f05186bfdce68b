import numpy as np
import pytest
import torch

from helpers import TinyGenerator
from lrl_utils import Classifier, fgsm, predict
from lrl_utils.adaptive import (adaptive_metrics, attack_variant, bpda_pgd, bpda_pgd_resumable, defense_from_run,
                                identity_defense, paired_tests, results_table)
from lrl_utils.evaluation import accuracy_ci


def _classifier_and_batch(n=8):
    torch.manual_seed(0)
    model = Classifier().eval()
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    return model, x, predict(model, x)  # labels = its own predictions: 100 % accuracy at the start


# A recovered variant's run.json settings, for the tiny generator.
SETTINGS = {"steps": 5, "lr": 0.05, "betas": [0.9, 0.999], "restarts": 2, "alpha": 1.0, "seed": 0,
            "inputs": "adversarial"}


def _tiny_case():
    """A tiny generator, a linear classifier, and 6 generated images labelled by the classifier."""
    generator = TinyGenerator().eval()
    torch.manual_seed(0)
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    x = generator(torch.randn(6, 8, generator=torch.Generator().manual_seed(2))).detach()
    return generator, classifier, x, predict(classifier, x)


def test_one_full_step_without_defense_is_fgsm():
    model, x, y = _classifier_and_batch()
    y[0] = (y[0] + 1) % 10  # one image wrong from the start keeps its clean version
    out = bpda_pgd(model, identity_defense, x, y, list(range(8)), eps=0.3, step_size=0.3, steps=1)
    torch.testing.assert_close(out["x_adv"][1:], fgsm(model, x, y, 0.3)[1:], atol=1e-6, rtol=0)
    torch.testing.assert_close(out["x_adv"][0], x[0], atol=0, rtol=0)
    assert out["fooled_at"][0] == 0


def test_pgd_stays_in_the_ball_and_the_attacker_curve_only_falls():
    model, x, y = _classifier_and_batch()
    out = bpda_pgd(model, identity_defense, x, y, list(range(8)), eps=0.2, step_size=0.05, steps=8)
    assert (out["x_adv"] - x).abs().max() <= 0.2 + 1e-6
    assert out["x_adv"].min() >= -1 and out["x_adv"].max() <= 1
    curve = out["attacker_accuracy"]
    assert len(curve) == 9 and curve[0] == 1.0 and curve[-1] < 1.0
    assert all(a >= b for a, b in zip(curve, curve[1:]))
    fooled = out["fooled_at"] >= 0
    assert (predict(model, out["x_adv"])[fooled] != y[fooled]).all()
    assert (fooled.float().mean() == 1 - curve[-1])


def test_bpda_through_a_recovery_and_resuming(tmp_path):
    generator, classifier, x, y = _tiny_case()
    settings = SETTINGS
    defend = defense_from_run(generator, settings, seed=7)
    ids = list(range(10, 16))
    assert not torch.equal(defend(x, ids), defense_from_run(generator, settings)(x, ids))
    pgd = dict(eps=0.3, step_size=0.1, steps=2)
    whole = bpda_pgd(classifier, defend, x, y, ids, **pgd)
    logged = []
    first = bpda_pgd_resumable(classifier, defend, x, y, ids, tmp_path, chunk_images=4, key={"a": 1},
                               log=logged.append, **pgd)
    again = bpda_pgd_resumable(classifier, defend, x, y, ids, tmp_path, chunk_images=4, key={"a": 1},
                               log=logged.append, **pgd)
    torch.testing.assert_close(first["x_adv"], whole["x_adv"], atol=1e-5, rtol=0)
    torch.testing.assert_close(again["x_adv"], first["x_adv"], atol=0, rtol=0)
    assert first["attacker_accuracy"] == pytest.approx(whole["attacker_accuracy"])
    assert sum("loaded" in line for line in logged) == 2


def test_attack_variant_attacks_with_its_own_seed_and_is_judged_by_the_real_defense(tmp_path):
    generator, classifier, x, y = _tiny_case()
    settings = SETTINGS
    ids, pgd = list(range(10, 16)), dict(eps=0.5, step_size=0.25, steps=2)
    out = attack_variant(classifier, generator, x, y, ids, settings, tmp_path, attacker_seed=7, chunk_images=4,
                         **pgd)
    # the attacker's PGD is BPDA through the defense with restarts of seed 7 ...
    attacker = bpda_pgd(classifier, defense_from_run(generator, settings, seed=7), x, y, ids, **pgd)
    torch.testing.assert_close(out["x_adv"], attacker["x_adv"], atol=1e-5, rtol=0)
    # ... and its images are judged by the defense with the variant's own seed 0
    judged = predict(classifier, defense_from_run(generator, settings)(out["x_adv"], ids)) == y
    assert out["correct"].tolist() == judged.tolist()


def test_bad_pgd_settings_are_refused():
    model, x, y = _classifier_and_batch(2)
    with pytest.raises(ValueError, match="step_size must be a finite number > 0; got 0.0"):
        bpda_pgd(model, identity_defense, x, y, [0, 1], eps=0.3, step_size=0.0, steps=3)
    with pytest.raises(ValueError, match="eot_samples must be an integer >= 1; got 0"):
        bpda_pgd(model, identity_defense, x, y, [0, 1], eps=0.3, step_size=0.1, steps=3, eot_samples=0)


def test_results_table_tests_and_metrics_from_per_image_correctness():
    correct = {"no defense": np.zeros(10, bool), "lrl": np.r_[np.ones(6), np.zeros(4)].astype(bool),
               "defensegan": np.r_[np.ones(2), np.zeros(8)].astype(bool)}
    fgsm_correct = {"no defense": np.r_[np.ones(3), np.zeros(7)].astype(bool), "lrl": np.ones(10, bool),
                    "defensegan": np.r_[np.ones(5), np.zeros(5)].astype(bool)}
    table = results_table(correct, fgsm_correct)
    assert list(table.index) == ["no defense", "lrl", "defensegan"]
    assert table.loc["lrl", "PGD / BPDA %"] == pytest.approx(60.0)
    assert table.loc["no defense", "FGSM (paper's attack) %"] == pytest.approx(30.0)
    wilson = accuracy_ci(correct["defensegan"])
    assert table.loc["defensegan", "95% CI"] == f"{100 * wilson['ci_low']:.1f} - {100 * wilson['ci_high']:.1f}"
    assert table.loc["lrl", "n"] == 10
    tests = paired_tests(correct, [["lrl", "defensegan"]])
    assert tests["lrl vs defensegan"] == {"only_a": 4, "only_b": 0, "p_value": pytest.approx(2 / 2 ** 4)}
    metrics = adaptive_metrics(correct, tests)
    assert metrics["lrl_pgd_accuracy"] == pytest.approx(0.6) and metrics["no defense_pgd_accuracy"] == 0.0
    assert metrics["mcnemar_p_lrl_vs_defensegan"] == pytest.approx(0.125)


def test_eot_over_identical_draws_is_plain_pgd():
    model, x, y = _classifier_and_batch()
    pgd = dict(eps=0.3, step_size=0.1, steps=3)
    once = bpda_pgd(model, identity_defense, x, y, list(range(8)), **pgd)
    thrice = bpda_pgd(model, identity_defense, x, y, list(range(8)), eot_samples=3, **pgd)
    torch.testing.assert_close(thrice["x_adv"], once["x_adv"], atol=0, rtol=0)
    assert thrice["attacker_accuracy"] == once["attacker_accuracy"]


def test_eot_steps_along_the_summed_gradient_and_needs_every_draw_fooled():
    model, x, y = _classifier_and_batch()
    shifts = [0.0, 0.5, -0.4, 0.9]  # draw k sees x + shifts[k]: four different views

    def defend(x_in, image_ids, draw=0):
        return (x_in + shifts[draw]).clamp(-1, 1)
    out = bpda_pgd(model, defend, x, y, list(range(8)), eps=0.3, step_size=0.3, steps=1, eot_samples=2)
    grad = torch.zeros_like(x)
    for shift in shifts[:2]:  # iterate 0 runs draws 0 and 1
        view = (x + shift).clamp(-1, 1).requires_grad_(True)
        grad += torch.autograd.grad(torch.nn.functional.cross_entropy(model(view), y, reduction="sum"), view)[0]
    stepped = (x + 0.3 * grad.sign()).clamp(-1, 1)
    later_views = [predict(model, (stepped + s).clamp(-1, 1)) != y for s in shifts[2:]]  # iterate 1: draws 2, 3
    fooled = (predict(model, (x + shifts[0]).clamp(-1, 1)) != y) & (predict(model, (x + shifts[1]).clamp(-1, 1)) != y)
    expected_fooled_at = torch.where(fooled, 0, torch.where(later_views[0] & later_views[1], 1, -1))
    assert out["fooled_at"].tolist() == expected_fooled_at.tolist()
    unfooled_at_0 = ~fooled
    torch.testing.assert_close(out["x_adv"][unfooled_at_0], stepped[unfooled_at_0], atol=1e-6, rtol=0)


def test_fresh_restarts_give_every_draw_its_own_seed():
    generator, _, x, _ = _tiny_case()
    settings = SETTINGS
    ids = [3, 4, 5, 6, 7, 8]
    fresh = defense_from_run(generator, settings, seed=7, fresh_restarts=True)
    fixed = defense_from_run(generator, settings, seed=7)
    torch.testing.assert_close(fresh(x, ids, 2), defense_from_run(generator, settings, seed=9)(x, ids), atol=0, rtol=0)
    assert not torch.equal(fresh(x, ids, 0), fresh(x, ids, 1))
    torch.testing.assert_close(fixed(x, ids, 5), fixed(x, ids, 0), atol=0, rtol=0)


def test_an_eot_attacker_draws_fresh_restarts_and_caches_apart_from_one_draw(tmp_path):
    generator, classifier, x, y = _tiny_case()
    settings = SETTINGS
    ids, pgd = list(range(10, 16)), dict(eps=0.5, step_size=0.25, steps=2)
    eot = attack_variant(classifier, generator, x, y, ids, settings, tmp_path, attacker_seed=7, chunk_images=6,
                         eot_samples=2, **pgd)
    direct = bpda_pgd(classifier, defense_from_run(generator, settings, seed=7, fresh_restarts=True), x, y, ids,
                      eot_samples=2, **pgd)
    torch.testing.assert_close(eot["x_adv"], direct["x_adv"], atol=1e-5, rtol=0)
    attack_variant(classifier, generator, x, y, ids, settings, tmp_path, attacker_seed=7, chunk_images=6, **pgd)
    assert len(list(tmp_path.iterdir())) == 2  # one cache folder each


def test_keep_last_returns_the_last_iterate_and_the_accuracy_seen_at_each():
    model, x, y = _classifier_and_batch()
    y[0] = (y[0] + 1) % 10  # wrong from the start: first_fooled keeps its clean version, last does not
    pgd = dict(eps=0.2, step_size=0.05, steps=4)
    first = bpda_pgd(model, identity_defense, x, y, list(range(8)), **pgd)
    last = bpda_pgd(model, identity_defense, x, y, list(range(8)), keep="last", **pgd)
    # the same iterates: only which one is kept differs
    assert last["fooled_at"].tolist() == first["fooled_at"].tolist()
    x_t = x.clone()
    for _ in range(4):  # plain PGD, independently
        view = x_t.clone().requires_grad_(True)
        grad, = torch.autograd.grad(torch.nn.functional.cross_entropy(model(view), y, reduction="sum"), view)
        x_t = torch.min(torch.max(x_t + 0.05 * grad.sign(), x - 0.2), x + 0.2).clamp(-1, 1)
    torch.testing.assert_close(last["x_adv"], x_t, atol=1e-6, rtol=0)
    assert not torch.equal(first["x_adv"][0], last["x_adv"][0])
    assert last["attacker_accuracy"][-1] == pytest.approx((predict(model, x_t) == y).float().mean().item())
    with pytest.raises(ValueError, match="unknown keep 'best'"):
        bpda_pgd(model, identity_defense, x, y, list(range(8)), keep="best", **pgd)
