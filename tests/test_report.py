"""End to end: `jakisurvey run` on the bundled data and on another export, and what it must never do."""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from pypdf import PdfReader

from jakisurvey.study import load_study

from helpers import (DICTIONARY, RECORDS, ROOT, STUDY, assert_absent, bundled_inputs, copied,
                     digest, jakisurvey, pdf_text, private_strings, squeezed, text_of, tool_path,
                     wait_for)


FIGURE_PANELS = ["Figure 1A: Respondents per country", "Figure 1B: Indications for starting",
                 "Figure 1C: Systemic JAKi respondents would consider",
                 "Figure 1D: Concomitant medications respondents would consider"]
SECTIONS = ["Summary", "Respondents and geography", "JAKi experience and outcomes", "Barriers",
            "Indications", "Medications", "Regions and societies",
            "Reporting checklist (CHERRIES)", "Methods", "Provenance and data quality"]
# What the cell behind each claim's link must compute (its code) and show (its output).
COMPUTATIONS = {
    "n_respondents": ("tallies.records(survey)", "Respondents: 229"),
    "response": ("stats.response_rate(survey, settings.n_invited)", "18% (229/1272)"),
    "usa": ('stats.country_share(survey, "country_iso3", d.USA)', "50% (115/229)"),
    "europe": ('stats.country_share(survey, "country_region", d.EUROPE)', "29% (66/229)"),
    "n_jaki_users": ("stats.jaki_users(survey)", "JAKi users: 150"),
    "patients_lower_bound": ("stats.patients_bounds(survey)", "at least 473"),
    "improvement": ("stats.rule_share(survey, d.IMPROVED_MOST_OR_ALL)", "77% (114/148)"),
    "side_effects": ("stats.rule_share(survey, d.SIDE_EFFECTS)", "17% (25/147)"),
    "barrier_ranking": ('stats.ranking_table(survey, "barrier")', "Lack of clinical data"),
    "indication_ranking": ('stats.ranking_table(survey, "indication")', "Refractory skin disease"),
}


def test_every_results_key_is_recorded_by_exactly_one_cell(pandoc_report):
    """results.json is what the executed notebooks recorded: each value by one cell; the
    published notebooks name what each cell recorded, without the values."""
    from jakisurvey.notebook import RESULTS_MIME, recorded_keys

    cells: dict[str, list[str]] = {}
    for path in sorted((pandoc_report / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                assert RESULTS_MIME not in output.get("data", {}), (path.name, cell.id)
                for key in recorded_keys(output):
                    cells.setdefault(key, []).append(f"{path.stem}#{cell.id}")
    assert {key: where for key, where in cells.items() if len(where) != 1} == {}
    results = json.loads((pandoc_report / "results.json").read_text())
    assert {key.split(".")[0] for key in cells} == set(results)
    assert cells["improvement"] == ["02_experience#improvement"]
    assert cells["n_valid_rankings.barrier"] == ["03_barriers#barrier_ranking"]


def test_outputs_exist(pandoc_report):
    for name in ["report.html", "report.pdf", "report.ipynb", "results.json", "run.json",
                 "changes.json", "private/results.json", "private/data_quality.csv",
                 "figures/figure_1a_map.png", ".jakisurvey-report.json"]:
        assert (pandoc_report / name).is_file(), name
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (pandoc_report / "notebooks" / notebook.name).is_file()
        assert (pandoc_report / "notebooks" / notebook.with_suffix(".html").name).is_file()
    assert json.loads((pandoc_report / "changes.json").read_text()) == []  # no earlier report


def test_results_json_contract_and_claims(pandoc_report):
    results = json.loads((pandoc_report / "results.json").read_text())
    keys = {"n_records", "n_respondents", "n_invited", "response_rate", "n_usa", "pct_usa",
            "n_europe", "pct_europe", "country_counts", "region_counts", "n_jaki_users",
            "patients_lower_bound", "patients_upper_bound", "improvement", "side_effects",
            "barrier_ranking", "indication_ranking", "n_valid_rankings", "jaki_consider",
            "concomitant", "claims", "data_quality", "inputs", "subgroups", "ranking_stability",
            "alternative_scorings", "cherries"}
    assert keys <= set(results)
    assert [c["status"] for c in results["claims"]] == ["match"] * 10
    assert results["n_respondents"] == 229 and results["n_usa"] == 115
    assert results["inputs"]["records_sha256"] == digest(RECORDS)
    assert {"ci_low", "ci_high"} <= set(results["improvement"])
    assert sum(results["country_counts"].values()) == sum(results["region_counts"].values())
    run = json.loads((pandoc_report / "run.json").read_text())
    assert run["renderer"]["renderer"] == "pandoc" and run["renderer"]["pandoc"]
    assert run["inputs"]["records"] == {"file": "records.csv", "sha256": digest(RECORDS)}


def test_html_is_self_contained_and_complete(pandoc_report):
    page = (pandoc_report / "report.html").read_text(encoding="utf-8")
    text = text_of(page)
    claims = len(load_study(STUDY).claims)   # every claim of the study file reproduced
    for wanted in SECTIONS + FIGURE_PANELS + [f"{claims} of {claims}", "Synthetic data",
                                              "Lack of clinical data", "Natural Earth 1:110m",
                                              "18% (229/1272)", "77% (114/148)",
                                              "95% CI 70–83%"]:
        assert wanted in text, wanted
    assert "✗" not in text and "#|" not in page and "IPython.core.display" not in page
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 8
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', page)


def test_pdf_has_the_same_sections_and_figures(pandoc_report):
    text = pdf_text(pandoc_report / "report.pdf")
    for wanted in SECTIONS + FIGURE_PANELS + ["Synthetic data", "77% (114/148)"]:
        assert wanted in text, wanted
    reader = PdfReader(pandoc_report / "report.pdf")
    assert all(round(float(page.mediabox.width)) == 595 for page in reader.pages)  # A4


def claim_links(page: str) -> dict[str, str]:
    """Reproduction-table rows of a rendered report: claim text -> link target."""
    table = next(t for t in re.findall(r"<table.*?</table>", page, re.S) if "Reproduced" in t)
    return {text_of(name): target for target, name in
            re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', table, re.S)}


def cell_at(view: str, anchor: str) -> str:
    """The HTML of the element with an id in a notebook view (up to the next cell anchor)."""
    start = view.index(f'id="{anchor}"')
    following = view.find('id="cell-', start + 1)
    return view[start: following if following > 0 else len(view)]


def test_each_claim_links_to_the_cell_that_computes_it(report_dirs):
    study = yaml.safe_load(STUDY.read_text())
    for renderer, out in report_dirs.items():
        links = claim_links((out / "report.html").read_text(encoding="utf-8"))
        for claim in study["claims"]:
            target = links[claim["claim"]]
            page, _, anchor = target.partition("#")
            assert page.startswith("notebooks/") and anchor == f"cell-{claim['result']}", target
            cell = text_of(cell_at((out / page).read_text(encoding="utf-8"), anchor))
            code, shown = COMPUTATIONS[claim["result"]]
            assert squeezed(code) in squeezed(cell), (renderer, claim["id"], cell[:300])
            assert shown in cell, (renderer, claim["id"], cell[-300:])


def test_every_table_and_figure_links_to_its_cell(pandoc_report):
    page = (pandoc_report / "report.html").read_text(encoding="utf-8")
    tables, figures = len(re.findall(r"<table", page)), len(re.findall(r"<figure", page))
    links = re.findall(r'href="(notebooks/\d\d_[\w-]+\.html#cell-[\w-]+)"', page)
    assert len(links) >= tables + figures - 1  # at most a cell with two tables shares one link
    for target in set(links):
        name, _, anchor = target.partition("#")
        assert f'id="{anchor}"' in (pandoc_report / name).read_text(encoding="utf-8"), target


def test_no_identifiers_or_free_text_leak(pandoc_report):
    assert_absent(pandoc_report, private_strings(RECORDS))
    assert "SYN-" in (pandoc_report / "private" / "data_quality.csv").read_text()


def test_no_absolute_paths_outside_private(report_dirs):
    for out in report_dirs.values():
        assert_absent(out, [str(ROOT), str(out), str(out.parent), ".jakisurvey-cache",
                            str(Path.home())])
        book = nbformat.read(out / "notebooks" / "01_respondents.ipynb", as_version=4)
        injected = next(c for c in book.cells if "injected-parameters" in c.metadata.get("tags", []))
        assert 'output = ".."' in injected.source and "records = \"" in injected.source


def test_an_executed_notebook_reruns_in_its_folder(pandoc_report, tmp_path):
    import papermill

    out = copied(pandoc_report, tmp_path)
    here = out / "notebooks" / "02_experience.ipynb"
    before = nbformat.read(here, as_version=4)
    rerun = papermill.execute_notebook(str(here), str(here), cwd=str(here.parent),
                                       progress_bar=False, kernel_name="python3")
    shown = [[o["data"].get("text/markdown") for o in c.get("outputs", []) if "data" in o]
             for c in before.cells]
    assert shown == [[o["data"].get("text/markdown") for o in c.get("outputs", []) if "data" in o]
                     for c in rerun.cells]
    from jakisurvey import outdir
    outdir.check_ours(out)  # it wrote only files of the report (still replaceable)


def test_a_second_run_with_nothing_changed_does_nothing(pandoc_report):
    before = (pandoc_report / ".jakisurvey-report.json").read_text()
    result = jakisurvey("run", *bundled_inputs(pandoc_report.parent), "--out", str(pandoc_report),
                        "--renderer", "pandoc")
    assert result.returncode == 0, result.stderr
    assert "nothing changed" in result.stderr and "running" not in result.stderr
    assert (pandoc_report / ".jakisurvey-report.json").read_text() == before


def test_invalid_input_stops_run_before_anything_is_written(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(RECORDS.read_text(encoding="utf-8").replace("SYN-0002", "SYN-0001", 1),
                   encoding="utf-8")
    result = jakisurvey("run", "--records", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "duplicate record id" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.parametrize("given, message", [
    ("", "empty"), (".", "current folder"), ("data", "holds the input"),
    ("data/synthetic/records.csv", "holds the input"), ("src", "did not make"),
    ("missing/nested/out", "does not exist"), ("..", "current folder")])
def test_out_refusals_exit_1_before_any_work(given, message, capsys, monkeypatch):
    from jakisurvey import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["run", "--out", given, "--renderer", "pandoc"]) == 1
    error = capsys.readouterr().err
    assert message in error and "nothing was written" in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


def test_the_project_root_is_refused_from_elsewhere(tmp_path, capsys, monkeypatch):
    from jakisurvey import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--out", str(ROOT)]) == 1
    assert "project folder" in capsys.readouterr().err


def test_failing_notebook_keeps_previous_report(pandoc_report, tmp_path):
    from jakisurvey import pipeline

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = nbformat.read(ROOT / "notebooks" / "00_summary.ipynb", as_version=4)
    source.cells = source.cells[:3] + [nbformat.v4.new_code_cell(
        'raise RuntimeError("planted failure")')]
    nbformat.write(source, notebooks / "00_fails.ipynb")
    out = tmp_path / "_output"
    subprocess.run(["cp", "-a", str(pandoc_report), str(out)], check=True)
    before = (out / "report.html").read_bytes()
    inputs = pipeline.Inputs(RECORDS, DICTIONARY, STUDY)
    with pytest.raises(pipeline.NotebookError) as failure:
        pipeline.run(inputs, out, pipeline.Options(renderer="pandoc", notebooks=notebooks,
                                                   say=lambda line: None))
    message = str(failure.value)
    assert "00_fails.ipynb" in message and 'raise RuntimeError("planted failure")' in message
    assert "RuntimeError: planted failure" in message and "unchanged" in message
    assert (out / "report.html").read_bytes() == before
    kept = tmp_path / ".jakisurvey-cache" / "failed" / "00_fails.ipynb"
    assert kept.is_file() and "planted failure" in kept.read_text()
    assert not (tmp_path / ".jakisurvey-cache" / "staging").exists()


def test_a_killed_run_keeps_the_report_and_the_next_run_cleans_up(pandoc_report, tmp_path):
    """SIGKILL during execution (SIGTERM and SIGINT: tests/test_integrity.py)."""
    out = copied(pandoc_report, tmp_path)
    before = (out / "report.html").read_bytes()
    command = ["run", *bundled_inputs(out.parent), "--out", str(out), "--renderer", "pandoc"]
    process = subprocess.Popen(
        [sys.executable, "-m", "jakisurvey.cli", *command, "--force"], stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PATH": tool_path()})
    wait_for(process, "running")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert (out / "report.html").read_bytes() == before
    staging = out.parent / ".jakisurvey-cache" / "staging"
    left = list(staging.iterdir()) if staging.exists() else []
    assert len(left) == 1                               # only the next run can clean up
    assert list(left[0].glob(".runtime/kernel-*.json"))  # the kernel's key is in there too
    ignored = subprocess.run(["git", "check-ignore", "-q",
                              ".jakisurvey-cache/staging/" + left[0].name], cwd=ROOT)
    assert ignored.returncode == 0
    again = jakisurvey(*command)
    assert again.returncode == 0, again.stderr
    assert not staging.exists() or list(staging.iterdir()) == []
    assert "nothing changed" in again.stderr
    assert "interrupted run" in again.stderr


def test_private_is_readable_by_its_owner_only(pandoc_report):
    private = pandoc_report / "private"
    assert private.stat().st_mode & 0o777 == 0o700
    modes = {p.name: p.stat().st_mode & 0o777 for p in private.iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes
