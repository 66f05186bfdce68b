"""How a stage runs its notebook: the executed copy is replaced only by a complete run, and is written the
way Jupyter saves notebooks, so that opening it in JupyterLab does not rewrite it."""
import json

import nbformat
import pytest
from jupyter_client.kernelspec import get_kernel_spec

from lrl_utils.run_notebook import run


def _notebook(path, code):
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("value = 1")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return path


def test_a_complete_run_is_written_as_jupyter_saves_it(tmp_path):
    source = _notebook(tmp_path / "n.ipynb", "print(value * 2)")
    executed = run(source, tmp_path / "out" / "n.ipynb", ["-p", "value", "21"])
    text = executed.read_text()
    nb = nbformat.reads(text, as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "42\n"
    # What JupyterLab's save would write: the same bytes (its format, a final newline, this kernel's name).
    assert nbformat.writes(nb) + "\n" == text
    assert nb.metadata.kernelspec.display_name == get_kernel_spec("python3").display_name
    assert nb.metadata.papermill.output_path == str(executed)
    assert [p.name for p in executed.parent.iterdir()] == ["n.ipynb"]  # no temporary file left


def test_a_failed_run_leaves_the_last_complete_one_and_keeps_its_own_for_reading(tmp_path):
    good = run(_notebook(tmp_path / "n.ipynb", "print(value)"), tmp_path / "out" / "n.ipynb")
    before = good.read_bytes()
    broken = _notebook(tmp_path / "broken.ipynb", "raise RuntimeError('cell failed')")
    with pytest.raises(SystemExit, match=r"failed .*out/n.ipynb is unchanged.*n.failed.ipynb"):
        run(broken, good)
    assert good.read_bytes() == before
    failed = json.loads((good.parent / "n.failed.ipynb").read_text())
    assert "cell failed" in json.dumps(failed)
    assert sorted(p.name for p in good.parent.iterdir()) == ["n.failed.ipynb", "n.ipynb"]


def test_a_missing_notebook_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook .*nothing.ipynb not found"):
        run(tmp_path / "nothing.ipynb", tmp_path / "out.ipynb")
