"""The same inputs, lock and command give the same bytes, with either renderer; `jakisurvey
verify` says so file by file (and names a file edited by hand); the report's date is never the
clock; wall-clock times stay private.

The report of each renderer (the session fixtures: `jakisurvey run` with pandoc, `quarto render`
at a project root) is made again by `jakisurvey verify --keep` into another folder, after a
pause, and every shared file of the two is compared byte by byte here too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from jakisurvey import verify
from jakisurvey.errors import StudyError
from jakisurvey.outdir import MARKER
from jakisurvey.provenance import report_date

from helpers import ROOT, STUDY, bundled_inputs, jakisurvey, wanted

RENDERERS = ["pandoc", "quarto"] if wanted("quarto") else ["pandoc"]
DAY = "2025-03-01"   # data/study.yml's date


@pytest.fixture(scope="module", params=RENDERERS)
def made_again(request, report_dirs, tmp_path_factory) -> tuple[Path, Path, object]:
    """(the report, the same report made again by `verify --keep`, verify's run)."""
    out = report_dirs[request.param]
    time.sleep(1.1)                       # another second on the clock
    again = tmp_path_factory.mktemp(f"again-{request.param}") / "report"
    done = jakisurvey("verify", str(out), *bundled_inputs(out.parent), "--keep", str(again))
    return out, again, done


def shared(folder: Path) -> list[str]:
    """Every file of a report folder but private/ and the tool's marker."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                  and p.name != MARKER and p.relative_to(folder).parts[0] != "private")


def test_the_same_inputs_give_the_same_bytes(made_again):
    out, again, _ = made_again
    assert shared(out) == shared(again)
    assert len(shared(out)) > 40 and "report.pdf" in shared(out)
    assert [name for name in shared(out)
            if (out / name).read_bytes() != (again / name).read_bytes()] == []


def test_verify_says_file_by_file_that_an_untouched_report_is_reproduced(made_again):
    out, _, done = made_again
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[-1] == f"{out}: reproduced (all {len(shared(out))} shared files are byte for " \
                        "byte the same)"
    assert sorted(line.split(": ")[0] for line in lines[:-1]) == shared(out)
    assert all(line.endswith(": reproduced") for line in lines[:-1])


def test_verify_names_a_results_json_edited_by_hand(made_again, tmp_path):
    out, again, _ = made_again
    copy = tmp_path / "shared"
    shutil.copytree(out, copy)
    results = json.loads((copy / "results.json").read_text())
    results["n_respondents"] += 1
    (copy / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    found = verify.compare(copy, again)
    assert [(name, status) for name, status in found if status != verify.REPRODUCED] == \
        [("results.json", "differs")]
    assert verify.verdict(copy, found) == \
        f"{copy}: NOT reproduced: 1 of {len(found)} shared files differ (results.json)"


def test_verify_refuses_an_input_that_is_not_the_recorded_one(pandoc_report, tmp_path):
    for name in ("country_aliases.csv", "regions.csv"):
        shutil.copy(STUDY.parent / name, tmp_path / name)
    study = tmp_path / "study.yml"
    study.write_text(STUDY.read_text().replace("n_invited: 1272", "n_invited: 1300"))
    done = jakisurvey("verify", str(pandoc_report), "--study", str(study))
    assert done.returncode == 1 and done.stdout == ""
    line, = done.stderr.splitlines()
    assert line.startswith("error: study.yml (study): SHA-256 ")
    assert "is not the study.yml the report was made from" in line
    assert line.endswith("give it with --study; nothing was run")


def test_no_wall_clock_time_in_what_is_shared(pandoc_report):
    for book in sorted((pandoc_report / "notebooks").glob("*.ipynb")):
        text = book.read_text()
        assert not re.search(r'"(start_time|end_time|duration)"', text), book.name
        nb = json.loads(text)
        assert [c["id"] for c in nb["cells"] if "injected-parameters" in
                c["metadata"].get("tags", [])] == ["injected-parameters"]
    run = json.loads((pandoc_report / "run.json").read_text())
    assert run["date"] == DAY and run["date_from"] == "study.yml date"
    timings = json.loads((pandoc_report / "private" / "timings.json").read_text())
    assert timings["seconds"] > 0 and timings["started"].endswith("Z")
    assert timings["notebooks"]["02_experience.ipynb"]["cells"]["improvement"] >= 0


def test_the_pdf_and_word_files_carry_the_report_date(report_dirs):
    for out in report_dirs.values():
        pdf = (out / "report.pdf").read_bytes()
        assert set(re.findall(rb"/(?:CreationDate|ModDate)\(D:(\d{8})", pdf)) == {b"20250301"}
        with zipfile.ZipFile(out / "report.docx") as archive:
            assert {i.date_time for i in archive.infolist()} == {(2025, 3, 1, 0, 0, 0)}
            core = archive.read("docProps/core.xml").decode()
        assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == \
            [f"{DAY}T00:00:00Z"] * 2


def test_run_json_says_the_environment_is_the_locked_one(pandoc_report):
    env = json.loads((pandoc_report / "run.json").read_text())["environment"]
    assert env["lock"] == "uv.lock" and env["as_locked"] is True and env["differs"] == []
    assert env["sha256"] == hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    view = (pandoc_report / "notebooks" / "09_provenance.html").read_text()
    assert "Environment as locked" in view and env["sha256"] in view


def test_the_report_date_rule(tmp_path):
    records = tmp_path / "records.csv"
    records.write_text("x\n")
    os.utime(records, (0, dt.datetime(2024, 5, 6, 23, 30, tzinfo=dt.timezone.utc).timestamp()))
    study = tmp_path / "study.yml"
    assert report_date(None, study, records, {}) == {
        "date": "2024-05-06", "date_from": "records.csv modification time"}
    assert report_date(dt.date(2025, 3, 1), study, records, {}) == {
        "date": DAY, "date_from": "study.yml date"}
    assert report_date(dt.date(2025, 3, 1), study, records, {"SOURCE_DATE_EPOCH": "1700000000"}) \
        == {"date": "2023-11-14", "date_from": "SOURCE_DATE_EPOCH"}
    with pytest.raises(StudyError, match=r"^SOURCE_DATE_EPOCH must be a whole number of seconds "
                                         r"since 1970-01-01 UTC \(found 'yesterday'\)"):
        report_date(None, study, records, {"SOURCE_DATE_EPOCH": "yesterday"})


def test_the_bundled_study_file_dates_the_report():
    assert yaml.safe_load(STUDY.read_text())["date"] == dt.date(2025, 3, 1)


@pytest.mark.parametrize("run_json, says", [
    (None, "no readable run.json; not a report made by jakisurvey"),
    ({"inputs": "records.csv"}, "run.json: 'inputs' must give each input's file name and SHA-256; "
                                "not as jakisurvey writes it"),
    ({"inputs": {"records": {"file": "records.csv", "sha256": "ab" * 32}},
      "renderer": {"renderer": "latex"}},
     "'renderer' must name the renderer, pandoc or quarto; not as jakisurvey writes it")])
def test_verify_refuses_a_folder_whose_run_json_it_cannot_use(tmp_path, run_json, says):
    if run_json is not None:
        (tmp_path / "run.json").write_text(json.dumps(run_json))
    done = jakisurvey("verify", str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    line, = done.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path}") and line.endswith(says)
