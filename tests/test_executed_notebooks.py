"""The executed notebooks (results/notebooks/) read as reports: no progress-bar text, no absolute path, no
CUDA_HOME warning (lrl_utils.notebook_hygiene cleans them; run_notebook cleans every new run), and each was
made by its source notebook's code of today or says, in its first cell, that it was not."""
import base64
import json

import nbformat
import pytest

from helpers import REPO
from lrl_utils import notebook_hygiene as hygiene
from lrl_utils.notebook_hygiene import clean, code_cells, source_notebook

EXECUTED = sorted((REPO / "results" / "notebooks").glob("*.ipynb"))
ABSOLUTE = ("/work/", "/root/", "/home/", "site-packages", ".venv/")


def _texts(nb):
    """Every text a reader sees in ``nb``'s outputs (images excluded), with where it is, and its metadata."""
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            kind = output.output_type
            if kind == "stream":
                yield f"cell {i} {output.name}", output.text
            elif kind in ("execute_result", "display_data"):
                for mime, value in output.get("data", {}).items():
                    if mime.startswith("text/") or mime.endswith("json"):
                        yield f"cell {i} {mime}", value if isinstance(value, str) else json.dumps(value)
            elif kind == "error":
                yield f"cell {i} error", "\n".join([output.get("evalue", ""), *output.get("traceback", [])])
    yield "metadata", json.dumps(nb.metadata)


def test_there_are_executed_notebooks():
    assert len(EXECUTED) >= 13


@pytest.mark.parametrize("path", EXECUTED, ids=[p.name for p in EXECUTED])
def test_an_executed_notebook_holds_no_progress_bar_path_or_cuda_warning(path):
    nb = nbformat.read(path, as_version=4)
    problems = []
    for where, text in _texts(nb):
        if where != "metadata" and any(hygiene.is_progress_line(line) for line in text.splitlines(keepends=True)):
            problems.append(f"{where}: progress-bar text")
        problems += [f"{where}: {token!r}" for token in ABSOLUTE if token in text]
        if "CUDA_HOME" in text:
            problems.append(f"{where}: the CUDA_HOME warning")
    assert not problems, (f"{path.relative_to(REPO)}: {'; '.join(problems[:5])}. Clean it with "
                          f"`python -m lrl_utils.notebook_hygiene {path.relative_to(REPO)}`")


@pytest.mark.parametrize("path", EXECUTED, ids=[p.name for p in EXECUTED])
def test_an_executed_notebook_ran_todays_code_or_says_it_did_not(path):
    nb = nbformat.read(path, as_version=4)
    source = source_notebook(path)
    if code_cells(nb) == code_cells(nbformat.read(source, as_version=4)):
        assert not hygiene.has_stale_notice(nb), f"{path.relative_to(REPO)} runs today's code but says it does not"
        return
    assert hygiene.has_stale_notice(nb), (
        f"{path.relative_to(REPO)} ran other code than {source.relative_to(REPO)} holds today: rerun its stage, "
        f"or give it the notice (`python -m lrl_utils.notebook_hygiene --mark-stale {path.relative_to(REPO)}`)")
    notice = nb.cells[0]
    assert notice.cell_type == "markdown"
    assert "Executed by an earlier version of this notebook" in notice.source
    assert f"`{source.relative_to(REPO).as_posix()}`" in notice.source and "Not rerun here because" in notice.source


# --- the cleaner on small notebooks made by hand -------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()  # "/" and "+" included, as in any image
TABLE = "   alpha  accuracy %\n0    0.0        52.9\n1    1.0        49.5\n"


def _executed(*outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("run()")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    nb.cells = [cell]
    return nb


def _stream(text, name="stderr"):
    return {"output_type": "stream", "name": name, "text": text}


def test_a_tqdm_stream_is_removed_and_a_table_and_an_image_are_kept():
    bar = ["\rrecover alpha=0:   0%|          | 0.00/200k [00:00<?, ?latent-step/s]",
           "\rclassifier epoch 1:  42%|████▏     | 197/469 [00:41<00:57, 4.73it/s]",
           "\rGAN epoch 3: 100%|██████████| 469/469 [01:02<00:00, 1.21s/it]\n", "\n"]
    table = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": TABLE, "text/html": "<table><tr><td>52.9</td></tr></table>"}}
    image = {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": "<Figure>"}}
    printed = _stream("accuracy 52.9 % [49.8, 56.0]\n", "stdout")
    nb = clean(_executed(*[_stream(b) for b in bar], printed, table, image))
    kept = nb.cells[0].outputs
    assert [o.output_type for o in kept] == ["stream", "execute_result", "display_data"]
    assert kept[0].text == "accuracy 52.9 % [49.8, 56.0]\n"
    assert kept[1].data == table["data"] and kept[2].data == image["data"]


def test_progress_lines_are_dropped_from_a_stream_that_also_holds_text():
    text = "epoch 1 done\n\rtraining:  50%|█████     | 1/2 [00:01<00:01, 1.00it/s]\rtraining: 100%|██████████| 2/2\n" \
           "final loss 0.12\n"
    nb = clean(_executed(_stream(text)))
    assert nb.cells[0].outputs[0].text == "epoch 1 done\nfinal loss 0.12\n"


def test_the_cuda_home_and_tqdm_warnings_are_removed():
    text = ("W1124 17:00:43.327000 14645 torch/utils/cpp_extension.py:183] [0/0] No CUDA runtime is found, using "
            "CUDA_HOME='/usr/local'\n"
            "/x/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update "
            "jupyter and ipywidgets.\n  from .autonotebook import tqdm as notebook_tqdm\n")
    assert clean(_executed(_stream(text))).cells[0].outputs == []
    kept = clean(_executed(_stream(text + "a real warning\n"))).cells[0].outputs
    assert kept[0].text == "a real warning\n"


def test_absolute_paths_are_made_relative():
    root = "/home/someone/checkout"
    printed = _stream(f"project root {root}, device cpu\nwrote {root}/results/recover/lrl/per_image.csv\n", "stdout")
    warning = _stream(f"{root}/.venv/lib/python3.11/site-packages/torch/nn/modules/conv.py:456: UserWarning: x\n"
                      "/usr/lib/python3.11/warnings.py:109: UserWarning: y\n")
    result = {"output_type": "execute_result", "execution_count": 2, "metadata": {},
              "data": {"text/plain": f"PosixPath('{root}/models/gan.pt')"}}
    nb = clean(_executed(printed, warning, result), roots=[root])
    out = nb.cells[0].outputs
    assert out[0].text == "project root ., device cpu\nwrote results/recover/lrl/per_image.csv\n"
    assert out[1].text == "torch/nn/modules/conv.py:456: UserWarning: x\nwarnings.py:109: UserWarning: y\n"
    assert out[2].data["text/plain"] == "PosixPath('models/gan.pt')"
    # A folder that merely begins like the root is not the root.
    assert hygiene.relative_paths(f"{root}2/x and {root}", [root]) == f"{root}2/x and ."


def test_a_clean_notebook_is_left_as_it_is():
    nb = _executed(_stream("no bars here, 100 % done\n", "stdout"), _stream("a UserWarning\n"))
    before = nbformat.writes(nb)
    assert nbformat.writes(clean(nb, roots=["/home/someone/checkout"])) == before


def test_the_stale_notice_is_added_once(tmp_path):
    nb = _executed(_stream("42\n", "stdout"))
    notice = hygiene.stale_notice("results/notebooks/04_x_lrl.ipynb", "notebooks/04_x.ipynb", "abc1234",
                                  "2026-11-30", "its recovery takes hours on 2 CPU cores")
    hygiene.with_stale_notice(nb, notice)
    once = nbformat.writes(nb)
    hygiene.with_stale_notice(nb, notice)
    assert nbformat.writes(nb) == once and len(nb.cells) == 2
    assert nb.cells[0].metadata.tags == ["stale-notice"] and hygiene.has_stale_notice(nb)
    assert ("(last changed in commit abc1234 on 2026-11-30, `git log -1 -- results/notebooks/04_x_lrl.ipynb`)"
            in nb.cells[0].source)
    assert nb.cells[0].source.endswith("Not rerun here because its recovery takes hours on 2 CPU cores.")
    nbformat.validate(nb)


def test_an_executed_notebook_is_traced_to_its_source():
    assert source_notebook("results/notebooks/04_recover_latents_lrl.ipynb").name == "04_recover_latents.ipynb"
    assert source_notebook("results/notebooks/11_grid.ipynb").name == "11_grid.ipynb"
    assert source_notebook("x/01_train_classifier_model_a.ipynb").name == "01_train_classifier.ipynb"
    with pytest.raises(FileNotFoundError):
        source_notebook("results/notebooks/99_nothing.ipynb")


def test_the_cli_rewrites_in_place_and_a_second_run_changes_nothing(tmp_path):
    path = tmp_path / "n.ipynb"
    nbformat.write(_executed(_stream("\rbar  10%|█         | 1/10 [00:00<00:01, 9.9it/s]"), _stream("7\n", "stdout")), path)
    hygiene.main([str(path)])
    assert [o.text for o in nbformat.read(path, as_version=4).cells[0].outputs] == ["7\n"]
    after = path.read_bytes()
    hygiene.main([str(path)])
    assert path.read_bytes() == after and [p.name for p in tmp_path.iterdir()] == ["n.ipynb"]
