"""Every DVC stage lists, among its deps, the notebook it executes and each lrl_utils module its command
runs: the modules its notebook (or `python -m` module) imports, and everything those import in turn. A
missing one would let `dvc status` say "up to date" after a change that alters the stage's outputs."""
import ast
import json
import re
from pathlib import Path

import pytest
from dvc.repo import Repo

from helpers import REPO

PACKAGE = "lrl_utils"
# Modules that can refuse to run a stage but cannot change what it writes: not followed, not required.
NOT_AFFECTING_OUTPUTS = {"lrl_utils/settings.py",
                         "lrl_utils/notebook_hygiene.py"}  # it writes only the executed notebooks: git-tracked reports


def _module_file(name: str, root: Path) -> Path | None:
    """lrl_utils/x.py for "lrl_utils.x", lrl_utils/__init__.py for "lrl_utils"; None for a name that is not a
    module of the package (e.g. a function imported with `from lrl_utils import f`)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    path = root.joinpath(*parts).with_suffix(".py") if len(parts) > 1 else root / PACKAGE / "__init__.py"
    return path if path.is_file() else None


def _exports(root: Path) -> dict[str, str]:
    """lrl_utils/__init__.py's table of names it imports on first use: name -> module."""
    tree = ast.parse((root / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["_EXPORTS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("lrl_utils/__init__.py has no _EXPORTS table")


def _imported(source: str, current: str, root: Path) -> set[Path]:
    """The package's module files that ``source`` (of module ``current``, "" for a notebook) imports,
    including those that a package-level name (`lrl.load_mnist`, `from lrl_utils import predict`) loads."""
    exports, tree = _exports(root), ast.parse(source)
    names, aliases = [], set()  # dotted module names imported; local names bound to the package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y / from . import x
                base = ".".join(current.split(".")[:-node.level] + ([base] if base else []))
            names.append(base)
            for alias in node.names:
                is_export = base == PACKAGE and alias.name in exports
                names.append(f"{PACKAGE}.{exports[alias.name]}" if is_export else f"{base}.{alias.name}")
    for node in ast.walk(tree):  # lrl.load_mnist -> lrl_utils.data
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr in exports:
                names.append(f"{PACKAGE}.{exports[node.attr]}")
    found = set()
    for name in names:
        # Importing a.b.c runs a/__init__.py and a/b.py first.
        for depth in range(1, len(name.split(".")) + 1):
            path = _module_file(".".join(name.split(".")[:depth]), root)
            if path is not None:
                found.add(path)
    return found


def _notebook_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    # IPython magics and shell lines are not Python.
    return "\n".join(line for cell in code for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))


def modules_run_by(cmd: str, root: Path = REPO) -> set[str]:
    """Every lrl_utils module file (relative to ``root``) that ``cmd`` runs: the notebooks it executes
    (not those it writes under results/) and the modules it runs with -m, with their imports, transitively."""
    todo = set()
    for notebook in re.findall(r"(?<![\w/])(notebooks/[\w.-]+\.ipynb)", cmd):
        todo |= _imported(_notebook_source(root / notebook), "", root)
    for module in re.findall(rf"-m\s+({PACKAGE}(?:\.\w+)*)", cmd):
        todo |= _imported(f"import {module}", "", root)
    seen = set()
    while todo:
        path = todo.pop()
        if path in seen or str(path.relative_to(root)) in NOT_AFFECTING_OUTPUTS:
            continue
        seen.add(path)
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        current = name if path.name != "__init__.py" else f"{name}.__init__"
        todo |= _imported(path.read_text(), current, root) - seen
    return {str(p.relative_to(root)) for p in seen}


def missing_deps(cmd: str, deps: list[str], root: Path = REPO) -> list[str]:
    """The modules ``cmd`` runs that no entry of ``deps`` covers (a file, or a folder above it)."""
    def covered(module):
        return any(module == d or module.startswith(d.rstrip("/") + "/") for d in deps)
    return sorted(m for m in modules_run_by(cmd, root) if not covered(m))


def _stages():
    with Repo(str(REPO)) as repo:
        return [(s.addressing, s.cmd, [str(d.def_path) for d in s.deps]) for s in repo.index.stages]


STAGES = _stages()


@pytest.mark.parametrize("name, cmd, deps", STAGES, ids=[s[0] for s in STAGES])
def test_stage_deps_cover_every_module_its_command_runs(name, cmd, deps):
    executed = [n for n in re.findall(r"(?<![\w/])(notebooks/[\w.-]+\.ipynb)", cmd) if n not in deps]
    assert not executed, f"dvc.yaml: stage {name} executes {executed} but does not list it under deps"
    missing = missing_deps(cmd, deps)
    assert not missing, f"dvc.yaml: stage {name} runs {missing} but does not list them under deps"
    # Nor more: a module the stage never runs would make an edit to it rerun the stage for nothing.
    extra = sorted(d for d in deps if d.startswith(f"{PACKAGE}/") and d not in modules_run_by(cmd))
    assert not extra, f"dvc.yaml: stage {name} lists {extra} under deps but never runs them"


def test_the_import_analysis_follows_imports_transitively():
    # 05: `import lrl_utils as lrl` plus submodules; reporting imports artifacts, which imports models.
    run = modules_run_by("papermill notebooks/05_analysis.ipynb results/notebooks/05_analysis.ipynb")
    assert {"lrl_utils/__init__.py", "lrl_utils/reporting.py", "lrl_utils/plots.py", "lrl_utils/artifacts.py",
            "lrl_utils/models.py", "lrl_utils/ablations.py"} <= run
    assert "lrl_utils/adaptive.py" not in run and "lrl_utils/benchmark.py" not in run
    # A module run with -m: its own imports only, plus the package's __init__.
    assert modules_run_by("python -m lrl_utils.fetch_mnist data/mnist") == {
        "lrl_utils/__init__.py", "lrl_utils/fetch_mnist.py", "lrl_utils/data.py", "lrl_utils/checks.py"}


def test_names_the_package_loads_on_first_use_count_as_imports(tmp_path):
    root = tmp_path
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text('_EXPORTS = {"load": "data", "fit": "training"}\n')
    for module in ("data", "training", "models"):
        (root / PACKAGE / f"{module}.py").write_text("from .models import Net\n" if module == "training" else "")
    notebook = {"cells": [{"cell_type": "code", "source": ["%matplotlib inline\n", "import lrl_utils as lrl\n",
                                                           "x = lrl.load('mnist')"]}]}
    (root / "notebooks").mkdir()
    (root / "notebooks" / "n.ipynb").write_text(json.dumps(notebook))
    assert modules_run_by("papermill notebooks/n.ipynb out.ipynb", root) == {
        "lrl_utils/__init__.py", "lrl_utils/data.py"}
    notebook["cells"][0]["source"][2] = "from lrl_utils import fit"
    (root / "notebooks" / "n.ipynb").write_text(json.dumps(notebook))
    assert modules_run_by("papermill notebooks/n.ipynb out.ipynb", root) == {
        "lrl_utils/__init__.py", "lrl_utils/training.py", "lrl_utils/models.py"}


def test_a_stage_missing_a_module_is_reported():
    cmd = "papermill notebooks/09_full_test.ipynb results/notebooks/09_full_test.ipynb"
    deps = sorted(modules_run_by(cmd))
    assert missing_deps(cmd, deps) == []
    assert missing_deps(cmd, [d for d in deps if d != "lrl_utils/full_test_set.py"]) == ["lrl_utils/full_test_set.py"]
    assert missing_deps(cmd, ["lrl_utils"]) == []  # a folder dep covers its files
