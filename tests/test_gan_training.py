"""training.train_gan's checkpoints and kept epoch, the FID tracked per epoch, and float16 storage
(artifacts.stored_weights / round_weights, save_gan / load_gan)."""
import math

import pytest
import torch

from lrl_utils import Classifier, checkpoint_path, train_gan
from lrl_utils.artifacts import load_gan, round_weights, save_gan, stored_weights
from lrl_utils.sample_measures import features, fid_tracker, frechet_distance, samples

LATENT = 8


def _images(n=96, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _train(epochs=3, **options):
    return train_gan(_images(), epochs=epochs, batch_size=32, latent_dim=LATENT, seed=0, progress=False, **options)


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def _fake_fid(values):
    """An ``evaluate`` whose epoch i returns fid_train values[i] (and counts its calls)."""
    calls = []

    def evaluate(generator):
        calls.append(1)
        return {"fid_train": values[len(calls) - 1]}
    return evaluate, calls


class Interrupt(Exception):
    pass


def test_a_run_cut_off_after_an_epoch_resumes_to_the_uninterrupted_result(tmp_path):
    whole_g, whole_d, whole_history = _train()
    checkpoint = tmp_path / "run.pt"

    def cut_off_in_epoch_two(generator):
        if cut_off_in_epoch_two.calls == 1:
            raise Interrupt  # after epoch 1 was checkpointed, before epoch 2 is
        cut_off_in_epoch_two.calls += 1
        return {"fid_train": 1.0}
    cut_off_in_epoch_two.calls = 0
    with pytest.raises(Interrupt):
        _train(evaluate=cut_off_in_epoch_two, checkpoint=checkpoint)
    assert torch.load(checkpoint, weights_only=False)["history"][-1]["epoch"] == 1
    evaluate, calls = _fake_fid([1.0] * 3)
    resumed_g, resumed_d, history = _train(evaluate=evaluate, checkpoint=checkpoint)
    assert len(calls) == 2  # epochs 2 and 3 only: epoch 1 came from the checkpoint
    assert _same_weights(resumed_g, whole_g) and _same_weights(resumed_d, whole_d)
    assert [r["loss_d"] for r in history] == [r["loss_d"] for r in whole_history]
    assert [r["epoch"] for r in history] == [1, 2, 3]


def test_best_fid_keeps_the_weights_of_the_epoch_of_lowest_fid():
    evaluate, _ = _fake_fid([5.0, 2.0, 3.0])
    kept_g, _, history = _train(evaluate=evaluate, keep="best_fid")
    two_epochs_g, _, _ = _train(epochs=2)  # the same stream: epoch 2 of a 3-epoch run
    assert _same_weights(kept_g, two_epochs_g)
    assert [r["kept"] for r in history] == [False, True, False]
    last_g, _, last_history = _train(evaluate=_fake_fid([5.0, 2.0, 3.0])[0], keep="last")
    assert not _same_weights(last_g, kept_g) and [r["kept"] for r in last_history] == [False, False, True]


def test_evaluating_each_epoch_does_not_change_the_training():
    plain_g, _, _ = _train(epochs=2)
    measured_g, _, _ = _train(epochs=2, evaluate=lambda g: {"fid_train": samples(g, 16, LATENT, 3).mean().item()})
    assert _same_weights(plain_g, measured_g)


def test_bad_keep_settings_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="keep must be one of"):
        _train(keep="best")
    with pytest.raises(ValueError, match="needs evaluate"):
        _train(keep="best_fid")


def test_the_checkpoint_name_changes_with_any_setting_or_tensor(tmp_path):
    x = _images()
    base = checkpoint_path(tmp_path, "g", {"epochs": 3, "lr": 1e-3}, {"x": x})
    assert base == checkpoint_path(tmp_path, "g", {"lr": 1e-3, "epochs": 3}, {"x": x.clone()})
    assert base.parent == tmp_path and base.name.startswith("g-")
    others = {checkpoint_path(tmp_path, "g", {"epochs": 4, "lr": 1e-3}, {"x": x}),
              checkpoint_path(tmp_path, "g", {"epochs": 3, "lr": 1e-3}, {"x": x + 1e-6}),
              checkpoint_path(tmp_path, "h", {"epochs": 3, "lr": 1e-3}, {"x": x})}
    assert base not in others and len(others) == 3


def test_float16_storage_halves_the_file_and_loads_the_rounded_network(tmp_path):
    generator, discriminator, _ = _train(epochs=1)
    save_gan(generator, discriminator, tmp_path / "full.pt", weights="float32")
    save_gan(generator, discriminator, tmp_path / "half.pt", weights="float16")
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size
    loaded, _ = load_gan(tmp_path / "half.pt", latent_dim=LATENT)
    assert all(v.dtype == torch.float32 for v in loaded.state_dict().values() if v.is_floating_point())
    rounded = round_weights(generator, "float16")  # in place: the network as the file holds it
    assert _same_weights(loaded, rounded)
    z = torch.randn(4, LATENT)
    assert torch.equal(loaded(z), rounded(z))
    assert torch.equal(round_weights(rounded, "float32").state_dict()["project.0.weight"],
                       loaded.state_dict()["project.0.weight"])  # float32 changes nothing
    weight = stored_weights(generator, "float16")["project.0.weight"]
    assert weight.dtype == torch.float16
    with pytest.raises(ValueError, match="weights must be one of"):
        stored_weights(generator, "int8")


def test_the_fid_tracker_measures_the_generator_as_stored():
    generator, _, _ = _train(epochs=1)
    feature_net = Classifier("small_convnet").eval()
    reference = _images(64, seed=1)
    evaluate = fid_tracker(feature_net, reference, 64, LATENT, seed=2, weights="float16")
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    measured = evaluate(generator)["fid_train"]
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())  # the trained weights untouched
    stored = round_weights(_train(epochs=1)[0], "float16")
    expected = frechet_distance(features(feature_net, reference), features(feature_net, samples(stored, 64, LATENT, 2)))
    assert measured == pytest.approx(expected, rel=1e-12) and measured > 0


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_a_damaged_checkpoint_is_refused_with_its_path_and_what_to_do(tmp_path, content):
    checkpoint = tmp_path / "run.pt"
    if content is None:  # a torch file, but not a GAN run's state
        torch.save({"generator": {}}, checkpoint)
    else:
        checkpoint.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{checkpoint} cannot be resumed from.*delete it to train from the first epoch"):
        _train(checkpoint=checkpoint)
    assert checkpoint.exists()  # the user's file is left as it was


def test_a_longer_run_continues_a_shorter_ones_checkpoint_and_a_shorter_one_is_refused(tmp_path):
    checkpoint = tmp_path / "run.pt"
    _train(epochs=2, checkpoint=checkpoint)
    evaluate, calls = _fake_fid([1.0] * 3)
    continued_g, _, history = _train(epochs=3, evaluate=evaluate, checkpoint=checkpoint)
    assert len(calls) == 1 and [r["epoch"] for r in history] == [1, 2, 3]
    assert _same_weights(continued_g, _train(epochs=3)[0])
    before = checkpoint.read_bytes()
    with pytest.raises(ValueError, match=r"holds 3 epochs of this run, more than epochs=2"):
        _train(epochs=2, checkpoint=checkpoint)
    assert checkpoint.read_bytes() == before


def test_the_gan_losses_have_their_known_values():
    from lrl_utils.training import GAN_LOSSES
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-1.0, 0.5])
    softplus = lambda v: math.log1p(math.exp(v))  # -log sigmoid(-v)
    nonsaturating = GAN_LOSSES["nonsaturating"]
    # binary cross-entropy, averaged over the batch: real -> 1 costs softplus(-s), fake -> 0 costs softplus(s)
    assert nonsaturating.d(real, fake).item() == pytest.approx(
        (softplus(-2.0) + softplus(-0.5)) / 2 + (softplus(-1.0) + softplus(0.5)) / 2, rel=1e-6)
    assert nonsaturating.g(fake).item() == pytest.approx((softplus(1.0) + softplus(-0.5)) / 2, rel=1e-6)
    least_squares = GAN_LOSSES["least_squares"]
    # per image (D(x) - 1)^2 + D(G(z))^2, averaged: ((1 + 1) + (0.25 + 0.25)) / 2
    assert least_squares.d(real, fake).item() == pytest.approx(1.25)
    assert least_squares.g(fake).item() == pytest.approx((4 + 0.25) / 2)  # (D(G(z)) - 1)^2
    assert torch.equal(least_squares.belief(real), real)


def test_the_authors_gan_trains_by_least_squares_and_comes_back_from_its_file(tmp_path):
    generator, discriminator, history = _train(epochs=2, architecture="author_gan", loss="least_squares")
    assert (generator.architecture, discriminator.architecture) == ("author_gan", "author_gan")
    assert all(math.isfinite(row[k]) for row in history for k in ("loss_d", "loss_g", "d_real", "d_fake"))
    again, _, history_again = _train(epochs=2, architecture="author_gan", loss="least_squares")
    assert _same_weights(generator, again) and history_again[-1]["loss_g"] == history[-1]["loss_g"]  # seeded
    save_gan(generator, discriminator, tmp_path / "gan.pt")
    loaded, _ = load_gan(tmp_path / "gan.pt", latent_dim=LATENT, architecture="author_gan")
    z = torch.randn(4, LATENT)
    with torch.no_grad():
        assert torch.equal(loaded(z), generator(z)) and loaded(z).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="loss must be one of"):
        _train(epochs=1, loss="hinge")


def test_least_squares_steps_move_the_discriminator_towards_real_1_and_fake_0():
    from lrl_utils.models import Discriminator, Generator
    from lrl_utils.training import gan_step
    torch.manual_seed(0)
    generator, discriminator = Generator(LATENT, "author_gan"), Discriminator("author_gan")
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    real, noise = _images(16), torch.randn(16, LATENT)
    scores = [gan_step(generator, discriminator, opt_g, opt_d, real, noise, "least_squares") for _ in range(15)]
    first, last = scores[0], scores[-1]
    assert last[0] < first[0]  # the discriminator's loss fell
    # nearer the targets: real scores to 1, fake ones to 0
    assert ((last[2] - 1) ** 2).mean() < ((first[2] - 1) ** 2).mean() and (last[3] ** 2).mean() < (first[3] ** 2).mean()
