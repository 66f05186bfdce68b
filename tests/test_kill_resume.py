"""A recovery killed mid-run (SIGKILL: no cleanup at all) resumes from its finished chunks, and the result
is byte-identical to a run that was never interrupted."""
import os
import signal
import subprocess
import sys
import time

import torch

from helpers import REPO

RECOVER = """
import sys, dataclasses, torch
sys.path.insert(0, {repo!r})
from lrl_utils import Generator, recover_latents_resumable
torch.manual_seed(0)
generator = Generator(32).eval()          # the pipeline's DCGAN, small latent, seeded weights
with torch.no_grad():
    x = generator(torch.randn(24, 32, generator=torch.Generator().manual_seed(1)))
result = recover_latents_resumable(generator, x, list(range(100, 124)), sys.argv[1], chunk_images=3, steps=40,
                                   lr=0.01, restarts=2, alpha=1.0, seed=0, progress=False, log=lambda _: None)
torch.save(dataclasses.asdict(result), sys.argv[2])
"""


def test_sigkill_mid_recovery_then_rerun_gives_the_uninterrupted_result(tmp_path):
    script = tmp_path / "recover.py"
    script.write_text(RECOVER.format(repo=str(REPO)))
    run = [sys.executable, str(script)]
    subprocess.run(run + [str(tmp_path / "cache_whole"), str(tmp_path / "whole.pt")], check=True, timeout=600)

    cache = tmp_path / "cache_killed"
    victim = subprocess.Popen(run + [str(cache), str(tmp_path / "never.pt")])
    deadline = time.time() + 300
    while time.time() < deadline and len(list(cache.glob("*/chunk_*.pt"))) < 2:
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    finished = len(list(cache.glob("*/chunk_*.pt")))
    assert 2 <= finished < 8, f"the run was to be killed mid-way; it had {finished} of 8 chunks"
    assert not (tmp_path / "never.pt").exists()

    subprocess.run(run + [str(cache), str(tmp_path / "resumed.pt")], check=True, timeout=600)
    whole, resumed = torch.load(tmp_path / "whole.pt"), torch.load(tmp_path / "resumed.pt")
    for key, value in whole.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, resumed[key]), key
        else:
            assert value == resumed[key], key
