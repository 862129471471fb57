"""End to end: `jakisurvey run` on the bundled data and on another export, and what it must never leak."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from pypdf import PdfReader

from conftest import DICTIONARY, RECORDS, ROOT, STUDY

FIGURE_PANELS = ["Figure 1A of the paper", "Figure 1B of the paper", "Figure 1C of the paper",
                 "Figure 1D of the paper"]
SECTIONS = ["Summary", "Respondents and geography", "JAKi experience and outcomes", "Barriers",
            "Indications", "Medications", "Methods", "Provenance and data quality"]
MARKER = "PLANTED-MARKER-7f3a"


def jakisurvey(*args: str) -> subprocess.CompletedProcess:
    """Run the command line as a user would."""
    return subprocess.run([sys.executable, "-m", "jakisurvey.cli", *args], capture_output=True,
                          text=True, cwd=ROOT)


def digest(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_report(records: Path, study: Path, out: Path) -> subprocess.CompletedProcess:
    """Render a report with the pandoc renderer (the one every machine has)."""
    return jakisurvey("run", "--records", str(records), "--study", str(study),
                      "--dictionary", str(DICTIONARY), "--out", str(out), "--renderer", "pandoc")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    """The report on the bundled synthetic data, checking inputs stay byte-identical."""
    out = tmp_path_factory.mktemp("bundled") / "_output"
    inputs = [RECORDS, DICTIONARY, STUDY, ROOT / "data" / "regions.csv",
              ROOT / "data" / "country_aliases.csv"]
    before = {p: digest(p) for p in inputs}
    result = run_report(RECORDS, STUDY, out)
    assert result.returncode == 0, result.stderr
    assert {p: digest(p) for p in inputs} == before
    return out


def test_outputs_exist(bundled):
    for name in ["report.html", "report.pdf", "results.json", "run.json",
                 "private/data_quality.csv", "figures/figure_1a_map.png"]:
        assert (bundled / name).is_file(), name
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (bundled / "notebooks" / notebook.name).is_file()
        assert (bundled / "notebooks" / notebook.with_suffix(".html").name).is_file()


def test_results_json_contract_and_claims(bundled):
    results = json.loads((bundled / "results.json").read_text())
    keys = {"n_records", "n_respondents", "n_invited", "response_rate", "n_usa", "pct_usa",
            "n_europe", "pct_europe", "country_counts", "region_counts", "n_jaki_users",
            "patients_lower_bound", "patients_upper_bound", "improvement", "side_effects",
            "barrier_ranking", "indication_ranking", "n_valid_rankings", "jaki_consider",
            "concomitant", "claims", "data_quality", "inputs"}
    assert keys <= set(results)
    assert len(results["claims"]) == 10
    assert all(claim["matches"] for claim in results["claims"]), results["claims"]
    assert results["n_respondents"] == 229 and results["n_usa"] == 115
    assert results["inputs"]["records_sha256"] == digest(RECORDS)
    assert sum(results["country_counts"].values()) == sum(results["region_counts"].values())


def test_html_is_self_contained_and_complete(bundled):
    html = (bundled / "report.html").read_text(encoding="utf-8")
    for text in SECTIONS + FIGURE_PANELS + ["10 of 10", "Synthetic data", "Lack of clinical data",
                                            "Natural Earth 1:110m",
                                            "18% (229/1272)", "77% (114/148)"]:
        assert text in html, text
    assert "✗" not in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 5
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', html)
    assert 'href="notebooks/01_respondents.html"' in html
    assert "#|" not in html and "IPython.core.display" not in html


def test_pdf_has_the_same_sections_and_figures(bundled):
    reader = PdfReader(bundled / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for heading in SECTIONS + FIGURE_PANELS + ["Synthetic data"]:
        assert heading in flat, heading
    assert sum(len(page.images) for page in reader.pages) >= 5
    assert all(round(float(page.mediabox.width)) == 595 for page in reader.pages)  # A4


def test_notebook_views_show_code(bundled):
    view = (bundled / "notebooks" / "01_respondents.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", view))
    assert "section.figure_map()" in text and "Section.open(records" in text
    assert "injected-parameters" in view or "Parameters" in text


def private_strings(records: Path) -> list[str]:
    """Record ids, free-text comments and timestamps of an export: none may reach the report."""
    with records.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found = [row["record_id"] for row in rows]
    found += [line.strip() for row in rows for line in row["comments"].splitlines()
              if len(line.strip()) >= 8]
    found += [row["redcap_survey_identifier"] for row in rows if row["redcap_survey_identifier"]]
    return found + [row["jaki_survey_timestamp"] for row in rows if row["jaki_survey_timestamp"]]


def published_text(out: Path) -> dict[str, str]:
    """The text of every output file outside private/ (PDF text extracted)."""
    texts = {}
    for path in out.rglob("*"):
        if not path.is_file() or "private" in path.relative_to(out).parts:
            continue
        if path.suffix == ".pdf":
            texts[str(path)] = " ".join(p.extract_text() for p in PdfReader(path).pages)
        elif path.suffix != ".png":
            texts[str(path)] = path.read_text(encoding="utf-8")
    return texts


def assert_no_leaks(out: Path, secrets: list[str]) -> None:
    """No record id, comment or timestamp appears in any published output."""
    assert secrets
    for path, text in published_text(out).items():
        leaked = [s for s in secrets if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]
        assert not leaked, f"{path} contains {leaked[:3]}"


def test_no_identifiers_or_free_text_leak(bundled):
    assert_no_leaks(bundled, private_strings(RECORDS))
    listing = (bundled / "private" / "data_quality.csv").read_text()
    assert "SYN-" in listing  # the private listing does name records, for the researchers


@pytest.fixture(scope="module")
def other(tmp_path_factory) -> tuple[Path, Path]:
    """Another valid export (120 respondents, planted comments) with its own study file."""
    folder = tmp_path_factory.mktemp("other")
    records = folder / "other.csv"
    assert jakisurvey("synth", "--n", "120", "--seed", "7", "--out", str(records)).returncode == 0
    with records.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        if i % 3 == 0 and row["role"]:
            row["comments"] = f"{MARKER} note {i}"
            row["redcap_survey_identifier"] = f"provider{i}@example.org"
    with records.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    study = yaml.safe_load(STUDY.read_text())
    study.update(n_invited=400, min_cell=3, country_aliases=str(ROOT / "data" / "country_aliases.csv"),
                 regions=str(ROOT / "data" / "regions.csv"))
    (folder / "other.yml").write_text(yaml.safe_dump(study), encoding="utf-8")
    out = folder / "_output"
    before = digest(records), digest(folder / "other.yml")
    result = run_report(records, folder / "other.yml", out)
    assert result.returncode == 0, result.stderr
    assert (digest(records), digest(folder / "other.yml")) == before
    return records, out


def test_other_export_gives_its_own_numbers(other):
    records, out = other
    results = json.loads((out / "results.json").read_text())
    assert results["n_respondents"] == 120 and results["n_invited"] == 400
    claims = {c["id"]: c for c in results["claims"]}
    assert claims["respondents"]["matches"] is False
    assert claims["respondents"]["reproduced"] == 120
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "✗ no" in html and "&lt;3" in html  # a country cell below min_cell = 3


def test_planted_marker_never_published(other):
    records, out = other
    planted = records.read_text(encoding="utf-8")
    assert MARKER in planted and "@example.org" in planted
    assert_no_leaks(out, [MARKER] + private_strings(records))


def test_invalid_input_stops_run_before_anything_is_written(tmp_path):
    bad = tmp_path / "bad.csv"
    text = RECORDS.read_text(encoding="utf-8").replace("SYN-0002", "SYN-0001", 1)
    bad.write_text(text, encoding="utf-8")
    result = jakisurvey("run", "--records", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "duplicate record id" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_failing_notebook_keeps_previous_report(tmp_path, monkeypatch):
    from jakisurvey import pipeline

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = nbformat.read(ROOT / "notebooks" / "00_summary.ipynb", as_version=4)
    source.cells = source.cells[:3] + [nbformat.v4.new_code_cell(
        'raise RuntimeError("planted failure")')]
    nbformat.write(source, notebooks / "00_fails.ipynb")
    monkeypatch.setattr(pipeline, "NOTEBOOKS", notebooks)
    out = tmp_path / "_output"
    out.mkdir()
    (out / "report.html").write_text("previous report")
    inputs = pipeline.Inputs(RECORDS, DICTIONARY, STUDY)
    with pytest.raises(pipeline.NotebookError) as failure:
        pipeline.run(inputs, out, "pandoc")
    message = str(failure.value)
    assert "00_fails.ipynb" in message and 'raise RuntimeError("planted failure")' in message
    assert "RuntimeError: planted failure" in message and "unchanged" in message
    assert (out / "report.html").read_text() == "previous report"
    kept = tmp_path / "_output.failed" / "00_fails.ipynb"
    assert kept.is_file() and "planted failure" in kept.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_output", "_output.failed", "notebooks"]


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH")
def test_quarto_renders_the_report(tmp_path):
    out = tmp_path / "_output"
    result = jakisurvey("run", "--out", str(out), "--renderer", "quarto")
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    for text in SECTIONS + FIGURE_PANELS + ["10 of 10"]:
        assert text in html, text
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', html)
    text = " ".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert all(s in re.sub(r"\s+", " ", text) for s in SECTIONS)
