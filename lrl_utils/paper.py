"""Build the paper, offline: `python -m lrl_utils.paper` (stage `paper`).

The paper's pages (paper/*.md, MyST Markdown), every executed notebook (results/notebooks/) and the figures
under results/ that the pages show are laid into one Sphinx source folder, so that the notebooks are pages of the site and each
figure's caption can link the notebook that made it. Then

- Sphinx (MyST-NB, sphinx-book-theme, sphinxcontrib-bibtex) builds the HTML site, notebooks as executed;
- Sphinx builds the article alone (root `pdf`: the article and its appendix, not the notebooks) as one
  HTML page, and headless Chromium prints it to the PDF, whose creation dates are then fixed so that the
  same sources give the same bytes on an idle machine (on a loaded one a line can land a fraction of a point
  apart; the text is always the same).

Nothing is executed and nothing under paper/ or results/ is written, except the PDF.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import artifacts

SOURCES = Path("paper")
NOTEBOOKS = Path("results/notebooks")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


FIGURE = re.compile(r"results/[\w./-]+\.png")


def figures_shown(source: Path) -> dict[str, str]:
    """Every figure under results/ that a page shows, with the first page that shows it."""
    shown: dict[str, str] = {}
    for page in sorted(source.glob("*.md")):
        for path in FIGURE.findall(page.read_text()):
            shown.setdefault(path, page.name)
    return shown


def lay_out(source: Path, notebooks: Path, staging: Path) -> Path:
    """A fresh Sphinx source folder: the pages, notebooks/ (the executed notebooks) and the figures they show,
    under their own paths (results/...)."""
    missing = {path: page for path, page in figures_shown(source).items() if not Path(path).is_file()}
    if missing:
        raise FileNotFoundError("the paper shows figures that are not there: " + "; ".join(
            f"{path} (in {source}/{page})" for path, page in missing.items()) + ". Run `dvc repro` to make them")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("*.pdf", "_build", "__pycache__"))
    shutil.copytree(notebooks, staging / "notebooks", ignore=shutil.ignore_patterns("*.failed.ipynb", ".*"))
    for figure in figures_shown(source):
        (staging / figure).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(figure, staging / figure)
    name_notebooks(staging / "notebooks.md", sorted(p.stem for p in (staging / "notebooks").glob("*.ipynb")))
    return staging


def name_notebooks(index: Path, stems: list[str]) -> None:
    """The notebooks' table of contents, each entry titled by its file's name: runs of one notebook (every
    04_recover_latents_*) share their first heading, which would otherwise title all of them alike."""
    text = index.read_text()
    entries = "\n".join(f"{stem} <notebooks/{stem}>" for stem in stems)
    if ":glob:\n\nnotebooks/*" not in text:
        raise ValueError(f"{index}: its toctree must list `notebooks/*` under `:glob:`, which the build names")
    index.write_text(text.replace(":glob:\n\nnotebooks/*", "\n" + entries))


def sphinx(staging: Path, out: Path, builder: str, *options: str) -> None:
    """sphinx-build, quiet; its warnings kept in out/warnings.txt, since a warning there is a defect to mend."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "sphinx", "-b", builder, "-q", "-w", str(out / "warnings.txt"), *options,
               str(staging), str(out)]
    subprocess.run(command, check=True)


def chromium() -> str:
    """The headless browser that prints the PDF (Debian's `chromium`)."""
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("the PDF is printed by headless Chromium, and none was found on PATH (looked for "
                            f"{', '.join(CHROMIUM)}): install it, e.g. `apt-get install -y chromium`, or build only "
                            "the site with --no-pdf")


def print_pdf(page: Path, pdf: Path) -> Path:
    """``page`` printed by headless Chromium, written atomically to ``pdf`` with fixed dates."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf.resolve().with_name(f".{pdf.name}.partial")
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
                    f"--print-to-pdf={tmp}", page.resolve().as_uri()],
                   check=True, capture_output=True, env={**os.environ, "TZ": "UTC"})
    data = fixed_dates(tmp.read_bytes())
    tmp.unlink()
    return artifacts.write_bytes(data, pdf)


def fixed_dates(pdf: bytes) -> bytes:
    """The PDF with its creation and modification dates replaced by a fixed one of the same length, so that
    its byte offsets (the cross-reference table) stay valid and two prints of the same pages can be equal."""
    def fix(match: re.Match) -> bytes:
        return match.group(1) + re.sub(rb"\d", b"0", match.group(2))
    return re.sub(rb"(/(?:CreationDate|ModDate)\s*\(D:)([^)]*)", fix, pdf)


def build(site: Path, pdf: Path | None) -> None:
    staging = lay_out(SOURCES, NOTEBOOKS, site / "src")
    sphinx(staging, site / "html", "html")
    print(f"site: {site / 'html' / 'index.html'}")
    if pdf is not None:
        sphinx(staging, site / "pdf_html", "singlehtml", "-t", "pdf")
        print(f"pdf: {print_pdf(site / 'pdf_html' / 'pdf.html', pdf)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="build/paper", help="where the site goes (html/ under it; git-ignored)")
    parser.add_argument("--pdf", default="results/paper/reproduction.pdf", help="where the PDF goes")
    parser.add_argument("--no-pdf", action="store_true", help="build the site only (no Chromium needed)")
    args = parser.parse_args(argv)
    for folder in (SOURCES, NOTEBOOKS):
        if not folder.is_dir():
            raise SystemExit(f"{folder}/ not found: run this from the project's root folder (where dvc.yaml is)")
    build(Path(args.site), None if args.no_pdf else Path(args.pdf))


if __name__ == "__main__":
    main()
