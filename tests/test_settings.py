"""Settings are checked when they are loaded: every problem named by its key, before any stage runs."""
import copy
import re

import pytest
import yaml

from helpers import REPO
from lrl_utils.settings import SettingsError, load, problems

PAPER = yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize("profile", ["params.yaml", "profiles/quick.yaml"])
def test_the_committed_settings_are_valid(profile):
    assert problems(yaml.safe_load((REPO / profile).read_text())) == []


def _set(params, dotted, value):
    *parents, last = dotted.split(".")
    for key in parents:
        params = params[key]
    params[last] = value


@pytest.mark.parametrize("key, value, message", [
    ("attack.eps", "abc", r"attack.eps must be a finite number >= 0; got 'abc' \(str\)"),
    ("attack.eps", float("nan"), "attack.eps must be a finite number >= 0; got nan"),
    ("attack.eval_images", 20000, "attack.eval_images must be an integer >= 1 and <= 10000; got 20000"),
    ("recover.restarts", 2.5, r"recover.restarts must be an integer >= 1; got 2.5 \(float\)"),
    ("recover.steps", True, r"recover.steps must be an integer >= 1; got True \(bool\)"),
    ("recover.beta2", 1.0, "recover.beta2 must be < 1"),
    ("recover.select", "best", "recover.select must be one of 'reconstruction', 'total'; got 'best'"),
    ("recover.compile", "yes", "recover.compile must be true or false"),
    ("device", "tpu", "device must be one of 'auto', 'cpu', 'cuda'; got 'tpu'"),
    ("variants.lrl.alpha", -1, "variants.lrl.alpha must be a finite number >= 0; got -1"),
    ("variants.lrl.inputs", "noisy", "variants.lrl.inputs must be one of 'adversarial', 'clean'"),
    ("variants.sphere.alpha", 1.0, "variants.sphere: restriction 'sphere' has no loss term"),
    ("fgsm_sweep.magnitudes.eps_0p1", 0, "fgsm_sweep.magnitudes.eps_0p1 must be a finite number > 0; got 0"),
    ("adaptive.eot.keep", "best", "adaptive.eot.keep must be one of 'first_fooled', 'last'"),
    ("generators.dcgan.lr", "0.0002", r"generators.dcgan.lr must be a finite number > 0; got '0.0002' \(str\)"),
    ("classifiers.model_a.architecture", "resnet", "classifiers.model_a.architecture must be one of 'model_a', "),
    ("lr_alpha_map.lrs", [0.001, 0], r"lr_alpha_map.lrs\[1\] must be a finite number > 0; got 0"),
    ("lr_alpha_map.lrs", [], "lr_alpha_map.lrs must be a non-empty list of numbers; got \\[\\]"),
    ("lr_alpha_map.alphas", [0, 1, 1.0], r"lr_alpha_map.alphas must not repeat a value; got \[0, 1, 1.0\]"),
    ("lr_alpha_map.alphas", [0, "1"], r"lr_alpha_map.alphas\[1\] must be a finite number >= 0; got '1' \(str\)"),
    ("generator_quality.features", "", "generator_quality.features must be a non-empty text"),
    ("generators.dcgan.keep", "best", "generators.dcgan.keep must be one of 'last', 'best_fid'"),
    ("generators.dcgan.architecture", "wgan", "generators.dcgan.architecture must be one of 'dcgan', 'author_gan'"),
    ("generators.dcgan.loss", "hinge", "generators.dcgan.loss must be one of 'nonsaturating', 'least_squares'"),
    ("generators.dcgan_long.weights", "bfloat16", "generators.dcgan_long.weights must be one of 'float32', 'float16'"),
    ("generator_quality.samples", 1, "generator_quality.samples must be an integer >= 2 and <= 10000; got 1"),
    ("generator_quality.inversion.lr", 0, "generator_quality.inversion.lr must be a finite number > 0; got 0"),
    ("lr_alpha_map.images", 0, "lr_alpha_map.images must be an integer >= 1 and <= 10000; got 0"),
])
def test_a_wrong_value_is_named_by_its_key(key, value, message):
    params = copy.deepcopy(PAPER)
    _set(params, key, value)
    found = problems(params)
    assert len(found) == 1 and re.search(message, found[0]), found


def test_missing_and_unknown_keys_are_named():
    params = copy.deepcopy(PAPER)
    del params["recover"]["steps"]
    params["recover"]["step"] = 200  # a typo
    params["variants"]["a.b"] = dict(PAPER["variants"]["lrl"])
    found = problems(params)
    assert "recover.steps is missing" in found
    assert any(f.startswith("recover.step is not a setting of the pipeline (a typo?)") for f in found)
    assert any("the name 'a.b' must be a text without '.'" in f for f in found)


def test_load_lists_every_problem_of_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    text = (REPO / "params.yaml").read_text().replace("  eps: 0.7\n", "  eps: abc\n", 1).replace("restarts: 10", "restarts: ten")
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"has 2 problem\(s\):\n  attack.eps .*\n  recover.restarts must be an integer"):
        load(path)
    path.write_text("seed: [unclosed")
    with pytest.raises(SettingsError, match="is not valid YAML"):
        load(path)
    with pytest.raises(FileNotFoundError, match="nothing.yaml not found"):
        load(tmp_path / "nothing.yaml")


def test_a_stage_with_wrong_settings_stops_before_running_its_notebook(tmp_path, monkeypatch):
    from lrl_utils.run_notebook import run
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "profiles/quick.yaml").read_text().replace("eps: 0.7", "eps: abc", 1))
    with pytest.raises(SystemExit, match=r"(?s)attack.eps must be a finite number >= 0; got 'abc'.*Fix params.yaml"):
        run(REPO / "notebooks/03_attack_fgsm.ipynb", tmp_path / "out.ipynb")
    assert not (tmp_path / "out.ipynb").exists()
