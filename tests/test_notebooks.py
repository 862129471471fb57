"""The section notebooks as a reviewer meets them: each runs on its own, imports analysis only."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import papermill

from jakisurvey import execute

from helpers import ROOT
import pytest

pytestmark = pytest.mark.slow   # runs the notebooks in kernels


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOT_FOR_NOTEBOOKS = ("jakisurvey.pipeline", "jakisurvey.render", "jakisurvey.execute",
                     "jakisurvey.outdir", "jakisurvey.cache", "jakisurvey.assemble",
                     "jakisurvey.cli")


def git_status() -> str:
    """What git sees changed in the project (ignored folders left out)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_each_notebook_runs_alone_with_its_default_parameters(tmp_path):
    """As `papermill notebooks/NN.ipynb out.ipynb` from the project, one notebook at a time,
    with no parameters (in two kernels, cleared between notebooks, to keep the test fast)."""
    before = git_status()
    pool = execute.Pool(2, tmp_path / "runtime", ROOT / "notebooks", {})

    def alone(index: int, notebooks: list) -> None:
        kernel = pool.get(index)
        for notebook in notebooks:
            kernel.fresh()
            done = papermill.execute_notebook(str(notebook), str(tmp_path / notebook.name),
                                              km=kernel.km, kernel_name="python3",
                                              progress_bar=False)
            assert not any(o.get("output_type") == "error"
                           for c in done.cells for o in c.get("outputs", [])), notebook.name
    try:
        with ThreadPoolExecutor(2) as workers:
            list(workers.map(alone, [0, 1], [NOTEBOOKS[::2], NOTEBOOKS[1::2]]))
    finally:
        pool.close()
    assert git_status() == before                # wrote only under the ignored _standalone/
    assert (ROOT / "_standalone" / "figures" / "figure_1a_map.png").is_file()


def imported_modules(path) -> set[str]:
    """The jakisurvey modules a notebook's code imports."""
    found = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("#|"))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("jakisurvey"):
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names
                                          if node.module == "jakisurvey"}
    return found


def test_notebooks_import_analysis_modules_only():
    modules = sorted(set().union(*map(imported_modules, NOTEBOOKS)))
    assert "jakisurvey.stats" in modules and "jakisurvey.inputs" in modules
    loaded = subprocess.run(
        [sys.executable, "-c", "import importlib, json, sys\n"
         f"for m in {modules!r}: importlib.import_module(m)\n"
         "print(json.dumps(sorted(m for m in sys.modules if m.startswith('jakisurvey'))))"],
        capture_output=True, text=True, check=True)
    pulled = json.loads(loaded.stdout)
    assert not [m for m in pulled if m.startswith(NOT_FOR_NOTEBOOKS)], pulled


def test_results_are_computed_in_cells_named_by_their_key():
    ids = [cell["id"] for path in NOTEBOOKS for cell in json.loads(path.read_text())["cells"]
           if cell["id"] not in {"title", "parameters", "setup"}]
    assert len(ids) == len(set(ids))             # a link names one cell
    for key in ("n_respondents", "response", "usa", "europe", "n_jaki_users",
                "patients_lower_bound", "improvement", "side_effects", "barrier_ranking",
                "indication_ranking", "subgroups", "cherries"):
        assert key in ids, key


# Numbers prose may hold: names of standards and sources, figure numbers, list items, files.
NAMED_NUMBERS = re.compile(r"ISO 3166-1 alpha-3|ISO 3166-1|M49|Eysenbach 2004|SHA-256|Figure 1\b|@fig-1[a-d]"
                           r"|^\d\. |\b\d\d_\w+\.ipynb|chi2_contingency", re.M)


def test_prose_types_no_number():
    """Points per position, band ends, codes, thresholds and settings come from code, not prose."""
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                typed = re.findall(r".{0,20}\d.{0,20}", NAMED_NUMBERS.sub("", cell.source))
                assert not typed, (path.name, cell.id, typed)
