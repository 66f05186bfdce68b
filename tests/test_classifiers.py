"""The classifier architectures (lrl_utils.models) and the undefended comparison (lrl_utils.fragility)."""
import pytest
import torch

from helpers import REPO
from lrl_utils import artifacts, fgsm, predict
from lrl_utils.fragility import fragility_table, summary, undefended_accuracy
from lrl_utils.models import CLASSIFIER_ARCHITECTURES, Classifier, Discriminator, Generator

PARAMETERS = {"model_a": 924_746, "model_a_same": 1_285_194, "model_a_no_dropout": 924_746,
              "model_b": 710_218, "model_c": 1_387_210, "model_d": 199_210,
              "small_convnet": 320 + 18_496 + 401_536 + 1_290,  # 1*32*9+32, 32*64*9+64, 64*7*7*128+128, 128*10+10
              # convolutions without bias, InstanceNorm's scale and shift per channel, the linear layer:
              # 1*32*9 + 2*32, 32*64*9 + 2*64*64*9 + 3*2*64, 64*128*9 + 2*128*128*9 + 3*2*128, 128*7*7*10+10
              "author_convnet": 352 + 92_544 + 369_408 + 62_730}


@pytest.mark.parametrize("architecture, generator_parameters, discriminator_parameters", [
    # DCGAN: Linear 256 -> 128*7*7 without bias, batch norms' scale and shift, two transposed convolutions;
    # its discriminator: 1*64*16+64, 64*128*16, 2*128, 128*7*7+1
    ("dcgan", 256 * 6272 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 16 + 1, 1_088 + 131_072 + 256 + 6_273),
    # the author's: Linear 256 -> 128*7*7 with bias, InstanceNorm (128), 128*64*9 + 2*64*64*9 + 3*2*64,
    # 64*32*9 + 2*32*32*9 + 3*2*32, the 1x1 convolution 32 + 1; his discriminator is author_convnet with one output
    ("author_gan", 256 * 6272 + 6272 + 256 + 147_840 + 37_056 + 33, 352 + 92_544 + 369_408 + 6_273),
])
def test_both_gans_give_images_and_scores_with_their_known_size(architecture, generator_parameters,
                                                                 discriminator_parameters):
    generator, discriminator = Generator(256, architecture), Discriminator(architecture)
    images = generator(torch.randn(3, 256))
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1 and discriminator(images).shape == (3,)
    assert sum(p.numel() for p in generator.parameters()) == generator_parameters
    assert sum(p.numel() for p in discriminator.parameters()) == discriminator_parameters


@pytest.mark.parametrize("architecture", CLASSIFIER_ARCHITECTURES)
def test_every_architecture_gives_ten_logits_with_its_known_size(architecture):
    model = Classifier(architecture)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # counted by hand from the layer shapes, e.g. model_d: 784*200+200 + 200*200+200 + 200*10+10
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[architecture]


def test_model_a_is_the_paper_runs_network():
    path = REPO / "models" / "classifiers" / "model_a.pt"
    assert torch.load(path, weights_only=True)["architecture"] == "model_a"
    model = artifacts.load_classifier(path)
    assert model.architecture == "model_a"
    # Model A's first convolution is VALID (28 -> 24); Defense-GAN's code pads it (SAME, 28 -> 28)
    assert model.net[0](torch.zeros(1, 1, 28, 28)).shape[-1] == 24
    assert Classifier("model_a_same").net[0](torch.zeros(1, 1, 28, 28)).shape[-1] == 28


def test_a_saved_classifier_comes_back_with_its_architecture(tmp_path):
    torch.manual_seed(0)
    model = Classifier("model_b").eval()
    artifacts.save_classifier(model, tmp_path / "b.pt")
    loaded = artifacts.load_classifier(tmp_path / "b.pt")
    assert loaded.architecture == "model_b"
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert torch.equal(loaded(x), model(x))


def test_an_unknown_architecture_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown classifier architecture 'resnet'; the architectures are model_a, "):
        Classifier("resnet")


def test_undefended_accuracy_of_each_attack():
    torch.manual_seed(0)
    model = Classifier("model_d").eval()
    x = torch.rand(30, 1, 28, 28) * 2 - 1
    y = predict(model, x)  # labels the network gets right: clean accuracy 100 %
    y[:6] = (y[:6] + 1) % 10  # ... but for 6 of the 30
    pgd = {"eps": 0.3, "step_size": 0.1, "steps": 3}
    rows = undefended_accuracy(model, x, y, magnitudes=[0.3, 0.0], pgd=pgd)
    assert [(r["attack"], r["eps"]) for r in rows] == [("clean", 0.0), ("FGSM", 0.0), ("FGSM", 0.3), ("PGD-3", 0.3)]
    assert rows[0]["accuracy %"] == rows[1]["accuracy %"] == pytest.approx(80.0)  # FGSM 0 changes nothing
    assert rows[2]["accuracy %"] == pytest.approx(100 * (predict(model, fgsm(model, x, y, 0.3)) == y).float().mean())
    assert all(r["ci low %"] <= r["accuracy %"] <= r["ci high %"] and r["n"] == 30 for r in rows)
    table = fragility_table({"d": model, "d again": model}, x, y, magnitudes=[0.3], pgd=pgd)
    assert list(table.classifier.unique()) == ["d", "d again"]
    short = summary(table, 0.3)
    assert list(short.columns) == ["unattacked %", "FGSM 0.3 %", "PGD %"]
    assert short.loc["d", "unattacked %"] == pytest.approx(80.0)
    assert short.loc["d", "FGSM 0.3 %"] == pytest.approx(rows[2]["accuracy %"])
    assert short.loc["d"].equals(short.loc["d again"])
