"""Reading a source notebook changes nothing: each one in notebooks/ is saved exactly as JupyterLab 4 saves it
with this environment's ipykernel, so that opening it (autosave runs without any edit) rewrites no byte, and
neither `git status` nor `dvc status` (the notebooks are stage deps) reports it changed."""
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import REPO

SOURCES = sorted((REPO / "notebooks").glob("*.ipynb"))
# What JupyterLab writes: the kernel's name and display name from its kernelspec, and language_info as the
# running ipykernel reports it (ipykernel.ipkernel.IPythonKernel.language_info), its version that of this Python.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": sys.version.split()[0],  # major.minor.micro
}


def format_problems(text: str) -> list[str]:
    """What JupyterLab would change in a source notebook whose file holds ``text``; [] if nothing."""
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    problems = []
    # jupyter_server saves with nbformat.write: nbformat.writes (indent 1, sorted keys, non-ASCII kept) + "\n".
    if nbformat.writes(nb) + "\n" != text:
        problems.append("its bytes differ from nbformat's rewrite (indentation, key order, escapes or final newline)")
    if dict(nb.metadata.get("kernelspec", {})) != KERNELSPEC:
        problems.append(f"kernelspec {dict(nb.metadata.get('kernelspec', {}))}, JupyterLab writes {KERNELSPEC}")
    language_info = nbformat.from_dict(nb.metadata.get("language_info", {}))
    if language_info != LANGUAGE_INFO:
        problems.append(f"language_info {language_info}, this environment's ipykernel reports {LANGUAGE_INFO}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"cell {i} has outputs or an execution count (a source notebook is saved unexecuted)")
    return problems


def test_there_are_the_thirteen_source_notebooks():
    assert len(SOURCES) == 13, [p.name for p in SOURCES]


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_a_source_notebook_is_saved_as_jupyterlab_saves_it(path):
    problems = format_problems(path.read_text(encoding="utf-8"))
    assert not problems, (f"{path.relative_to(REPO)}: opening it in JupyterLab would rewrite it: "
                          + "; ".join(problems))


def test_the_check_catches_the_metadata_jupyter_rewrites():
    """The format before JupyterLab's metadata (display name "Python 3", a bare language_info) is refused, and so
    is a file that is not nbformat's own serialization, an output, an execution count."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    good = nbformat.writes(nb) + "\n"
    assert format_problems(good) == []
    old = nbformat.reads(good, as_version=4)
    old.metadata = {"kernelspec": dict(KERNELSPEC, display_name="Python 3"), "language_info": {"name": "python"}}
    assert [p.split()[0] for p in format_problems(nbformat.writes(old) + "\n")] == ["kernelspec", "language_info"]
    assert format_problems(good.rstrip("\n"))  # no final newline
    assert format_problems(good.replace('\n "metadata"', '\n  "metadata"'))  # another indentation
    ran = nbformat.reads(good, as_version=4)
    ran.cells[0].execution_count = 1
    ran.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    assert format_problems(nbformat.writes(ran) + "\n")
