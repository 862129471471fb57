"""Read a REDCap raw records export and check it against the data dictionary."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import pandas as pd

from . import fieldtypes
from .codebook import Codebook
from .errors import SurveyError
from .study import REDCAP_MISSING_CODES
from .textfile import NotText, csv_reader, file_bytes, read_utf8

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
MAX_LISTED = 50
FIELDS_LISTED = 10   # a rule broken by more fields than this is one summary line ...
NAMES_SHOWN = 5      # ... naming the first few fields
SHOWN_CHARS = 40     # values (and field names) longer than this are cut in a problem line
NOT_UTF8 = ("this text is not UTF-8 (the file looks Latin-1/Windows-encoded); export the file "
            "again as UTF-8 (in Excel: save as 'CSV UTF-8 (Comma delimited)')")
LABEL_RULE = "this is an answer label, not a code"
RAW_EXPORT = "export 'CSV / Microsoft Excel (raw data)' from REDCap instead"
UNKNOWN_COLUMN = "column is not in the data dictionary; ignored"
UNEXPORTED = ("column of the data dictionary is missing from the export (a de-identified or "
              "partial export?); the field is read as not answered")
MISSING_CODE = "a missing-data code (missing_codes in the study file); read as not answered"
DEFAULT_MISSING = frozenset(REDCAP_MISSING_CODES)
# REDCap's columns of a longitudinal project or of repeating instruments.
LAYOUT_COLUMNS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
LONGITUDINAL = ("this is a longitudinal or repeating-instrument export (one row per record and "
                "event or repeat; columns redcap_event_name, redcap_repeat_instrument, "
                "redcap_repeat_instance), but the analysis needs one row per record: export the "
                "survey's event alone (in REDCap: 'Data Exports', 'Selected instruments and/or "
                "events' with only the survey's instrument and event ticked, or a report filtered "
                "to that event and, if the survey repeats, to one instance)")


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
        field = f", field '{one_line(self.field)}'" if self.field else ""
        shown = f", value '{one_line(self.value)}'" if self.value else ""
        return f"{self.severity}: {self.file}: {where}{field}{shown}: {self.rule}"


def one_line(text: str) -> str:
    """Text from a cell as a problem line shows it: one line, at most SHOWN_CHARS characters."""
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


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
            raise InputError(encoding_problems(file_bytes(path), error.line, path)) from None
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
    reader = csv_reader(text, delimiter=delimiter)
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


def split_rows(text: str, delimiter: str,
               path: Path) -> tuple[list[str], list[int], list[list[str]]]:
    """Split CSV text into the header, each record's file row number and its cells."""
    reader = csv_reader(text, delimiter=delimiter, strict=True)
    rows: list[int] = []
    body: list[list[str]] = []
    start = 1
    try:
        for cells in reader:
            if cells:
                rows.append(start)
                body.append(cells)
            start = reader.line_num + 1
    except csv.Error as error:
        header = body[0] if body else []
        raise InputError([unreadable_row(text, start, delimiter, header, error, path)]) from None
    if len(body) < 2:
        fail(path, "the file has a header row but no records; export the records again from REDCap")
    return [h.strip() for h in body[0]], rows[1:], body[1:]


def unreadable_row(text: str, start: int, delimiter: str, header: list[str], error: csv.Error,
                   path: Path) -> Problem:
    """Explain a row the CSV reader cannot read, spotting a quoted cell that is never closed."""
    rest = "".join(islice(io.StringIO(text, newline=""), start - 1, None))
    if rest.count('"') % 2 == 0:
        return Problem(path.name, start, "", "", f"this row cannot be read as CSV ({error}): a "
                       "quote mark may be misplaced (hand-edited?); export the file again")
    cells = next(csv_reader(rest, delimiter=delimiter))
    field = header[len(cells) - 1].strip() if len(cells) <= len(header) else ""
    return Problem(path.name, start, field, cells[-1],
                   "a quoted cell starting on this row is never closed: the file looks truncated "
                   "(cut inside a quoted text such as a multi-line comment) or has a stray quote "
                   "mark; export it again")


def check_shape(header: list[str], rows: list[int], body: list[list[str]],
                path: Path) -> list[Problem]:
    """Every row must have as many cells as the header; a short last row means truncation."""
    problems = []
    for index, (row, cells) in enumerate(zip(rows, body)):
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


def known_columns(codebook: Codebook) -> set[str]:
    """Every column a raw export of this instrument may hold."""
    return set(codebook.columns) | set(codebook.system_columns) | set(LAYOUT_COLUMNS)


def check_header(header: list[str], codebook: Codebook, path: Path) -> list[Problem]:
    """Dictionary columns must be present once (a column of a field the analysis does not read
    may be missing: a warning); unknown columns are reported as warnings."""
    counts = Counter(header)
    problems = [Problem(path.name, 1, name, "", "column appears more than once in the header")
                for name in sorted(name for name, n in counts.items() if n > 1)]
    known, analysed = known_columns(codebook), analysed_columns(codebook)
    problems += [Problem(path.name, 1, column, "", "column of the data dictionary is missing "
                         "from the export (export all fields of the instrument)")
                 if column in analysed else
                 Problem(path.name, 1, column, "", UNEXPORTED, severity="warning")
                 for column in codebook.columns if column not in counts]
    problems += [Problem(path.name, 1, column, "", UNKNOWN_COLUMN, severity="warning")
                 for column in header if column not in known]
    return summarise_fields(problems)


def analysed_columns(codebook: Codebook) -> set[str]:
    """The export columns of the fields the analysis reads."""
    return {column for name in codebook.analysed for column in codebook[name].columns}


def summarise_fields(problems: list[Problem]) -> list[Problem]:
    """A rule broken by many fields: one problem saying how many, naming the first few."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.rule), []).append(p)
    summarised = []
    for (_, rule), group in groups.items():
        fields = list(dict.fromkeys(p.field for p in group))
        if len(fields) <= FIELDS_LISTED:
            summarised += group
            continue
        names = ", ".join(one_line(f) for f in fields[:NAMES_SHOWN])
        summarised.append(replace(group[0], field="", value="", record_id="", rule=(
            f"{len(fields):,} columns with the same problem ({names} and "
            f"{len(fields) - NAMES_SHOWN:,} more): {rule}")))
    return summarised


def records_frame(header: list[str], rows: list[int], body: list[list[str]],
                  columns: list[str]) -> pd.DataFrame:
    """The chosen columns as a frame of stripped strings, indexed by file row."""
    by_column = list(zip(*body))  # every row has the header's length (checked before)
    frame = pd.DataFrame({name: list(map(str.strip, by_column[header.index(name)]))
                          for name in columns}, columns=columns, dtype="str")
    frame.index = pd.Index(rows, name="row")
    return frame


def read_export(path: Path, codebook: Codebook, missing: frozenset[str] = DEFAULT_MISSING
                ) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a raw export into a frame of strings indexed by file row (a dictionary column the
    export lacks as empty cells); stop on any error. `missing`: the missing-data codes."""
    path = Path(path)
    text = read_text(path)
    header_line = text.split("\n", 1)[0]
    delimiter = choose_delimiter(header_line, codebook, path)
    header, rows, body = split_rows(text, delimiter, path)
    shape = check_shape(header, rows, body, path)
    problems = check_header(header, codebook, path) + shape
    if delimiter != ",":
        problems.append(Problem(path.name, 1, "", "", f"{DELIMITER_NAMES[delimiter]}-delimited file "
                                "(as Excel writes in some locales); read with that delimiter",
                                severity="warning"))
    if shape:
        raise_errors(problems)
    known = known_columns(codebook)
    frame = records_frame(header, rows, body, list(dict.fromkeys(c for c in header if c in known)))
    problems += check_layout(frame, codebook, path)
    raise_errors(problems)
    frame = frame.drop(columns=[c for c in LAYOUT_COLUMNS if c in frame])
    for column in codebook.columns:
        if column not in frame:
            frame[column] = pd.Series("", index=frame.index, dtype="str")
    problems += dictionary_problems(codebook, missing) + check_cells(frame, codebook, path, missing)
    raise_errors(problems)
    return frame, problems


def dictionary_problems(codebook: Codebook, missing: frozenset[str]) -> list[Problem]:
    """What the data dictionary holds that the analysis sets aside (branching logic it cannot
    evaluate, comparisons that never hold), as warnings naming the dictionary's rows."""
    name = Path(codebook.source).name if codebook.source else "data dictionary"
    return [Problem(name, row, field, value, rule, severity="warning")
            for row, field, value, rule in codebook.warnings + codebook.never_true(missing)]


def check_layout(frame: pd.DataFrame, codebook: Codebook, path: Path) -> list[Problem]:
    """A longitudinal or repeating-instrument export is refused unless it has one row per record."""
    present = [c for c in LAYOUT_COLUMNS if c in frame]
    if not present:
        return []
    ids = frame[codebook.record_id]
    repeated = ids[(ids != "") & ids.duplicated()]
    if len(repeated):
        row, value = repeated.index[0], repeated.iloc[0]
        first = ids.index[ids == value][0]
        n = repeated.nunique()
        return [Problem(path.name, row, codebook.record_id, value,
                        f"record id also on row {first} ({n:,} record id{'s' * (n > 1)} on more "
                        f"than one row): {LONGITUDINAL}", record_id=value)]
    events = frame.get("redcap_event_name", pd.Series("", index=frame.index, dtype="str"))
    named = events[events != ""]
    if named.nunique() > 1:
        row = named.index[named != named.iloc[0]][0]
        return [Problem(path.name, row, "redcap_event_name", named[row],
                        f"records from {named.nunique()} events (first '{one_line(named.iloc[0])}'"
                        f" on row {named.index[0]}): {LONGITUDINAL}")]
    event = f" (event '{one_line(named.iloc[0])}')" if len(named) else ""
    return [Problem(path.name, 1, column, "", f"REDCap longitudinal/repeating-instrument column; "
                    f"every record is on one row{event}, so the column is ignored",
                    severity="warning") for column in present]


def raise_errors(problems: list[Problem]) -> None:
    """Raise InputError if any problem is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)


def check_cells(frame: pd.DataFrame, codebook: Codebook, path: Path,
                missing: frozenset[str] = DEFAULT_MISSING) -> list[Problem]:
    """Check record ids, and each field's cells as far as its type allows: a wrong value in a
    field the analysis reads is an error, in any other field a warning (the value is then
    ignored or kept as given). Missing-data codes are counted per field, never wrong."""
    problems = check_record_ids(frame, codebook, path)
    analysed = codebook.analysed
    for field in codebook.fields.values():
        for check in fieldtypes.checks(field):
            if check.column in frame:
                problems += bad_cells(frame, check, field, field.name in analysed, path,
                                      codebook, missing)
        problems += missing_codes(frame, field, codebook, path, missing)
    for form in codebook.forms:
        status = fieldtypes.status_check(f"{form}_complete")
        if status.column in frame:
            problems += bad_cells(frame, status, codebook[codebook.record_id],
                                  form == codebook.form, path, codebook, frozenset())
    return collapse_labels(problems)


def bad_cells(frame: pd.DataFrame, check: fieldtypes.Check, field, stops: bool, path: Path,
              codebook: Codebook, missing: frozenset[str]) -> list[Problem]:
    """Problems for non-empty cells a column does not accept (missing-data codes aside),
    spotting answer labels; errors when the analysis reads the field, else warnings."""
    values = frame[check.column]
    distinct = pd.Series(values.unique(), dtype="str")   # judged once per distinct value
    judged = distinct[(distinct != "") & ~(distinct.isin(missing) & ~distinct.isin(check.codes))]
    wrong = judged[~check.allowed(judged, field).fillna(False).astype(bool)]
    if wrong.empty:
        return []
    bad = values[values.isin(wrong)]
    ids = frame[codebook.record_id]
    severity = "error" if stops else "warning"
    tail = "" if stops else f"; {fieldtypes.IGNORED if check.ignored else fieldtypes.KEPT}"
    return [Problem(path.name, row, check.column, value,
                    (label_rule(list(check.codes)) if value.casefold() in check.labels
                     else check.rule) + tail, severity=severity, record_id=ids[row])
            for row, value in bad.items()]


def missing_codes(frame: pd.DataFrame, field, codebook: Codebook, path: Path,
                  missing: frozenset[str]) -> list[Problem]:
    """A warning per record whose answer to the field is a missing-data code (not one of the
    field's own codes): read as not answered, tallied per field."""
    columns = [c for c in field.columns if c in frame and field.name != codebook.record_id]
    if not missing or not columns:
        return []
    own = {str(code) for code in field.choices} if field.type != "checkbox" else {"0", "1"}
    coded = [c for c in missing if c not in own]
    if not any(set(frame[column].unique()) & set(coded) for column in columns):
        return []
    cells = frame[columns]
    found = cells.isin(coded)
    rows = found.any(axis=1)
    if not rows.any():
        return []
    first = cells[rows].where(found[rows]).bfill(axis=1).iloc[:, 0]
    ids = frame[codebook.record_id]
    return [Problem(path.name, row, field.name, value, MISSING_CODE, severity="warning",
                    record_id=ids[row]) for row, value in first.items()]


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
    summary = replace(first, severity="error", rule=(
        f"cells hold answer labels, not codes ({len(labels)} cells in {len(columns)} columns): "
        f"this looks like a REDCap export of labels; {RAW_EXPORT}"))
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
