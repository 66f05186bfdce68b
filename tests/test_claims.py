"""Every number in the text of the README and of the paper (paper/*.md) comes from a committed result file: each
claim below is recomputed from its file and must appear in the README or the paper exactly as printed; the
README's own claims must appear in the README. (The tables are rendered from the files and checked where they are
rendered: test_headline.py, test_grid.py, test_compute.py.)"""
import json
import re

import pandas as pd
import pytest

from helpers import REPO
from lrl_utils.compute import compute_table
from lrl_utils.evaluation import accuracy_ci
from lrl_utils.layout import Project
from lrl_utils.paired import paired_difference
from lrl_utils.reporting import paired_correct

README = (REPO / "README.md").read_text()
PAPER = {page.name: page.read_text() for page in sorted((REPO / "paper").glob("*.md"))}
RESULTS = REPO / "results"
MINUS = str.maketrans("-", "−")
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _scientific(p: float) -> str:
    """1.4e-05 -> "1.4 × 10⁻⁵", as the README writes p-values."""
    mantissa, exponent = f"{p:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def _p_value(p: float) -> str:
    """As the README's findings write a p-value: 0.0051, or 1.1 × 10⁻⁴ below 10⁻³."""
    return f"{p:.2g}" if p >= 1e-3 else _scientific(p)


def _claims() -> list[tuple[str, str]]:
    metrics = json.loads((RESULTS / "metrics.json").read_text())
    runs = pd.read_csv(RESULTS / "ablations/runs.csv").set_index("variant")
    reselection = pd.read_csv(RESULTS / "ablations/reselection.csv")
    sweep = pd.read_csv(RESULTS / "fgsm_sweep.csv")
    full = json.loads((RESULTS / "full_test/summary/metrics.json").read_text())
    classifier = json.loads((REPO / Project(REPO / "params.yaml").classifier_dir() / "metrics.json").read_text())
    by_eps = pd.read_csv(RESULTS / "fgsm_sweep_summary/summary.csv")
    fragile = pd.read_csv(RESULTS / "classifier_fragility/summary.csv").set_index("classifier")
    convolutional = fragile.loc[["model_a", "model_a_same", "model_a_no_dropout", "model_b"]]
    accurate = fragile[fragile["clean, every test image %"] >= 99.3]  # finding 2: "the fewest of any network at ≥ 99.3 %"
    assert accurate["FGSM 0.7 %"].idxmin() == "author_convnet"

    def acc(variant):
        return f"{runs.loc[variant, 'accuracy %']:.1f} %"

    def kept(restarts):
        rows = reselection[(reselection["variant"] == "defensegan") & (reselection["select"] == "reconstruction")]
        return f"{rows.set_index('restarts').loc[restarts, 'accuracy %']:.1f} %"

    def moved(variant, column):
        return f"{runs.loc[variant, column]:.2f}"

    def crossing():
        pivot = by_eps.pivot(index="eps", columns="defense", values="accuracy %")
        helped = pivot[pivot["defensegan"] > pivot["no defense"]].index
        return f"only from FGSM {min(helped):g} on"

    lowest = sweep.loc[sweep["undefended accuracy %"].idxmin()]
    gain_lr = runs.loc["lr_0p1_alpha1", "accuracy %"] - runs.loc["lr_0p1_alpha0", "accuracy %"]
    loss = 100 * (metrics["defensegan_accuracy"] - metrics["lrl_accuracy"])
    adaptive = {name: pd.read_csv(RESULTS / f"adaptive/{name}/results.csv").set_index("target")["PGD / BPDA %"]
                for name in ("eot", "known_seed")}
    grid = pd.read_csv(RESULTS / "grid_summary/grid.csv").set_index(["network", "lr"])
    networks = {"model_d": "Model D", "model_a_no_dropout": "Model A without dropout", "model_b": "Model B",
                "model_a_same": "Defense-GAN's Model A"}

    def paper_lr(network):
        row = grid.loc[(network, 0.001)]
        return f"{networks[network]} {row['α = 0 %']:.1f} % → {row['α = 1 %']:.1f} % (p = {_p_value(row['McNemar p'])})"

    def rows(names, lr):  # the grid's rows of these networks at one lr, in this order
        return grid.loc[[(name, lr) for name in names]]

    lr_0p1 = rows(networks, 0.1)
    cell = pd.read_csv(RESULTS / "lr_alpha_map_summary/paper_pair/map.csv").set_index(["lr", "alpha"])
    map_metrics = json.loads((RESULTS / "lr_alpha_map_summary/paper_pair/metrics.json").read_text())
    best, init_w1 = map_metrics["best_against_best"], map_metrics["init_w1"]

    def gain(lr):
        return f"{cell.loc[(lr, 1.0), 'gain over α 0']:+.1f}".replace("-", "−")

    def at(name, column):  # "lr0.03_alpha1" -> "lr 0.03, α = 1"
        lr, alpha = cell.reset_index().set_index("cell").loc[name, ["lr", "alpha"]]
        return f"{cell.loc[(lr, alpha), column]:.1f} %, lr {lr:g}" + (f", α = {alpha:g}" if alpha else "")

    quality = pd.read_csv(RESULTS / "generator_quality/quality.csv").set_index("generator")
    long_history = pd.read_csv(RESULTS / "generators/dcgan_long/history.csv")
    author_history = pd.read_csv(RESULTS / "generators/author_gan/history.csv")
    author_kept = author_history[author_history.kept].iloc[0]
    after_kept = author_history[author_history.epoch > author_kept.epoch].fid_train
    author = quality.loc["author_gan"]

    # The main pair from its three restart seeds, by (seed, lr); the decision paragraph over every grid row
    table = grid.reset_index()
    main = table[table.classifier.eq("author_convnet") & table.generator.eq("dcgan_long")].set_index(["restart seed", "lr"])
    assert len(main) == 6  # three seeds, two lrs

    def main_gains(lr):
        return main.xs(lr, level="lr")["α = 1 − α = 0"].tolist()

    def signed(values, plus=False, last=" and "):  # "−5.4, −2.4 and −3.9", "+7.1, +8.4, +6.7", or "−0.6"
        shown = [(f"{v:+.1f}" if plus else f"{v:.1f}").replace("-", "−") for v in values]
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + last + shown[-1]

    main_map = pd.read_csv(RESULTS / "lr_alpha_map_summary/main_pair/map.csv").set_index(["lr", "alpha"])
    main_spread = main.groupby(level="lr")["α = 0 %"].agg(lambda v: v.max() - v.min()).max()
    at_paper_lr, at_lr_0p1 = table[table.lr == 0.001], table[table.lr == 0.1]
    assert (at_paper_lr["α = 1 − α = 0"] < 0).all() and (at_lr_0p1["α = 1 − α = 0"] > 0).all()  # "below in all", "above in all"
    undefended = fragile.loc[table.classifier.unique(), "FGSM 0.7 %"]
    assert len(undefended) == 6 and table.generator.nunique() == 3
    pairs_run = len(table[["classifier", "generator"]].drop_duplicates())
    all_pairs = len(undefended) * table.generator.nunique()
    assert pairs_run == all_pairs  # "Over all 18 pairs": no (classifier, generator) pair is missing

    def pair_lr(network, lr):  # "52.9 % → 49.5 %, p = 0.0051"
        row = grid.loc[(network, lr)]
        return f"{row['α = 0 %']:.1f} % → {row['α = 1 %']:.1f} %, p = {_p_value(row['McNemar p'])}"

    def author_gan_on(classifiers):  # "Model A (…; …), Model D (…; …) and Model B (…; …)": paper's lr; lr 0.1
        names = {"model_a": "Model A", **networks}
        each = [f"{names[c]} ({pair_lr(f'{c}_author_gan', 0.001)}; {pair_lr(f'{c}_author_gan', 0.1)})"
                for c in classifiers]
        return ", ".join(each[:-1]) + " and " + each[-1]

    def main_generator(generator):  # α = 0 at the paper's lr, the main classifier with each generator (seed 0)
        return grid.loc[(f"author_convnet_{generator}", 0.001), "α = 0 %"]

    # finding 11: the four classifiers of finding 8 with the converged DCGAN, in finding 8's order
    with_long = [f"{network}_dcgan_long" for network in networks]
    long_paper_lr, long_lr_0p1 = rows(with_long, 0.001), rows(with_long, 0.1)
    assert grid.loc[("model_b", 0.001), "McNemar p"] >= 0.05 > grid.loc[("model_b_dcgan_long", 0.001), "McNemar p"]
    nearest = at_paper_lr.loc[at_paper_lr["α = 0 %"].idxmax()]  # "the nearest any pair comes to the paper's 55.3 %"
    assert nearest.network == "model_a_no_dropout_dcgan_long" and nearest["α = 0 %"] < 55.3

    assert quality.loc["dcgan", "FID"] > quality.loc["author_gan", "FID"]  # "`dcgan` with its worse FID"
    assert main_generator("author_gan") <= main_generator("dcgan")  # "defends no better"
    dcgan = quality.loc["dcgan"]

    return [
        ("finding 1", f"right on {100 * metrics['lrl_accuracy']:.1f} % of the\nattacked images against "
                      f"{100 * metrics['defensegan_accuracy']:.1f} % with α = 0"),
        ("finding 1: discordant", f"({runs.loc['defensegan', 'only lrl right']:.0f} images right only with α = 1, "
                                  f"{runs.loc['defensegan', 'only this right (vs lrl)']:.0f} only with α = 0)"),
        ("finding 1: W1", f"mean W₁ to N(0, 1) {metrics['defensegan_mean_restriction']:.3f} → "
                          f"{metrics['lrl_mean_restriction']:.3f}"),
        ("caption: W1", f"from a mean of {metrics['defensegan_mean_restriction']:.3f} (α = 0) to "
                        f"{metrics['lrl_mean_restriction']:.3f} (α = 1)"),
        ("finding 1: MSE", f"MSE {metrics['defensegan_mean_reconstruction_mse']:.3f} → "
                           f"{metrics['lrl_mean_reconstruction_mse']:.3f}"),
        ("finding 1: full test", f"({100 * full['lrl']['accuracy']:.1f} % against {100 * full['defensegan']['accuracy']:.1f} %)"),
        ("setup: clean accuracy", f"{100 * classifier['test_accuracy']['accuracy']:.2f} % clean test\naccuracy here"),
        ("finding 2", f"keeps {100 * metrics['no_defense_accuracy']:.1f} % under FGSM 0.7"),
        ("finding 2: lowest", f"its lowest\nis {lowest['undefended accuracy %']:.1f} % at {lowest['eps']:g}"),
        ("finding 2: candidates", f"keeps {fragile.loc['model_a_same', 'FGSM 0.7 %']:.1f} %, Model A without "
                                  f"dropout {fragile.loc['model_a_no_dropout', 'FGSM 0.7 %']:.1f} % and\nModel B "
                                  f"{fragile.loc['model_b', 'FGSM 0.7 %']:.1f} %, all at "
                                  f"{convolutional['clean, every test image %'].min():.1f} % clean or more"),
        ("finding 2: model D", f"falls to {fragile.loc['model_d', 'FGSM 0.7 %']:.1f} %, at "
                               f"{fragile.loc['model_d', 'clean, every test image %']:.1f} % clean"),
        ("finding 2: small convnet", f"to {fragile.loc['feature_net', 'FGSM 0.7 %']:.1f} % after 5 epochs "
                                     f"({fragile.loc['feature_net', 'clean, every test image %']:.2f} % clean) but "
                                     f"{fragile.loc['small_convnet', 'FGSM 0.7 %']:.1f} % after 12 "
                                     f"({fragile.loc['small_convnet', 'clean, every test image %']:.2f} %)"),
        ("finding 2: author's convnet", f"keeps {fragile.loc['author_convnet', 'FGSM 0.7 %']:.1f} % at "
                                        f"{fragile.loc['author_convnet', 'clean, every test image %']:.2f} % clean, the "
                                        f"fewest of\nany network at ≥ 99.3 %"),
        ("finding 2: PGD", f"takes every one of them to {fragile['PGD %'].min():.1f}–{fragile['PGD %'].max():.1f} %"),
        ("finding 3: movement", f"a mean\n{moved('defensegan', 'mean |element moved|')} per element from its random "
                                f"initial value (at most {moved('defensegan', 'max |element moved|')})"),
        ("finding 3: restarts", f"1 restart gives {kept(1)} (α = 0)"),
        ("finding 3: restarts", f"3\ngive {kept(3)}; all 10 give {kept(10)}"),
        ("finding 4: lr 0.01", f"reaches {acc('lr_0p01_alpha0')} and α = 1 still costs accuracy ({acc('lr_0p01_alpha1')})"),
        ("finding 4: lr 0.1", f"a mean {moved('lr_0p1_alpha0', 'mean |element moved|')} per element, up\nto "
                              f"{runs.loc['lr_0p1_alpha0', 'max |element moved|']:.1f}"),
        ("finding 4: lr 0.1", f"(W₁ {runs.loc['lr_0p1_alpha0', 'mean W1']:.3f}): α = 0 falls back to {acc('lr_0p1_alpha0')}"),
        ("finding 4: lr 0.1", f"(W₁ {runs.loc['lr_0p1_alpha1', 'mean W1']:.3f}) and gives {acc('lr_0p1_alpha1')}"),
        ("finding 5", f"up\nto α = 0.3 ({acc('alpha_0p3')}) and then falls ({acc('alpha_3')} at α = 3, "
                      f"{acc('alpha_10')} at α = 10)"),
        ("finding 5", f"(the author's code, {acc('w1_samples')}), W₂ ({acc('w2')}), the Gaussian prior mean z² "
                      f"({acc('gaussian_nll')}), moment matching ({acc('moments')})\nand projecting z to the sphere "
                      f"({acc('sphere')})"),
        ("finding 6: clean", f"keep {acc('defensegan_clean')} (α = 0) and {acc('lrl_clean')} (α = 1); at lr 0.1, "
                             f"{runs.loc['lr_0p1_alpha0_clean', 'accuracy %']:.1f} % and\n{acc('lr_0p1_alpha1_clean')}"),
        ("finding 6: crossing", crossing()),
        ("finding 7: EOT", f"takes α = 0 to {adaptive['eot']['defensegan']:.1f} % and α = 1 to "
                           f"{adaptive['eot']['lrl']:.1f} %"),
        *[(f"finding 8: {network}", paper_lr(network)) for network in networks],
        ("finding 8: lr 0.1", f"by {signed(lr_0p1['α = 1 − α = 0'])} points (p ≤ {_scientific(lr_0p1['McNemar p'].max())})"),
        ("finding 8: model D", f"({fragile.loc['model_d', 'FGSM 0.7 %']:.1f} % under FGSM without defense) and is "
                               f"defended to only {grid.loc[('model_d', 0.001), 'α = 0 %']:.1f} %"),
        ("finding 9: costs", f"at lr 0.001 and 0.003 ({gain(0.001)} and {gain(0.003)} points), is level\nat lr 0.01 "
                             f"({gain(0.01)}, p = {cell.loc[(0.01, 1.0), 'McNemar p']:.2g})"),
        ("finding 9: gains", f"from lr 0.03 on ({gain(0.03)}, p = {cell.loc[(0.03, 1.0), 'McNemar p']:.2g}; "
                             f"{gain(0.1)} at lr 0.1)"),
        ("finding 9: moved", f"a mean L2 distance of {cell.loc[(0.03, 0.0), 'mean L2 moved']:.1f}, against "
                             f"{cell.loc[(0.001, 0.0), 'mean L2 moved']:.1f} at lr 0.001"),
        ("finding 9: drift", f"rises from {cell.loc[(0.01, 0.0), 'mean W1']:.3f} to {cell.loc[(0.03, 0.0), 'mean W1']:.3f}"),
        ("finding 9: best", f"({at(best['best alpha > 0'], 'accuracy %')}) does not\nsignificantly beat the best "
                            f"unrestricted one ({at(best['best alpha 0'], 'accuracy %')}; p = {best['McNemar p']:.2g})"),
        ("finding 10: samples", f"have FID {dcgan['FID']:.1f} (MNIST's own training images: "
                                f"{quality.loc['MNIST training images', 'FID']:.1f}), precision {dcgan['precision']:.2f} "
                                f"and\nrecall {dcgan['recall']:.2f}"),
        ("finding 10: inversion", f"clean test images to MSE {dcgan['inversion MSE']:.4f}, with latents nearly as N(0, 1)-like "
                                  f"as random ones (W₁ {dcgan['inversion W1']:.3f} against\n{init_w1:.3f}), and the "
                                  f"classifier reads "
                                  f"{dcgan['inversion accuracy %']:.1f} % of them right; the paper's 200 steps at lr 0.001 "
                                  f"leave {acc('defensegan_clean')}"),
        ("finding 11: converged", f"(`dcgan_long`, the epoch of lowest FID to training images\nkept: epoch "
                                  f"{long_history.loc[long_history.kept, 'epoch'].iloc[0]}, where the curve has flattened) "
                                  f"reaches FID {quality.loc['dcgan_long', 'FID']:.1f} to the test images (precision "
                                  f"{quality.loc['dcgan_long', 'precision']:.2f}, recall\n{quality.loc['dcgan_long', 'recall']:.2f})"),
        ("finding 11: paper lr", f"below α = 0 at the paper's lr ({pair_lr('model_a_dcgan_long', 0.001)}) and\n"
                                 f"above it at lr 0.1 ({pair_lr('model_a_dcgan_long', 0.1)})"),
        ("finding 11: gain", f"lifts α = 0 at lr 0.1 by "
                             f"{grid.loc[('model_a_dcgan_long', 0.1), 'α = 0 %'] - grid.loc[('paper', 0.1), 'α = 0 %']:.1f} "
                             f"points\nand leaves the restriction {grid.loc[('model_a_dcgan_long', 0.1), 'α = 1 − α = 0']:.1f} "
                             f"where it had {grid.loc[('paper', 0.1), 'α = 1 − α = 0']:.1f}"),
        ("finding 11: four classifiers", f"it keeps both signs: α = 1 − α = 0 is "
                                         f"{signed(long_paper_lr['α = 1 − α = 0'])} points at\nthe paper's lr (p ≤ "
                                         f"{_p_value(long_paper_lr['McNemar p'].max())}; with `dcgan` Model B's was "
                                         f"{signed([grid.loc[('model_b', 0.001), 'α = 1 − α = 0']])}, p = "
                                         f"{_p_value(grid.loc[('model_b', 0.001), 'McNemar p'])}) and "
                                         f"{signed(long_lr_0p1['α = 1 − α = 0'], plus=True)} at\nlr 0.1; "
                                         f"with α = 0 Model A without dropout reaches {nearest['α = 0 %']:.1f} %"),
        ("finding 11: second family", f"FID to training images was lowest after epoch {author_kept.epoch:.0f} "
                                      f"({author_kept.fid_train:.1f}), then {after_kept.min():.1f}–{after_kept.max():.1f} "
                                      f"up to epoch {author_history.epoch.max()}. Kept at epoch {author_kept.epoch:.0f}, it "
                                      f"reaches FID {author['FID']:.1f} (precision {author['precision']:.2f}, recall "
                                      f"{author['recall']:.2f}) and inverts clean images as well "
                                      f"({author['inversion accuracy %']:.1f} %)"),
        ("finding 11: family compared", f"α = 1 is again below α = 0 at the paper's lr "
                                        f"({pair_lr('author_convnet_author_gan', 0.001)}) and above it at lr 0.1 "
                                        f"({pair_lr('author_convnet_author_gan', 0.1)})"),
        ("finding 11: family on five more classifiers",
         "So do " + author_gan_on(["model_a", "model_d", "model_a_no_dropout", "model_b", "model_a_same"])),
        ("finding 11: three generators", f"it defends no better ({main_generator('author_gan'):.1f} %) than `dcgan` with "
                                         f"its worse FID ({main_generator('dcgan'):.1f} %) or `dcgan_long` "
                                         f"({main_generator('dcgan_long'):.1f} %; `grid.csv`)"),
        ("finding 12: pair", f"(above: {fragile.loc['author_convnet', 'clean, every test image %']:.2f} % clean, "
                             f"{fragile.loc['author_convnet', 'FGSM 0.7 %']:.1f} % under FGSM 0.7)"),
        ("finding 12: level", f"reaches {main.xs(0.001, level='lr')['α = 0 %'].min():.1f}–"
                              f"{main.xs(0.001, level='lr')['α = 0 %'].max():.1f} % with α = 0\nat the paper's lr"),
        ("finding 12: paper lr", f"from each of three restart seeds (gains {signed(main_gains(0.001))} points; p = "
                                 + ", ".join(_p_value(p) for p in main.xs(0.001, level="lr")["McNemar p"]) + ")"),
        ("finding 12: lr 0.1", f"at lr 0.1 it raises it ({signed(main_gains(0.1), plus=True, last=', ')})"),
        ("finding 12: restarts", f"The restarts\nalone move α = 0 by up to {main_spread:.1f} points"),
        ("decides: networks", f"Over all {all_pairs} pairs of six classifiers ({undefended.min():.1f}–"
                              f"{undefended.max():.1f} % undefended) and three generators of two families (FID "
                              f"{quality.loc['dcgan', 'FID']:.0f}, {quality.loc['author_gan', 'FID']:.0f} and "
                              f"{quality.loc['dcgan_long', 'FID']:.0f})"),
        ("decides: paper lr", f"At the paper's 0.001 α = 1 was below α = 0 in all {len(at_paper_lr)} comparisons "
                              f"(significant in {int((at_paper_lr['McNemar p'] < 0.05).sum())}), at 0.1 above in all "
                              f"{len(at_lr_0p1)}"),
        ("decides: main map", f"(main pair: {main_map.loc[(0.01, 1.0), 'gain over α 0']:.1f} and "
                              f"{main_map.loc[(0.03, 1.0), 'gain over α 0']:+.1f} points)".replace("-", "−")),
        ("decides: size", f"the size of the gain at lr 0.1 ({at_lr_0p1['α = 1 − α = 0'].min():.1f} to "
                          f"{at_lr_0p1['α = 1 − α = 0'].max():.1f} points)"),
        ("finding 7: known seed", f"seed to {adaptive['known_seed']['defensegan']:.1f} %\nand "
                                  f"{adaptive['known_seed']['lrl']:.1f} %"),
    ]


def _interval(row) -> str:
    """A paired difference as the text writes it: "−4.8 [−6.9, −2.7]", "+8.7 [+6.4, +11.0]"."""
    return f"{row['difference']:+.1f} [{row['low']:+.1f}, {row['high']:+.1f}]".translate(MINUS)


def _paper_claims() -> list[tuple[str, str]]:
    """The numbers the paper adds to the findings: paired intervals, Holm, the compute, the review's answers."""
    table = pd.read_csv(RESULTS / "comparisons/comparisons.csv").set_index("name")
    counts = json.loads((RESULTS / "comparisons/metrics.json").read_text())
    grid = table[table.family == "grid"]
    paper_lr, lr_0p1 = table.loc["paper/lr_0.001"], table.loc["paper/lr_0.1"]
    runs = pd.read_csv(RESULTS / "ablations/runs.csv").set_index("variant")
    fragile = pd.read_csv(RESULTS / "classifier_fragility/summary.csv").set_index("classifier")
    quality = pd.read_csv(RESULTS / "generator_quality/quality.csv").set_index("generator")
    seeds = pd.read_csv(RESULTS / "grid_summary/seed_spread.csv")
    main_seeds = seeds[seeds.classifier.eq("author_convnet") & seeds.lr.eq(0.001)].iloc[0]
    adaptive = {name: pd.read_csv(RESULTS / f"adaptive/{name}/results.csv").set_index("target")["PGD / BPDA %"]
                for name in ("own_seed", "eot", "known_seed")}
    hours = compute_table(RESULTS).set_index("results folder").loc["all", "hours"]
    best = json.loads((RESULTS / "lr_alpha_map_summary/paper_pair/metrics.json").read_text())["best_against_best"]
    cells = [pd.read_csv(RESULTS / f"lr_alpha_map/paper_pair/{best[k]}/per_image.csv") for k in ("best alpha 0", "best alpha > 0")]
    best_diff = paired_difference(*paired_correct(*cells))
    levels = table.loc[["alpha_0p03", "alpha_0p1", "alpha_0p3", "moments", "sphere"]]
    assert levels[["low", "high"]].abs().max().max() < 1.5  # "level with α = 0 within about ±1.5 points"
    assert (quality.loc[["dcgan", "dcgan_long", "author_gan"], "inversion accuracy %"] == 99.0).all()
    inversion = quality.loc["dcgan"]
    grid_lr = {lr: counts["grid alone, Holm"][f"lr_{lr}"] for lr in ("0.001", "0.1")}
    per_lr = {lr: len(grid[grid.lr == float(lr)]) for lr in ("0.001", "0.1")}
    all_holm = {lr: counts[f"grid/lr_{lr}"]["significant Holm"] for lr in ("0.001", "0.1")}
    assert (grid[grid.lr == 0.001].difference < 0).all() and (grid[grid.lr == 0.1].difference > 0).all()
    # "at lr 0.03, significant after Holm's adjustment on the main pair, not on the paper's pair"
    assert table.loc["main_pair/lr0.03_alpha1", "Holm p"] < 0.05 <= table.loc["paper_pair/lr0.03_alpha1", "Holm p"]
    undefended = accuracy_ci(pd.read_csv(RESULTS / "recover/defensegan/per_image.csv").eval("pred_adv == label"))
    lr_row = pd.read_csv(RESULTS / "grid_summary/grid.csv").set_index(["network", "lr"])
    at = {lr: lr_row.loc[("paper", lr)] for lr in (0.001, 0.1)}

    def wilson(row, column):
        return f"{row[f'{column} %']:.1f} % ({row[f'{column} low %']:.1f}–{row[f'{column} high %']:.1f})"

    gains = [adaptive[n]["lrl"] - adaptive[n]["defensegan"] for n in ("own_seed", "eot", "known_seed")]
    pairs = len(grid[["classifier", "generator"]].drop_duplicates())
    return [
        ("verdict: paper's lr", f"α = 1 − α = 0 is {_interval(paper_lr)} points"),
        ("verdict: every test image", _interval(table.loc["02_fgsm_every_test_image"])),
        ("verdict: lr 0.1", f"by {_interval(lr_0p1)}"),
        ("verdict: Wilson at lr 0.1", f"({at[0.1]['α = 0 %']:.1f} % and {at[0.1]['α = 1 %']:.1f} %)"),
        ("claims: undefended", f"{100 * undefended['accuracy']:.1f} % ({100 * undefended['ci_low']:.1f}–"
                               f"{100 * undefended['ci_high']:.1f})"),
        ("claims: α = 0", wilson(at[0.001], "α = 0")),
        ("claims: α = 0 at lr 0.1", wilson(at[0.1], "α = 0")),
        ("claims: sampled reference", f"{_interval(table.loc['w1_samples'])} at lr 0.001 (`w1_samples`"),
        ("claims: EOT", f"{adaptive['eot']['defensegan']:.1f} % (α = 0) and {adaptive['eot']['lrl']:.1f} % (α = 1)"),
        ("why: variants", f"W₁ to a fresh sample is {_interval(table.loc['w1_samples'])} and the Gaussian prior "
                          f"{_interval(table.loc['gaussian_nll'])}"),
        ("why: inversion", f"read right {inversion['inversion accuracy %']:.1f} % of the time "
                           f"({inversion['inversion low %']:.1f}–{inversion['inversion high %']:.1f})"),
        ("helps: level", f"the interval is {_interval(table.loc['paper_pair/lr0.01_alpha1'])}"),
        ("helps: best against best", f"p = {best['McNemar p']:.2f}): {_interval(best_diff)} points"),
        ("setting: intervals", f"at the paper's setting it is {_interval(paper_lr)} points, on every test image "
                               f"{_interval(table.loc['02_fgsm_every_test_image'])}, and at lr 0.1 {_interval(lr_0p1)}"),
        ("setting: comparisons", f"{counts['comparisons']} in all"),
        ("setting: Holm", f"adjustment over all {counts['comparisons']}; {counts['significant Holm']} stay below 0.05"),
        ("setting: grid Holm", f"over the grid's {len(grid)} alone it leaves {grid_lr['0.001']} of {per_lr['0.001']} "
                               f"significant at lr 0.001 and {grid_lr['0.1']} of {per_lr['0.1']} at lr 0.1"),
        ("networks: grid Holm", f"{grid_lr['0.001']} of {per_lr['0.001']} stay significant at lr 0.001 and "
                                f"{grid_lr['0.1']} of {per_lr['0.1']}"),
        ("threats: comparisons", f"The {counts['comparisons']} comparisons of"),
        ("threats: restarts", f"α = 0 moved by up to {main_seeds['α = 0 % max'] - main_seeds['α = 0 % min']:.1f} points "
                              f"and the gain at lr 0.001 ranged from {main_seeds['α = 1 − α = 0 min']:.1f} to "
                              f"{main_seeds['α = 1 − α = 0 max']:.1f}".translate(MINUS)),
        ("threats: sampled", f"also lowers the accuracy: {_interval(table.loc['w1_samples'])} points"),
        ("adaptive: gains", "(" + ", ".join(f"{g:.1f}" for g in gains[:-1]).translate(MINUS) + f" and "
                            f"{gains[-1]:.1f}".translate(MINUS) + " points)"),
        ("claims: sampled at lr 0.1", f"{_interval(table.loc['w1_samples_lr_0p1'])} at lr 0.1 (`w1_samples_lr_0p1`)"),
        ("helps: sampled at lr 0.1", f"the gain at lr 0.1 is {_interval(table.loc['w1_samples_lr_0p1'])} points"),
        ("threats: both readings", f"at lr 0.1 both raise it ({_interval(lr_0p1)} and "
                                   f"{_interval(table.loc['w1_samples_lr_0p1'])} points)"),
        ("setting: conservative", f"It is conservative over {counts['comparisons']} tests"),
        ("helps: lr 0.01", f"on these 1000 images by {_interval(table.loc['lr_0p01_alpha1'])} points"),
        ("networks: Model B", f"Model B's\ndifference, {_interval(table.loc['model_b/lr_0.001'])}, is no evidence"),
        ("claims: grid Holm", f"below zero in all {per_lr['0.001']} comparisons at lr 0.001 ({all_holm['0.001']} significant "
                              f"after Holm over all {counts['comparisons']}), above in all {per_lr['0.1']} at lr 0.1 "
                              f"({all_holm['0.1']} significant)"),
        ("networks: Holm over all", f"over all {counts['comparisons']} comparisons of the paper {all_holm['0.001']} and "
                                    f"{all_holm['0.1']}"),
        ("claims: EOT p", f"on 100 images (p = {json.loads((RESULTS / 'adaptive/eot/metrics.json').read_text())['mcnemar_p_lrl_vs_defensegan']:.2f})"),
        ("readme: compute", f"about {10 * round(hours / 10):.0f} hours of 2 CPU cores"),
        ("performance: compute", f"everything about {10 * round(hours / 10):.0f} h of compute"),
        ("in full: PGD", f"a 10-step PGD takes every classifier here to {fragile['PGD %'].max():.1f} % or less"),
        ("abstract: pairs", f"Over {pairs} pairs of classifier and generator"),
        ("abstract: from lr 0.03", f"(from lr {table[(table.family == 'map') & (table.alpha == 1) & (table.difference > 0) & (table['McNemar p'] < 0.05)].lr.min():g} on)"),
    ]


README_CLAIMS = ("verdict: paper's lr", "verdict: lr 0.1", "readme: compute")


def _corpus() -> str:
    return " ".join(" ".join([README, *PAPER.values()]).split())


@pytest.mark.parametrize("name, text", _claims() + _paper_claims(), ids=[c[0] for c in _claims() + _paper_claims()])
def test_each_number_in_the_text_is_the_one_its_result_file_gives(name, text):
    # Line breaks may fall anywhere: compare with whitespace collapsed.
    assert " ".join(text.split()) in _corpus(), f"README.md or paper/*.md, {name}: expected {text!r}"
    if name in README_CLAIMS:
        assert " ".join(text.split()) in " ".join(README.split()), f"README.md, {name}: expected {text!r}"


def test_the_readme_is_a_front_door():
    lines = README.splitlines()
    assert len(lines) <= 120
    first_screen = "\n".join(lines[:30])
    assert "**Verdict:" in first_screen and "95 % paired interval" in first_screen
    assert "![" in first_screen and "results/comparisons/forest.png" in first_screen
    assert "(results/paper/reproduction.pdf)" in first_screen and "build/paper/html/index.html" in first_screen
    for heading in ("## Results", "## What to run", "## Tests"):
        assert heading in lines, heading
    for target in re.findall(r"\]\(([^)#]+)", README):  # every link points at a file of the repository
        assert (REPO / target).exists(), target
