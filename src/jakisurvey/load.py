"""Read a REDCap raw records export and check it against the data dictionary."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .codebook import CODED_TYPES, Codebook
from .errors import SurveyError

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file; errors stop the analysis, warnings do not."""

    file: str
    row: int | None
    field: str
    value: str
    rule: str
    severity: str = "error"
    record_id: str = ""

    def message(self) -> str:
        """One line a researcher can act on: file, row, field, value and rule."""
        where = f"row {self.row}" if self.row else "whole file"
        value = self.value if len(self.value) <= 40 else self.value[:37] + "..."
        field = f", field '{self.field}'" if self.field else ""
        shown = f", value '{value}'" if self.value else ""
        return f"{self.severity}: {self.file}: {where}{field}{shown}: {self.rule}"


class InputError(SurveyError):
    """The records cannot be analysed; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [p.message() for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"... and {len(problems) - MAX_LISTED} more problems of the same kinds")
        super().__init__("\n".join(lines))


def fail(file: Path, rule: str, row: int | None = None, field: str = "", value: str = "") -> None:
    """Stop with a single problem."""
    raise InputError([Problem(file.name, row, field, value, rule)])


def read_text(path: Path) -> str:
    """Read a file as UTF-8 text (BOM allowed), refusing empty, binary and non-UTF-8 files."""
    try:
        data = path.read_bytes()
    except OSError as error:
        fail(path, f"cannot be read ({error.strerror})")
    if not data.strip():
        fail(path, "the file is empty; export the records again from REDCap")
    if b"\x00" in data[:65536]:
        fail(path, "this is a binary file, not a CSV text export (an Excel workbook?); "
                   "export the records from REDCap as 'CSV (raw data)'")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start: error.start + 1].hex()
        fail(path, f"the file is not UTF-8 (byte 0x{byte} on this line); re-export it as "
                   "UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')", row=line)
    raise AssertionError("unreachable")


def choose_delimiter(header_line: str, codebook: Codebook, path: Path) -> str:
    """Pick the delimiter whose header split names the record id field."""
    for delimiter in DELIMITERS:
        names = [n.strip().strip('"') for n in header_line.split(delimiter)]
        if codebook.record_id in names:
            return delimiter
    labels = {f.label.casefold() for f in codebook.fields.values()}
    cells = {c.strip().strip('"').casefold() for d in DELIMITERS for c in header_line.split(d)}
    if cells & labels:
        fail(path, "the column headers are question text, not field names: this looks like a "
                   "REDCap 'labels' export; export 'CSV / Microsoft Excel (raw data)' instead",
             row=1)
    fail(path, f"no '{codebook.record_id}' column in the header; expected a REDCap raw records "
               "export with field names as column headers", row=1, field=codebook.record_id)
    raise AssertionError("unreachable")


def split_rows(text: str, delimiter: str, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Split CSV text into a header and (file row number, cells) pairs."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if cells:
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        fail(path, f"the CSV cannot be parsed ({error}); the file may be truncated or "
                   "hand-edited; export it again", row=start)
    header, body = rows[0][1], rows[1:]
    return [h.strip() for h in header], body


def check_shape(header: list[str], body: list[tuple[int, list[str]]], path: Path) -> list[Problem]:
    """Every row must have as many cells as the header."""
    problems = []
    for index, (row, cells) in enumerate(body):
        if len(cells) == len(header):
            continue
        last = index == len(body) - 1 and len(cells) < len(header)
        hint = "the file looks truncated; export it again" if last else "check quoting in this row"
        problems.append(Problem(path.name, row, "", "",
                                f"{len(cells)} cells where the header has {len(header)}; {hint}"))
    return problems


def check_header(header: list[str], codebook: Codebook, path: Path) -> list[Problem]:
    """Dictionary columns must be present once; unknown columns are reported as warnings."""
    problems = [Problem(path.name, 1, name, "", "column appears more than once in the header")
                for name in sorted({h for h in header if header.count(h) > 1})]
    known = set(codebook.columns) | set(codebook.system_columns)
    problems += [Problem(path.name, 1, column, "", "column of the data dictionary is missing "
                         "from the export (export all fields of the instrument)")
                 for column in codebook.columns if column not in header]
    problems += [Problem(path.name, 1, column, "", "column is not in the data dictionary; ignored",
                         severity="warning")
                 for column in header if column not in known]
    return problems


def read_export(path: Path, codebook: Codebook) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a raw export into a frame of strings indexed by file row; stop on any error."""
    path = Path(path)
    text = read_text(path)
    header_line = text.split("\n", 1)[0]
    delimiter = choose_delimiter(header_line, codebook, path)
    header, body = split_rows(text, delimiter, path)
    problems = check_header(header, codebook, path) + check_shape(header, body, path)
    if delimiter != ",":
        problems.append(Problem(path.name, 1, "", "", f"{DELIMITER_NAMES[delimiter]}-delimited file "
                                "(as Excel writes in some locales); read with that delimiter",
                                severity="warning"))
    raise_errors(problems)
    columns = [c for c in header if c in set(codebook.columns) | set(codebook.system_columns)]
    frame = pd.DataFrame([cells for _, cells in body], columns=header, dtype="str")
    frame = frame.loc[:, ~frame.columns.duplicated()][columns]
    frame.index = pd.Index([row for row, _ in body], name="row")
    frame = frame.apply(lambda column: column.str.strip())
    problems += check_cells(frame, codebook, path)
    raise_errors(problems)
    return frame, problems


def raise_errors(problems: list[Problem]) -> None:
    """Raise InputError if any problem is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)


def check_cells(frame: pd.DataFrame, codebook: Codebook, path: Path) -> list[Problem]:
    """Check record ids, codes and checkbox values cell by cell."""
    problems = check_record_ids(frame, codebook, path)
    for field in codebook.fields.values():
        if field.type in CODED_TYPES:
            allowed = {str(code) for code in field.choices}
            labels = {label.casefold() for label in field.choices.values()}
            problems += bad_cells(frame, field.name, allowed, path, codebook,
                                  lambda v, labels=labels, field=field: unknown_code_rule(v, labels, field))
        elif field.type == "checkbox":
            for column in field.columns:
                problems += bad_cells(frame, column, {"0", "1"}, path, codebook,
                                      lambda v: "a checkbox column holds 0 (not ticked) or 1 "
                                                "(ticked) or nothing")
    complete = f"{codebook.form}_complete"
    if complete in frame:
        problems += bad_cells(frame, complete, {"0", "1", "2"}, path, codebook,
                              lambda v: "survey status must be 0, 1 or 2")
    return problems


def unknown_code_rule(value: str, labels: set[str], field) -> str:
    """Explain an undefined code, spotting labels exported instead of codes."""
    codes = ", ".join(str(c) for c in field.choices)
    if value.casefold() in labels:
        return (f"this is a label, not a code; export raw coded data "
                f"('CSV / Microsoft Excel (raw data)') (codes: {codes})")
    return f"code not defined in the data dictionary (defined: {codes})"


def bad_cells(frame: pd.DataFrame, column: str, allowed: set[str], path: Path,
              codebook: Codebook, rule) -> list[Problem]:
    """Problems for non-empty cells of a column outside the allowed values."""
    values = frame[column]
    bad = values[(values != "") & ~values.isin(allowed)]
    ids = frame[codebook.record_id]
    return [Problem(path.name, row, column, value, rule(value), record_id=ids[row])
            for row, value in bad.items()]


def check_record_ids(frame: pd.DataFrame, codebook: Codebook, path: Path) -> list[Problem]:
    """Record ids must be present and unique."""
    ids = frame[codebook.record_id]
    problems = [Problem(path.name, row, codebook.record_id, "", "record id is empty (required)")
                for row in ids.index[ids == ""]]
    duplicated = ids[(ids != "") & ids.duplicated(keep=False)]
    for row, value in duplicated.items():
        others = [str(r) for r in duplicated.index[duplicated == value] if r != row]
        problems.append(Problem(path.name, row, codebook.record_id, value,
                                f"duplicate record id (also on row {', '.join(others)})",
                                record_id=value))
    return problems
