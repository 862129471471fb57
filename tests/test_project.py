"""The project's own files: clean notebooks, Quarto never executing (the lock and the files
exported from it: test_lock.py)."""

from __future__ import annotations

import ast

import nbformat
import pytest
import yaml

from helpers import ROOT


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAMETERS = {"records", "dictionary", "study", "output", "disclosure"}
DEPENDENT = {"00_summary.ipynb", "07_cherries.ipynb"}   # they read the collected results


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_carry_no_outputs(path):
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_have_one_parameters_cell(path):
    book = nbformat.read(path, as_version=4)
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {t.id for node in ast.parse(tagged[0].source).body for t in node.targets}
    assert names == PARAMETERS | ({"collected"} if path.name in DEPENDENT else set())


def test_quarto_never_executes():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert config["execute"]["enabled"] is False
    assert config["project"]["render"] == ["_build/report.ipynb"]
    assert "jakisurvey quarto" in config["project"]["pre-render"]
    assert {"html", "typst"} <= set(config["format"])
