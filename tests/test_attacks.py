import pytest
import torch
import torch.nn.functional as F

from lrl_utils import Classifier, fgsm


def _model_and_batch():
    torch.manual_seed(0)
    model = Classifier().train()  # fgsm must switch dropout off itself
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    y = torch.arange(6) % 10
    return model, x, y


def test_eps_zero_is_identity():
    model, x, y = _model_and_batch()
    torch.testing.assert_close(fgsm(model, x, y, 0.0), x, atol=0, rtol=0)


def test_step_is_eps_times_gradient_sign_and_model_mode_is_restored():
    model, x, y = _model_and_batch()
    model.eval()
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(model(xg), y).backward()  # independent computation, mean reduction
    expected = x + 0.05 * xg.grad.sign()
    model.train()
    x_adv = fgsm(model, x, y, 0.05)
    torch.testing.assert_close(x_adv, expected.clamp(-1, 1), atol=1e-6, rtol=0)
    assert model.training


def test_clipping_to_the_data_range():
    model, x, y = _model_and_batch()
    x_adv = fgsm(model, x, y, 0.7)
    assert x_adv.min() >= -1 and x_adv.max() <= 1
    unclipped = fgsm(model, x, y, 0.7, clip=None)
    step = (unclipped - x).abs()
    assert (((step - 0.7).abs() < 1e-6) | (step == 0)).all()  # sign(0) = 0 where the gradient vanishes
    assert (step > 0).float().mean() > 0.5
    assert torch.equal(x_adv, unclipped.clamp(-1, 1))
    assert ((unclipped > 1) | (unclipped < -1)).float().mean() > 0.1  # eps 0.7 pushes many pixels past the range


def test_fgsm_lowers_accuracy_of_a_model_that_fits_the_batch():
    model, x, y = _model_and_batch()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.eval()
    for _ in range(50):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    assert (model(x).argmax(1) == y).all()
    assert (model(fgsm(model, x, y, 0.3)).argmax(1) == y).float().mean() < 1


def test_fgsm_in_batches_equals_one_call_and_refuses_empty_batches():
    from lrl_utils import fgsm_in_batches
    torch.manual_seed(0)
    model = Classifier().eval()
    x = torch.rand(23, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    y = torch.arange(23) % 10
    torch.testing.assert_close(fgsm_in_batches(model, x, y, 0.3, batch_size=5), fgsm(model, x, y, 0.3),
                               atol=0, rtol=0)
    with pytest.raises(ValueError, match="batch_size"):
        fgsm_in_batches(model, x, y, 0.3, batch_size=0)
