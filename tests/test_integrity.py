"""A cache and a report folder that cannot lie (issue 14): inputs read once, damaged cache
entries and changed published files noticed, nothing followed or deleted outside the tool's
folders, one run at a time, hand edits kept, interrupts and kills leaving nothing behind.

Most tests work on a copy of the bundled report's project (its cache included), so a run in
them executes at most one notebook."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from jakisurvey import inputs, pipeline
from jakisurvey.errors import SurveyError

from helpers import DATA, ROOT, bundled_inputs, copied, jakisurvey, pdf_text


def staged(project: Path) -> list[str]:
    """What the staging area of a project's cache holds."""
    area = project / ".jakisurvey-cache" / "staging"
    return sorted(p.name for p in area.iterdir()) if area.is_dir() else []


def tree(folder: Path) -> list[str]:
    """Every file and folder under a folder."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# 1. Inputs are read once

def test_kernels_get_the_bytes_the_run_read_whatever_the_files_hold_now(tmp_path, monkeypatch):
    data = shutil.copytree(DATA, tmp_path / "data")
    given = inputs.Inputs(data / "synthetic" / "records.csv", data / "data_dictionary.csv",
                          data / "study.yml")
    checked = inputs.check_inputs(given)
    monkeypatch.setattr(inputs, "_loaded", {})
    monkeypatch.setenv(*inputs.hand_over(checked, given, tmp_path / "checked.pickle").popitem())
    lines = given.records.read_text(encoding="utf-8").splitlines(keepends=True)
    given.records.write_text("".join(lines[:100]), encoding="utf-8")   # a sync client's copy
    kernel = inputs.load(given.records, given.dictionary, given.study)
    assert len(kernel.survey.data) == len(checked.survey.data) == 235
    assert kernel.hashes == checked.hashes


@pytest.mark.slow
def test_an_input_changed_during_a_run_ends_it_with_nothing_published_or_cached(tmp_path):
    data = shutil.copytree(DATA, tmp_path / "data")
    records = data / "synthetic" / "records.csv"
    with records.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    user = next(r for r in rows if r["jaki_used"] == "1" and r["jaki_side_effects"] == "0")
    user["jaki_side_effects"] = "1"                       # the export downloaded again
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_experience.ipynb", notebooks)

    def say(line: str) -> None:                           # the run paused at this step
        if "02_experience.ipynb: running" in line:
            with records.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)

    out = tmp_path / "_output"
    with pytest.raises(SurveyError) as stopped:
        pipeline.run(inputs.Inputs(records, data / "data_dictionary.csv", data / "study.yml"),
                     out, pipeline.Options(renderer="pandoc", notebooks=notebooks, say=say,
                                           jobs=1))
    assert "records.csv: the records file changed while the report was being made" in \
        str(stopped.value).splitlines()[0]
    assert not out.exists()
    assert tree(tmp_path / ".jakisurvey-cache" / "notebooks") == []
    assert staged(tmp_path) == []


# 3. Verified cache entries

def test_damaged_cache_entries_are_noticed_and_made_again(pandoc_report, tmp_path):
    out = copied(pandoc_report, tmp_path)
    cache = out.parent / ".jakisurvey-cache"

    def cached(kind: str, pattern: str, holding: bytes = b"") -> Path:
        return next(p for p in (cache / kind).rglob(pattern) if holding in p.read_bytes())

    notebook = cached("notebooks", "*.ipynb", b'"notebooks/02_experience.ipynb"')
    notebook.write_bytes(notebook.read_bytes()[:20000])               # truncated
    pdf = cached("render", "report.pdf")
    pdf.write_bytes(pdf.read_bytes()[:5000])                          # a PDF that does not open
    second = out.parent / "second"          # a new report folder beside it: the same cache
    done = jakisurvey("run", *bundled_inputs(out.parent), "--out", str(second), "--renderer",
                      "pandoc")
    assert done.returncode == 0, done.stderr
    damaged = [line for line in done.stderr.splitlines() if line.startswith("cache: a damaged")]
    assert len(damaged) == 2, done.stderr
    assert re.findall(r"notebook (\S+): running", done.stderr) == ["02_experience.ipynb"]
    assert "render: report unchanged" not in done.stderr
    assert pdf_text(second / "report.pdf") == pdf_text(pandoc_report / "report.pdf")
    assert (second / "results.json").read_text() == (pandoc_report / "results.json").read_text()
