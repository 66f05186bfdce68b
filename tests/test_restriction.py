import numpy as np
import pytest
import torch
from scipy.stats import norm, wasserstein_distance

from lrl_utils import latent_restriction_loss, project_to_sphere, restriction_term, standard_normal_quantiles


def test_quantiles_are_standard_normal_midpoints():
    q = standard_normal_quantiles(7, dtype=torch.float64)
    expected = norm.ppf((np.arange(1, 8) - 0.5) / 7)
    np.testing.assert_allclose(q.numpy(), expected, atol=1e-12)


def test_matches_scipy_against_the_quantile_reference():
    z = torch.randn(5, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1.3 + 0.2
    q = standard_normal_quantiles(256, dtype=torch.float64).numpy()
    ours = latent_restriction_loss(z)
    for row, value in zip(z.numpy(), ours):
        assert value.item() == pytest.approx(wasserstein_distance(row, q), abs=1e-6)


@pytest.mark.parametrize("m", [1000, 10_000, 100])
def test_matches_scipy_against_a_sample_of_another_size(m):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(3, 256, generator=gen, dtype=torch.float64) * 0.7
    sample = torch.randn(m, generator=gen, dtype=torch.float64)
    ours = latent_restriction_loss(z, sample)
    for row, value in zip(z.numpy(), ours):
        assert value.item() == pytest.approx(wasserstein_distance(row, sample.numpy()), abs=1e-6)


def test_fresh_samples_are_drawn_from_the_given_generator():
    z = torch.randn(2, 256, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ours = latent_restriction_loss(z, "samples", sample_size=10_000, generator=torch.Generator().manual_seed(9))
    sample = torch.randn(10_000, generator=torch.Generator().manual_seed(9)).double().numpy()
    for row, value in zip(z.numpy(), ours):
        assert value.item() == pytest.approx(wasserstein_distance(row, sample), abs=1e-6)
    again = latent_restriction_loss(z, "samples", generator=torch.Generator().manual_seed(10))
    assert not torch.equal(ours, again)  # a new sample each call


def _w2_by_integration(a, b, points=2_000_000):
    u = (np.arange(points) + 0.5) / points
    qa = np.quantile(a, u, method="inverted_cdf")
    qb = np.quantile(b, u, method="inverted_cdf")
    return np.sqrt(np.mean((qa - qb) ** 2))


@pytest.mark.parametrize("m", [256, 999])
def test_wasserstein_2_matches_numerical_integration(m):
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(1, 256, generator=gen, dtype=torch.float64) * 1.5
    ref = torch.randn(m, generator=gen, dtype=torch.float64)
    ours = latent_restriction_loss(z, ref, p=2).item()
    assert ours == pytest.approx(_w2_by_integration(z[0].numpy(), ref.numpy()), abs=1e-4)


def test_paper_permutation_example():
    a = torch.tensor([[1.5, 2.0, -0.5]])
    b = torch.tensor([[2.0, -0.5, 1.5]])
    assert latent_restriction_loss(a, b[0]).item() == pytest.approx(0.0, abs=1e-7)
    assert latent_restriction_loss(a).item() == pytest.approx(latent_restriction_loss(b).item(), abs=1e-7)


def test_permutation_invariance_in_the_elements():
    z = torch.randn(4, 256, generator=torch.Generator().manual_seed(4))
    perm = torch.randperm(256, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(latent_restriction_loss(z[:, perm]), latent_restriction_loss(z))


def test_gradient_flows_and_pulls_towards_the_reference():
    z = (torch.randn(2, 256, generator=torch.Generator().manual_seed(6)) * 3).requires_grad_(True)
    loss = latent_restriction_loss(z).sum()
    loss.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    with torch.no_grad():
        stepped = z - 0.5 * z.grad * 256
    assert latent_restriction_loss(stepped).sum() < loss


def test_near_zero_for_a_large_standard_normal_latent():
    z = torch.randn(1, 200_000, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    assert latent_restriction_loss(z).item() < 0.01
    assert latent_restriction_loss(z * 2).item() > 0.5  # and clearly not for N(0, 4)


def test_rejects_unknown_reference_and_bad_shapes():
    with pytest.raises(ValueError, match="unknown reference 'gaussian'"):
        latent_restriction_loss(torch.zeros(1, 4), "gaussian")
    with pytest.raises(ValueError, match=r"shape \[batch, d\]"):
        latent_restriction_loss(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match=r"p \(the order of the Wasserstein distance\) must be a finite number >= 1; got 0.5"):
        latent_restriction_loss(torch.zeros(1, 4), p=0.5)


def test_restriction_terms_of_the_ablations_against_numpy():
    z = torch.randn(5, 256, generator=torch.Generator().manual_seed(3)) * 1.7 + 0.4
    zn = z.double().numpy()
    torch.testing.assert_close(restriction_term(z, "w1"), latent_restriction_loss(z, "quantiles", p=1))
    torch.testing.assert_close(restriction_term(z, "w2"), latent_restriction_loss(z, "quantiles", p=2))
    nll = restriction_term(z, "gaussian_nll").double().numpy()
    np.testing.assert_allclose(nll, (zn ** 2).mean(axis=1), rtol=1e-5)
    # moments = W2^2 between N(mean, std^2) fitted to the elements and N(0, 1)
    moments = restriction_term(z, "moments").double().numpy()
    np.testing.assert_allclose(moments, zn.mean(axis=1) ** 2 + (zn.std(axis=1) - 1) ** 2, rtol=1e-4)
    assert (moments > 0.3).all()                     # far from N(0, 1): mean 0.4, std 1.7
    exact = standard_normal_quantiles(256).unsqueeze(0)
    assert restriction_term(exact, "moments").item() < 1e-3


def test_restriction_terms_are_permutation_invariant_and_reject_unknown_names():
    z = torch.randn(2, 64, generator=torch.Generator().manual_seed(4))
    shuffled = z[:, torch.randperm(64, generator=torch.Generator().manual_seed(5))]
    for name in ("w1", "w2", "gaussian_nll", "moments"):
        torch.testing.assert_close(restriction_term(shuffled, name), restriction_term(z, name))
    with pytest.raises(ValueError, match="no loss term"):
        restriction_term(z, "sphere")
    with pytest.raises(ValueError, match="unknown restriction 'w3'.*'w1'"):
        restriction_term(z, "w3")


def test_projection_to_the_sphere_keeps_direction_and_sets_the_norm():
    z = torch.randn(3, 256, generator=torch.Generator().manual_seed(6)) * 0.2
    projected = project_to_sphere(z)
    torch.testing.assert_close(projected.norm(dim=1), torch.full((3,), 16.0))
    torch.testing.assert_close(torch.nn.functional.cosine_similarity(projected, z), torch.ones(3))
