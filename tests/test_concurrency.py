"""Several processes filling one recovery cache: each writes through a temporary file of its own and an
atomic rename, so none crashes on another's temporary file, and the results are those of one process."""
import subprocess
import sys

import torch

from helpers import REPO

WORKER = """
import sys, torch
sys.path[:0] = [{repo!r}, {tests!r}]
from helpers import TinyGenerator
from lrl_utils import recover_latents_resumable
generator = TinyGenerator().eval()
x = torch.tanh(torch.randn(12, 1, 4, 4, generator=torch.Generator().manual_seed(3)))
result = recover_latents_resumable(generator, x, list(range(12)), sys.argv[1], chunk_images=1, steps=20,
                                   lr=0.01, restarts=2, progress=False, log=lambda _: None)
torch.save(result.z, sys.argv[2])
"""


def test_two_processes_fill_one_cache_and_agree_with_one(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(repo=str(REPO), tests=str(REPO / "tests")))
    for trial in range(2):
        cache = tmp_path / f"cache{trial}"
        workers = [subprocess.Popen([sys.executable, str(script), str(cache), str(tmp_path / f"z{trial}_{w}.pt")],
                                    stderr=subprocess.PIPE, text=True) for w in range(2)]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err
        first, second = (torch.load(tmp_path / f"z{trial}_{w}.pt") for w in range(2))
        assert torch.equal(first, second)
        (folder,) = list(cache.iterdir())
        assert not list(folder.glob(".*.partial"))  # no temporary folder or file left behind
    alone = tmp_path / "alone"
    subprocess.run([sys.executable, str(script), str(alone), str(tmp_path / "z_alone.pt")], check=True)
    assert torch.equal(torch.load(tmp_path / "z_alone.pt"), first)
