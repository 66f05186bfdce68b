import pytest
import torch

from lrl_utils import Generator, fgsm, Classifier, recover_latents
from lrl_utils.artifacts import MissingArtifactError, load_attack, load_classifier, load_gan, save_gan
from lrl_utils.models import Discriminator

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
    ({"alpha": -1.0}, "alpha .* must be >= 0"),
    ({"image_ids": [1]}, "image_ids must name each of the 2 images"),
])
def test_bad_settings_are_refused(tiny_generator, kwargs, message):
    with pytest.raises(ValueError, match=message):
        recover_latents(tiny_generator, GOOD, **{"steps": 1, "restarts": 1, "progress": False, **kwargs})


def test_fgsm_refuses_bad_inputs():
    model = Classifier()
    with pytest.raises(ValueError, match="eps .* must be >= 0"):
        fgsm(model, torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long), -0.1)
    with pytest.raises(ValueError, match="one label per image"):
        fgsm(model, torch.zeros(2, 1, 28, 28), torch.zeros(3, dtype=torch.long), 0.1)


@pytest.mark.parametrize("loader, stage", [(load_classifier, "train_classifier"), (load_gan, "train_gan"),
                                           (load_attack, "attack")])
def test_missing_upstream_artifact_names_its_stage(tmp_path, loader, stage):
    with pytest.raises(MissingArtifactError, match=f"made by the DVC stage '{stage}'. Run `dvc repro {stage}`"):
        loader(tmp_path / "nothing.pt")


def test_generator_checkpoint_with_another_latent_size(tmp_path):
    path = save_gan(Generator(64), Discriminator(), tmp_path / "gan.pt")
    with pytest.raises(ValueError, match="holds a generator with a 64-d latent, but latent_dim=256"):
        load_gan(path, latent_dim=256)
    assert load_gan(path, latent_dim=64)[0].latent_dim == 64


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
