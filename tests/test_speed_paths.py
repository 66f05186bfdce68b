"""The speed options give the same recovery as the exact eager path (to stated tolerances)."""
import json
import warnings

import pytest
import torch

from lrl_utils import Generator, recover_latents
from lrl_utils import benchmark
from lrl_utils.speed import auto_batch_size


@pytest.mark.parametrize("architecture", ["dcgan", "author_gan"])
def test_compiled_path_matches_eager(dcgan_case, architecture):
    generator, x = dcgan_case
    if architecture != "dcgan":  # the author's GAN, untrained and seeded, and its own images
        torch.manual_seed(0)
        generator = Generator(256, architecture).eval()
        with torch.no_grad():
            x = generator(torch.randn(6, 256)).clamp(-1, 1)
    kwargs = dict(steps=15, restarts=3, alpha=1.0, progress=False)
    eager = recover_latents(generator, x, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a silent fallback to eager would hide a failure
        compiled = recover_latents(generator, x, compile=True, **kwargs)
    # Compiled kernels reorder floating-point sums: equal to 1e-4 after 15 Adam steps (1e-3 through the
    # author's GAN, whose eight normalised layers magnify the rounding more).
    atol = {"dcgan": 1e-4, "author_gan": 1e-3}[architecture]
    torch.testing.assert_close(compiled.restart_z, eager.restart_z, atol=atol, rtol=0)
    torch.testing.assert_close(compiled.restart_reconstruction_mse, eager.restart_reconstruction_mse,
                               atol=1e-5, rtol=1e-4)
    assert torch.equal(compiled.best_restart, eager.best_restart)


def test_compile_falls_back_to_eager_with_a_warning(dcgan_case, monkeypatch):
    generator, x = dcgan_case

    def unavailable(*args, **kwargs):
        def broken(*a, **k):
            raise RuntimeError("no C++ compiler")
        return broken

    monkeypatch.setattr(torch, "compile", unavailable)
    eager = recover_latents(generator, x, steps=3, restarts=2, progress=False)
    with pytest.warns(RuntimeWarning, match="torch.compile is unavailable here .*no C\\+\\+ compiler"):
        fallback = recover_latents(generator, x, steps=3, restarts=2, compile=True, progress=False)
    torch.testing.assert_close(fallback.restart_z, eager.restart_z, atol=0, rtol=0)


def test_bf16_is_close_but_not_the_exact_path(dcgan_case):
    generator, x = dcgan_case
    kwargs = dict(steps=15, restarts=2, alpha=1.0, progress=False)
    exact = recover_latents(generator, x, **kwargs)
    bf16 = recover_latents(generator, x, precision="bf16", **kwargs)
    assert bf16.z.dtype == torch.float32  # the latents and Adam's state stay fp32
    torch.testing.assert_close(bf16.restart_z, exact.restart_z, atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        recover_latents(generator, x, precision="fp8", **kwargs)


def test_automatic_batch_size_fits_the_budget_and_ignores_weights():
    generator = Generator().eval()
    small = auto_batch_size(generator, 256, torch.device("cpu"), budget_bytes=100 * 2**20)
    large = auto_batch_size(generator, 256, torch.device("cpu"), budget_bytes=400 * 2**20)
    assert 1 <= small < large and large == pytest.approx(4 * small, rel=0.01)


def test_benchmark_quick_mode_reports_every_path(tmp_path, capsys):
    out = tmp_path / "bench.json"
    benchmark.main(["--quick", "--device", "cpu", "--out", str(out)])
    report = json.loads(out.read_text())
    assert set(report["paths"]) == {"a_per_restart_loop", "b_per_image_loop", "c_batched_eager",
                                    "d_batched_compiled", "e_batched_bf16"}
    for path in report["paths"].values():
        assert path["latent_steps_per_s"] > 0 and path["gflops"] > 0
    # The generator of the foundation issue: about 33 MFLOP per latent-step (forward + input gradient).
    assert 25e6 < report["flops_per_latent_step"] < 40e6
    assert report["matmul_peak_gflops"]["fp32"] > 0
    assert "latent-steps/s" in capsys.readouterr().out


def test_training_benchmark_times_both_networks_at_the_loops_batch_sizes(tmp_path, capsys):
    report = benchmark.measure_training(quick=True, device="cpu", speedups=("channels_last",))
    assert {n: e["batch_size"] for n, e in report["networks"].items()} == {"classifier": 128, "gan": 64}
    for entry in report["networks"].values():
        assert set(entry["paths"]) == {"eager", "channels_last"}
        assert entry["paths"]["eager"]["speedup_over_eager"] == 1.0
        for row in entry["paths"].values():
            # an epoch is ceil(60000 / batch) steps
            assert row["epoch_s"] == pytest.approx(row["seconds_per_step"] * -(-60000 // entry["batch_size"]))
    print(benchmark.format_training_table(report))
    assert "| gan (64) | channels_last |" in capsys.readouterr().out
