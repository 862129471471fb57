"""Read a REDCap raw records export and check it against the data dictionary."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import pandas as pd

from .codebook import CODED_TYPES, Codebook
from .errors import SurveyError
from .textfile import NotText, read_utf8

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
MAX_LISTED = 50
NOT_UTF8 = ("this text is not UTF-8 (the file looks Latin-1/Windows-encoded); export the file "
            "again as UTF-8 (in Excel: save as 'CSV UTF-8 (Comma delimited)')")
LABEL_RULE = "this is an answer label, not a code"
RAW_EXPORT = "export 'CSV / Microsoft Excel (raw data)' from REDCap instead"


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
        value = " ".join(self.value.split())
        value = value if len(value) <= 40 else value[:37] + "..."
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
    """Read the export as UTF-8 text, naming each cell that is not UTF-8."""
    try:
        return read_utf8(path, "export the records from REDCap again as 'CSV / Microsoft Excel "
                               "(raw data)'")
    except NotText as error:
        if error.encoding:
            raise InputError(encoding_problems(path.read_bytes(), error.line, path)) from None
        fail(path, error.rule, error.line)
    raise AssertionError("unreachable")


def is_utf8(text: str) -> bool:
    """Whether text read as Latin-1 is valid UTF-8 as bytes."""
    try:
        text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def encoding_problems(data: bytes, line: int | None, path: Path) -> list[Problem]:
    """One problem per cell that is not UTF-8, found by reading the file as Latin-1."""
    text = data.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    header_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems, header, start = [], [], 1
    try:
        for cells in reader:
            header = header or cells
            problems += [Problem(path.name, start, header[i] if i < len(header) else "",
                                 cell.encode("latin-1").decode("cp1252", "replace"), NOT_UTF8)
                         for i, cell in enumerate(cells) if not is_utf8(cell)]
            start = reader.line_num + 1
    except csv.Error:
        pass
    return problems or [Problem(path.name, line, "", "", NOT_UTF8)]


def header_cells(header_line: str, delimiter: str) -> list[str]:
    """The header line split into column names with one delimiter."""
    return [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter))]


def choose_delimiter(header_line: str, codebook: Codebook, path: Path) -> str:
    """Pick the delimiter whose header split names the record id field."""
    for delimiter in DELIMITERS:
        if codebook.record_id in header_cells(header_line, delimiter):
            return delimiter
    labels = {f.label.casefold() for f in codebook.fields.values()}
    cells = {c.casefold() for d in DELIMITERS for c in header_cells(header_line, d)}
    if cells & labels:
        fail(path, "the column headers are question text, not field names: this looks like a "
                   f"REDCap export of labels; {RAW_EXPORT}", row=1)
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
        header = rows[0][1] if rows else []
        raise InputError([unreadable_row(text, start, delimiter, header, error, path)]) from None
    header, body = rows[0][1], rows[1:]
    if not body:
        fail(path, "the file has a header row but no records; export the records again from REDCap")
    return [h.strip() for h in header], body


def unreadable_row(text: str, start: int, delimiter: str, header: list[str], error: csv.Error,
                   path: Path) -> Problem:
    """Explain a row the CSV reader cannot read, spotting a quoted cell that is never closed."""
    rest = "".join(islice(io.StringIO(text, newline=""), start - 1, None))
    if rest.count('"') % 2 == 0:
        return Problem(path.name, start, "", "", f"this row cannot be read as CSV ({error}): a "
                       "quote mark may be misplaced (hand-edited?); export the file again")
    cells = next(csv.reader(io.StringIO(rest, newline=""), delimiter=delimiter))
    field = header[len(cells) - 1].strip() if len(cells) <= len(header) else ""
    return Problem(path.name, start, field, cells[-1],
                   "a quoted cell starting on this row is never closed: the file looks truncated "
                   "(cut inside a quoted text such as a multi-line comment) or has a stray quote "
                   "mark; export it again")


def check_shape(header: list[str], body: list[tuple[int, list[str]]], path: Path) -> list[Problem]:
    """Every row must have as many cells as the header; a short last row means truncation."""
    problems = []
    for index, (row, cells) in enumerate(body):
        if len(cells) == len(header):
            continue
        if index == len(body) - 1 and len(cells) < len(header):
            problems.append(Problem(path.name, row, header[len(cells) - 1], cells[-1],
                                    f"the last row stops at this cell, after {len(cells)} of "
                                    f"{len(header)} cells: the file looks truncated; export it "
                                    "again"))
            continue
        problems.append(Problem(path.name, row, "", "",
                                f"{len(cells)} cells where the header has {len(header)}: a "
                                "delimiter or quote mark inside a cell (in a comment?) may have "
                                "split or joined cells; check this row or export the file again"))
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
    frame = pd.DataFrame([[cell.strip() for cell in cells] for _, cells in body],
                         columns=header, dtype="str")
    frame = frame.loc[:, ~frame.columns.duplicated()][columns]
    frame.index = pd.Index([row for row, _ in body], name="row")
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
    for column, codes, labels, rule in coded_columns(codebook):
        if column in frame:
            problems += bad_cells(frame, column, codes, labels, rule, path, codebook)
    return collapse_labels(problems)


def coded_columns(codebook: Codebook) -> list[tuple[str, list[str], set[str], str]]:
    """Each coded export column: its codes, the labels of its answers and the rule for others."""
    columns = []
    for field in codebook.fields.values():
        codes = {str(code): label.casefold() for code, label in field.choices.items()}
        if field.type in CODED_TYPES:
            rule = f"code not defined in the data dictionary (defined: {', '.join(codes)})"
            columns.append((field.name, list(codes), set(codes.values()), rule))
        elif field.type == "checkbox":
            columns += [(column, ["0", "1"], {"checked", "unchecked", codes[str(code)]},
                         "a checkbox column holds 0 (not ticked) or 1 (ticked) or nothing")
                        for code, column in zip(field.choices, field.columns)]
    columns.append((f"{codebook.form}_complete", ["0", "1", "2"],
                    {"incomplete", "unverified", "complete"}, "survey status must be 0, 1 or 2"))
    return columns


def bad_cells(frame: pd.DataFrame, column: str, codes: list[str], labels: set[str], rule: str,
              path: Path, codebook: Codebook) -> list[Problem]:
    """Problems for non-empty cells of a column outside its codes, spotting answer labels."""
    values = frame[column]
    bad = values[(values != "") & ~values.isin(codes)]
    ids = frame[codebook.record_id]
    return [Problem(path.name, row, column, value,
                    label_rule(codes) if value.casefold() in labels else rule, record_id=ids[row])
            for row, value in bad.items()]


def label_rule(codes: list[str]) -> str:
    """The rule for an answer label found where a code belongs."""
    return f"{LABEL_RULE} (codes: {', '.join(codes)}); {RAW_EXPORT}"


def collapse_labels(problems: list[Problem]) -> list[Problem]:
    """Labels in many columns mean an export of labels: one problem instead of one per cell."""
    labels = [p for p in problems if p.rule.startswith(LABEL_RULE)]
    columns = {p.field for p in labels}
    if len(columns) < 3:
        return problems
    first = min(labels, key=lambda p: p.row)
    summary = replace(first, rule=f"cells hold answer labels, not codes ({len(labels)} cells in "
                                  f"{len(columns)} columns): this looks like a REDCap export of "
                                  f"labels; {RAW_EXPORT}")
    return [p for p in problems if not p.rule.startswith(LABEL_RULE)] + [summary]


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
