"""`jakisurvey validate` and the loader on bad inputs: one line per problem, never a traceback.

The fixtures live in tests/fixtures/bad/ (written by tests/fixtures/make_bad_fixtures.py from
the first five data rows of the bundled export: header = row 1, SYN-0001 = row 2 ...
SYN-0005 = row 6; dictionary: header = row 1, record_id = row 2, role = row 5,
jaki_n_patients = row 9).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import yaml

from jakisurvey.cli import main
from jakisurvey.codebook import Codebook
from jakisurvey.errors import DictionaryError, StudyError
from jakisurvey.load import InputError, Problem, read_export
from jakisurvey.results import data_quality
from jakisurvey.study import load_study

from helpers import DATA, DICTIONARY, RECORDS, ROOT, STUDY, write_csv

FIXTURES = ROOT / "tests" / "fixtures"
BAD = FIXTURES / "bad"
MULTILINE_CUT = "Access differs a lot between centres.\nWould welcome"
LONGITUDINAL = ("longitudinal or repeating-instrument export", "one row per record",
                "export the survey's event alone", "Selected instruments and/or events")

# fixture -> [(row, field, value, words the rule must contain)]; row None = whole file
RECORD_ERRORS = {
    "missing_field.csv": [(1, "jaki_used", "", "column of the data dictionary is missing")],
    "empty_id.csv": [(4, "record_id", "", "record id is empty")],         # 3rd record
    "duplicate_id.csv": [(3, "record_id", "SYN-0002", "duplicate record id (also on row 5)"),
                         (5, "record_id", "SYN-0002", "duplicate record id (also on row 3)")],
    "unknown_code_analysed.csv": [(4, "jaki_improvement", "7",
                                   "code not defined in the data dictionary")],
    "bad_checkbox.csv": [(3, "society___2", "2", "holds 0 (not ticked) or 1 (ticked)")],
    "bad_complete.csv": [(6, "jaki_survey_complete", "3", "survey status must be 0, 1 or 2")],
    "empty.csv": [(None, "", "", "the file is empty")],
    "header_only.csv": [(None, "", "", "no records")],
    "binary.csv": [(None, "", "", "binary file")],
    "utf16.csv": [(None, "", "", "UTF-16", "UTF-8")],
    "latin1.csv": [(4, "country", "Türkiye", "not UTF-8", "export the file again as UTF-8"),
                   (6, "country", "España", "not UTF-8", "export the file again as UTF-8")],
    # row 6 cut after its 16th cell, jaki_agents_used___4
    "truncated.csv": [(6, "jaki_agents_used___4", "0", "truncated")],
    "truncated_quote.csv": [(6, "comments", MULTILINE_CUT, "never closed", "truncated")],
    "extra_cell.csv": [(4, "", "", "52 cells where the header has 51")],
    "label_headers.csv": [(1, "", "", "question text", "raw data")],
    "label_values.csv": [(2, "society___2", "PReS", "answer labels, not codes", "raw data")],
    # one error, not one "duplicate record id" per repeated row
    "longitudinal.csv": [(3, "record_id", "SYN-0001", "record id also on row 2",
                          "5 record ids on more than one row", *LONGITUDINAL)],
    "repeating.csv": [(4, "record_id", "SYN-0002", "record id also on row 3", *LONGITUDINAL)],
    "two_events.csv": [(5, "redcap_event_name", "survey_arm_2", "records from 2 events",
                        "first 'survey_arm_1' on row 2", *LONGITUDINAL)],
}
RECORD_WARNINGS = {
    "semicolon.csv": [(1, "", "", "semicolon-delimited")],
    "extra_column.csv": [(1, "site_code", "", "not in the data dictionary; ignored")],
    "many_columns.csv": [(1, "", "", "5,000 columns with the same problem (extra_0001, extra_0002, "
                          "extra_0003, extra_0004, extra_0005 and 4,995 more): column is not in "
                          "the data dictionary; ignored")],
    "one_event.csv": [(1, "redcap_event_name", "", "every record is on one row (event "
                       "'survey_arm_1'), so the column is ignored")],
    "bom.csv": [],
    "crlf.csv": [],
    # a field the analysis does not read: its wrong value is a warning, never a refusal
    "unknown_code.csv": [(4, "role", "7", "code not defined in the data dictionary",
                          "ignored (read as not answered)")],
    # SYN-0002's comment spans lines 3-4, so SYN-0004 (role = 7) starts on line 6
    "multiline_comment.csv": [(6, "role", "7", "code not defined in the data dictionary")],
}
DICTIONARY_ERRORS = {
    "dictionary_missing_columns.csv": (1, "", "", "not a REDCap data dictionary",
                                       "'Field Type', 'Required Field?'"),
    "dictionary_bad_choices.csv": (5, "role", "2 Paediatric rheumatology trainee",
                                   "'code, label'"),
    "dictionary_duplicate_code.csv": (5, "role", "1, Other", "code 1 is defined twice"),
    "dictionary_bad_type.csv": (5, "role", "radiobutton", "field type is not one of"),
    "dictionary_truncated.csv": (9, "", "", "5 cells where the header has 18", "truncated"),
    "dictionary_not_csv.csv": (None, "", "", "binary file"),
    "dictionary_empty.csv": (None, "", "", "the file is empty"),
    "dictionary_renamed_field.csv": (None, "", "", "the analysis needs these fields, which "
                                     "the data dictionary lacks: country (text)"),
    "dictionary_ranking_twice.csv": (16, "barrier_rank_3", "@RANKING=barrier,2",
                                     "ranking 'barrier' position 2 is also claimed by field "
                                     "'barrier_rank_2' (row 15)"),
    "dictionary_ranking_gap.csv": (16, "barrier_rank_3", "@RANKING=barrier,4",
                                   "positions 1, 2, 4", "must be positions 1 to 3, without gaps"),
    "dictionary_ranking_choices.csv": (15, "barrier_rank_2", "@RANKING=barrier,2",
                                       "the choices differ from those of 'barrier_rank_1'"),
}
# REDCap accepts these dictionaries: their branching is set aside or never holds, with a warning
DICTIONARY_WARNINGS = {
    "dictionary_bad_branching.csv": (9, "jaki_n_patients", "yes", "compares [jaki_used] with "
                                     "'yes', which is not one of its codes (1, 0)"),
    "dictionary_unreadable_branching.csv": (9, "jaki_n_patients", "", "branching logic "
                                            "\"[jaki_used] = = '1'\" is set aside: it cannot be "
                                            "read as REDCap logic (unexpected '=' at character "
                                            "15); the field is treated as always shown"),
}
ALL = {**RECORD_ERRORS, **RECORD_WARNINGS, **DICTIONARY_ERRORS, **DICTIONARY_WARNINGS}


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the command line as a user would (a fresh interpreter)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "jakisurvey.cli", *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=300)


def main_output(*args: str) -> subprocess.CompletedProcess:
    """The command line's exit status and output, run in this process (no import time)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def validate_cli(name: str) -> subprocess.CompletedProcess:
    """`jakisurvey validate` on one fixture (a dictionary fixture with the bundled records)."""
    option = "--dictionary" if name.startswith("dictionary_") else "--records"
    return main_output("validate", option, str(BAD / name))


@pytest.fixture(scope="module")
def validated() -> dict[str, subprocess.CompletedProcess]:
    """Every fixture validated once (in this process; tests below also run fresh interpreters)."""
    return {name: validate_cli(name) for name in ALL}


def prefix(severity: str, name: str, row: int | None, field: str) -> str:
    """The start of a problem line: severity, file, row (or whole file) and field."""
    where = [f"row {row}"] if row else [] if field else ["whole file"]
    where += [f"field '{field}'"] if field else []
    return f"{severity}: {name}: {', '.join(where)}"


def shown(value: str) -> str:
    """A value as a problem line shows it (one line, at most 40 characters)."""
    value = " ".join(value.split())
    return value if len(value) <= 40 else value[:37] + "..."


def assert_line(output: str, severity: str, name: str, row, field: str, value: str,
                *words: str) -> None:
    """Some line of the output names this file, row, field, value and the rule's words."""
    start = prefix(severity, name, row, field) + (f", value '{shown(value)}'" if value else "")
    lines = [line for line in output.splitlines() if line.startswith(start + ":")]
    assert lines, f"no line starting {start!r} in:\n{output}"
    assert all(word in lines[0] for word in words), lines[0]


def load_problems(name: str | Path, codebook: Codebook) -> list[Problem]:
    """The problems read_export raises for a fixture."""
    with pytest.raises(InputError) as raised:
        read_export(BAD / name, codebook)
    return raised.value.problems


# --- the command line, one subprocess per fixture -------------------------------------------

def test_every_fixture_is_tested_and_documented():
    files = {p.name for p in BAD.glob("*.csv")}
    assert files == set(ALL)
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in readme for name in files)


def test_fixtures_are_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_bad", FIXTURES / "make_bad_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files = module.fixtures()
    assert {name: (BAD / name).read_bytes() for name in files} == files


@pytest.mark.parametrize("name", list(RECORD_ERRORS) + list(DICTIONARY_ERRORS))
def test_validate_refuses_a_bad_file(validated, name):
    result = validated[name]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    expected = RECORD_ERRORS.get(name) or [DICTIONARY_ERRORS[name]]
    for row, field, value, *words in expected:
        assert_line(result.stderr, "error", name, row, field, value, *words)
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(problem_lines) == len(expected)     # one line per problem, nothing else


@pytest.mark.parametrize("name", RECORD_WARNINGS)
def test_validate_accepts_a_file_with_warnings(validated, name):
    result = validated[name]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for row, field, value, *words in RECORD_WARNINGS[name]:
        assert_line(result.stdout, "warning", name, row, field, value, *words)
    assert f"{name}: valid (5 records, 5 respondents, {len(RECORD_WARNINGS[name])} warnings)" \
        in result.stdout


@pytest.mark.parametrize("name", DICTIONARY_WARNINGS)
def test_validate_accepts_a_dictionary_whose_branching_it_sets_aside(validated, name):
    result = validated[name]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert_line(result.stdout, "warning", name, *DICTIONARY_WARNINGS[name])
    assert len([line for line in result.stdout.splitlines() if f": {name}: " in line]) == 1


def test_validate_prints_the_warnings_of_the_bundled_export():
    result = cli("validate", "--records", str(RECORDS))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for words in ("nothing answered", "answered although the branching logic hides it",
                  "ranked in more than one position", "ticked together with other choices",
                  "country not recognised"):
        assert any(line.startswith("warning: records.csv: row ") and words in line
                   for line in result.stdout.splitlines()), words
    assert_line(result.stdout, "warning", "records.csv", 236, "country", "Scandinavia",
                "counted as region 'Unknown'")
    assert "valid (235 records, 229 respondents" in result.stdout


def test_run_refuses_bad_records_before_executing_anything(tmp_path):
    out = tmp_path / "report"
    result = cli("run", "--records", str(BAD / "duplicate_id.csv"), "--out", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    for row, field, value, *words in RECORD_ERRORS["duplicate_id.csv"]:
        assert_line(result.stderr, "error", "duplicate_id.csv", row, field, value, *words)
    assert "nothing was analysed" in result.stderr
    assert list(tmp_path.iterdir()) == []            # no report, no staging, no .failed folder


def test_a_fresh_interpreter_prints_the_same_lines_as_the_in_process_runs(validated):
    for name in ("longitudinal.csv", "dictionary_ranking_twice.csv"):
        option = "--dictionary" if name.startswith("dictionary_") else "--records"
        result = cli("validate", option, str(BAD / name))
        assert (result.returncode, result.stdout, result.stderr) == \
            (validated[name].returncode, validated[name].stdout, validated[name].stderr)


@pytest.mark.parametrize("name", [*RECORD_ERRORS, *DICTIONARY_ERRORS])
def test_run_refuses_every_bad_input_the_way_validate_does(validated, name, tmp_path, capsys):
    option = "--dictionary" if name.startswith("dictionary_") else "--records"
    assert main(["run", option, str(BAD / name), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert error.splitlines()[0] == validated[name].stderr.splitlines()[0]
    assert list(tmp_path.iterdir()) == []


# --- the loader in-process: the exact problems ----------------------------------------------

@pytest.mark.parametrize("name", RECORD_ERRORS)
def test_read_export_names_file_row_field_value_and_rule(codebook, name):
    problems = load_problems(name, codebook)
    expected = RECORD_ERRORS[name]
    assert [(p.file, p.row, p.field, p.value) for p in problems] == \
        [(name, row, field, value) for row, field, value, *_ in expected]
    for problem, (_, _, _, *words) in zip(problems, expected):
        assert problem.severity == "error"
        assert all(word in problem.rule for word in words), problem.rule
        assert "\n" not in problem.message()


@pytest.mark.parametrize("name", RECORD_WARNINGS)
def test_read_export_warns_and_goes_on(codebook, name):
    frame, problems = read_export(BAD / name, codebook)
    starts = [2, 3, 5, 6, 7] if name == "multiline_comment.csv" else [2, 3, 4, 5, 6]
    assert len(frame) == 5 and frame.index.tolist() == starts   # a record is named by its line
    assert [(p.severity, p.file, p.row, p.field) for p in problems] == \
        [("warning", name, row, field) for row, field, *_ in RECORD_WARNINGS[name]]


@pytest.mark.parametrize("name", DICTIONARY_ERRORS)
def test_dictionary_errors_name_file_row_field_value_and_rule(name):
    row, field, value, *words = DICTIONARY_ERRORS[name]
    with pytest.raises(DictionaryError) as raised:
        Codebook.from_csv(BAD / name)
    message = str(raised.value)
    start = prefix("error", name, row, field).removeprefix("error: ")
    assert message.startswith(start + (f", value '{value}'" if value else "") + ":"), message
    assert all(word in message for word in words), message


def test_bom_crlf_and_plain_exports_read_the_same(codebook, tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_bytes((BAD / "bom.csv").read_bytes().removeprefix(b"\xef\xbb\xbf"))
    expected, _ = read_export(plain, codebook)
    for name in ("bom.csv", "crlf.csv"):
        frame, _ = read_export(BAD / name, codebook)
        pd.testing.assert_frame_equal(frame, expected)
    assert expected.columns[0] == "record_id"
    assert {"redcap_survey_identifier", "jaki_survey_timestamp",
            "jaki_survey_complete"} <= set(expected.columns)


def test_system_columns_are_optional(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    path = tmp_path / "no_system.csv"
    frame.drop(columns=[c for c in codebook.system_columns if c in frame]).to_csv(path,
                                                                                 index=False)
    reread, problems = read_export(path, codebook)
    assert problems == [] and len(reread) == 5


def test_semicolon_export_reads_exactly_as_the_comma_export(codebook, tmp_path):
    with RECORDS.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    semicolon = tmp_path / "records_semicolon.csv"
    with semicolon.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(rows)
    expected, expected_warnings = read_export(RECORDS, codebook)
    frame, warnings = read_export(semicolon, codebook)
    pd.testing.assert_frame_equal(frame, expected)
    assert expected_warnings == []
    assert [p.message() for p in warnings] == [
        "warning: records_semicolon.csv: row 1: semicolon-delimited file (as Excel writes in "
        "some locales); read with that delimiter"]


def test_records_after_a_multiline_comment_are_named_by_their_first_line(codebook):
    frame, _ = read_export(RECORDS, codebook)
    # SYN-0125's comment spans file lines 126-127, so SYN-0126 starts on line 128
    assert frame.loc[126, "record_id"] == "SYN-0125"
    assert frame.loc[128, "record_id"] == "SYN-0126"
    assert "\n" in frame.loc[126, "comments"]


def test_a_problem_is_one_line_whatever_its_value():
    problem = Problem("f.csv", 3, "comments", "two\nlines\r\nhere", "rule")
    assert problem.message() == \
        "error: f.csv: row 3, field 'comments', value 'two lines here': rule"


def test_a_label_typed_into_one_cell_is_named_there(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    frame.loc[4, "jaki_used"] = "Yes"
    path = write_csv(tmp_path / "one_label.csv", list(frame.columns), frame.values.tolist())
    problems = load_problems(path, codebook)
    assert [(p.row, p.field, p.value) for p in problems] == [(4, "jaki_used", "Yes")]
    assert problems[0].rule.startswith("this is an answer label, not a code (codes: 1, 0)")
    assert "raw data" in problems[0].rule


def test_band_annotation_must_give_one_end_per_choice(tmp_path):
    text = DICTIONARY.read_text(encoding="utf-8").replace(" @BAND-UPPER=1,5,10,20,", "")
    path = tmp_path / "dictionary.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"^dictionary.csv: field 'jaki_n_patients', "
                                               r"value '@BAND-LOWER=1,2,6,11,21': .*5 comma"):
        Codebook.from_csv(path)


# --- large and wide exports ------------------------------------------------------------------

def test_a_50_mb_cell_in_a_valid_export_is_read(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    comment = "word " * 10_000_000                       # 50 MB of free text in one cell
    frame.loc[3, "comments"] = "COMMENT"
    path = write_csv(tmp_path / "long_comment.csv", list(frame.columns), frame.values.tolist())
    path.write_text(path.read_text(encoding="utf-8").replace("COMMENT", comment), encoding="utf-8")
    default = csv.field_size_limit(128 * 1024)           # the csv module's default, as at start-up
    try:
        read, problems = read_export(path, codebook)
    finally:
        csv.field_size_limit(default)
    assert problems == []
    assert read.loc[3, "comments"] == comment.strip()
    assert read.drop(columns="comments").equals(frame.drop(columns="comments"))


def test_many_unknown_columns_are_one_data_quality_entry(codebook):
    _, problems = read_export(BAD / "many_columns.csv", codebook)
    assert len(problems) == 1
    assert data_quality(problems) == [{"field": "", "problem": problems[0].rule, "n": 1}]


def test_any_rule_broken_by_many_columns_is_one_line(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    dropped = [c for c in frame.columns if c.startswith(("concomitant", "jaki_consider"))]
    frame = frame.drop(columns=dropped)                  # 15 dictionary columns missing
    path = write_csv(tmp_path / "old_instrument.csv", list(frame.columns), frame.values.tolist())
    problems = load_problems(path, codebook)
    assert [p.message() for p in problems] == [
        "error: old_instrument.csv: row 1: 15 columns with the same problem (jaki_consider___1, "
        "jaki_consider___2, jaki_consider___3, jaki_consider___4, jaki_consider___5 and 10 more): "
        "column of the data dictionary is missing from the export (export all fields of the "
        "instrument)"]


def test_ten_unknown_columns_are_still_listed_one_by_one(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    for i in range(10):
        frame[f"site_{i}"] = "x"
    path = write_csv(tmp_path / "ten.csv", list(frame.columns), frame.values.tolist())
    _, problems = read_export(path, codebook)
    assert [p.field for p in problems] == [f"site_{i}" for i in range(10)]


def test_a_header_name_is_shown_on_one_short_line(codebook, tmp_path):
    frame, _ = read_export(BAD / "bom.csv", codebook)
    frame["note\nabout " + "x" * 100] = ""
    path = write_csv(tmp_path / "odd_header.csv", list(frame.columns), frame.values.tolist())
    _, problems = read_export(path, codebook)
    shown = "note about " + "x" * 26 + "..."              # 40 characters in all
    assert [p.message() for p in problems] == [
        f"warning: odd_header.csv: row 1, field '{shown}': column is not in the data dictionary; "
        "ignored"]


def test_longitudinal_export_of_the_bundled_records_is_one_error(codebook, tmp_path):
    with RECORDS.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    events = [[r[0], "survey_arm_1", *r[1:]] for r in rows] + \
             [[r[0], "followup_arm_1", *[""] * (len(r) - 1)] for r in rows]
    path = write_csv(tmp_path / "events.csv", [header[0], "redcap_event_name", *header[1:]],
                     events)
    problems = load_problems(path, codebook)
    assert len(problems) == 1
    assert problems[0].rule.startswith(f"record id also on row 2 ({len(rows)} record ids on more "
                                       "than one row): this is a longitudinal")


# --- the study file's claims -----------------------------------------------------------------

GOOD_CLAIM = "{id: n, claim: Respondents, published: 229, check: equals, result: n_respondents}"
# claims setting -> the message after the file name
BAD_CLAIMS = {
    "5": "'claims' must be a list of claims",
    "{n: 229}": "'claims' must be a list of claims",
    "[5]": "claim 1: must be a mapping with keys id, claim, published, check, result (found 5)",
    f"[{GOOD_CLAIM}, {GOOD_CLAIM}]": "claim 'n', key 'id': also the id of claim 1",
    "[{id: n, claim: R, published: 229, check: equals}]":
        "claim 'n', key 'result': missing; every claim needs id, claim, published, check, result",
    "[{claim: R, published: 229, check: equals, result: n_respondents}]":
        "claim 1, key 'id': missing",
    "[{id: 7, claim: R, published: 229, check: equals, result: x}]":
        "claim 1, key 'id': must be a non-empty text (found 7)",
    "[{id: n, claim: R, published: 229, check: equals, result: ''}]":
        "claim 'n', key 'result': must be a non-empty text (found '')",
    "[{id: n, claim: R, published: 229, check: same, result: x}]":
        "claim 'n', key 'check': 'same' is not one of equals, percent, over, leading",
    "[{id: n, claim: R, published: '229', check: equals, result: x}]":
        "claim 'n', key 'published': check 'equals' needs a whole number of at least 0 (a count, "
        "written without quotes) (found '229')",
    "[{id: n, claim: R, published: true, check: equals, result: x}]":
        "claim 'n', key 'published': check 'equals' needs a whole number",
    "[{id: n, claim: R, published: 450.5, check: over, result: x}]":
        "claim 'n', key 'published': check 'over' needs a whole number",
    "[{id: p, claim: R, published: [18], check: percent, result: x}]":
        "claim 'p', key 'published': check 'percent' needs a whole-number percentage from 0 to "
        "100",
    "[{id: p, claim: R, published: '18%', check: percent, result: x}]":
        "claim 'p', key 'published': check 'percent' needs a whole-number percentage",
    "[{id: p, claim: R, published: 101, check: percent, result: x}]":
        "claim 'p', key 'published': check 'percent' needs a whole-number percentage",
    "[{id: p, claim: R, published: 17.5, check: percent, result: x}]":
        "claim 'p', key 'published': check 'percent' needs a whole-number percentage",
    "[{id: r, claim: R, published: 1, check: leading, result: x}]":
        "claim 'r', key 'published': check 'leading' needs a non-empty list of distinct whole "
        "numbers",
    "[{id: r, claim: R, published: [], check: leading, result: x}]":
        "claim 'r', key 'published': check 'leading' needs a non-empty list",
    "[{id: r, claim: R, published: [1, 1], check: leading, result: x}]":
        "claim 'r', key 'published': check 'leading' needs a non-empty list of distinct",
    "[{id: r, claim: R, published: [1, '2'], check: leading, result: x}]":
        "claim 'r', key 'published': check 'leading' needs a non-empty list of distinct whole",
}


def study_file(tmp_path: Path, claims: str) -> Path:
    """A study file with the given claims setting (and the project's country files)."""
    path = tmp_path / "study.yml"
    path.write_text(f"n_invited: 1272\ncountry_aliases: {DATA / 'country_aliases.csv'}\n"
                    f"regions: {DATA / 'regions.csv'}\nclaims: {claims}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("claims", BAD_CLAIMS)
def test_a_claim_of_the_wrong_shape_is_refused_naming_file_claim_and_key(tmp_path, claims):
    path = study_file(tmp_path, claims)
    with pytest.raises(StudyError) as raised:
        load_study(path)
    assert str(raised.value).startswith(f"{path}: {BAD_CLAIMS[claims]}"), str(raised.value)
    assert "\n" not in str(raised.value)


def test_validate_refuses_claims_that_are_not_a_list_in_one_line(tmp_path):
    result = main_output("validate", "--study", str(study_file(tmp_path, "5")))
    assert (result.returncode, result.stdout) == (1, "")
    path = tmp_path / "study.yml"
    assert result.stderr == f"error: {path}: 'claims' must be a list of claims, " \
        "one '- {id: ..., claim: ..., published: ..., check: ..., result: ...}' line each " \
        "(found 5)\n"


def test_claims_of_the_right_types_are_read(tmp_path):
    claims = ("[{id: n, claim: R, published: 0, check: equals, result: n_respondents},"
              " {id: p, claim: P, published: 18.0, check: percent, result: response},"
              " {id: r, claim: B, published: [2, 1], check: leading, result: barrier_ranking}]")
    study = load_study(study_file(tmp_path, claims))
    assert [(c.id, c.published, type(c.published)) for c in study.claims] == \
        [("n", 0, int), ("p", 18, int), ("r", [2, 1], list)]
    assert load_study(study_file(tmp_path, "")).claims == ()
    assert len(load_study(DATA / "study.yml").claims) == 10


def test_a_dictionary_label_longer_than_128_kib_is_read(tmp_path):
    label = "Which medications? " + "(long help text) " * 10_000     # 170 kB
    text = DICTIONARY.read_text(encoding="utf-8").replace("Any other comments?", label)
    path = tmp_path / "dictionary.csv"
    path.write_text(text, encoding="utf-8")
    default = csv.field_size_limit(128 * 1024)
    try:
        assert Codebook.from_csv(path)["comments"].label == label.strip()
    finally:
        csv.field_size_limit(default)


@pytest.mark.parametrize("change, message", [
    ({"min_cel": 5}, "study.yml: 'min_cel' is not a setting of the study file; did you mean 'min_cell'?"),
    ({"min_cell": 2.5}, "study.yml: 'min_cell' must be a whole number of at least 1 (found 2.5)"),
    ({"min_cell": 0}, "study.yml: 'min_cell' must be a whole number of at least 1 (found 0)"),
    ({"claims": [{"id": "a", "claim": "A", "published": 1, "check": "equals",
                  "result": "n_records", "publishd": 2}]},
     "study.yml: claim 1, key 'publishd' is not a key of a claim; did you mean 'published'?"),
    ({"date": "2025-13-01"}, "study.yml: 'date' must be a day written YYYY-MM-DD, such as "
                             "2025-03-01 (found '2025-13-01')"),
    ({"date": 20250301}, "study.yml: 'date' must be a day written YYYY-MM-DD, such as "
                         "2025-03-01 (found 20250301)")])
def test_study_file_typos_are_errors(tmp_path, change, message):
    settings = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    settings.update(change)
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    with pytest.raises(StudyError) as raised:
        load_study(path)
    assert str(raised.value).endswith(message) and "\n" not in str(raised.value)
