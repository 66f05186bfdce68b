import pytest
import torch

from lrl_utils import Generator, fgsm, Classifier, recover_latents
from lrl_utils.artifacts import MissingArtifactError, load_attack, load_classifier, load_gan, save_gan
from lrl_utils.models import Discriminator

from helpers import REPO

GOOD = torch.zeros(2, 1, 4, 4)


@pytest.mark.parametrize("x, message", [
    (torch.zeros(1, 4, 4), r"shape \[N, C, H, W\]"),
    (torch.full((2, 1, 4, 4), 3.0), r"scaled to \[-1, 1\]"),
    (torch.full((2, 1, 4, 4), 255.0), r"span \[255, 255\]"),
    (torch.tensor([0.0, float("nan")]).repeat(16).view(2, 1, 4, 4), "NaN"),
])
def test_bad_images_are_refused(tiny_generator, x, message):
    with pytest.raises(ValueError, match=message):
        recover_latents(tiny_generator, x, steps=1, restarts=1, progress=False)


def test_images_of_another_size_than_the_generator_makes(tiny_generator):
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 4\), but x has images of shape \(1, 28, 28\)"):
        recover_latents(tiny_generator, torch.zeros(1, 1, 28, 28), steps=1, restarts=1, progress=False)


def test_latent_size_that_does_not_match_the_generator(tiny_generator):
    with pytest.raises(ValueError, match="does not accept latents of size 12"):
        recover_latents(tiny_generator, GOOD, steps=1, restarts=1, latent_dim=12, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"restarts": 0}, "restarts must be an integer >= 1"),
    ({"batch_size": -2}, "batch_size must be an integer >= 1"),
    ({"reference": "gauss"}, "unknown reference 'gauss'"),
    ({"select": "best"}, "unknown select 'best'"),
    ({"alpha": -1.0}, "alpha must be a finite number >= 0; got -1.0"),
    ({"lr": float("inf")}, "lr must be a finite number > 0; got inf"),
    ({"alpha": float("nan")}, "alpha must be a finite number >= 0; got nan"),
    ({"alpha": float("inf")}, "alpha must be a finite number >= 0; got inf"),
    ({"alpha": "1"}, r"alpha must be a finite number >= 0; got '1' \(str\)"),
    ({"steps": float("nan")}, r"steps must be an integer >= 1; got nan \(float\)"),
    ({"restarts": 2.0}, r"restarts must be an integer >= 1; got 2.0 \(float\)"),
    ({"restarts": True}, r"restarts must be an integer >= 1; got True \(bool\)"),
    ({"image_ids": [1.5, 2.0]}, r"each of image_ids must be an integer >= 0; got 1.5"),
    ({"betas": (0.9, 1.0)}, "beta2 must be < 1"),
    ({"image_ids": [1]}, "image_ids must name each of the 2 images"),
])
def test_bad_settings_are_refused(tiny_generator, kwargs, message):
    with pytest.raises(ValueError, match=message):
        recover_latents(tiny_generator, GOOD, **{"steps": 1, "restarts": 1, "progress": False, **kwargs})


def test_fgsm_refuses_bad_inputs():
    model = Classifier()
    with pytest.raises(ValueError, match=r"eps \(the noise magnitude\) must be a finite number >= 0; got -0.1"):
        fgsm(model, torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), -0.1)
    with pytest.raises(ValueError, match="one label per image"):
        fgsm(model, torch.zeros(2, 1, 28, 28), torch.zeros(3, dtype=torch.long), 0.1)


@pytest.mark.parametrize("loader, stage", [(load_classifier, "train_classifier"), (load_gan, "train_generator"),
                                           (load_attack, "attack")])
def test_missing_upstream_artifact_names_its_stage(tmp_path, loader, stage):
    with pytest.raises(MissingArtifactError, match=f"made by the DVC stage '{stage}'. Run `dvc repro {stage}`"):
        loader(tmp_path / "nothing.pt")


def test_missing_quick_profile_artifact_names_the_command_that_makes_it():
    # The notebooks' defaults read quick/...: `dvc repro` would write results/, not quick/.
    with pytest.raises(MissingArtifactError, match=r"quick/models/none.pt not found: .*01_train_classifier.*"
                                                   r"`pytest notebooks`"):
        load_classifier("quick/models/none.pt")


def test_generator_checkpoint_with_another_latent_size(tmp_path):
    path = save_gan(Generator(64), Discriminator(), tmp_path / "gan.pt")
    with pytest.raises(ValueError, match="holds a generator of latent_dim 64, but latent_dim 256 was asked for"):
        load_gan(path, latent_dim=256)
    assert load_gan(path, latent_dim=64)[0].latent_dim == 64


def test_generator_checkpoint_of_another_architecture(tmp_path):
    path = save_gan(Generator(64, "author_gan"), Discriminator("author_gan"), tmp_path / "gan.pt")
    with pytest.raises(ValueError, match="holds a generator of architecture 'author_gan', but architecture 'dcgan' "
                                         "was asked for: retrain the GAN .*or set architecture to 'author_gan'"):
        load_gan(path, architecture="dcgan")
    generator, discriminator = load_gan(path, architecture="author_gan")
    assert (generator.architecture, discriminator.architecture) == ("author_gan", "author_gan")


def test_generator_file_from_before_the_second_family_is_a_dcgan(tmp_path):
    # models/generators/dcgan.pt was saved before files named their architecture
    state = torch.load(REPO / "models" / "generators" / "dcgan.pt", weights_only=True)
    assert "architecture" not in state
    generator, _ = load_gan(REPO / "models" / "generators" / "dcgan.pt", latent_dim=256, architecture="dcgan")
    assert generator.architecture == "dcgan"


def test_unknown_device_is_explained():
    from lrl_utils import resolve_device
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available here"):
        resolve_device("cuda")


def test_unknown_variant_name_names_its_stage_and_params(tmp_path):
    from lrl_utils.reporting import load_variant
    with pytest.raises(MissingArtifactError, match=r"variant 'lrI'.*'recover@lrI'.*`dvc repro recover@lrI`.*params.yaml"):
        load_variant(tmp_path, "lrI")


def test_unknown_defense_inputs_are_refused():
    from lrl_utils.defense import evaluate_defense
    with pytest.raises(ValueError, match="unknown inputs 'noisy': choose one of 'adversarial', 'clean'"):
        evaluate_defense(None, None, {}, "unused", resume_dir="unused", chunk_images=1, inputs="noisy")


@pytest.mark.parametrize("p, message", [(float("nan"), "got nan"), (float("inf"), "got inf"), (0.5, "got 0.5")])
def test_the_restriction_refuses_orders_that_are_not_finite_and_at_least_one(p, message):
    from lrl_utils import latent_restriction_loss
    with pytest.raises(ValueError, match=rf"p \(the order of the Wasserstein distance\) must be a finite number >= 1; {message}"):
        latent_restriction_loss(torch.zeros(2, 8), p=p)


@pytest.mark.parametrize("change, message", [
    ({"eps": float("nan")}, r"eps \(the noise magnitude\) must be a finite number >= 0; got nan"),
    ({"eps": float("inf")}, r"eps \(the noise magnitude\) must be a finite number >= 0; got inf"),
    ({"y": torch.tensor([-100, 1])}, "negative labels"),
    ({"y": torch.tensor([0.0, 1.0])}, "integer tensor of class labels"),
    ({"clip": (1.0, -1.0)}, "low < high"),
])
def test_fgsm_refuses_numbers_that_would_give_garbage(change, message):
    args = {"model": Classifier(), "x": torch.zeros(2, 1, 28, 28), "y": torch.tensor([0, 1]), "eps": 0.3, **change}
    with pytest.raises((ValueError, TypeError), match=message):
        fgsm(**args)


@pytest.mark.parametrize("change, message", [
    ({"eps": float("nan")}, "eps must be a finite number >= 0; got nan"),
    ({"step_size": float("inf")}, "step_size must be a finite number > 0; got inf"),
    ({"y": torch.tensor([-100, 1])}, "negative labels"),
])
def test_pgd_refuses_numbers_that_would_give_garbage(change, message):
    from lrl_utils.adaptive import bpda_pgd, identity_defense
    args = {"x": torch.zeros(2, 1, 28, 28), "y": torch.tensor([0, 1]), "eps": 0.3, "step_size": 0.1, "steps": 1,
            **change}
    with pytest.raises(ValueError, match=message):
        bpda_pgd(Classifier(), identity_defense, image_ids=[0, 1], **args)


@pytest.mark.parametrize("values, message", [
    ([3, 7, 7], r"per-image results, True/False or 1/0; got values such as \[3, 7\]"),
    (None, "1-D sequence of per-image results .* got None"),
    ([[True, False]], r"1-D sequence .* shape \(1, 2\)"),
    ([], "empty"),
])
def test_an_accuracy_needs_per_image_results(values, message):
    from lrl_utils import accuracy_ci
    with pytest.raises(ValueError, match=message):
        accuracy_ci(values)


def test_mcnemar_needs_paired_per_image_results():
    from lrl_utils import mcnemar_exact
    with pytest.raises(ValueError, match="empty"):
        mcnemar_exact([], [])
    with pytest.raises(ValueError, match="1-D"):
        mcnemar_exact([[True] * 3] * 2, [[True] * 2] * 3)
    with pytest.raises(ValueError, match="same images"):
        mcnemar_exact([True, False], [True, False, True])


def test_paired_tests_pair_by_image_and_refuse_what_does_not_pair():
    import pandas as pd
    from lrl_utils.reporting import paired_correct
    a = pd.DataFrame({"index": [5, 9, 2], "label": [1, 1, 1], "pred_defended": [1, 0, 1]})
    b = pd.DataFrame({"index": [2, 5, 9], "label": [1, 1, 1], "pred_defended": [0, 1, 1]})
    right_a, right_b = paired_correct(a, b)
    assert right_a.tolist() == [True, False, True] and right_b.tolist() == [True, True, False]  # by index
    c = pd.DataFrame({"index": [5, 9, 3], "label": [1, 1, 1], "pred_defended": [1, 0, 1]})
    with pytest.raises(ValueError, match="'a' and 'b' were evaluated on different images .1 only in 'a', 1 only in 'b'"):
        paired_correct(a, c)


@pytest.mark.parametrize("loader, stage", [(load_classifier, "train_classifier"), (load_gan, "train_generator"),
                                           (load_attack, "attack")])
@pytest.mark.parametrize("damage", ["truncated", "random", "empty", "other kind"])
def test_a_corrupt_artifact_names_the_file_what_was_expected_and_its_stage(tmp_path, loader, stage, damage):
    import random
    from lrl_utils.artifacts import CorruptArtifactError, save_classifier
    path = tmp_path / "artifact.pt"
    good = save_classifier(Classifier(), tmp_path / "good.pt").read_bytes()
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "random":
        path.write_bytes(random.Random(0).randbytes(2000))  # seeded: the same bytes on every run
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"something": torch.zeros(2)}, path)
    if loader is load_classifier and damage == "other kind":
        torch.save({"state_dict": {"w": torch.zeros(2)}, "architecture": "model_a"}, path)  # keys there, weights not
    with pytest.raises(CorruptArtifactError, match=rf"{path}.*`dvc repro {stage}`") as raised:
        loader(path)
    assert "weights_only" not in str(raised.value)


@pytest.mark.parametrize("chunk_images", [0, 2.0, True])
def test_resumable_runs_refuse_chunk_sizes_that_are_not_positive_integers(tiny_generator, tmp_path, chunk_images):
    from lrl_utils import recover_latents_resumable
    with pytest.raises(ValueError, match=rf"chunk_images must be an integer >= 1; got {chunk_images!r}"):
        recover_latents_resumable(tiny_generator, GOOD, [0, 1], tmp_path, chunk_images=chunk_images, steps=1,
                                  restarts=1, progress=False)
    assert not list(tmp_path.iterdir())  # refused before any cache folder was made


@pytest.mark.parametrize("n, seed, message", [(10.0, 0, "eval_images"), (10, 0.5, "eval_seed"), (10, -1, "eval_seed")])
def test_the_evaluation_draw_refuses_numbers_it_would_truncate(n, seed, message):
    from lrl_utils import eval_indices
    with pytest.raises(ValueError, match=rf"{message}.* must be an integer"):
        eval_indices(10000, n, seed)
