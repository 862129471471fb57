"""Extending the report as the README's "Extending the report" says: a new section with one
statistic and a claim touches the new notebook, the declaration, data/study.yml and a test."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
import yaml

from helpers import bundled_inputs, jakisurvey, project_copy

pytestmark = pytest.mark.slow   # runs a report


DECLARATION = '''    Measure("trainees", "Paediatric rheumatology trainees", SHARE, "stats.coded_share",
            fields=(("role", CODED),)),
'''
CELL = '''trainees = record("trainees", stats.coded_share(survey, "role", {2}))  # role 2: trainee
t.show(t.sentence("Trainees: ", t.bold(t.share(trainees)), "."))'''


def new_section(project) -> None:
    """Notebook 10 (a copy of the Methods notebook's head and one result cell), its declaration
    and a claim on it, in a copy of the project."""
    methods = nbformat.read(project / "notebooks" / "08_methods.ipynb", as_version=4)
    head = [c for c in methods.cells if c.id in {"parameters", "setup"}]
    book = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Trainees\n\nWho of the respondents is in training.",
                                      id="title"), *head,
        nbformat.v4.new_code_cell(CELL, id="trainees")], metadata=methods.metadata)
    nbformat.write(book, project / "notebooks" / "10_trainees.ipynb")
    declarations = project / "src" / "jakisurvey" / "measures.py"
    text = declarations.read_text(encoding="utf-8")
    anchor = '    # Provenance, and the check of the published claims\n'
    declarations.write_text(text.replace(anchor, DECLARATION + anchor), encoding="utf-8")
    study = yaml.safe_load((project / "data" / "study.yml").read_text(encoding="utf-8"))
    study["claims"].append({"id": "trainees", "claim": "Trainees among respondents",
                            "published": 3, "check": "percent", "result": "trainees"})
    (project / "data" / "study.yml").write_text(yaml.safe_dump(study, sort_keys=False),
                                                encoding="utf-8")


def test_a_new_section_with_one_statistic_and_a_claim(tmp_path):
    project = project_copy(tmp_path / "project")
    new_section(project)
    out = project / "_output"
    done = jakisurvey("run", *bundled_inputs(project), "--out", str(out), "--renderer", "pandoc",
                      cwd=project, env={"PYTHONPATH": str(project / "src")})
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(results["trainees"]) >= {"n", "N", "pct", "ci_low", "ci_high"}
    claim = next(c for c in results["claims"] if c["id"] == "trainees")
    assert claim["reproduced"] == results["trainees"]["pct"] and claim["status"] != "not reproducible"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r'href="notebooks/10_trainees\.html#cell-trainees"[^>]*>\s*Trainees among '
                     r'respondents', report)
    assert "Trainees" in (out / "notebooks" / "10_trainees.html").read_text(encoding="utf-8")
    assert "Trainees among respondents" in json.dumps(results["claims"])
