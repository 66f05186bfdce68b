"""Executed notebooks that a reader can read: `python -m lrl_utils.notebook_hygiene FILE...`.

An executed notebook (results/notebooks/) is a report. What papermill records beside the results is noise to
its reader and this machine's business: tqdm's progress bars (stderr text redrawn with carriage returns, one
output per redraw), torch's "No CUDA runtime is found, using CUDA_HOME=..." warning, tqdm's warning about
ipywidgets, and absolute paths of the checkout, the virtual environment or the home folder. ``clean`` removes
the first three from stream outputs and makes the paths relative; figures, tables and printed results are
kept as they are. `lrl_utils.run_notebook` applies it to every notebook it executes; the CLI rewrites
committed ones in place (atomically).

A committed executed notebook whose code cells are no longer its source notebook's (the source changed, and
the stage's outputs were kept with `dvc commit` instead of rerunning it) says so in a first markdown cell,
tagged ``stale-notice`` (``stale_notice``, ``with_stale_notice``; the CLI's ``--mark-stale``).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# A tqdm bar: a bare carriage return (a redraw; "\r\n" is a line end), the bar "  7%|▋   |", or the bracket
# "[00:12<01:40, 91.5it/s]" / "[00:00<?, ?latent-step/s]" / "[01:02<00:00, 1.21s/it]".
_PROGRESS = re.compile(r"\r(?!\n)|\d%\||\[\d+:\d+(?::\d+)?<[^\]]*, *[^\]]*?(?:/s|s/[\w-]+)\]")
_CUDA_HOME = re.compile(r"No CUDA runtime is found, using CUDA_HOME=")
# Python's warning line "FILE:LINE: Category: message" for tqdm's warnings (IProgress not found: about the
# progress bar itself); the indented source line that Python prints after it goes with it.
_TQDM_WARNING = re.compile(r"^\S.*:\d+: Tqdm\w*Warning: ")
# Everything up to and including the last site-packages/ or lib/pythonX.Y/ of an absolute path: an installed
# module's path becomes its path inside the environment ("tqdm/auto.py", "warnings.py").
_INSTALLED = re.compile(r"(?<![\w.~-])(?:/[^/\s'\"<>|:;,()\[\]]+)*/(?:site-packages|dist-packages|lib/python\d+(?:\.\d+)?)/")
_TEXT_DATA = ("text/plain", "text/html", "text/markdown", "text/latex")

STALE_TAG = "stale-notice"


def is_progress_line(line: str) -> bool:
    """Whether ``line`` is tqdm's progress-bar text."""
    return bool(_PROGRESS.search(line))


def default_roots() -> list[Path]:
    """The absolute folders whose paths ``relative_paths`` shortens: the checkout (this package's and the working
    directory's) and the home folder."""
    return [PROJECT_ROOT, Path.cwd(), Path.home()]


def relative_paths(text: str, roots=None) -> str:
    """``text`` with absolute paths made relative: an installed module's to its path in the environment, one under
    a root of ``roots`` (default ``default_roots()``) to the root (the root itself becomes "."; the home folder,
    "~")."""
    text = _INSTALLED.sub("", text)
    home = str(Path.home())
    for root in sorted({str(r) for r in (default_roots() if roots is None else roots)}, key=len, reverse=True):
        if root in ("", "/"):
            continue
        name = "~" if root == home else "."
        text = re.sub(rf"(?<![\w.~-]){re.escape(root)}(/|(?![\w.-]))",
                      lambda m: ("~/" if name == "~" else "") if m.group(1) else name, text)
    return text


def clean_stream_text(text: str, roots=None) -> str:
    """A stream output's text without progress bars, tqdm's warnings and the CUDA_HOME warning, its paths
    relative (``relative_paths``)."""
    kept, skip_source = [], False
    for line in text.splitlines(keepends=True):
        if skip_source and line[:1] in (" ", "\t"):  # the source line Python prints under a warning
            skip_source = False
            continue
        skip_source = False
        if _TQDM_WARNING.search(line):
            skip_source = True
            continue
        if is_progress_line(line) or _CUDA_HOME.search(line):
            continue
        kept.append(line)
    return relative_paths("".join(kept), roots)


def clean(nb, roots=None):
    """``nb`` (an executed notebook, changed in place and returned) cleaned for its reader: stream outputs
    without progress bars and the warnings above (an output left with only blank lines is removed, and so is a
    blank stderr output), and every
    absolute path in a text output made relative (``relative_paths``). Images, and every output that holds none
    of these, are unchanged."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                cleaned = clean_stream_text(text, roots)
                # Emptied, or blank stderr (the newline tqdm writes when a bar closes): nothing left to read.
                if not cleaned.strip() and (cleaned != text or output.get("name") == "stderr"):
                    continue
                if cleaned != text:
                    output["text"] = cleaned
            elif output.get("output_type") in ("execute_result", "display_data"):
                data = output.get("data", {})
                for mime in _TEXT_DATA:
                    if mime in data:
                        value = data[mime]
                        value = "".join(value) if isinstance(value, list) else value
                        if relative_paths(value, roots) != value:
                            data[mime] = relative_paths(value, roots)
            elif output.get("output_type") == "error":
                output["traceback"] = [relative_paths(line, roots) for line in output.get("traceback", [])]
                output["evalue"] = relative_paths(output.get("evalue", ""), roots)
            outputs.append(output)
        cell["outputs"] = outputs
    return nb


# --- stale executed notebooks ---------------------------------------------------------------------------------

def code_cells(nb) -> list[str]:
    """The sources of ``nb``'s code cells, less the parameters cell and papermill's injected-parameters cell."""
    skip = {"parameters", "injected-parameters"}
    return [cell.source for cell in nb.cells
            if cell.cell_type == "code" and not skip & set(cell.get("metadata", {}).get("tags", []))]


def source_notebook(executed, sources_dir=PROJECT_ROOT / "notebooks") -> Path:
    """The source notebook that ``executed`` was made from: the one whose name is its name, or the longest whose
    stem followed by "_" begins it (04_recover_latents_lrl.ipynb <- notebooks/04_recover_latents.ipynb)."""
    stem = Path(executed).stem
    candidates = [p for p in Path(sources_dir).glob("*.ipynb") if stem == p.stem or stem.startswith(p.stem + "_")]
    if not candidates:
        raise FileNotFoundError(f"{executed}: no notebook in {sources_dir} whose name begins it")
    return max(candidates, key=lambda p: len(p.stem))


def is_stale(executed_nb, source_nb) -> bool:
    """Whether the executed notebook ran other code than its source notebook holds today."""
    return code_cells(executed_nb) != code_cells(source_nb)


def has_stale_notice(nb) -> bool:
    return bool(nb.cells) and STALE_TAG in nb.cells[0].get("metadata", {}).get("tags", [])


def stale_notice(executed: str, source: str, commit: str, date: str, reason: str):
    """The markdown cell that says an executed notebook was made by an earlier version of ``source``.
    ``executed`` and ``source`` are paths relative to the project root; ``commit`` (short hash) and ``date`` are
    of `git log -1 -- executed`; ``reason`` completes "Not rerun here because"."""
    text = (f"**Executed by an earlier version of this notebook** (last changed in commit {commit} on {date}, "
            f"`git log -1 -- {executed}`); its results are the committed ones, but its code cells differ from "
            f"`{source}` today. Not rerun here because {reason.rstrip('.')}.")
    cell = nbformat.v4.new_markdown_cell(text, id=STALE_TAG)
    cell.metadata["tags"] = [STALE_TAG]
    return cell


def with_stale_notice(nb, cell):
    """``nb`` (changed in place) starting with ``cell``: a notice already there is replaced, never doubled."""
    if has_stale_notice(nb):
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    return nb


def without_stale_notice(nb):
    if has_stale_notice(nb):
        del nb.cells[0]
    return nb


# Why a stale notebook was not rerun, by its source notebook; each names what a rerun would cost on this
# project's 2-core CPU machines (paper/performance.md) and what keeps the committed results valid.
_REUSED = ("recomputing the recoveries that used it takes hours on 2 CPU cores; the stage's outputs are committed "
           "with `dvc commit`")
NOT_RERUN = {
    "04_recover_latents": ("its recovery takes from minutes to hours on 2 CPU cores (the stale recovery notebooks "
                           "together several hours, paper/performance.md) and its results do not depend on the "
                           "changed lines (the stage's outputs are committed with `dvc commit`)"),
    "03_attack_fgsm": ("rerunning it rewrites the adversarial images that the committed recoveries were computed "
                       "from (on another CPU not always bit for bit, paper/lab_notes.md), and " + _REUSED),
    "02_train_gan": "rerunning it retrains the generator that the committed recoveries and measures used, and " + _REUSED,
    "01_train_classifier": ("rerunning it retrains the classifier that the committed attacks and recoveries used, "
                            "and " + _REUSED),
}


def _git_last_change(path) -> tuple[str, str]:
    out = subprocess.run(["git", "log", "-1", "--format=%h %cs", "--", str(path)], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True).stdout.split()
    if len(out) != 2:
        raise SystemExit(f"{path}: git knows no commit of it, so its notice cannot name one")
    return out[0], out[1]


def mark_stale(path, nb, sources_dir=PROJECT_ROOT / "notebooks"):
    """``nb`` (read from ``path``) with a stale notice if its code differs from its source notebook's, none if it
    does not. An existing notice is kept as it is (it names the commit that made the notebook, which a later
    commit of the notice itself would otherwise replace)."""
    source = source_notebook(path, sources_dir)
    if not is_stale(nb, nbformat.read(source, as_version=4)):
        return without_stale_notice(nb)
    if has_stale_notice(nb):
        return nb
    if source.stem not in NOT_RERUN:
        raise SystemExit(f"{path} is stale (its code cells differ from {source}): rerun its stage; there is no "
                         f"recorded reason not to rerun a notebook of {source.name}")
    relative = _relative_to_project(path)
    commit, date = _git_last_change(relative)
    return with_stale_notice(nb, stale_notice(relative, _relative_to_project(source), commit, date,
                                              NOT_RERUN[source.stem]))


def _relative_to_project(path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# --- files ---------------------------------------------------------------------------------------------------

def write_atomically(nb, path) -> Path:
    """nbformat.write (Jupyter's own format) into a temporary file beside ``path``, then an atomic rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def clean_file(path, mark=False) -> bool:
    """``path`` rewritten cleaned (and, with ``mark``, with its stale notice); whether its bytes changed."""
    path = Path(path)
    before = path.read_text(encoding="utf-8")
    nb = clean(nbformat.reads(before, as_version=nbformat.NO_CONVERT))
    if mark:
        nb = mark_stale(path, nb)
    if nbformat.writes(nb) + "\n" == before:
        return False
    write_atomically(nb, path)
    return True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lrl_utils.notebook_hygiene", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="executed notebooks, rewritten in place")
    parser.add_argument("--mark-stale", action="store_true",
                        help="also give a notebook whose code cells differ from its source notebook a first cell "
                             "that says so (idempotent)")
    args = parser.parse_args(argv)
    changed = [f for f in args.files if clean_file(f, args.mark_stale)]
    print(f"{len(changed)} of {len(args.files)} notebooks rewritten", file=sys.stderr)


if __name__ == "__main__":
    main()
