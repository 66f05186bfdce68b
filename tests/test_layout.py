"""lrl_utils.layout: the runs the settings name, their paths, and dvc.yaml's agreement with them."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from dvc.repo import Repo

from helpers import REPO
from lrl_utils.layout import FULL_TEST_ATTACK, PAPER_ATTACK, Project

DVC = str(Path(sys.executable).with_name("dvc"))


@pytest.fixture(scope="module")
def paper():
    return Project(REPO / "params.yaml")


def _settings_copy(tmp_path, edit, source="params.yaml"):
    settings = yaml.safe_load((REPO / source).read_text())
    edit(settings)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def test_the_paper_settings_name_every_run_once(paper):
    settings = paper.settings
    assert list(paper.attacks()) == [PAPER_ATTACK, *settings["fgsm_sweep"]["magnitudes"], FULL_TEST_ATTACK,
                                     *settings["grid"]["networks"], *settings["lr_alpha_map"]["maps"]]
    assert paper.attack(PAPER_ATTACK).path == "results/attack/attack.pt"
    assert (paper.attack("eps_0p3").eps, paper.attack("eps_0p3").images) == (0.3, settings["fgsm_sweep"]["images"])
    assert paper.attack(FULL_TEST_ATTACK).images == 10000
    recoveries = paper.recoveries()
    # every variant on the paper attack; the two defenses on each other attack; each grid network's pairs;
    # each cell of the lr x alpha map
    lr_alpha_map = settings["lr_alpha_map"]
    assert len(recoveries) == (len(settings["variants"]) + 2 * (len(settings["fgsm_sweep"]["magnitudes"]) + 1)
                               + 4 * len(settings["grid"]["networks"])
                               + len(lr_alpha_map["maps"]) * len(lr_alpha_map["lrs"]) * len(lr_alpha_map["alphas"]))
    assert len({r.folder for r in recoveries}) == len(recoveries)
    lrl = paper.recoveries(PAPER_ATTACK, "lrl")
    assert [(r.folder, r.settings["alpha"], r.save_recovery) for r in lrl] == [("results/recover/lrl", 1.0, True)]
    full = paper.recoveries(FULL_TEST_ATTACK)
    assert [r.folder for r in full] == ["results/full_test/defensegan", "results/full_test/lrl"]
    assert not any(r.save_recovery for r in full)  # 10000 images: per-restart latents stay in the chunk cache
    assert paper.clean_twin("lrl") == "lrl_clean" and paper.clean_twin("defensegan") == "defensegan_clean"


def test_a_grid_network_attacks_its_classifier_and_inverts_with_its_generator(paper):
    model_d = paper.attack("model_d")
    assert (model_d.classifier, model_d.generator, model_d.stored) == ("model_d", "dcgan", False)
    assert (model_d.eps, model_d.images, model_d.seed) == (0.7, 1000, paper.attack(PAPER_ATTACK).seed)
    paper_attack = paper.attack(PAPER_ATTACK)
    assert (paper_attack.classifier, paper_attack.generator, paper_attack.stored) == ("model_a", "dcgan", True)
    runs = paper.recoveries("model_d")
    assert [(r.variant, r.folder, r.save_recovery) for r in runs] == [
        (v, f"results/grid/model_d/{v}", False) for v in ("defensegan", "lrl", "lr_0p1_alpha0", "lr_0p1_alpha1")]


def test_a_profile_writes_under_its_own_folder():
    quick = Project(REPO / "profiles" / "quick.yaml")
    assert quick.classifier_path() == "quick/models/classifiers/model_a.pt"
    assert quick.generator_path() == "quick/models/generators/dcgan.pt"
    assert quick.recoveries(PAPER_ATTACK, "lrl")[0].folder == "quick/results/recover/lrl"
    assert quick.data_dir == "data/mnist"  # MNIST is shared


def test_every_run_of_the_layout_is_an_output_of_dvc_yaml(paper):
    with Repo(str(REPO)) as repo:
        outs = {str(out.def_path) for stage in repo.index.stages for out in stage.outs}
    for recovery in paper.recoveries():
        made = recovery.folder in outs or (not recovery.attack.stored and recovery.attack.recoveries_dir in outs)
        assert made, f"dvc.yaml makes no {recovery.folder} ({recovery.attack.name}/{recovery.variant})"
    for attack in paper.attacks().values():
        if attack.stored:  # a grid network's attack is run again by its recover stage, not stored
            assert attack.path in outs or attack.folder in outs, f"dvc.yaml makes no {attack.path}"
    for attacker in paper.attackers():
        assert paper.adaptive_dir(attacker) in outs


def test_a_new_magnitude_is_one_line_of_the_settings(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "dvc.yaml", project / "dvc.yaml")
    _settings_copy(project, lambda s: s["fgsm_sweep"]["magnitudes"].update(eps_0p2=0.2))
    Project(project / "params.yaml")  # still valid
    assert [r.folder for r in Project(project / "params.yaml").recoveries("eps_0p2")] == [
        "results/fgsm_sweep/eps_0p2/defensegan", "results/fgsm_sweep/eps_0p2/lrl"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=project, check=True)
    stages = subprocess.run([DVC, "stage", "list", "--name-only"], cwd=project, capture_output=True, text=True,
                            check=True).stdout.split()
    assert {"attack_sweep@eps_0p2", "recover_sweep@eps_0p2"} <= set(stages)


def test_unknown_names_are_refused_with_the_argument_and_the_known_names(paper):
    with pytest.raises(ValueError, match=r"attack_name 'eps_9' is not an attack .*'paper', 'eps_0p1'"):
        paper.recoveries("eps_9")
    with pytest.raises(ValueError, match=r"variant_name 'alpha_3' is not a variant recovered on eps_0p1"):
        paper.recoveries("eps_0p1", "alpha_3")
    with pytest.raises(ValueError, match=r"attacker_name 'nobody' is not an attacker .*'own_seed'"):
        paper.attacker("nobody")


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update(defenses=["defensegan", "lrl_typo"]), r"defenses name \['lrl_typo'\], which are not under"),
    (lambda s: s["adaptive"].update(pairs=[["lrl", "nope"]]), r"adaptive pairs name \['nope'\]"),
    (lambda s: s["fgsm_sweep"]["magnitudes"].update(paper=0.2), r"may not be named \['paper'\]"),
    (lambda s: s["adaptive"]["attackers"].update(eot=3), r"may not be named 'eot'"),
    (lambda s: s.update(defenses="lrl"), r"defenses must be a list of distinct names"),
    (lambda s: s["attack"].update(classifier="model_z"), r"attack.classifier 'model_z' is not under `classifiers:`"),
    (lambda s: s["recover"].update(generator="wgan"), r"recover.generator 'wgan' is not under `generators:`"),
    (lambda s: s["headline"]["pairs"].update(x=["lrl", "nope"]), r"headline.pairs name \['nope'\]"),
    (lambda s: s["headline"]["pairs"].update(x=["lrl", "defensegan"]),
     r"headline.pairs.x fills the table's α = 0 and α = 1 columns, in that order; \['lrl', 'defensegan'\] have "
     r"alpha \[1.0, 0.0\]"),
    (lambda s: s["headline"]["pairs"].update(x=["lrl"]), r"headline.pairs.x must be a \[variant, variant\] pair"),
    (lambda s: s["grid"]["networks"].update(x={"classifier": "model_z", "generator": "dcgan", "restart_seed": 0}),
     r"grid.networks.x.classifier 'model_z' is not under `classifiers:`"),
    (lambda s: s["grid"]["networks"].update(x={"classifier": "model_a", "generator": "wgan", "restart_seed": 0}),
     r"grid.networks.x.generator 'wgan' is not under `generators:`"),
    (lambda s: s["grid"]["networks"].update(paper={"classifier": "model_a", "generator": "dcgan", "restart_seed": 0}),
     r"grid.networks may not be named \['paper'\] \(names of other attacks\)"),
    (lambda s: s["grid"].update(pairs=[["lrl", "defensegan"]]), r"grid.pairs \['lrl', 'defensegan'\] fills"),
    (lambda s: s["lr_alpha_map"]["maps"].update(model_b={"classifier": "model_a", "generator": "dcgan"}),
     r"lr_alpha_map.maps may not be named \['model_b'\] \(names of other attacks\)"),  # a grid network's
    (lambda s: s["lr_alpha_map"]["maps"].update(eps_0p3={"classifier": "model_a", "generator": "dcgan"}),
     r"lr_alpha_map.maps may not be named \['eps_0p3'\]"),  # an FGSM sweep magnitude's
    (lambda s: s["lr_alpha_map"]["maps"].update(x={"classifier": "model_z", "generator": "dcgan"}),
     r"lr_alpha_map.maps.x.classifier 'model_z' is not under"),
    (lambda s: s["lr_alpha_map"]["maps"].update(x={"classifier": "model_a", "generator": "wgan"}),
     r"lr_alpha_map.maps.x.generator 'wgan' is not under `generators:`"),
    (lambda s: s["generator_quality"].update(features="inception"),
     r"generator_quality.features 'inception' is not under `classifiers:`"),
    (lambda s: s["lr_alpha_map"].update(variant="lrl_typo"), r"lr_alpha_map.variant name \['lrl_typo'\], which are not"),
    (lambda s: s["lr_alpha_map"].update(variant="sphere"), r"lr_alpha_map.variant 'sphere' has restriction 'sphere'"),
    (lambda s: s["lr_alpha_map"].update(alphas=[0.3, 1]), r"lr_alpha_map.alphas \[0.3, 1\] must include 0"),
    (lambda s: s["lr_alpha_map"].update(lrs=[0.001, 0.0010000001]), r"name a cell twice"),
])
def test_settings_that_name_nothing_are_refused(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        Project(_settings_copy(tmp_path, edit))


def test_a_defense_without_a_clean_twin_is_named(tmp_path):
    project = Project(_settings_copy(tmp_path, lambda s: s["variants"].pop("lrl_clean")))
    with pytest.raises(ValueError, match=r"no variant recovers the clean images with lrl's settings"):
        project.clean_twin("lrl")


def test_each_adaptive_stage_depends_on_exactly_the_variants_it_attacks(paper):
    """The adaptive attacks cost hours: they depend on the files of the variants of their `pairs` only, not
    on the whole results/recover folder, so that rerunning an ablation does not invalidate them."""
    with Repo(str(REPO)) as repo:
        deps = {stage.addressing: {str(d.def_path) for d in stage.deps} for stage in repo.index.stages}
    for name, attacker in paper.attackers().items():
        stage = "adaptive_attack_eot" if name == "eot" else f"adaptive_attack@{name}"
        variants = {v for pair in attacker["pairs"] for v in pair}
        expected = {f"{paper.recover_dir}/{v}/{f}" for v in variants for f in ("run.json", "per_image.csv")}
        assert {d for d in deps[stage] if d.startswith(paper.recover_dir)} == expected, stage


def test_load_networks_gives_the_classifier_and_generator_the_runs_name(tmp_path, monkeypatch):
    from lrl_utils import artifacts
    from lrl_utils.models import Classifier, Discriminator, Generator

    def settings(edit):
        def both(s):
            s["generators"]["small"] = {**s["generators"]["dcgan"], "latent_dim": 8}
            edit(s)
        return _settings_copy(tmp_path, both)

    monkeypatch.chdir(tmp_path)  # a project's paths are relative to its root
    torch.manual_seed(0)
    classifier = Classifier()
    artifacts.save_classifier(classifier, "models/classifiers/model_a.pt")
    for name, latent_dim in [("dcgan", 256), ("small", 8)]:
        artifacts.save_gan(Generator(latent_dim), Discriminator(), f"models/generators/{name}.pt")

    loaded, generator = artifacts.load_networks(Project(settings(lambda s: None)))
    assert generator.latent_dim == 256 and not loaded.training and not generator.training
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), classifier.state_dict().values()))
    _, small = artifacts.load_networks(Project(settings(lambda s: s["recover"].update(generator="small"))))
    assert small.latent_dim == 8  # recover.generator chooses the file
    # a checkpoint whose latent size is not the settings' is refused, naming both sizes
    wrong = settings(lambda s: s["generators"]["dcgan"].update(latent_dim=64))
    with pytest.raises(ValueError, match="latent_dim 256, but latent_dim 64 was asked for"):
        artifacts.load_networks(Project(wrong))
    # and so is one of another architecture than the settings name
    wrong = settings(lambda s: s["generators"]["dcgan"].update(architecture="author_gan"))
    with pytest.raises(ValueError, match="architecture 'dcgan', but architecture 'author_gan' was asked for"):
        artifacts.load_networks(Project(wrong))
