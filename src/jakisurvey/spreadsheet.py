"""CSV files written for people to open in a spreadsheet, safe from formula injection.

A spreadsheet reads a cell that begins with '=', '+', '-' or '@' (or a tab, carriage return
or line feed before one) as a formula, so a value typed into the survey, such as
'=HYPERLINK(...)', could run when a researcher opens the file. Following OWASP's "CSV
Injection" page (https://owasp.org/www-community/attacks/CSV_Injection), every cell is
wrapped in double quotes, every double quote inside it is doubled, and a cell beginning
with one of those characters gets a leading single quote, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """A cell's text, with a leading single quote if it would start a formula (None -> '')."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, header: Iterable[object], rows: Iterable[Iterable[object]]) -> Path:
    """Write RFC 4180 CSV in UTF-8 (with a BOM, so Excel reads it as UTF-8), every cell treated."""
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow([safe_cell(cell) for cell in header])
        writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return path
