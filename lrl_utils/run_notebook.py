"""How a DVC stage runs its notebook: `python -m lrl_utils.run_notebook NOTEBOOK EXECUTED [papermill options]`.

papermill executes NOTEBOOK into a temporary file beside EXECUTED; only when every cell has run is it moved
onto EXECUTED. So an interrupted or failed run never leaves a half-executed notebook that looks finished:
EXECUTED keeps the last complete run, and a failed run's notebook is kept as `<name>.failed.ipynb` to read
the error in.

Before it runs anything it checks the settings (params.yaml): a wrong value stops the stage with its key.

The executed notebook is written the way Jupyter saves notebooks (the installed kernel's display name, a
final newline), so that opening it in JupyterLab does not rewrite it just to reformat it. The executed
notebooks are reports, tracked by git, not DVC outputs: reading one never makes `dvc status` report a
stage as changed, and `git checkout results/notebooks` restores any that a reader edited. It is written for
its reader (`lrl_utils.notebook_hygiene.clean`): no progress bars, no CUDA_HOME warning, no absolute paths.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from .notebook_hygiene import clean

SETTINGS = "params.yaml"  # checked before any notebook runs
# Always: the cells' output in the stage's log, no progress bar, the project's Python kernel.
PAPERMILL_OPTIONS = ["--log-output", "--no-progress-bar", "-k", "python3"]
# The kernel's environment: tqdm bars off wherever a call leaves `disable` at its default (tqdm >= 4.66 reads
# TQDM_<ARGUMENT> variables; a call that passes disable= itself, as lrl_utils' loops do, keeps its choice, and
# `clean` removes its bars from the executed notebook).
KERNEL_ENV = {"TQDM_DISABLE": "1"}


def run(notebook, executed, papermill_args=()) -> Path:
    """Execute ``notebook`` into ``executed`` with papermill's ``papermill_args`` (-p/-y options)."""
    notebook, executed = Path(notebook), Path(executed)
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook {notebook} not found: the first argument names the notebook to run")
    if Path(SETTINGS).is_file():  # a DVC stage runs in the project root, where params.yaml is
        from .settings import SettingsError, load
        try:
            load(SETTINGS)
        except SettingsError as err:
            raise SystemExit(f"{err}\nFix {SETTINGS} (or the -S values of `dvc exp run`); {executed} is unchanged.")
    executed.parent.mkdir(parents=True, exist_ok=True)
    partial = executed.with_name(f".{executed.stem}.partial-{os.getpid()}.ipynb")
    done = subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(partial), *PAPERMILL_OPTIONS,
                           *papermill_args], env={**os.environ, **KERNEL_ENV})
    if done.returncode != 0:
        failed = executed.with_name(f"{executed.stem}.failed.ipynb")
        if partial.exists():
            os.replace(partial, failed)
        raise SystemExit(f"{notebook} failed (papermill exit status {done.returncode}); {executed} is unchanged. "
                         f"The failed run's notebook, with the error, is {failed}")
    write_as_jupyter_saves(partial, executed)
    partial.unlink()
    return executed


def write_as_jupyter_saves(source, target) -> None:
    """``source`` rewritten into ``target`` (atomically) in Jupyter's own format, cleaned for its reader
    (``notebook_hygiene.clean``), recording ``target`` as papermill's output path and the installed python3
    kernel's name and display name."""
    from jupyter_client.kernelspec import get_kernel_spec

    nb = clean(nbformat.read(source, as_version=nbformat.NO_CONVERT))
    spec = get_kernel_spec("python3")
    nb.metadata["kernelspec"] = {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    if "papermill" in nb.metadata:
        nb.metadata["papermill"]["output_path"] = str(target)
    tmp = Path(target).with_name(f".{Path(target).name}.tmp-{os.getpid()}")
    nbformat.write(nb, tmp)
    os.replace(tmp, target)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit("usage: python -m lrl_utils.run_notebook NOTEBOOK EXECUTED [papermill -p/-y options]")
    run(argv[0], argv[1], argv[2:])


if __name__ == "__main__":
    main()
