"""What the committed runs cost: `python -m lrl_utils.compute --doc paper/reproducing.md`.

Every stage writes a run.json with the seconds it took (a recovery: the seconds its chunks took to compute,
`chunk_seconds`, so that a recovery assembled from cached chunks still counts their cost). Summed per results
folder they give the compute behind the paper, and an energy estimate from a stated power per busy core (an
assumption, not a measurement: these machines have no power meter). The table is rendered into the paper between
its `compute` markers, so that it cannot drift from the files (tests/test_compute.py checks that it has not).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from . import reporting

WATTS_PER_CORE = 10.0  # assumed: one busy core of a server CPU, about 150-250 W over 16-24 cores
CORES = 2  # every committed run used the 2 cores of this project's machines (run.json: cpu_count)
START, END = "<!-- compute:start (python -m lrl_utils.compute --doc paper/reproducing.md) -->", "<!-- compute:end -->"


def recorded_seconds(run: dict) -> float:
    """A run's compute: a recovery's chunk seconds where recorded, else its wall-clock seconds."""
    return float(run.get("chunk_seconds") or run.get("seconds") or 0.0)


def compute_table(results="results") -> pd.DataFrame:
    """Hours of recorded compute per top-level results folder, with the number of runs, and the total."""
    rows: dict[str, list[float]] = {}
    for path in sorted(Path(results).rglob("run.json")):
        folder = path.relative_to(results).parts[0]
        rows.setdefault(folder, []).append(recorded_seconds(json.loads(path.read_text())))
    table = pd.DataFrame([{"results folder": f"results/{folder}", "runs": len(seconds), "hours": sum(seconds) / 3600}
                          for folder, seconds in rows.items()])
    total = {"results folder": "all", "runs": int(table.runs.sum()), "hours": table.hours.sum()}
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table["energy kWh (estimate)"] = table.hours * CORES * WATTS_PER_CORE / 1000
    return table


def markdown(table: pd.DataFrame) -> str:
    rows = [[r["results folder"], str(r.runs), f"{r.hours:.1f}", f"{r['energy kWh (estimate)']:.2f}"]
            for _, r in table.iterrows()]
    return reporting.markdown_table(["results folder", "runs", "hours on 2 CPU cores", "energy, kWh (estimate)"], rows)


def render_doc(text: str, table: pd.DataFrame) -> str:
    return reporting.render_between(text, START, END, markdown(table), "the document's compute table")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="the folder whose run.json files are summed")
    parser.add_argument("--doc", help="render the table into this Markdown file, between its compute markers")
    args = parser.parse_args(argv)
    table = compute_table(args.results)
    print(markdown(table))
    if args.doc:
        reporting.render_file(args.doc, lambda text: render_doc(text, table))


if __name__ == "__main__":
    main()
