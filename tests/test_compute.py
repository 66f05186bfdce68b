"""The compute table (lrl_utils.compute): summed from run.json files, and the paper's copy up to date."""
import json

import pytest

from helpers import REPO
from lrl_utils import compute


def test_sums_chunk_seconds_where_recorded(tmp_path):
    for folder, run in [("recover/a", {"seconds": 5.0, "chunk_seconds": 3600.0}), ("recover/b", {"seconds": 1800.0}),
                        ("grid/c", {"seconds": 7200.0})]:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "run.json").write_text(json.dumps(run))
    table = compute.compute_table(tmp_path).set_index("results folder")
    assert table.loc["results/recover", "hours"] == pytest.approx(1.5)
    assert table.loc["results/recover", "runs"] == 2
    assert table.loc["all", "hours"] == pytest.approx(3.5)
    assert table.loc["all", "energy kWh (estimate)"] == pytest.approx(3.5 * compute.CORES * compute.WATTS_PER_CORE / 1000)


def test_the_paper_table_is_the_one_the_files_give():
    doc = (REPO / "paper/reproducing.md").read_text()
    table = compute.compute_table(REPO / "results")
    assert compute.render_doc(doc, table) == doc, (
        "paper/reproducing.md's compute table differs from the run.json files: run "
        "`python -m lrl_utils.compute --doc paper/reproducing.md`")
