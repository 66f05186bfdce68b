"""The runs that the settings name, and where each one reads and writes: the one place for the pipeline's paths.

A stage passes its notebook only names, the settings file and which run (`-p settings_path params.yaml
-p attack_name eps_0p3`); the notebook asks a `Project` for that run's settings and paths. Without names a
notebook does every run of its settings, which is how nbval runs the quick profile.

Where a settings file's runs write: params.yaml under the project root (results/, models/); a profile,
e.g. profiles/quick.yaml, under a folder of its own name (quick/results/, quick/models/).

The attacks: "paper" (section `attack`, every variant of `variants` is recovered on it); one per entry
of `fgsm_sweep.magnitudes` (the paper's `defenses` on a subset of the paper attack's images); and
"full_test" (the `defenses` on every test image). Their folders keep the paths of the committed results.
Beyond them, one attack per entry of `grid.networks`: its classifier attacked on the paper attack's images,
its generator inverting them from the restarts of its `restart_seed`, for each variant of `grid.pairs`. Those images are not stored: FGSM takes
seconds, so the recover stage attacks again (its tables hold what the classifier predicted). Last,
one attack per entry of `lr_alpha_map.maps`: the same for that pair of networks, on the first
`lr_alpha_map.images` of the draw, recovered once per cell of the lr x alpha map (`lr_alpha_map.variant` with
that lr and alpha).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .settings import load

PAPER_ATTACK = "paper"  # section `attack` of the settings
FULL_TEST_ATTACK = "full_test"  # section `full_test`
EOT_ATTACKER = "eot"  # section `adaptive.eot`; the other attackers are `adaptive.attackers`
CACHE = ".cache"  # not in git: the chunks of interrupted or shared runs


@dataclass(frozen=True)
class Attack:
    """An FGSM run: x_adv = clip(x + eps * sign(grad), -1, 1) on ``images`` test images drawn with ``seed``."""
    name: str
    eps: float
    images: int
    seed: int
    folder: str  # attack.pt, metrics.json, run.json
    figures_dir: str  # attack_examples.png
    recoveries_dir: str  # one folder per variant recovered on these images: <recoveries_dir>/<variant>
    classifier: str  # the network attacked, which also classifies the recovered G(z)
    generator: str  # the network its recoveries invert
    stored: bool = True  # False: attack.pt is not written; the recover stage attacks again (grid networks)

    @property
    def path(self) -> str:
        return f"{self.folder}/attack.pt"


@dataclass(frozen=True)
class Recovery:
    """One (attack, variant) pair: the variant's ``settings`` (alpha, inputs, restriction, reference, lr)
    recovered on the attack's images into ``folder``."""
    attack: Attack
    variant: str
    settings: dict
    folder: str
    save_recovery: bool  # False: per-restart latents stay in the chunk cache (the full test set: 10000 images)
    save_movement: bool = False  # True: movement.csv, how far each kept latent moved from its init (the map)


class Project:
    """The checked settings of ``settings_path`` and every run's paths."""

    def __init__(self, settings_path="params.yaml"):
        self.settings_path = Path(settings_path)
        self.settings = load(settings_path)
        self.root = "" if self.settings_path.name == "params.yaml" else f"{self.settings_path.stem}/"
        self._check_names()

    # --- networks and shared folders
    @property
    def results_dir(self) -> str:
        return f"{self.root}results"

    @property
    def figures_dir(self) -> str:
        return f"{self.results_dir}/figures"

    @property
    def data_dir(self) -> str:  # shared by every profile: MNIST is the same data
        return self.settings["data"]["dir"]

    def classifier_path(self, name: str | None = None) -> str:
        """Classifier ``name``'s weights; by default the one `attack.classifier` names."""
        return f"{self.root}models/classifiers/{self.classifier_name(name)}.pt"

    def generator_path(self, name: str | None = None) -> str:
        """Generator ``name``'s weights (and its discriminator's); by default the one `recover.generator` names."""
        return f"{self.root}models/generators/{self.generator_name(name)}.pt"

    def classifier_name(self, name: str | None = None) -> str:
        return _known(name or self.settings["attack"]["classifier"], self.settings["classifiers"],
                      "classifier_name", "a classifier")

    def generator_name(self, name: str | None = None) -> str:
        return _known(name or self.settings["recover"]["generator"], self.settings["generators"],
                      "generator_name", "a generator")

    def classifier_dir(self, name: str | None = None) -> str:
        """Its training history, test metrics and figure."""
        return f"{self.results_dir}/classifiers/{self.classifier_name(name)}"

    def generator_dir(self, name: str | None = None) -> str:
        """Its training history, figures of samples and losses."""
        return f"{self.results_dir}/generators/{self.generator_name(name)}"

    @property
    def feature_net_path(self) -> str:
        """The MNIST network whose features the generator measures use: the classifier `generator_quality.features`
        names (trained by its train_classifier stage, never attacked)."""
        return self.classifier_path(self.settings["generator_quality"]["features"])

    @property
    def latent_dim(self) -> int:
        """The recovered generator's."""
        return self.settings["generators"][self.generator_name()]["latent_dim"]

    @staticmethod
    def cache_dir(kind: str) -> str:
        """Resumable chunks of "recovery" or "adaptive" runs, or "training" checkpoints, keyed by their settings:
        shared by every profile."""
        return f"{CACHE}/{kind}"

    def stage_dir(self, stage: str) -> str:
        """The folder of an analysis stage's own tables: ablations, fgsm_sweep_summary."""
        return f"{self.results_dir}/{stage}"

    # --- attacks
    def attacks(self) -> dict[str, Attack]:
        attack, sweep = self.settings["attack"], self.settings["fgsm_sweep"]
        eps, seed = attack["eps"], attack["eval_seed"]  # the sweep, the full test and the grid draw the same images
        networks = {"classifier": attack["classifier"], "generator": self.settings["recover"]["generator"]}
        # Each attack's three folders are written here once; every other path is derived from them.
        runs = [Attack(PAPER_ATTACK, eps, attack["eval_images"], seed, f"{self.results_dir}/attack", self.figures_dir,
                       self.recover_dir, **networks)]
        runs += [Attack(name, magnitude, sweep["images"], seed, *[f"{self.sweep_dir}/{name}"] * 3, **networks)
                 for name, magnitude in sweep["magnitudes"].items()]
        runs.append(Attack(FULL_TEST_ATTACK, eps, self.settings["full_test"]["images"], seed,
                           *[f"{self.full_test_dir}/attack"] * 2, self.full_test_dir, **networks))
        runs += [Attack(name, eps, attack["eval_images"], seed, *[f"{self.grid_dir}/{name}"] * 3, stored=False,
                        classifier=network["classifier"], generator=network["generator"])
                 for name, network in self.settings["grid"]["networks"].items()]
        runs += [Attack(name, eps, self.settings["lr_alpha_map"]["images"], seed, *[self.map_dir(name)] * 3,
                        stored=False, classifier=network["classifier"], generator=network["generator"])
                 for name, network in self.maps.items()]
        return {run.name: run for run in runs}

    def attack(self, name: str) -> Attack:
        attacks = self.attacks()
        return attacks[_known(name, attacks, "attack_name", "an attack")]

    @property
    def sweep_dir(self) -> str:
        return f"{self.results_dir}/fgsm_sweep"

    @property
    def full_test_dir(self) -> str:
        return f"{self.results_dir}/full_test"

    @property
    def grid_dir(self) -> str:
        """One folder per network of `grid.networks` (its variants' recoveries), and the grid's summary."""
        return f"{self.results_dir}/grid"

    @property
    def grid_variants(self) -> list[str]:
        """The variants of `grid.pairs`, each once, in their order."""
        return list(dict.fromkeys(v for pair in self.settings["grid"]["pairs"] for v in pair))

    @property
    def maps(self) -> dict[str, dict]:
        """The lr x alpha maps, each a pair of networks (`lr_alpha_map.maps`)."""
        return self.settings["lr_alpha_map"]["maps"]

    def map_dir(self, name: str) -> str:
        """One folder per cell of map ``name`` (its recovery)."""
        return f"{self.results_dir}/lr_alpha_map/{self._map(name)}"

    def map_recoveries(self, name: str) -> list[Recovery]:
        """The cells of map ``name``, lr-major."""
        return self.recoveries(self._map(name))

    def _map(self, name: str) -> str:
        return _known(name, self.maps, "map_name", "a map of lr_alpha_map.maps")

    @property
    def map_cells(self) -> dict[str, dict]:
        """Each cell of the lr x alpha map, named by its lr and alpha (lr0.01_alpha0.3), lr-major: the
        settings of variant `lr_alpha_map.variant` with that lr and alpha."""
        lr_alpha_map = self.settings["lr_alpha_map"]
        base = self.settings["variants"][lr_alpha_map["variant"]]
        return {map_cell_name(lr, alpha): {**base, "lr": float(lr), "alpha": float(alpha)}
                for lr in lr_alpha_map["lrs"] for alpha in lr_alpha_map["alphas"]}

    # --- recoveries
    @property
    def defenses(self) -> list[str]:
        """The paper's two variants (alpha 0 and 1), recovered on every attack."""
        return list(self.settings["defenses"])

    @property
    def recover_dir(self) -> str:
        """The variants recovered on the paper attack, one folder each."""
        return f"{self.results_dir}/recover"

    def recovery_dir(self, attack_name: str, variant: str) -> str:
        return f"{self.attack(attack_name).recoveries_dir}/{variant}"

    def recoveries(self, attack_name: str | None = None, variant_name: str | None = None) -> list[Recovery]:
        """Every (attack, variant) pair of the settings, or those of one attack and/or one variant."""
        variants, attacks = self.settings["variants"], self.attacks()
        # Each attack's runs, name -> settings: every variant on the paper attack, the two defenses on the
        # other stored attacks, the pairs' variants on a grid network, and a map's cells.
        recovered = {name: variants if name == PAPER_ATTACK else self.map_cells if name in self.maps else
                     {v: variants[v] if attack.stored else {**variants[v], "seed": self.restart_seed(name)}
                      for v in (self.defenses if attack.stored else self.grid_variants)}
                     for name, attack in attacks.items()}
        # Per-restart latents (recovery.pt) are kept for the 1000-image runs the analyses read, not for the
        # full test set's (150 MB), the grid's nor the maps': their per-image tables are what is compared;
        # a map keeps how far z moved instead (movement.csv), which its heatmaps set beside accuracy.
        pairs = [Recovery(attack, variant, settings, f"{attack.recoveries_dir}/{variant}",
                          save_recovery=attack.stored and name != FULL_TEST_ATTACK, save_movement=name in self.maps)
                 for name, attack in attacks.items() for variant, settings in recovered[name].items()]
        if attack_name is not None:
            _known(attack_name, attacks, "attack_name", "an attack")
            pairs = [p for p in pairs if p.attack.name == attack_name]
        if variant_name is not None:
            _known(variant_name, {p.variant for p in pairs}, "variant_name",
                   f"a variant recovered on {attack_name or 'any attack'}")
            pairs = [p for p in pairs if p.variant == variant_name]
        return pairs

    def restart_seed(self, attack_name: str) -> int:
        """The seed of an attack's recovery restarts: a grid network's `restart_seed`, else `seed`."""
        network = self.settings["grid"]["networks"].get(attack_name)
        return network["restart_seed"] if network else self.settings["seed"]

    def recovery_settings(self, run: Recovery) -> dict:
        """What a recovery of ``run`` is computed with (`recover` and the variant's settings, minus the
        chunking): what notebook 04 and `lrl_utils.recovery_worker` pass, so that both fill one cache."""
        return {**self.recover_options(), **run.settings}

    def recover_options(self) -> dict:
        """recover_latents' options that `recover` sets for every recovery (steps, Adam betas, restarts,
        selection, speed options) and the seed."""
        recover = self.settings["recover"]
        return {"steps": recover["steps"], "betas": (recover["beta1"], recover["beta2"]),
                "restarts": recover["restarts"], "select": recover["select"], "batch_size": recover["batch_size"],
                "compile": recover["compile"], "precision": recover["precision"], "seed": self.settings["seed"]}

    def clean_twin(self, variant: str) -> str:
        """The variant with the same settings on the unattacked images: what the defense costs."""
        settings = {**self.settings["variants"][variant], "inputs": "clean"}
        twins = [name for name, other in self.settings["variants"].items() if other == settings]
        if not twins:
            raise ValueError(f"{self.settings_path}: no variant recovers the clean images with {variant}'s "
                             f"settings; add one under `variants:` ({settings})")
        return twins[0]

    # --- adaptive attackers
    def attackers(self) -> dict[str, dict]:
        """Each adaptive attacker's PGD settings and the defenses it attacks (`pairs`: alpha 1 vs alpha 0)."""
        adaptive = self.settings["adaptive"]
        common = {"images": adaptive["images"], "eps": adaptive["eps"], "chunk_images": adaptive["chunk_images"]}
        runs = {name: {**common, "step_size": adaptive["step_size"], "steps": adaptive["steps"], "seed": seed,
                       "eot_samples": 1, "keep": "first_fooled", "pairs": adaptive["pairs"]}
                for name, seed in adaptive["attackers"].items()}
        eot = adaptive["eot"]
        runs[EOT_ATTACKER] = {**common, "step_size": eot["step_size"], "steps": eot["steps"], "seed": eot["seed"],
                              "eot_samples": eot["samples"], "keep": eot["keep"], "pairs": eot["pairs"]}
        return runs

    def attacker(self, name: str) -> dict:
        attackers = self.attackers()
        return attackers[_known(name, attackers, "attacker_name", "an attacker")]

    def adaptive_dir(self, attacker: str) -> str:
        return f"{self.results_dir}/adaptive/{attacker}"

    # --- names
    def _check_names(self) -> None:
        settings, where = self.settings, self.settings_path
        # Every network a run names: the paper's pair, and each grid network's.
        networks = [("attack.classifier", settings["attack"]["classifier"], "classifiers"),
                    ("recover.generator", settings["recover"]["generator"], "generators")]
        networks += [(f"grid.networks.{name}.{role}", pair[role], f"{role}s")
                     for name, pair in settings["grid"]["networks"].items() for role in ("classifier", "generator")]
        networks += [(f"lr_alpha_map.maps.{name}.{role}", pair[role], f"{role}s")
                     for name, pair in settings["lr_alpha_map"]["maps"].items() for role in ("classifier", "generator")]
        networks += [("generator_quality.features", settings["generator_quality"]["features"], "classifiers")]
        for key, value, names in networks:
            if value not in settings[names]:
                raise ValueError(f"{where}: {key} {value!r} is not under `{names}:` ({', '.join(settings[names])})")
        # Every attack has a name of its own: the paper's, the full test's, then the sweep's, the grid's, the maps'.
        taken = {PAPER_ATTACK, FULL_TEST_ATTACK}
        for key, names in [("fgsm_sweep.magnitudes", settings["fgsm_sweep"]["magnitudes"]),
                           ("grid.networks", settings["grid"]["networks"]), ("lr_alpha_map.maps", settings["lr_alpha_map"]["maps"])]:
            clash = taken & set(names)
            if clash:
                raise ValueError(f"{where}: {key} may not be named {sorted(clash)} (names of other attacks)")
            taken |= set(names)
        if EOT_ATTACKER in settings["adaptive"]["attackers"]:
            raise ValueError(f"{where}: adaptive.attackers may not be named {EOT_ATTACKER!r} (adaptive.eot's name)")
        pairs = [*settings["adaptive"]["pairs"], *settings["adaptive"]["eot"]["pairs"]]
        alpha_pairs = {f"headline.pairs.{name}": pair for name, pair in settings["headline"]["pairs"].items()}
        alpha_pairs.update({f"grid.pairs {pair}": pair for pair in settings["grid"]["pairs"]})
        for key, names in [("defenses", settings["defenses"]), ("lr_alpha_map.variant", [settings["lr_alpha_map"]["variant"]]),
                           ("adaptive pairs", [v for p in pairs for v in p]),
                           ("headline.pairs", [v for p in settings["headline"]["pairs"].values() for v in p]),
                           ("grid.pairs", [v for p in settings["grid"]["pairs"] for v in p])]:
            unknown = sorted(set(names) - set(settings["variants"]))
            if unknown:
                raise ValueError(f"{where}: {key} name {unknown}, which are not under `variants:`")
        lr_alpha_map = settings["lr_alpha_map"]
        if len(self.map_cells) < len(lr_alpha_map["lrs"]) * len(lr_alpha_map["alphas"]):  # two named alike
            raise ValueError(f"{where}: lr_alpha_map.lrs {lr_alpha_map['lrs']} and alphas {lr_alpha_map['alphas']} "
                             f"name a cell twice (cells are named by the values to 6 digits): give distinct values")
        if 0 not in lr_alpha_map["alphas"]:
            raise ValueError(f"{where}: lr_alpha_map.alphas {lr_alpha_map['alphas']} must include 0: each alpha's "
                             f"gain is measured against alpha 0 at the same lr")
        if settings["variants"][lr_alpha_map["variant"]]["restriction"] == "sphere":
            raise ValueError(f"{where}: lr_alpha_map.variant {lr_alpha_map['variant']!r} has restriction 'sphere', "
                             f"which has no term for the map's alphas to weigh; name a variant with a loss term")
        for key, pair in alpha_pairs.items():
            alphas = [settings["variants"][variant]["alpha"] for variant in pair]
            if alphas != [0, 1]:
                raise ValueError(f"{where}: {key} fills the table's α = 0 and α = 1 columns, in that order; "
                                 f"{pair} have alpha {alphas}")


def map_cell_name(lr: float, alpha: float) -> str:
    """A cell of the lr x alpha map: lr0.001_alpha0.3."""
    return f"lr{lr:g}_alpha{alpha:g}"


def _known(name, names, argument: str, what: str) -> str:
    if name not in names:
        raise ValueError(f"{argument} {name!r} is not {what} of the settings; the names are "
                         f"{', '.join(map(repr, names))}")
    return name
