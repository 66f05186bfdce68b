"""The notebooks' contract: one `parameters` cell of plain literals (the settings file and run names), no outputs."""
import ast
import json

import re

import pytest
import yaml
from dvc.repo import Repo

from helpers import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
QUICK = yaml.safe_load((REPO / "profiles" / "quick.yaml").read_text())
PAPER = yaml.safe_load((REPO / "params.yaml").read_text())

ORDER = ["01_train_classifier", "02_train_gan", "03_attack_fgsm", "04_recover_latents", "05_analysis",
         "06_ablations", "07_adaptive_attack", "08_fgsm_sweep", "09_full_test", "10_classifiers", "11_grid",
         "12_lr_alpha_map", "13_generator_quality"]


def _parameters(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters', expected one"
    values = {}
    for statement in ast.parse("".join(tagged[0]["source"])).body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1, ast.dump(statement)
        values[statement.targets[0].id] = ast.literal_eval(statement.value)  # plain literals only
    return values


def test_the_ordered_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == ORDER


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_the_settings_file_and_run_names_only(path):
    """No default copies a value of a profile: a notebook gets the settings file (the quick profile by
    default, whose runs write under the git-ignored quick/) and, at most, the names of the runs to do."""
    values = _parameters(path)
    assert values.pop("settings_path") == "profiles/quick.yaml", path.name
    assert all(name.endswith("_name") and (v is None or isinstance(v, str)) for name, v in values.items()), values


def test_every_name_a_stage_passes_is_a_parameter_of_its_notebook():
    with Repo(str(REPO)) as repo:
        stages = [(s.addressing, s.cmd) for s in repo.index.stages]
    for stage, cmd in stages:
        for notebook in re.findall(r"(?<![\w/])(notebooks/[\w.-]+\.ipynb)", cmd):
            passed = re.findall(r"-p (\w+) ", cmd + " ")
            assert "-y" not in cmd.split() and set(passed) <= set(_parameters(REPO / notebook)), (stage, passed)
            assert "settings_path" in passed, f"{stage}: pass the settings file, `-p settings_path params.yaml`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code")


def test_profiles_have_the_same_shape_and_params_hold_the_paper_settings():
    def keys(d, prefix=""):
        free = ("variants", "magnitudes", "classifiers", "generators", "networks", "pairs", "maps")  # their entries are the profile's own choice
        return {prefix + k for k in d} | {x for k, v in d.items() if isinstance(v, dict) and k not in free
                                          for x in keys(v, prefix + k + ".")}
    assert keys(QUICK) == keys(PAPER)
    assert PAPER["generators"][PAPER["recover"]["generator"]]["latent_dim"] == 256 and PAPER["attack"]["eps"] == 0.7
    assert PAPER["attack"]["eval_images"] == 1000
    assert (PAPER["recover"]["steps"], PAPER["recover"]["restarts"]) == (200, 10)
    assert (PAPER["recover"]["beta1"], PAPER["recover"]["beta2"]) == (0.9, 0.999)
    paper_recovery = {"inputs": "adversarial", "restriction": "w1", "reference": "quantiles", "lr": 0.001}
    assert PAPER["variants"]["defensegan"] == {"alpha": 0.0, **paper_recovery}
    assert PAPER["variants"]["lrl"] == {"alpha": 1.0, **paper_recovery}


@pytest.mark.parametrize("profile", [QUICK, PAPER], ids=["quick", "paper"])
def test_the_adaptive_attackers_are_one_with_its_own_seed_and_one_with_the_defense_seed(profile):
    attackers = profile["adaptive"]["attackers"]
    assert attackers["known_seed"] == profile["seed"] and attackers["own_seed"] != profile["seed"]


@pytest.mark.parametrize("profile", [QUICK, PAPER], ids=["quick", "paper"])
def test_the_eot_attacker_averages_over_draws_that_never_use_the_defense_seed(profile):
    eot = profile["adaptive"]["eot"]
    draws = range(eot["seed"], eot["seed"] + eot["samples"] * (eot["steps"] + 1))
    assert eot["samples"] >= 2 and profile["seed"] not in draws
    assert eot["keep"] == "last"  # first_fooled would keep iterates that fooled lucky draws


@pytest.mark.parametrize("profile", [QUICK, PAPER], ids=["quick", "paper"])
def test_the_fgsm_sweep_reuses_the_attack_stage_images(profile):
    # eval_indices draws a prefix of one seeded permutation: fewer images are a subset of the attack stage's.
    assert 1 <= profile["fgsm_sweep"]["images"] <= profile["attack"]["eval_images"]
    for key, eps in profile["fgsm_sweep"]["magnitudes"].items():
        assert "." not in key and 0 < eps and eps != profile["attack"]["eps"], key


@pytest.mark.parametrize("profile", [QUICK, PAPER], ids=["quick", "paper"])
def test_the_full_test_set_holds_the_attack_stage_images(profile):
    # A longer prefix of the same seeded draw: the attack stage's images are among them.
    assert profile["attack"]["eval_images"] <= profile["full_test"]["images"] <= 10000


def test_the_full_test_set_is_every_test_image():
    assert PAPER["full_test"]["images"] == 10000


@pytest.mark.parametrize("profile", [QUICK, PAPER], ids=["quick", "paper"])
def test_every_variant_names_valid_settings(profile):
    from lrl_utils import RESTRICTIONS
    from lrl_utils.defense import INPUTS
    from lrl_utils.restriction import REFERENCES
    for name, variant in profile["variants"].items():
        assert set(variant) == {"alpha", "inputs", "restriction", "reference", "lr"}, name
        assert variant["inputs"] in INPUTS and variant["reference"] in REFERENCES, name
        assert variant["restriction"] in RESTRICTIONS and variant["lr"] > 0 and variant["alpha"] >= 0, name
        assert "." not in name, f"{name}: DVC reads dots in a variant name as nesting"
        if variant["restriction"] == "sphere":
            assert variant["alpha"] == 0, name
