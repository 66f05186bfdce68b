"""Recovery on a GPU: what scripts/gpu_check.sh runs on CUDA (LRL_REQUIRE_CUDA=1 turns a skip into a failure).

On a machine without CUDA the GPU tests are skipped; the tests of the float mode and of the recomputation
of a committed recovery run on the CPU.
"""
import os

import pytest
import torch

from helpers import REPO
from lrl_utils import artifacts, recover_latents
from lrl_utils.layout import PAPER_ATTACK, Project
from lrl_utils.precision_check import recompute
from lrl_utils.restriction import latent_restriction_loss
from lrl_utils.speed import MAX_BATCH, auto_batch_size, cuda_float_mode


@pytest.fixture(scope="module")
def cuda():
    if not torch.cuda.is_available():
        if os.environ.get("LRL_REQUIRE_CUDA"):
            pytest.fail("LRL_REQUIRE_CUDA is set but torch sees no CUDA device")
        pytest.skip("no CUDA device")
    return torch.device("cuda")


def test_fp32_on_a_gpu_turns_tf32_off_and_tf32_on_and_restores_the_flags():
    flags = lambda: (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)  # noqa: E731
    before = flags()
    gpu = torch.device("cuda")  # setting the flags needs no GPU
    with cuda_float_mode("fp32", gpu):
        assert flags() == (False, False)  # cuDNN's default would be TF32 convolutions
    with cuda_float_mode("tf32", gpu):
        assert flags() == (True, True)
    with cuda_float_mode("fp32", torch.device("cpu")):
        assert flags() == before
    assert flags() == before


def test_a_committed_paper_recovery_is_computed_again_from_its_files():
    """What the GPU check does on the GPU, here on the CPU: the committed networks, attack and run.json give
    the committed per_image.csv again (eager instead of compiled, one batch instead of 50-image chunks)."""
    project = Project(REPO / "params.yaml")
    (run,) = project.recoveries(PAPER_ATTACK, "lrl")
    classifier, generator = artifacts.load_networks(project)
    row = recompute(run, classifier, generator, precision="fp32", compile=False, images=3)
    assert row["images"] == row["committed_accuracy"]["n"] == 3
    assert row["same_prediction"] == 1.0
    assert row["max_abs_mse_difference"] < 1e-4


def test_recovery_on_the_gpu_matches_the_cpu(cuda, dcgan_case):
    generator, x = dcgan_case
    kwargs = dict(steps=15, restarts=3, alpha=1.0, progress=False)
    cpu = recover_latents(generator, x, **kwargs)
    gpu = recover_latents(generator.to(cuda), x, device=cuda, **kwargs)
    generator.cpu()
    # The restarts are drawn on the CPU: the same start on any device; then fp32 kernels that differ in
    # summation order only.
    torch.testing.assert_close(gpu.restart_z, cpu.restart_z, atol=1e-4, rtol=0)
    assert torch.equal(gpu.best_restart, cpu.best_restart)


def test_compiled_tf32_and_bf16_on_the_gpu_against_its_fp32(cuda, dcgan_case):
    generator, x = dcgan_case
    generator = generator.to(cuda)
    kwargs = dict(steps=15, restarts=2, alpha=1.0, progress=False, device=cuda)
    try:
        exact = recover_latents(generator, x, **kwargs)
        compiled = recover_latents(generator, x, compile=True, **kwargs)
        torch.testing.assert_close(compiled.restart_z, exact.restart_z, atol=1e-4, rtol=0)
        for precision in ("tf32", "bf16"):
            reduced = recover_latents(generator, x, precision=precision, **kwargs)
            assert reduced.z.dtype == torch.float32  # the latents and Adam's state stay fp32
            torch.testing.assert_close(reduced.restart_z, exact.restart_z, atol=2e-2, rtol=0)
    finally:
        generator.cpu()


def test_the_restriction_term_on_the_gpu(cuda):
    z = torch.randn(64, 256, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(latent_restriction_loss(z.to(cuda)).cpu(), latent_restriction_loss(z),
                               atol=1e-6, rtol=1e-5)


def test_the_automatic_batch_fits_a_quarter_of_free_gpu_memory(cuda, dcgan_case):
    generator = dcgan_case[0].to(cuda)
    try:
        auto = auto_batch_size(generator, 256, cuda)
        small = auto_batch_size(generator, 256, cuda, budget_bytes=100 * 2**20)
        assert 1 <= small <= auto <= MAX_BATCH
    finally:
        generator.cpu()


def test_the_gpu_check_stops_at_once_without_cuda(tmp_path, capsys):
    from lrl_utils import gpu_check
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert gpu_check.main(["--out", str(tmp_path)]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written


def test_the_gpu_check_steps_run_on_the_cpu(tmp_path, monkeypatch):
    from lrl_utils import gpu_check
    monkeypatch.chdir(REPO)  # the settings' paths are relative to the project root
    with pytest.raises(SystemExit):  # a bad run name is refused before anything slow
        gpu_check.main(["--device", "cpu", "--runs", "lrl", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="variant_name 'nope'"):
        gpu_check.main(["--device", "cpu", "--runs", "paper/nope", "--out", str(tmp_path)])
    status = gpu_check.main(["--device", "cpu", "--skip-tests", "--skip-benchmark", "--runs", "paper/lrl",
                             "--precisions", "fp32", "--images", "2", "--eager", "--out", str(tmp_path)])
    report = (tmp_path / "report.json").read_text()
    assert status == 0 and '"passed": true' in report
    summary = (tmp_path / "summary.md").read_text()
    assert "| paper/lrl | fp32 | 2 | 100.0 % |" in summary and "verdict: pass" in summary
