import hashlib
import shutil

import pytest
import torch

from lrl_utils import MNISTChecksumError, eval_indices, load_mnist, prepare_mnist


def test_local_folder_loads_scaled_mnist(mnist_source, tmp_path):
    x, y = load_mnist(tmp_path / "mnist", train=False, source=mnist_source)
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert y.shape == (10000,) and set(y.tolist()) == set(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # MNIST's first test labels
    x_limited, _ = load_mnist(tmp_path / "mnist", train=True, limit=100)  # already prepared: no source needed
    assert x_limited.shape == (100, 1, 28, 28)


def test_environment_variable_names_the_local_folder(mnist_source, tmp_path, monkeypatch):
    monkeypatch.setenv("LRL_MNIST_DIR", str(mnist_source))
    prepare_mnist(tmp_path / "m")
    assert (tmp_path / "m" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").is_file()


def test_md5_failure_names_the_file_and_deletes_nothing(mnist_source, tmp_path):
    local = tmp_path / "local"
    shutil.copytree(mnist_source, local)
    bad = local / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10] + b"corrupted!")
    contents = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in local.iterdir()}
    with pytest.raises(MNISTChecksumError, match="t10k-labels-idx1-ubyte.gz has md5"):
        prepare_mnist(tmp_path / "dest", source=local)
    assert {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in local.iterdir()} == contents
    assert not (tmp_path / "dest" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_missing_local_file_is_named(mnist_source, tmp_path):
    local = tmp_path / "local"
    shutil.copytree(mnist_source, local)
    (local / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="lacks train-labels-idx1-ubyte.gz"):
        prepare_mnist(tmp_path / "dest", source=local)


def test_eval_indices_are_seeded_distinct_and_sorted():
    a, b, c = eval_indices(10000, 1000, 0), eval_indices(10000, 1000, 0), eval_indices(10000, 1000, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len(set(a.tolist())) == 1000 and (a.diff() > 0).all() and a.max() < 10000
    with pytest.raises(ValueError, match=r"eval_images \(between 1 and 10000\) must be an integer >= 1 and <= 10000; got 20000"):
        eval_indices(10000, 20000, 0)


@pytest.mark.parametrize("inside", ["", "sub"])
def test_a_source_inside_the_destination_is_refused_and_left_untouched(mnist_source, tmp_path, inside):
    destination = tmp_path / "data" / "mnist"
    source = destination / inside
    shutil.copytree(mnist_source, source)
    before = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in source.iterdir()}
    with pytest.raises(ValueError, match=r"source folder .* is inside the destination .*Nothing was changed"):
        prepare_mnist(destination, source=source)
    assert {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in source.iterdir()} == before
    assert not (destination / "MNIST").exists()


def test_the_data_stage_keeps_a_source_placed_inside_its_output(mnist_source, tmp_path):
    """DVC deletes a stage's outputs before it runs; the data stage's is persistent, so the refusal above
    happens while the user's files are still there."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from helpers import REPO
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "dvc.yaml", project / "dvc.yaml")
    shutil.copy(REPO / "params.yaml", project / "params.yaml")
    shutil.copytree(REPO / "lrl_utils", project / "lrl_utils")
    shutil.copytree(mnist_source, project / "data" / "mnist")
    dvc = str(Path(sys.executable).with_name("dvc"))
    env = {**os.environ, "LRL_MNIST_DIR": "data/mnist", "PYTHONPATH": str(project),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    for command in (["git", "init", "-q"], [dvc, "init", "-q"]):
        subprocess.run(command, cwd=project, check=True)
    done = subprocess.run([dvc, "repro", "data"], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "is inside the destination" in done.stdout + done.stderr
    assert sorted(p.name for p in (project / "data" / "mnist").glob("*.gz")) == sorted(
        p.name for p in mnist_source.glob("*.gz"))


def test_a_truncated_extracted_file_is_extracted_again(mnist_source, tmp_path):
    prepare_mnist(tmp_path / "m", source=mnist_source)
    labels = tmp_path / "m" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:5000])  # as an interrupted extraction leaves it
    _, y = load_mnist(tmp_path / "m", train=False, source=mnist_source)
    assert len(y) == 10000 and labels.stat().st_size == 10008
