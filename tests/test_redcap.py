"""REDCap exports as REDCap writes them: every field type, choice codes, the branching-logic
language, ranking matrices, missing-data codes, and the fixture project that gives the bundled
results (tests/fixtures/redcap/README.md says where each convention comes from)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from jakisurvey import branching, stats
from jakisurvey.cherries import item_nonresponse
from jakisurvey.cli import main
from jakisurvey.codebook import API_HEADERS, REDCAP_HEADERS, Codebook, checkbox_column
from jakisurvey.errors import DictionaryError, StudyError
from jakisurvey.load import InputError, read_export
from jakisurvey.results import data_quality
from jakisurvey.study import REDCAP_MISSING_CODES, load_study
from jakisurvey.survey import prepare

from helpers import DATA, DICTIONARY, RECORDS, ROOT, STUDY, raw_records

FIXTURES = ROOT / "tests" / "fixtures"
REDCAP = FIXTURES / "redcap"
FIELD = "Variable / Field Name"
TYPE, CHOICES = "Field Type", "Choices, Calculations, OR Slider Labels"
BRANCHING = "Branching Logic (Show field only if...)"
USER, OTHER = {"jaki_used": 1}, {"jaki_used": 0}


def dictionary_rows(path: Path = DICTIONARY) -> list[dict[str, str]]:
    """A dictionary's rows."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_dictionary(path: Path, rows: list[dict[str, str]],
                     header: tuple[str, ...] = REDCAP_HEADERS) -> Path:
    """A dictionary file from rows keyed by REDCap's headers."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def bundled_with(tmp_path: Path, **changes: dict[str, str]) -> Path:
    """The bundled dictionary with some cells of some fields changed ({field: {column: value}})."""
    rows = dictionary_rows()
    for row in rows:
        row.update(changes.get(row[FIELD], {}))
    return write_dictionary(tmp_path / "data_dictionary.csv", rows)


def run_cli(*args: str) -> tuple[int, str, str]:
    """The command line's exit status, standard output and error, in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def survey_with(book: Codebook, resolver, rows: list[dict], missing=frozenset(REDCAP_MISSING_CODES)):
    """A prepared survey from hand-written answers under a dictionary."""
    return prepare(raw_records(book, rows), book, resolver, "hand.csv", missing=missing)


# --- field types, choice codes, the dictionary's format ---------------------------------------

def test_every_field_type_redcap_writes_is_read():
    book = Codebook.from_csv(REDCAP / "data_dictionary.csv")
    assert {f.type for f in book.fields.values()} == {
        "text", "notes", "radio", "dropdown", "checkbox", "yesno", "truefalse", "calc", "slider",
        "file", "descriptive", "sql"}
    assert book["consent_text"].columns == []                      # no column in the export
    assert book["other_societies"].columns == ["other_societies___a", "other_societies___b",
                                               "other_societies____99"]
    assert list(book["other_societies"].choices) == ["a", "b", -99]
    assert book["confidence"].choices == {} and book["n_agents"].choices == {}  # labels, equation
    assert book["site_size"].choices == {}                         # an SQL query
    assert book["role"].choices == {"a": "Paediatric rheumatologist",
                                    "b": "Paediatric rheumatology trainee",
                                    "c": "Adult rheumatologist", "d": "Other"}
    assert book["years_practice"].choices[-99] == "Prefer not to say"
    assert (book["country"].number, book["consent_text"].section) == ("1", "Consent")
    assert book["answered_on"].validation == "date_ymd"
    assert book.warnings == [] and book.never_true() == []


def test_a_descriptive_field_shown_by_branching_has_nothing_to_answer(tmp_path):
    rows = dictionary_rows(REDCAP / "data_dictionary.csv")
    for row in rows:
        if row[FIELD] == "consent_text":
            row[BRANCHING] = "[role] = 'a'"
    path = write_dictionary(tmp_path / "data_dictionary.csv", rows)
    status, out, err = run_cli("validate", "--records", str(REDCAP / "records.csv"),
                               "--dictionary", str(path))
    assert status == 0, err
    assert "consent_text" not in out + err


def test_checkbox_columns_follow_redcaps_rule():
    """REDCap core (Project::getExtendedCheckboxCodeFormatted): '-' and '.' become '_', the code
    is lower-cased, any other character outside a-z, 0-9 and '_' is dropped."""
    assert checkbox_column("f", -99) == "f____99"
    assert checkbox_column("f", "A") == "f___a"
    assert checkbox_column("f", "1.5") == "f___1_5"
    assert checkbox_column("f", "b_2") == "f___b_2"
    assert checkbox_column("f", 3) == "f___3"


def test_the_api_metadata_columns_read_as_the_download(codebook, tmp_path):
    api = {name: api for api, name in API_HEADERS.items()}
    rows = [{api[k]: v for k, v in row.items()} for row in dictionary_rows()]
    book = Codebook.from_csv(write_dictionary(tmp_path / "metadata.csv", rows,
                                              tuple(API_HEADERS)))
    assert book.columns == codebook.columns and book.rankings == codebook.rankings
    assert [f.show_when for f in book.fields.values()] == \
        [f.show_when for f in codebook.fields.values()]


SMALL_PROJECT = [  # a REDCap project of another study: valid, but not this instrument
    {FIELD: "record_id", "Form Name": "baseline", TYPE: "text", "Field Label": "ID"},
    {FIELD: "intro", "Form Name": "baseline", TYPE: "descriptive", "Field Label": "<b>Hi</b>"},
    {FIELD: "dob", "Form Name": "baseline", TYPE: "text", "Field Label": "Born",
     "Text Validation Type OR Show Slider Number": "date_ymd"},
    {FIELD: "bmi", "Form Name": "baseline", TYPE: "calc", "Field Label": "BMI",
     CHOICES: "round([weight]/([height]/100)^2, 1)"},
    {FIELD: "consent", "Form Name": "baseline", TYPE: "truefalse", "Field Label": "I agree"},
    {FIELD: "scan", "Form Name": "baseline", TYPE: "file", "Field Label": "Scan"},
    {FIELD: "pain", "Form Name": "baseline", TYPE: "slider", "Field Label": "Pain",
     CHOICES: "None | Some | Worst", BRANCHING: "[consent] = '1'"},
    {FIELD: "grade", "Form Name": "baseline", TYPE: "radio", "Field Label": "Grade",
     CHOICES: "a, A | b, B | -99, Unknown", BRANCHING: "datediff([dob], 'today', 'y') >= 18"},
]


def test_a_valid_redcap_dictionary_without_the_instrument_is_one_line_naming_what_lacks(tmp_path):
    path = write_dictionary(tmp_path / "other_study.csv", SMALL_PROJECT)
    status, out, err = run_cli("validate", "--dictionary", str(path))
    assert status == 1 and "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: other_study.csv: whole file: the analysis needs these fields, which the data "
        "dictionary lacks: country (text); jaki_used (dropdown, radio, truefalse or yesno); "
        "jaki_n_patients (dropdown, radio, truefalse or yesno); jaki_agents_used (checkbox); "
        "jaki_improvement (dropdown, radio, truefalse or yesno); jaki_side_effects (dropdown, "
        "radio, truefalse or yesno); jaki_side_effect_types (checkbox); jaki_consider "
        "(checkbox); concomitant (checkbox); society (checkbox); ranking barrier (dropdown or "
        "radio fields annotated @RANKING=barrier,1, barrier,2 ..., or a ranking matrix named "
        "barrier); ranking indication (dropdown or radio fields annotated "
        "@RANKING=indication,1, indication,2 ..., or a ranking matrix named indication)"]


def test_a_dictionary_from_an_older_redcap_without_its_later_columns_is_read(tmp_path):
    older = tuple(h for h in REDCAP_HEADERS if h not in ("Matrix Ranking?", "Field Annotation"))
    path = write_dictionary(tmp_path / "older.csv", SMALL_PROJECT, older)
    with pytest.raises(DictionaryError, match="the analysis needs these fields, which the data "
                                              "dictionary lacks: country"):
        Codebook.from_csv(path)


def test_an_analysed_field_must_define_the_codes_the_study_counts(tmp_path):
    path = bundled_with(tmp_path, jaki_improvement={CHOICES: "1, None | 2, Some | a, Most | "
                                                             "b, All | 5, Too early"})
    with pytest.raises(DictionaryError) as raised:
        Codebook.from_csv(path)
    assert str(raised.value) == (
        "data_dictionary.csv: row 11, field 'jaki_improvement': the study's definitions count "
        "code(s) 3, 4 of this field, which its choices do not define")


# --- values of fields the analysis does not read ----------------------------------------------

def fixture_export(tmp_path: Path, changes: dict[tuple[str, str], str]) -> Path:
    """The fixture export with some cells changed ({(record id, column): value})."""
    frame = pd.read_csv(REDCAP / "records.csv", dtype=str, keep_default_na=False)
    for (record, column), value in changes.items():
        frame.loc[frame["record_id"] == record, column] = value
    path = tmp_path / "records.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def test_wrong_values_of_unread_fields_are_warnings_in_the_data_quality_table(tmp_path):
    path = fixture_export(tmp_path, {("SYN-0001", "confidence"): "150",
                                     ("SYN-0001", "n_agents"): "two",
                                     ("SYN-0002", "agree_contact"): "2",
                                     ("SYN-0003", "answered_on"): "2031-01-01",
                                     ("SYN-0004", "role"): "z",
                                     ("SYN-0005", "other_societies___b"): "yes"})
    status, out, err = run_cli("validate", "--records", str(path), "--dictionary",
                               str(REDCAP / "data_dictionary.csv"))
    assert status == 0, err
    for line in (
            "warning: records.csv: row 2, field 'confidence', value '150': a slider holds a "
            "number from 0 to 100 or nothing; ignored (read as not answered)",
            "warning: records.csv: row 2, field 'n_agents', value 'two': a calculated field "
            "holds a number or nothing; ignored (read as not answered)",
            "warning: records.csv: row 3, field 'agree_contact', value '2': code not defined in "
            "the data dictionary (defined: 1, 0); ignored (read as not answered)",
            "warning: records.csv: row 4, field 'answered_on', value '2031-01-01': the field's "
            "validation 'date_ymd' needs a date, at least 2023-01-01 and at most 2024-12-31; "
            "kept as given",
            "warning: records.csv: row 5, field 'role', value 'z': code not defined in the data "
            "dictionary (defined: a, b, c, d); ignored (read as not answered)",
            "warning: records.csv: row 6, field 'other_societies___b', value 'yes': a checkbox "
            "column holds 0 (not ticked) or 1 (ticked) or nothing; ignored (read as not "
            "answered)"):
        assert line in out.splitlines(), line


def test_a_column_of_an_unread_field_may_be_missing_from_the_export(tmp_path, codebook):
    frame = pd.read_csv(RECORDS, dtype=str, keep_default_na=False).drop(columns=["comments"])
    frame.to_csv(tmp_path / "deidentified.csv", index=False)
    raw, problems = read_export(tmp_path / "deidentified.csv", codebook)
    assert [p.message() for p in problems] == [
        "warning: deidentified.csv: row 1, field 'comments': column of the data dictionary is "
        "missing from the export (a de-identified or partial export?); the field is read as not "
        "answered"]
    assert (raw["comments"] == "").all()


# --- branching logic ----------------------------------------------------------------------------

ISSUE_FORMS = {  # the forms the issue found refused, and what each means
    '[jaki_used] = "1"': lambda r: r["jaki_used"] == "1",
    "[jaki_used] = 1": lambda r: r["jaki_used"] == "1",
    "([jaki_used] = '1')": lambda r: r["jaki_used"] == "1",
    "[jaki_used] <> '0'": lambda r: r["jaki_used"] != "0",
    "[jaki_used] = '1' or [jaki_used] = '2'": lambda r: r["jaki_used"] in ("1", "2"),
    "[society(1)] = '1'": lambda r: r["society___1"] == "1",
    "[jaki_used] = '1' AND [society(2)] = '1'":
        lambda r: r["jaki_used"] == "1" and r["society___2"] == "1",
}
GATES = [{"jaki_used": u, "society___1": a, "society___2": b}
         for u in ("1", "0", "") for a in ("0", "1") for b in ("0", "1")]


@pytest.mark.parametrize("logic", ISSUE_FORMS)
def test_every_form_of_branching_the_issue_found_refused_is_read(logic, tmp_path, resolver):
    book = Codebook.from_csv(bundled_with(tmp_path, jaki_improvement={BRANCHING: logic}))
    assert book.warnings == []
    rows = [{**gate, "jaki_improvement": 3} for gate in GATES]
    survey = survey_with(book, resolver, rows)
    expected = [ISSUE_FORMS[logic](gate) for gate in GATES]
    assert survey.data["jaki_improvement:shown"].tolist() == expected
    assert survey.data["jaki_improvement"].notna().tolist() == expected   # hidden: ignored


FIELDS = {"a": type("F", (), {"type": "text", "choices": {}, "columns": ["a"]})(),
          "b": type("F", (), {"type": "text", "choices": {}, "columns": ["b"]})(),
          "c": type("F", (), {"type": "checkbox", "choices": {1: "x", -99: "y", "A": "z"},
                              "columns": []})()}
VALUES = {"a": ["1", "01", "1.0", "", "abc", "UNK", "20", "5"],
          "b": ["1", "1", "1", "1", "ABC", "", "3", "18"],
          "c___1": ["1", "0", "0", "1", "0", "0", "1", "0"],
          "c____99": ["0", "1", "0", "0", "0", "0", "0", "1"],
          "c___a": ["0", "0", "1", "0", "0", "0", "0", "0"]}


def evaluate(logic: str, missing=frozenset({"UNK"})) -> list[bool]:
    """Where a logic shows a field over the eight records of VALUES."""
    compiled = branching.compile_logic(logic, FIELDS, checkbox_column)
    return branching.shown(compiled, lambda name: VALUES[name], 8, missing).tolist()


@pytest.mark.parametrize("logic, expected", [
    ("[a] = [b]", [1, 1, 1, 0, 0, 0, 0, 0]),                    # numbers compare as numbers
    ("[a] = '1'", [1, 1, 1, 0, 0, 0, 0, 0]),
    ("[a] > [b]", [0, 0, 0, 0, 1, 0, 1, 0]),                    # '20' > '3' as numbers
    ("[a] < 10", [1, 1, 1, 0, 0, 0, 0, 1]),                     # empty: an ordering is false
    ("[a] = ''", [0, 0, 0, 1, 0, 0, 0, 0]),
    ("[a] <> '' and [a] != 'abc'", [1, 1, 1, 0, 0, 1, 1, 1]),
    ("[c(1)] = '1' or [c(-99)] = 1 OR [c(A)] = \"1\"", [1, 1, 1, 1, 0, 0, 1, 1]),
    ("isblankormissingcode([a])", [0, 0, 0, 1, 0, 1, 0, 0]),
    ("isblanknotmissingcode([a]) or ismissingcode([a])", [0, 0, 0, 1, 0, 1, 0, 0]),
    ("contains([a], 'B') or starts_with([b], 'ab')", [0, 0, 0, 0, 1, 0, 0, 0]),
    ("not_contain([a], '1') and ends_with([b], '8')", [0, 0, 0, 0, 0, 0, 0, 1]),
    ("!([a] = '1')", [0, 0, 0, 1, 1, 1, 1, 1]),
    ("not([a] = '1') and [b] <> ''", [0, 0, 0, 1, 1, 0, 1, 1]),
    ("sum([a], [b]) >= 23", [0, 0, 0, 0, 0, 0, 1, 1]),          # empty addends left out
    ("if([a] > 10, 'big', 'small') = 'big'", [0, 0, 0, 0, 0, 0, 1, 0]),
    ("([a] + [b]) * 2 = 4", [1, 1, 1, 0, 0, 0, 0, 0]),
    ("round([b] / 4) = 5 or abs(-[a]) = 5", [0, 0, 0, 0, 0, 0, 0, 1]),
    ("mean([a], [b]) = 11.5 or max([a], [b]) = 20", [0, 0, 0, 0, 0, 0, 1, 1]),
    ("true", [1, 1, 1, 1, 1, 1, 1, 1]),
])
def test_logic_is_evaluated_as_redcap_evaluates_it(logic, expected):
    assert evaluate(logic) == [bool(v) for v in expected]


def test_a_long_chain_of_conditions_is_read():
    """REDCap logic listing many codes ('or' 500 times) is one flat node, not 500 nested ones."""
    logic = " or ".join(f"[a] = {code}" for code in range(500)) + " or [b] = 'ABC'"
    assert evaluate(logic) == [True, True, True, False, True, False, True, True]


def test_dates_in_the_export_are_compared_with_datediff():
    fields = {"d1": FIELDS["a"], "d2": FIELDS["b"]}
    values = {"d1": ["2024-01-01", "2024-01-01", ""], "d2": ["2024-01-31", "2023-12-31", "2024-01-01"]}
    compiled = branching.compile_logic("datediff([d1], [d2], 'd', 'ymd', true) > 7", fields,
                                       checkbox_column)
    assert branching.shown(compiled, values.__getitem__, 3).tolist() == [True, False, False]


def test_evaluation_is_one_pass_over_distinct_values():
    """100,000 records are evaluated once per distinct combination of the values the logic
    reads (the time it takes is measured in benchmarks/loading.py, not here)."""
    calls = []
    n = 100_000
    values = {"a": np.array(["1", "2", ""] * (n // 3) + ["1"], dtype=object),
              "b": np.array(["x", "y"] * (n // 2), dtype=object)}
    compiled = branching.compile_logic("[a] = '1' and [b] <> 'y'", FIELDS, checkbox_column)
    original = branching.Evaluation.of

    def counted(self, tree):
        result = original(self, tree)
        calls.append(np.size(result.text))
        return result

    branching.Evaluation.of = counted
    try:
        result = branching.shown(compiled, values.__getitem__, n)
    finally:
        branching.Evaluation.of = original
    assert result.sum() == sum(1 for i in range(n) if values["a"][i] == "1"
                               and values["b"][i] != "y")
    assert max(calls) == 6     # 3 x 2 combinations, never 100,000


UNSUPPORTED = {  # logic -> the part the line names and why
    "[baseline_arm_1][jaki_used] = '1'":
        "'[baseline_arm_1][jaki_used]' is an event reference; a survey export holds one event",
    "[user-name] = 'admin'":
        "'[user-name]' is a smart variable, filled in by REDCap when a form is shown",
    "datediff([jaki_used], 'today', 'y') < 1":
        "'datediff(..., 'today')' is the date a form is opened, which is not in the export",
    "@CALCTEXT(if([jaki_used] = '1', 'yes', 'no')) = 'yes'":
        "'@CALCTEXT' is an action tag, computed by REDCap when a form is shown",
    "calctext([jaki_used]) = '1'":
        "'calctext()' is @CALCTEXT, computed by REDCap when a form is shown",
    "stdev([jaki_used]) > 0": "'stdev()' is a function this report does not evaluate",
    "[society] = '1'": "'[society]' is a checkbox field without a choice; write [society(code)]",
    "[society(9)] = '1'": "'[society(9)]' is a choice the checkbox field society does not have",
    "[jaki_used:label] = 'Yes'":
        "'[jaki_used:label]' is the ':label' form of a field, which is not its value",
    "[jaki_usd] = '1'": "'[jaki_usd]' is not a field of the data dictionary",
    "[jaki_used] = = '1'":
        "it cannot be read as REDCap logic (unexpected '=' at character 15)",
    "contains([jaki_used])":
        "it cannot be read as REDCap logic (contains() takes 2 arguments, not 1)",
    "not " * 2000 + "[jaki_used] = '1'": "it cannot be read as REDCap logic (it is nested too "
                                         "deeply)",
}


@pytest.mark.parametrize("logic", UNSUPPORTED)
def test_each_unsupported_construct_is_one_line_and_the_field_is_shown(logic, tmp_path):
    path = bundled_with(tmp_path, jaki_improvement={BRANCHING: logic})
    status, out, err = run_cli("validate", "--dictionary", str(path))
    assert status == 0, err
    lines = [line for line in out.splitlines() if "data_dictionary.csv" in line]
    assert lines == [f"warning: data_dictionary.csv: row 11, field 'jaki_improvement': "
                     f"branching logic {logic!r} is set aside: {UNSUPPORTED[logic]}; the field "
                     f"is treated as always shown"]
    # always shown: the bundled answer of a non-user (row 189) is no longer set aside
    assert not any("row 189, field 'jaki_improvement'" in line for line in out.splitlines())


def test_logic_that_fails_to_evaluate_is_a_warning_not_a_traceback(codebook, resolver,
                                                                   monkeypatch):
    def fails(*args, **kwargs):
        raise ValueError("unexpected")

    monkeypatch.setattr(branching, "shown", fails)
    survey = survey_with(codebook, resolver, [{**OTHER, "jaki_improvement": 3}])
    lines = [p.message() for p in survey.problems if p.field == "jaki_improvement"]
    assert lines == ["warning: data_dictionary.csv: row 11, field 'jaki_improvement': branching "
                     "logic \"[jaki_used] = '1'\" could not be evaluated (ValueError); the field "
                     "is treated as always shown"]
    assert survey.data["jaki_improvement"].tolist() == [3]


def test_missing_codes_read_in_branching_logic(tmp_path, resolver):
    book = Codebook.from_csv(bundled_with(
        tmp_path, jaki_improvement={BRANCHING: "[jaki_used] = '1' or [jaki_used] = 'NASK'"},
        jaki_side_effects={BRANCHING: "not(isblankormissingcode([jaki_used]))"}))
    survey = survey_with(book, resolver, [{"jaki_used": "NASK", "jaki_improvement": 3},
                                          {"jaki_used": "", "jaki_side_effects": 1},
                                          {"jaki_used": 0, "jaki_side_effects": 1}])
    assert survey.data["jaki_improvement:shown"].tolist() == [True, False, False]
    assert survey.data["jaki_side_effects:shown"].tolist() == [False, False, True]


# --- ranking matrices -----------------------------------------------------------------------

def matrix_dictionary(tmp_path: Path, name: str = "barrier") -> Path:
    """The bundled dictionary with one ranking built as a REDCap ranking matrix."""
    rows, out = dictionary_rows(), []
    for row in rows:
        if row[FIELD] == f"{name}_rank_1":
            question = row["Field Label"].rsplit(":", 1)[0]   # the matrix's header holds it
            for i, (code, label) in enumerate(c.split(",", 1) for c in row[CHOICES].split("|")):
                out.append({**{h: "" for h in REDCAP_HEADERS}, FIELD: f"{name}_{code.strip()}",
                            "Form Name": row["Form Name"], TYPE: "radio",
                            "Section Header": "" if i else question,
                            "Field Label": label.strip(), CHOICES: "1, 1st | 2, 2nd | 3, 3rd",
                            "Matrix Group Name": name, "Matrix Ranking?": "y"})
        elif not row[FIELD].startswith(f"{name}_rank_"):
            out.append(row)
    return write_dictionary(tmp_path / "matrix.csv", out)


RANKED = [[4, 1, 3], [1, 2, None], [2, None, 1], [None, None, None], [9, 1, 2], [1, 9, 1]]


def test_a_ranking_matrix_gives_what_one_field_per_position_gives(tmp_path, codebook, resolver):
    book = Codebook.from_csv(matrix_dictionary(tmp_path))
    ranking = book.rankings["barrier"]
    assert ranking.matrix and ranking.k == 3 and ranking.choices == codebook.rankings[
        "barrier"].choices                                           # detected, not configured
    positions = [{f"barrier_rank_{p}": item for p, item in enumerate(items, 1) if item}
                 for items in RANKED]
    matrix = []
    for items in RANKED[:-1]:
        matrix.append({f"barrier_{item}": p for p, item in enumerate(items, 1) if item})
    matrix.append({"barrier_1": 1, "barrier_2": 1, "barrier_9": 2})   # two items share rank 1
    a = survey_with(codebook, resolver, [{"role": 1, **r} for r in positions])
    b = survey_with(book, resolver, [{"role": 1, **r} for r in matrix])
    pd.testing.assert_frame_equal(stats.ranking_table(a, "barrier"),
                                  stats.ranking_table(b, "barrier"))
    assert stats.n_valid_rankings(a, "barrier") == stats.n_valid_rankings(b, "barrier") == 4
    assert data_quality(a.problems) == data_quality(b.problems) == [
        {"field": "barrier_rank", "problem": "an item is ranked in more than one position, or a "
         "position holds more than one item; ranking excluded", "n": 1}]
    assert [p.value for p in b.problems] == ["1+2/9/"]
    assert item_nonresponse(a).equals(item_nonresponse(b))


def test_a_ranking_matrix_needs_radio_fields_with_the_same_choices(tmp_path):
    path = matrix_dictionary(tmp_path)
    rows = dictionary_rows(path)
    for row in rows:
        if row[FIELD] == "barrier_3":
            row[CHOICES] = "1, 1st | 2, 2nd"
    with pytest.raises(DictionaryError, match="row 16, field 'barrier_3', value 'barrier': the "
                                              "choices differ from those of 'barrier_1'"):
        Codebook.from_csv(write_dictionary(tmp_path / "differ.csv", rows))


# --- missing-data codes ---------------------------------------------------------------------

def study_with(tmp_path: Path, text: str) -> Path:
    """The bundled study file with lines added."""
    path = tmp_path / "study.yml"
    settings = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    settings["country_aliases"] = str(DATA / "country_aliases.csv")
    settings["regions"] = str(DATA / "regions.csv")
    path.write_text(yaml.safe_dump(settings) + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, expected", [
    ("", REDCAP_MISSING_CODES),
    ("missing_codes: [UNK, 'NASK, Not asked', -999]\n",
     {"UNK": "UNK", "NASK": "Not asked", "-999": "-999"}),
    ("missing_codes: {UNK: Unknown, -999: Not asked}\n", {"UNK": "Unknown", "-999": "Not asked"}),
    ("missing_codes: 'UNK, Unknown | NASK, Not asked'\n", {"UNK": "Unknown", "NASK": "Not asked"}),
    ("missing_codes:\n", {}),
])
def test_the_study_file_names_the_missing_codes(tmp_path, text, expected):
    assert load_study(study_with(tmp_path, text)).missing_codes == expected


def test_a_bad_missing_code_or_a_misspelt_key_is_one_line(tmp_path):
    with pytest.raises(StudyError, match=r"study.yml: 'missing_codes' entry 2: 'not asked' is not "
                                         "a REDCap missing-data code"):
        load_study(study_with(tmp_path, "missing_codes: [UNK, not asked]\n"))
    with pytest.raises(StudyError, match="'missing_code' is not a setting of the study file; did "
                                         "you mean 'missing_codes'?"):
        load_study(study_with(tmp_path, "missing_code: [UNK]\n"))


def test_missing_codes_are_not_answered_and_tallied_per_field(tmp_path, codebook, resolver):
    rows = [{**USER, "jaki_improvement": "UNK", "role": "NASK"},
            {**USER, "jaki_improvement": 3, "role": 1},
            {**USER, "jaki_improvement": "NA", **{c: "UNK" for c in codebook["concomitant"]
                                                   .columns}},
            {**OTHER, "jaki_improvement": "NASK"}]                # hidden: REDCap keeps it
    survey = survey_with(codebook, resolver, rows)
    assert stats.rule_share(survey, __import__("jakisurvey").definitions.IMPROVED_MOST_OR_ALL
                            ).N == 1                               # not answered: not in N
    assert survey.data["role"].isna().tolist() == [True, False, True, True]
    assert not survey.data[codebook["concomitant"].columns].any(axis=None)
    raw = raw_records(codebook, rows)
    path = tmp_path / "records.csv"
    raw.to_csv(path, index=False)
    _, problems = read_export(path, codebook)
    assert data_quality([p for p in problems if p.severity == "warning"]) == [
        {"field": "concomitant", "n": 1, "problem": "a missing-data code (missing_codes in the "
                                                   "study file); read as not answered"},
        {"field": "jaki_improvement", "n": 3, "problem": "a missing-data code (missing_codes in "
                                                        "the study file); read as not answered"},
        {"field": "role", "n": 1, "problem": "a missing-data code (missing_codes in the study "
                                            "file); read as not answered"}]
    with pytest.raises(InputError, match="value 'UNK': code not defined in the data dictionary"):
        read_export(path, codebook, frozenset())                  # no missing codes: an error


def test_a_projects_own_missing_code_in_a_number_field(tmp_path):
    study = study_with(tmp_path, "missing_codes: [-999]\n")
    path = fixture_export(tmp_path, {("SYN-0001", "confidence"): "-999",
                                     ("SYN-0002", "n_agents"): "-999"})
    status, out, err = run_cli("validate", "--records", str(path), "--dictionary",
                               str(REDCAP / "data_dictionary.csv"), "--study", str(study))
    assert status == 0, err
    assert "warning: records.csv: row 2, field 'confidence', value '-999': a missing-data code " \
           "(missing_codes in the study file); read as not answered" in out.splitlines()
    assert "slider holds" not in out and "calculated field holds" not in out


# --- the fixture project -----------------------------------------------------------------------

def test_the_fixture_project_is_what_its_generator_writes():
    spec = importlib.util.spec_from_file_location("make_redcap",
                                                  FIXTURES / "make_redcap_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {name: (REDCAP / name).read_bytes() for name in module.fixtures()} == \
        module.fixtures()


def test_the_fixture_project_reads_as_the_bundled_one(codebook):
    from jakisurvey.inputs import Inputs, check_inputs

    bundled = check_inputs(Inputs(RECORDS, DICTIONARY, STUDY))
    other = check_inputs(Inputs(REDCAP / "records.csv", REDCAP / "data_dictionary.csv", STUDY))
    assert data_quality(other.survey.problems) == data_quality(bundled.survey.problems)
    for name in ("barrier", "indication"):
        assert other.codebook.rankings[name].matrix
        pd.testing.assert_frame_equal(stats.ranking_table(other.survey, name),
                                      stats.ranking_table(bundled.survey, name))
    pd.testing.assert_frame_equal(item_nonresponse(other.survey), item_nonresponse(bundled.survey))


def without_hashes(text: str, *reports: Path) -> str:
    """Text without whitespace and hyphens (where a renderer breaks a hash across lines), the
    inputs' SHA-256 masked (they differ, as they must)."""
    text = re.sub(r"[\s\-\xad]", "", text)
    for out in reports:
        for digest in json.loads((out / "results.json").read_text())["inputs"].values():
            text = text.replace(digest, "<sha256>")
    return text


@pytest.fixture(scope="module")
def fixture_reports(tmp_path_factory, report_dirs) -> dict[str, Path]:
    """The fixture project's report from each renderer the bundled report was made with (the
    second renderer takes the executed notebooks from the cache they share)."""
    from helpers import jakisurvey

    folder = tmp_path_factory.mktemp("redcap")
    made = {}
    for renderer in report_dirs:
        out = folder / renderer
        done = jakisurvey("run", "--records", str(REDCAP / "records.csv"), "--dictionary",
                          str(REDCAP / "data_dictionary.csv"), "--study", str(STUDY), "--out",
                          str(out), "--renderer", renderer)
        assert done.returncode == 0, done.stderr
        made[renderer] = out
    return made


def test_the_fixture_project_gives_the_bundled_results(fixture_reports, pandoc_report):
    bundled = json.loads((pandoc_report / "results.json").read_text(encoding="utf-8"))
    other = json.loads((fixture_reports["pandoc"] / "results.json").read_text(encoding="utf-8"))
    assert set(other["inputs"]) == set(bundled["inputs"])
    assert other["inputs"]["records_sha256"] != bundled["inputs"]["records_sha256"]
    assert {**other, "inputs": None} == {**bundled, "inputs": None}


def test_the_fixture_project_gives_the_bundled_report_from_both_renderers(fixture_reports,
                                                                          report_dirs):
    from helpers import pdf_text, visible_text

    for renderer, out in fixture_reports.items():
        reference = report_dirs[renderer]
        same = lambda text, other: without_hashes(text, out, reference) == without_hashes(  # noqa
            other, out, reference)
        if renderer == "pandoc":   # (Quarto's report.ipynb carries its own anchors)
            for name in ("report.ipynb", "disclosure.json"):
                assert same((out / name).read_text(encoding="utf-8"),
                            (reference / name).read_text(encoding="utf-8")), name
        html = [visible_text((folder / "report.html").read_text(encoding="utf-8"))
                for folder in (out, reference)]
        assert same(*html), renderer
        assert same(pdf_text(out / "report.pdf"), pdf_text(reference / "report.pdf")), renderer
