"""The whole pipeline on the quick profile, in minutes: `python -m lrl_utils.quick [FOLDER]`.

A copy of the project (its dvc.yaml, the package, the notebooks, the profiles and the paper's sources) is made in
FOLDER (default build/quick), with the quick profile (profiles/quick.yaml: the same keys as params.yaml, tiny
values) as its params.yaml, and `dvc repro` runs every stage there, the paper last. The project's own results are
never touched. tests/test_pipeline.py runs the same copy.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

COPIED = ("dvc.yaml", "lrl_utils", "notebooks", "profiles", "paper", ".dvcignore")
MARK = ".lrl_quick_copy"  # a folder this command made, and may therefore replace
IGNORED = shutil.ignore_patterns("__pycache__", "*.pdf", "_build")


def prepare(project: Path, target: Path) -> Path:
    """``target`` made a git and DVC project: a copy of ``project`` whose params.yaml is the quick profile."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        if not (target / MARK).is_file():
            raise FileExistsError(f"{target} exists and was not made by `python -m lrl_utils.quick`: nothing in it is "
                                  "replaced; give another folder, or remove it yourself")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = Path(project) / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy(source, target / name)
    shutil.copy(Path(project) / "profiles" / "quick.yaml", target / "params.yaml")
    (target / MARK).write_text("made by python -m lrl_utils.quick\n")
    (target / ".gitignore").write_text(f"{MARK}\n/build/\n")
    for command in (["git", "init", "-q"], [_dvc(), "init", "-q"]):
        subprocess.run(command, cwd=target, check=True)
    return target


def environment(target: Path) -> dict:
    """The stages' environment: this Python's `python`, `dvc` and `papermill` first on PATH, the copy's package
    on PYTHONPATH (so that the copy runs its own code, not an installed one)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PYTHONPATH": str(Path(target).resolve()), "PATH": path}


def _dvc() -> str:
    return str(Path(sys.executable).with_name("dvc"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="build/quick", help="where the copy goes (default %(default)s)")
    args = parser.parse_args(argv)
    project = Path.cwd()
    if not (project / "dvc.yaml").is_file() or not (project / "profiles" / "quick.yaml").is_file():
        raise SystemExit("run this from the project's root folder (where dvc.yaml and profiles/quick.yaml are)")
    target = prepare(project, Path(args.folder))
    subprocess.run([_dvc(), "repro"], cwd=target, env=environment(target), check=True)
    print(f"the quick profile's results: {target}/results/, its paper: {target}/build/paper/html/index.html")


if __name__ == "__main__":
    main()
