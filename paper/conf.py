"""Sphinx settings of the paper: MyST Markdown pages, the executed notebooks rendered as they are (never run
here), sphinx-book-theme, references from references.bib. Built offline by `python -m lrl_utils.paper`
(stage `paper`), which lays these pages, the executed notebooks and the figures into one source folder."""
project = "Latent restriction loss for Defense-GAN: a reproduction"
author = "The lrl_utils reproduction project"
copyright = "2026, the lrl_utils reproduction project (MIT)"
extensions = ["myst_nb", "sphinxcontrib.bibtex"]

# The site's root is index; the PDF's (`-t pdf`) is pdf, the article and its appendix without the notebooks.
root_doc = "pdf" if tags.has("pdf") else "index"  # noqa: F821 (Sphinx gives conf.py its tags)
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "abstract.md"]  # abstract.md: included by index and pdf
if tags.has("pdf"):  # noqa: F821
    exclude_patterns += ["index.md", "notebooks.md", "notebooks", "lab_notes.md"]
    # Links to the notebooks and the lab notes stay as text in the PDF: they name the page of the site.
    suppress_warnings += ["myst.xref_missing", "ref.doc"]
else:
    exclude_patterns += ["pdf.md"]
numfig = True

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The notebooks are shown as executed by the pipeline (papermill, `dvc repro`): building the paper runs nothing.
nb_execution_mode = "off"
nb_merge_streams = True
# Offline: no widget scripts from a CDN (no notebook here has widgets).
nb_ipywidgets_js = {}

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

html_theme = "sphinx_book_theme"
html_title = "Latent restriction loss: a reproduction"
html_theme_options = {"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False}
html_last_updated_fmt = None  # no build date: the same sources give the same site
html_context = {"default_mode": "light"}  # the theme's mode switch logs an error to the console without one
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_favicon = "_static/favicon.png"  # a forest plot in 32 px; without one every page's favicon request fails
html_show_sphinx = False
html_copy_source = False
