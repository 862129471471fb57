"""Another export with hostile text in every input file, small cells suppressed, and an update.

One export (60 synthetic respondents: groups of 1 to 3 people everywhere) with its own study
file (min_cell 5), a data dictionary,
study file and country files whose texts are markup, links, scripts, formulas and mathematics,
and comments carrying a planted marker. It is rendered, then re-rendered after one answer is
corrected and one record added, to check changes.json.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from outputcheck.docx import Paragraph, read_docx
from helpers import (DATA, DICTIONARY, STUDY, assert_absent, check_report, jakisurvey, pdf_text,
                     private_strings, regions_of, text_of)

MARKER = "PLANTED-MARKER-7f3a"
MIN_CELL = 5
HOSTILE = {
    "jaki_consider": (5, "<img src=x onerror=alert(1)>"),
    "concomitant": (10, "[click](javascript:alert(2))"),
    "barrier_rank_1": (9, "<script>alert(3)</script>"),
    "indication_rank_1": (10, "Cost between $500 and $1,000"),
    "jaki_agents_used": (5, "{{< include /etc/passwd >}} @fig-1a"),
    "jaki_side_effect_types": (7, "=HYPERLINK(\"http://x\") **bold**"),
}
STUDY_TEXTS = {"title": "JAKi <b onmouseover=alert(4)>survey</b> $x$",
               "citation": "[doi](javascript:alert(5)) <i>cited</i>"}
CLAIM_TEXT = "Respondents <svg onload=alert(6)>"
COUNTRY_NAME = "Francia <img src=y onerror=alert(7)>"


def hostile_dictionary(target: Path) -> Path:
    """The project's dictionary with hostile labels (ranking positions share one choice list)."""
    with DICTIONARY.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    column = "Choices, Calculations, OR Slider Labels"
    for row in rows:
        name = row["Variable / Field Name"]
        key = re.sub(r"_rank_\d$", "_rank_1", name)
        if key in HOSTILE:
            code, label = HOSTILE[key]
            choices = [c.strip() for c in row[column].split("|")]
            row[column] = " | ".join(f"{code}, {label}" if c.split(",")[0].strip() == str(code)
                                     else c for c in choices)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def write_records(path: Path, rows: list[dict]) -> None:
    """Write an export."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """Hostile inputs, rendered once with pandoc into out/."""
    folder = tmp_path_factory.mktemp("hostile")
    records = folder / "other.csv"
    assert jakisurvey("synth", "--n", "60", "--seed", "7", "--out", str(records)).returncode == 0
    with records.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        if i % 3 == 0 and row["role"]:
            row["comments"] = f"{MARKER} note {i}"
            row["redcap_survey_identifier"] = f"provider{i}@example.org"
        if i < 4:  # every hostile choice ticked or ranked by someone
            row.update({"jaki_consider___5": "1", "concomitant___10": "1"})
    write_records(records, rows)
    regions = (DATA / "regions.csv").read_text(encoding="utf-8")
    (folder / "regions.csv").write_text(regions.replace("FRA,France,", f'FRA,"{COUNTRY_NAME}",'),
                                        encoding="utf-8")
    (folder / "country_aliases.csv").write_text(
        (DATA / "country_aliases.csv").read_text(encoding="utf-8"), encoding="utf-8")
    study = yaml.safe_load(STUDY.read_text())
    study.update(n_invited=400, min_cell=MIN_CELL, **STUDY_TEXTS)
    study["claims"][0]["claim"] = CLAIM_TEXT
    study["claims"].append({"id": "usa_users", "claim": "JAKi users in the USA", "published": 60,
                            "check": "percent", "result": "subgroups.region.measures.jaki_used.USA"})
    study["cherries"] = {"design": "<iframe src=z></iframe> survey"}
    (folder / "other.yml").write_text(yaml.safe_dump(study), encoding="utf-8")
    dictionary = hostile_dictionary(folder / "dictionary.csv")
    out = folder / "_output"
    result = jakisurvey("run", "--records", str(records), "--study", str(folder / "other.yml"),
                        "--dictionary", str(dictionary), "--out", str(out), "--renderer", "pandoc")
    assert result.returncode == 0, result.stderr
    return {"folder": folder, "records": records, "rows": rows, "study": folder / "other.yml",
            "dictionary": dictionary, "out": out}


def pages(out: Path) -> dict[str, str]:
    """The report and every notebook view."""
    found = {"report.html": (out / "report.html").read_text(encoding="utf-8")}
    for view in sorted((out / "notebooks").glob("*.html")):
        found[view.name] = view.read_text(encoding="utf-8")
    return found


def test_hostile_text_is_never_live_markup(hostile):
    for name, page in pages(hostile["out"]).items():
        assert "<script" not in page, name
        assert not re.search(r"<[a-z]+[^>]*\son(error|load|mouseover)=", page, re.I), name
        assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', page)), name
        assert "<iframe" not in page and "<svg onload" not in page, name


def test_hostile_text_is_shown_literally(hostile):
    report = text_of((hostile["out"] / "report.html").read_text(encoding="utf-8"))
    for _, label in HOSTILE.values():
        assert " ".join(label.split()) in report, label
    for text in [*STUDY_TEXTS.values(), CLAIM_TEXT, COUNTRY_NAME, "<iframe src=z></iframe>"]:
        assert text in report, text
    pdf = pdf_text(hostile["out"] / "report.pdf")
    assert "Cost between $500 and $1,000" in pdf and "<script>alert(3)</script>" in pdf
    assert "{{< include /etc/passwd >}} @fig-1a" in pdf


def test_spreadsheet_cells_cannot_be_formulas(hostile):
    with (hostile["out"] / "private" / "data_quality.csv").open(encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert cells and not [c for c in cells if c[:1] in {"=", "+", "-", "@", "\t", "\r"}]


def test_small_counts_are_suppressed_everywhere_outside_private(hostile):
    out = hostile["out"]
    public = json.loads((out / "results.json").read_text())
    exact = json.loads((out / "private" / "results.json").read_text())
    small = {k: v for k, v in exact["country_counts"].items() if 0 < v < MIN_CELL}
    assert small and all(public["country_counts"][k] == "<5" for k in small)
    assert public["claims"] == exact["claims"]       # the claims are checked once, gated
    for entry in public["jaki_consider"].values():
        assert entry["n"] in ("<5", "x") or entry["n"] == 0 or entry["n"] >= MIN_CELL
    report = text_of((out / "report.html").read_text(encoding="utf-8"))
    assert "<5" in report and "✗ no" in report
    assert public["claims"][0]["reproduced"] == 60 and public["n_respondents"] == 60


def test_a_claim_on_a_nested_result_is_checked(hostile):
    exact = json.loads((hostile["out"] / "private" / "results.json").read_text())
    claim = next(c for c in exact["claims"] if c["id"] == "usa_users")
    share = exact["subgroups"]["region"]["measures"]["jaki_used"]["USA"]
    assert claim["reproduced_text"].endswith(f"({share['n']}/{share['N']})")
    assert 'href="notebooks/06_subgroups.html#cell-subgroups"' in \
        (hostile["out"] / "report.html").read_text(encoding="utf-8")


def test_run_json_names_files_not_folders(hostile):
    run = json.loads((hostile["out"] / "run.json").read_text())
    assert str(hostile["folder"]) not in json.dumps(run)
    assert run["inputs"]["records"]["file"] == "other.csv"


def test_planted_marker_never_published(hostile):
    planted = hostile["records"].read_text(encoding="utf-8")
    assert MARKER in planted and "@example.org" in planted
    assert_absent(hostile["out"], [MARKER] + private_strings(hostile["records"]))


def test_changes_json_lists_exactly_what_an_update_changed(hostile):
    from jakisurvey import definitions as d, stats
    from jakisurvey.inputs import Inputs, check_inputs

    rows = [dict(row) for row in hostile["rows"]]
    user = next(r for r in rows if r["jaki_used"] == "1" and r["jaki_side_effects"] == "0")
    user["jaki_side_effects"] = "1"                       # one answer corrected
    added = dict(rows[-1], record_id="SYN-9999")          # one record added
    updated = hostile["folder"] / "updated.csv"
    write_records(updated, rows + [added])
    old = json.loads((hostile["out"] / "results.json").read_text())
    hostile["old_word"] = report_text(read_docx(hostile["out"] / "report.docx"))
    assert not (hostile["out"] / "changes.docx").exists()     # a first report: no revision
    result = jakisurvey("run", "--records", str(updated), "--study", str(hostile["study"]),
                        "--dictionary", str(hostile["dictionary"]), "--out", str(hostile["out"]),
                        "--renderer", "pandoc")
    assert result.returncode == 0, result.stderr
    new = json.loads((hostile["out"] / "results.json").read_text())
    change = json.loads((hostile["out"] / "changes.json").read_text())
    assert [c["key"] for c in change] == [k for k in new if old.get(k) != new[k]]
    assert {"n_respondents", "side_effects", "inputs", "claims"} <= {c["key"] for c in change}
    entry = next(c for c in change if c["key"] == "n_respondents")
    assert (entry["old"], entry["new"]) == (60, 61)
    assert "changes: " in result.stderr and "Changes since the previous run" in \
        text_of((hostile["out"] / "report.html").read_text(encoding="utf-8"))
    checked = check_inputs(Inputs(updated, hostile["dictionary"], hostile["study"]))
    exact = json.loads((hostile["out"] / "private" / "results.json").read_text())
    assert exact["side_effects"] == stats.rule_share(checked.survey, d.SIDE_EFFECTS).as_dict()
    assert exact["inputs"]["records_sha256"] == checked.hashes["records"]


def report_text(word, view: str = "marked") -> list[str]:
    """A Word file's lines (paragraphs, table rows), without the report's own "Changes since
    the previous run" section and the revision's note at its top."""
    lines, skipping = [], False
    for block in word.blocks:
        if isinstance(block, Paragraph):
            if block.style == "Heading 1":
                skipping = block.texts[view] == "Changes since the previous run"
            if not skipping and block.texts[view].strip():
                lines.append(" ".join(block.texts[view].split()))
        elif not skipping and block.rows[view][:1] != [["Tracked changes"]]:
            lines += [" | ".join(" ".join(c.split()) for c in row) for row in block.rows[view]]
    return lines


def test_the_update_is_a_tracked_changes_revision(hostile):
    """The run above replaced a report: changes.docx is the new report with every change
    tracked. Accepting them all gives the new report's text, rejecting them the old one's, and
    the marked words are exactly those a word-by-word comparison of the two reports finds."""
    out = hostile["out"]
    if "old_word" not in hostile:
        pytest.skip("needs the update run of test_changes_json_lists_exactly_what_an_update_changed")
    revision = read_docx(out / "changes.docx")
    assert revision.broken() == []
    new_text = report_text(read_docx(out / "report.docx"))
    assert report_text(revision, "accepted") == new_text
    assert report_text(revision, "rejected") == hostile["old_word"]
    words = lambda text: re.findall(r"\d+(?:[.,–/]\d+)*%?|\w+", text)  # noqa: E731
    old_words = Counter(words(" ".join(hostile["old_word"])))
    new_words = Counter(words(" ".join(new_text)))
    marked = {kind: Counter(w for k, text in revision.marks if k == kind for w in words(text))
              for kind in ("del", "ins")}
    assert not (old_words - new_words) - marked["del"], (old_words - new_words) - marked["del"]
    assert not (new_words - old_words) - marked["ins"], (new_words - old_words) - marked["ins"]
    pairs = list(zip(revision.marks, revision.marks[1:]))
    assert not [a for a, b in pairs if a[0] == "del" and b[0] == "ins" and a[1] == b[1] != ""]
    assert "60" in marked["del"] and "61" in marked["ins"]          # the respondents
    wordy = {w for w in marked["del"] + marked["ins"] if not re.search(r"\d", w)}
    # the export's name; a claim's yes/no; and the gate's words for what it hides ("x (of 5)")
    assert {"other", "updated", "csv"} <= wordy <= {"other", "updated", "csv", "yes", "no", "x",
                                                    "of", "withheld"}, wordy
    pictures = [p.pictures for p in revision.paragraphs if len(p.pictures) == 2]
    assert pictures                                                  # figures: old beside new
    html = (out / "changes.html").read_text(encoding="utf-8")
    assert "<del>60</del><ins>61</ins>" in html and "<del><img" in html


def test_nothing_small_can_be_learnt_from_the_stress_report(hostile, resolver):
    from jakisurvey.codebook import Codebook

    book = Codebook.from_csv(hostile["dictionary"])
    assert check_report(hostile["out"], book, regions_of(hostile["out"], resolver)) == []
