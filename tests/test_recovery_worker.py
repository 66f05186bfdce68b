"""Many workers, one recovery: processes that each compute their share of the chunks (resumable.fill_chunks)
leave a cache from which recover_latents_resumable only assembles, bitwise equal to one process's result."""
import dataclasses
import subprocess
import sys

import pytest
import torch

from helpers import REPO, TinyGenerator
from lrl_utils.resumable import fill_chunks, recover_latents_resumable

SETTINGS = dict(chunk_images=2, steps=20, lr=0.01, restarts=2, progress=False, log=lambda _: None)
WORKER = """
import sys, torch
torch.set_num_threads(1)  # as `OMP_NUM_THREADS=1 python -m lrl_utils.recovery_worker` runs
sys.path[:0] = [{repo!r}, {tests!r}]
from helpers import TinyGenerator
from lrl_utils.resumable import fill_chunks
x = torch.tanh(torch.randn(9, 1, 4, 4, generator=torch.Generator().manual_seed(3)))
print(fill_chunks(TinyGenerator().eval(), x, list(range(9)), sys.argv[1], worker=int(sys.argv[2]), workers=2,
                  chunk_images=2, steps=20, lr=0.01, restarts=2, progress=False, log=lambda _: None))
"""


def _images():
    return torch.tanh(torch.randn(9, 1, 4, 4, generator=torch.Generator().manual_seed(3)))


def test_two_worker_processes_fill_the_cache_and_the_result_equals_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(repo=str(REPO), tests=str(REPO / "tests")))
    shared = tmp_path / "shared"
    workers = [subprocess.Popen([sys.executable, str(script), str(shared), str(k)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(2)]
    computed = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        computed.append(int(out.split()[-1]))
    assert computed == [3, 2]  # 5 chunks of 9 images: 0, 2, 4 and 1, 3
    timing = {}
    assembled = recover_latents_resumable(TinyGenerator().eval(), _images(), list(range(9)), shared,
                                          timing=timing, **SETTINGS)
    assert timing["chunks_computed"] == 0 and timing["chunks_loaded"] == 5
    assert timing["chunk_torch_threads"] == {"1": 5}  # the workers' thread count, not the assembling process's
    alone = recover_latents_resumable(TinyGenerator().eval(), _images(), list(range(9)), tmp_path / "alone",
                                      **SETTINGS)
    for field in dataclasses.fields(alone):
        a, b = getattr(assembled, field.name), getattr(alone, field.name)
        assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b, field.name


def test_a_worker_skips_chunks_already_saved(tmp_path):
    x, settings = _images(), {k: v for k, v in SETTINGS.items() if k != "chunk_images"}
    assert fill_chunks(TinyGenerator().eval(), x, list(range(9)), tmp_path, worker=0, workers=1, chunk_images=2,
                       **settings) == 5
    assert fill_chunks(TinyGenerator().eval(), x, list(range(9)), tmp_path, worker=0, workers=1, chunk_images=2,
                       **settings) == 0


@pytest.mark.parametrize("worker, workers, message", [
    (2, 2, r"worker must be an integer from 0 to workers - 1 = 1; got 2"), (-1, 2, "worker must be"),
    (0, 0, "workers must be")])
def test_a_worker_number_outside_the_workers_is_refused(tmp_path, worker, workers, message):
    with pytest.raises(ValueError, match=message):
        fill_chunks(TinyGenerator().eval(), _images(), list(range(9)), tmp_path, worker=worker, workers=workers,
                    steps=2, lr=0.01, restarts=1, progress=False)
