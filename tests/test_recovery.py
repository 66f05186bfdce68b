import pytest
import torch

from lrl_utils import Generator, initial_latents, recover_latents, recover_latents_resumable, select_restarts


def _images(generator, n, seed=0):
    with torch.no_grad():
        return generator(torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed)))


def test_finds_a_planted_latent(tiny_generator):
    x = _images(tiny_generator, 4)
    result = recover_latents(tiny_generator, x, steps=400, lr=0.05, restarts=3, progress=False)
    assert result.reconstruction_mse.max().item() < 1e-4
    torch.testing.assert_close(result.x_rec, x, atol=2e-2, rtol=0)
    assert result.z.shape == (4, 8) and result.restart_z.shape == (4, 3, 8)


def test_result_is_independent_of_batch_and_chunking(tiny_generator):
    x = _images(tiny_generator, 6, seed=1)
    kwargs = dict(steps=30, lr=0.01, restarts=4, alpha=1.0, progress=False)
    whole = recover_latents(tiny_generator, x, **kwargs)
    for batch_size in (1, 5, 24):
        chunked = recover_latents(tiny_generator, x, batch_size=batch_size, **kwargs)
        torch.testing.assert_close(chunked.restart_z, whole.restart_z, atol=1e-5, rtol=0)
    alone = recover_latents(tiny_generator, x[3:4], image_ids=[3], **kwargs)
    torch.testing.assert_close(alone.z[0], whole.z[3], atol=1e-5, rtol=0)
    torch.testing.assert_close(alone.restart_reconstruction_mse[0], whole.restart_reconstruction_mse[3],
                               atol=1e-6, rtol=0)


@pytest.mark.parametrize("architecture", ["dcgan", "author_gan"])  # batch norm in eval mode; InstanceNorm per image
def test_independent_of_batch_with_either_gan_and_sampled_reference(architecture):
    torch.manual_seed(0)
    generator = Generator(256, architecture).eval()
    x = _images(generator, 3, seed=2).clamp(-1, 1)
    kwargs = dict(steps=5, restarts=2, alpha=1.0, reference="samples", progress=False)
    whole = recover_latents(generator, x, **kwargs)
    alone = recover_latents(generator, x[2:], image_ids=[2], batch_size=1, **kwargs)
    # Equal within rounding: other batch sizes sum in other orders, and Adam's step (m / sqrt(v)) magnifies
    # that where a gradient element is near 0; more so through the author's eight normalised layers.
    atol = {"dcgan": 1e-5, "author_gan": 1e-4}[architecture]
    torch.testing.assert_close(alone.restart_z[0], whole.restart_z[2], atol=atol, rtol=0)


def test_restarts_start_from_seeded_standard_normal_draws(tiny_generator):
    x = _images(tiny_generator, 2)
    result = recover_latents(tiny_generator, x, steps=1, lr=1e-9, restarts=3, seed=5, progress=False)
    torch.testing.assert_close(result.restart_z, initial_latents(5, [0, 1], 3, 8), atol=1e-6, rtol=0)
    z = initial_latents(0, range(200), 10, 256)
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    assert not torch.equal(initial_latents(0, [0], 1, 8), initial_latents(1, [0], 1, 8))


def test_restriction_pulls_latents_towards_the_normal(tiny_generator):
    x = _images(tiny_generator, 4, seed=3)
    kwargs = dict(steps=100, lr=0.05, restarts=2, progress=False)
    free = recover_latents(tiny_generator, x, alpha=0.0, **kwargs)
    restricted = recover_latents(tiny_generator, x, alpha=10.0, **kwargs)
    assert restricted.restart_restriction.mean() < free.restart_restriction.mean()


def test_selection_rules():
    mse = torch.tensor([[0.10, 0.20, 0.30], [0.5, 0.4, 0.6]])
    restriction = torch.tensor([[0.90, 0.15, 0.00], [0.0, 0.3, 0.0]])
    assert select_restarts(mse, restriction, 1.0, "reconstruction").tolist() == [0, 1]
    assert select_restarts(mse, restriction, 1.0, "total").tolist() == [2, 0]
    assert select_restarts(mse, restriction, 0.0, "total").tolist() == [0, 1]


def test_kept_restart_follows_the_selection_rule(tiny_generator):
    x = _images(tiny_generator, 5, seed=4)
    result = recover_latents(tiny_generator, x, steps=20, lr=0.01, restarts=4, alpha=1.0, progress=False)
    assert torch.equal(result.best_restart, result.restart_reconstruction_mse.argmin(1))
    torch.testing.assert_close(result.reconstruction_mse, result.restart_reconstruction_mse.min(1).values)
    total = recover_latents(tiny_generator, x, steps=20, lr=0.01, restarts=4, alpha=1.0, select="total",
                            progress=False)
    score = total.restart_reconstruction_mse + total.restart_restriction
    assert torch.equal(total.best_restart, score.argmin(1))


def test_generator_is_frozen_in_eval_mode_and_restored(tiny_generator):
    tiny_generator.train()
    tiny_generator.linear.weight.requires_grad_(True)
    tiny_generator.linear.bias.requires_grad_(False)
    before = {k: v.clone() for k, v in tiny_generator.state_dict().items()}
    seen = []
    tiny_generator.register_forward_pre_hook(lambda m, _: seen.append((m.training, m.linear.weight.requires_grad)))
    recover_latents(tiny_generator, torch.zeros(2, 1, 4, 4), steps=3, restarts=2, progress=False)
    assert seen and all(mode == (False, False) for mode in seen)
    assert tiny_generator.training
    assert tiny_generator.linear.weight.requires_grad and not tiny_generator.linear.bias.requires_grad
    for k, v in tiny_generator.state_dict().items():
        assert torch.equal(v, before[k]), k  # BatchNorm running stats untouched too


def test_resumable_recovery_equals_one_call_and_resumes(tiny_generator, tmp_path):
    x = _images(tiny_generator, 5, seed=5)
    ids = [10, 20, 30, 40, 50]
    settings = dict(steps=15, lr=0.01, restarts=2, alpha=1.0, progress=False)
    whole = recover_latents(tiny_generator, x, image_ids=ids, **settings)
    logs = []
    first = recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=2, log=logs.append, **settings)
    torch.testing.assert_close(first.restart_z, whole.restart_z, atol=1e-5, rtol=0)
    (chunk_dir,) = list(tmp_path.iterdir())
    assert sorted(p.name for p in chunk_dir.glob("chunk_*.pt")) == [
        "chunk_000000-000001.pt", "chunk_000002-000003.pt", "chunk_000004-000004.pt"]
    (chunk_dir / "chunk_000002-000003.pt").unlink()  # as if the run had been cut off there
    logs.clear()
    again = recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=2, log=logs.append, **settings)
    assert [line.split(":")[1].strip().split(",")[0] for line in logs] == [
        "loaded from " + str(chunk_dir / "chunk_000000-000001.pt"), "recovered",
        "loaded from " + str(chunk_dir / "chunk_000004-000004.pt")]
    torch.testing.assert_close(again.z, first.z, atol=0, rtol=0)
    timing = {}
    recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=2, log=logs.append, timing=timing,
                              **settings)
    recorded = [torch.load(path)["compute_seconds"] for path in sorted(chunk_dir.glob("chunk_*.pt"))]
    assert all(s > 0 for s in recorded)  # each chunk keeps the seconds it took, across the resume
    threads = str(torch.get_num_threads())
    assert timing == {"chunk_seconds": round(sum(recorded), 1), "chunks_loaded": 3, "chunks_computed": 0,
                      "chunk_torch_threads": {threads: 3}}
    other = recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=2, log=logs.append,
                                      **{**settings, "alpha": 0.0})
    assert len(list(tmp_path.iterdir())) == 2  # other settings, another folder: nothing reused or overwritten
    assert not torch.equal(other.z, first.z)


def test_latent_movement_is_measured_from_the_seeded_init(tiny_generator):
    import dataclasses
    from lrl_utils.ablations import latent_movement
    x = _images(tiny_generator, 3, seed=6)
    ids = [7, 8, 9]
    result = recover_latents(tiny_generator, x, steps=20, lr=0.01, restarts=2, seed=3, image_ids=ids, progress=False)
    moved = latent_movement(dataclasses.asdict(result), ids, seed=3)
    init = initial_latents(3, ids, 2, 8)[torch.arange(3), result.best_restart]
    assert moved["max |element change|"] == pytest.approx((result.z - init).abs().max().item())
    assert moved["mean L2 distance to init"] == pytest.approx((result.z - init).norm(dim=1).mean().item())
    # Adam moves an element by about lr per step at most: 20 steps x 0.01.
    assert 0 < moved["max |element change|"] <= 20 * 0.01 * 1.05


def test_sphere_restriction_keeps_every_latent_on_the_sphere(tiny_generator):
    x = _images(tiny_generator, 3, seed=4)
    result = recover_latents(tiny_generator, x, steps=20, lr=0.1, restarts=2, restriction="sphere",
                             progress=False)
    torch.testing.assert_close(result.restart_z.norm(dim=2), torch.full((3, 2), 8 ** 0.5))
    free = recover_latents(tiny_generator, x, steps=20, lr=0.1, restarts=2, progress=False)
    assert not torch.allclose(free.restart_z.norm(dim=2), torch.full((3, 2), 8 ** 0.5), atol=1e-3)
    with pytest.raises(ValueError, match="set alpha=0"):
        recover_latents(tiny_generator, x, alpha=1.0, restriction="sphere", progress=False)


@pytest.mark.parametrize("restriction", ["w2", "gaussian_nll", "moments"])
def test_each_restriction_term_lowers_its_own_value(tiny_generator, restriction):
    from lrl_utils import restriction_term
    x = _images(tiny_generator, 4, seed=5) * 0.9
    kwargs = dict(steps=60, lr=0.05, restarts=2, progress=False, restriction=restriction)
    free = recover_latents(tiny_generator, x, alpha=0.0, **kwargs)
    restricted = recover_latents(tiny_generator, x, alpha=10.0, **kwargs)
    term = lambda r: restriction_term(r.restart_z.flatten(0, 1), restriction).mean()
    assert term(restricted) < 0.5 * term(free)
    assert restricted.restart_reconstruction_mse.mean() > free.restart_reconstruction_mse.mean()


def test_default_restriction_is_the_papers_w1(tiny_generator):
    x = _images(tiny_generator, 2, seed=6)
    kwargs = dict(steps=15, lr=0.05, restarts=2, alpha=1.0, progress=False)
    torch.testing.assert_close(recover_latents(tiny_generator, x, **kwargs).restart_z,
                               recover_latents(tiny_generator, x, restriction="w1", **kwargs).restart_z,
                               atol=0, rtol=0)
    with pytest.raises(ValueError, match="unknown restriction 'l2'"):
        recover_latents(tiny_generator, x, restriction="l2", progress=False)


def test_other_chunk_sizes_never_reuse_chunks_of_other_images(tiny_generator, tmp_path):
    x = _images(tiny_generator, 12, seed=8)
    ids = list(range(100, 112))
    settings = dict(steps=3, lr=0.01, restarts=2, progress=False, log=lambda _: None)
    by_5 = recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=5, **settings)
    by_7 = recover_latents_resumable(tiny_generator, x, ids, tmp_path, chunk_images=7, **settings)
    assert len(by_5.z) == len(by_7.z) == 12  # was 14 when chunk_000005.pt of 5 images was reused for 7
    torch.testing.assert_close(by_7.z, by_5.z, atol=1e-5, rtol=0)


def test_a_chunk_that_does_not_hold_its_images_is_refused_with_its_path(tiny_generator, tmp_path):
    x = _images(tiny_generator, 4, seed=9)
    settings = dict(steps=3, lr=0.01, restarts=2, progress=False, log=lambda _: None)
    recover_latents_resumable(tiny_generator, x, [1, 2, 3, 4], tmp_path, chunk_images=2, **settings)
    (chunk_dir,) = list(tmp_path.iterdir())
    first, second = sorted(chunk_dir.glob("chunk_*.pt"))
    second.write_bytes(first.read_bytes())  # the wrong images under this name
    with pytest.raises(ValueError, match=rf"{second.name} holds 2 images \[1, 2\].*should hold.*\[3, 4\].*delete it"):
        recover_latents_resumable(tiny_generator, x, [1, 2, 3, 4], tmp_path, chunk_images=2, **settings)
    second.write_bytes(first.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match=rf"{second.name} cannot be read.*delete it and rerun"):
        recover_latents_resumable(tiny_generator, x, [1, 2, 3, 4], tmp_path, chunk_images=2, **settings)


def test_each_chunk_records_the_thread_count_it_was_computed_with(tiny_generator, tmp_path):
    # The thread count changes results in the last digits and is not in the cache key: the run must say it.
    x, ids = _images(tiny_generator, 4, seed=10), [0, 1, 2, 3]
    settings = dict(steps=3, lr=0.01, restarts=2, progress=False, log=lambda _: None, chunk_images=2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        recover_latents_resumable(tiny_generator, x, ids, tmp_path, **settings)
        (chunk_dir,) = list(tmp_path.iterdir())
        assert [torch.load(p)["torch_threads"] for p in sorted(chunk_dir.glob("chunk_*.pt"))] == [1, 1]
        torch.set_num_threads(2)
        timing = {}
        recover_latents_resumable(tiny_generator, x, ids, tmp_path, timing=timing, **settings)
        assert timing["chunk_torch_threads"] == {"1": 2}  # the chunks' count, not this loading process's
        first, second = sorted(chunk_dir.glob("chunk_*.pt"))
        old = torch.load(first)
        del old["torch_threads"]  # as chunks saved before the count was recorded
        torch.save(old, first)
        second.unlink()  # recomputed now, with 2 threads
        recover_latents_resumable(tiny_generator, x, ids, tmp_path, timing=timing, **settings)
        assert timing["chunk_torch_threads"] == {"2": 1, "not recorded": 1}
    finally:
        torch.set_num_threads(before)
