"""The survey instrument, read once from a REDCap data dictionary."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from . import definitions as d
from . import measures
from .errors import DictionaryError
from .textfile import NotText, allow_long_cells, read_utf8

# REDCap's standard data-dictionary headers, in order.
REDCAP_HEADERS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
FIELD_TYPES = {"text", "notes", "radio", "dropdown", "checkbox", "yesno"}
CODED_TYPES = {"radio", "dropdown", "yesno"}
YESNO_CHOICES = {1: "Yes", 0: "No"}
CONDITION = re.compile(r"^\[(\w+)\]\s*=\s*'(-?\d+)'$")
RANKING_TAG = re.compile(r"@RANKING=(\w+),(\d+)")
RANKING_TYPES = {"radio", "dropdown"}
NONE_TAG = re.compile(r"@NONEOFTHEABOVE='?(\d+)'?")
BAND_TAG = re.compile(r"@BAND-(LOWER|UPPER)=([\d,]*)")
# What the analysis refers to by name, with usable types: every field a declared measure reads
# (measures.py), by the kind of field it must be.
FIELD_KINDS = {measures.CODED: CODED_TYPES, measures.CHECKBOX: {"checkbox"},
               measures.TEXT: {"text"}}
ANALYSED_FIELDS = {name: FIELD_KINDS[kind] for name, kind in measures.fields_needed().items()
                   if kind in FIELD_KINDS}
ANALYSED_RANKINGS = [name for name, kind in measures.fields_needed().items()
                     if kind == measures.RANKED]


@dataclass(frozen=True)
class Field:
    """One question (or identifier) of the instrument."""

    name: str
    form: str
    type: str
    label: str
    choices: dict[int, str]
    show_when: tuple[tuple[str, int], ...]
    identifier: bool
    required: bool
    annotation: str

    @property
    def columns(self) -> list[str]:
        """The export columns of this field (one per choice for checkboxes)."""
        if self.type == "checkbox":
            return [checkbox_column(self.name, code) for code in self.choices]
        return [self.name]

    @property
    def none_code(self) -> int | None:
        """The code of an exclusive 'None' choice (REDCap's @NONEOFTHEABOVE), if any."""
        found = NONE_TAG.search(self.annotation)
        return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Ranking:
    """A ranking question spread over K dropdown fields, best position first."""

    name: str
    fields: tuple[str, ...]
    choices: dict[int, str]

    @property
    def k(self) -> int:
        """Number of positions."""
        return len(self.fields)


def checkbox_column(field: str, code: int) -> str:
    """REDCap's export column for one checkbox choice."""
    return f"{field}___{code}"


def problem(path: Path | None, rule: str, line: int | None = None, field: str = "",
            value: str = "") -> DictionaryError:
    """A dictionary error in the records' message format: file, row, field, value, rule."""
    where = [f"row {line}"] if line else [] if field else ["whole file"]
    where += [f"field '{field}'"] if field else []
    where += [f"value '{value}'"] if value else []
    name = Path(path).name if path else "data dictionary"
    return DictionaryError(f"{name}: {', '.join(where)}: {rule}")


def n_cells(row: dict) -> int:
    """Number of cells a csv.DictReader row really had."""
    return sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None, []))


def parse_choices(text: str, path: Path, line: int, name: str) -> dict[int, str]:
    """Parse REDCap choices '1, Label | 2, Label' into {code: label}."""
    choices: dict[int, str] = {}
    for part in text.split("|"):
        code, sep, label = part.partition(",")
        if not sep or not code.strip().lstrip("-").isdigit() or not label.strip():
            raise problem(path, "a choice must be written 'code, label' (e.g. '1, Yes'), choices "
                                "separated by '|'", line, name, part.strip())
        if int(code) in choices:
            raise problem(path, f"code {int(code)} is defined twice in the choices", line, name,
                          part.strip())
        choices[int(code)] = label.strip()
    return choices


def parse_branching(text: str, path: Path, line: int, name: str) -> tuple[tuple[str, int], ...]:
    """Parse branching logic of the form [a] = '1' and [b] = '2'."""
    if not text.strip():
        return ()
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = CONDITION.match(part.strip())
        if not found:
            raise problem(path, "branching logic is not supported (only [field] = 'code' joined "
                                "by 'and', codes being whole numbers)", line, name, text.strip())
        conditions.append((found.group(1), int(found.group(2))))
    return tuple(conditions)


def parse_field(row: dict[str, str], line: int, source: Path) -> Field:
    """Build one Field from a dictionary row."""
    name = row["Variable / Field Name"].strip()
    ftype = row["Field Type"].strip()
    if ftype not in FIELD_TYPES:
        raise problem(source, f"field type is not one of {', '.join(sorted(FIELD_TYPES))}",
                      line, name, ftype)
    raw_choices = row["Choices, Calculations, OR Slider Labels"].strip()
    choices = YESNO_CHOICES if ftype == "yesno" else {}
    if ftype in {"radio", "dropdown", "checkbox"}:
        if not raw_choices:
            raise problem(source, f"a {ftype} field needs choices", line, name)
        choices = parse_choices(raw_choices, source, line, name)
    return Field(
        name=name,
        form=row["Form Name"].strip(),
        type=ftype,
        label=row["Field Label"].strip(),
        choices=dict(choices),
        show_when=parse_branching(row["Branching Logic (Show field only if...)"], source, line,
                                  name),
        identifier=row["Identifier?"].strip().lower() == "y",
        required=row["Required Field?"].strip().lower() == "y",
        annotation=row["Field Annotation"].strip(),
    )


def read_dictionary_text(path: Path) -> str:
    """The dictionary file as text, refusing empty, binary and non-UTF-8 files."""
    try:
        return read_utf8(path, "download the data dictionary from REDCap again, as CSV")
    except NotText as error:
        raise problem(path, error.rule, error.line) from None


def dictionary_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(file row, cells by column) for each dictionary row, checking the REDCap columns."""
    text = read_dictionary_text(path)
    allow_long_cells()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, start = [], 2
    try:
        header = reader.fieldnames or []
        for row in reader:
            if None in row or None in row.values():
                raise problem(path, f"{n_cells(row)} cells where the header has {len(header)}: "
                                    "the file looks truncated or hand-edited", start)
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise problem(path, f"cannot be read as CSV ({error}): the file looks truncated or "
                            "hand-edited", start) from None
    missing = [h for h in REDCAP_HEADERS if h not in header]
    if missing:
        raise problem(path, "not a REDCap data dictionary: column(s) " + ", ".join(
            f"'{m}'" for m in missing) + " missing from the header; download the data "
            "dictionary from REDCap again", 1)
    return rows


class Codebook:
    """The instrument: fields in order, their codes and labels, and derived structure."""

    def __init__(self, fields: list[Field], source: Path | None = None,
                 lines: dict[str, int] | None = None) -> None:
        self.fields = {f.name: f for f in fields}
        self.source = source
        self.lines = lines or {}   # field name -> row of the dictionary file (header = 1)
        self.form = fields[0].form
        self.record_id = fields[0].name

    @classmethod
    def from_csv(cls, path: Path) -> "Codebook":
        """Read a REDCap data dictionary CSV."""
        path = Path(path)
        rows = dictionary_rows(path)
        if not rows:
            raise problem(path, "the data dictionary has no fields")
        fields = [parse_field(row, line, path) for line, row in rows]
        seen: set[str] = set()
        for (line, _), field in zip(rows, fields):
            if field.name in seen:
                raise problem(path, "field is defined twice", line, field.name)
            seen.add(field.name)
        book = cls(fields, path, {field.name: line for (line, _), field in zip(rows, fields)})
        book.check()
        return book

    def check(self) -> None:
        """Check branching, and that the fields the analysis uses are defined and usable."""
        self.check_branching()
        self.check_rankings()
        for name, types in ANALYSED_FIELDS.items():
            found = self.fields.get(name)
            if found is None or found.type not in types:
                given = f"it has type '{found.type}'" if found else "the dictionary lacks it"
                raise problem(self.source, f"the analysis needs this field, of type "
                                           f"{' or '.join(sorted(types))}; {given}", None, name)
        for name in ANALYSED_RANKINGS:
            if name not in self.rankings:
                raise problem(self.source, f"the analysis needs the ranking '{name}': dropdown "
                                           f"fields annotated @RANKING={name},1, {name},2 ...")
        self.check_bands(d.PATIENT_BANDS)

    def check_bands(self, name: str) -> None:
        """A banded count needs one @BAND-LOWER and one @BAND-UPPER value per choice."""
        tags = dict(BAND_TAG.findall(self.fields[name].annotation))
        n = len(self.fields[name].choices)
        lower, upper = (tags.get(end, "").split(",") for end in ("LOWER", "UPPER"))
        if len(lower) != n or len(upper) != n or not all(lower):
            raise problem(self.source, f"the annotation needs @BAND-LOWER= and @BAND-UPPER= with "
                                       f"{n} comma-separated band ends (empty upper end = open)",
                          None, name, self.fields[name].annotation)

    def check_branching(self) -> None:
        """Check that branching refers to earlier coded fields."""
        seen: set[str] = set()
        for field in self.fields.values():
            for other, code in field.show_when:
                if other not in seen or code not in self.fields[other].choices:
                    raise problem(self.source, f"branching refers to '{other}' = {code}, not a "
                                               "choice of an earlier field", None, field.name)
            seen.add(field.name)

    def ranking_positions(self) -> dict[str, dict[int, list[Field]]]:
        """The fields of each @RANKING=name,position annotation, by ranking and position."""
        positions: dict[str, dict[int, list[Field]]] = {}
        for field in self.fields.values():
            tag = RANKING_TAG.search(field.annotation)
            if tag:
                by_position = positions.setdefault(tag.group(1), {})
                by_position.setdefault(int(tag.group(2)), []).append(field)
        return positions

    def check_rankings(self) -> None:
        """Each ranking: one dropdown/radio field per position 1..K, all with the same choices."""
        for name, by_position in self.ranking_positions().items():
            for position, fields in sorted(by_position.items()):
                if len(fields) > 1:
                    first, other = fields[0], fields[1]
                    raise self.ranking_problem(
                        other, f"ranking '{name}' position {position} is also claimed by field "
                               f"'{first.name}'{self.row_of(first)}; each position needs exactly "
                               "one field")
            expected = list(range(1, len(by_position) + 1))
            if sorted(by_position) != expected:
                wrong = next(p for p in sorted(by_position) if p not in expected)
                raise self.ranking_problem(
                    by_position[wrong][0], f"ranking '{name}' has positions "
                    f"{', '.join(map(str, sorted(by_position)))}; its {len(by_position)} fields "
                    f"must be positions 1 to {len(by_position)}, without gaps")
            fields = [by_position[p][0] for p in expected]
            for field in fields:
                if field.type not in RANKING_TYPES:
                    raise self.ranking_problem(field, f"a ranking field must be of type dropdown "
                                                      f"or radio, not '{field.type}'")
                if field.choices != fields[0].choices:
                    raise self.ranking_problem(
                        field, f"the choices differ from those of '{fields[0].name}' (position 1) "
                               f"of ranking '{name}'; every position of a ranking needs the same "
                               "codes and labels")

    def row_of(self, field: Field) -> str:
        """' (row N)' for a field read from a file, else ''."""
        return f" (row {self.lines[field.name]})" if field.name in self.lines else ""

    def ranking_problem(self, field: Field, rule: str) -> DictionaryError:
        """A dictionary error about a ranking field, naming its row, name and annotation."""
        return problem(self.source, rule, self.lines.get(field.name), field.name,
                       RANKING_TAG.search(field.annotation).group(0))

    @property
    def system_columns(self) -> list[str]:
        """REDCap system columns a raw export may carry."""
        return ["redcap_survey_identifier", f"{self.form}_timestamp", f"{self.form}_complete"]

    @property
    def columns(self) -> list[str]:
        """All export columns the dictionary defines, in order."""
        return [column for field in self.fields.values() for column in field.columns]

    @property
    def question_fields(self) -> list[Field]:
        """Fields that count as answered questions (all but record id and country)."""
        return [f for f in self.fields.values() if f.name not in {self.record_id, "country"}]

    @property
    def rankings(self) -> dict[str, Ranking]:
        """Ranking questions from @RANKING=name,position annotations (checked when read)."""
        return {name: Ranking(name, tuple(by_pos[p][0].name for p in sorted(by_pos)),
                              by_pos[min(by_pos)][0].choices)
                for name, by_pos in self.ranking_positions().items()}

    def band_bounds(self, field: str) -> tuple[dict[int, int], dict[int, int | None]]:
        """Lower and upper ends of a banded count (@BAND-LOWER/@BAND-UPPER; empty = open)."""
        tags = dict(BAND_TAG.findall(self.fields[field].annotation))
        codes = list(self.fields[field].choices)
        lower = [int(v) for v in tags["LOWER"].split(",")]
        upper = [int(v) if v else None for v in tags["UPPER"].split(",")]
        return dict(zip(codes, lower)), dict(zip(codes, upper))

    def labels(self, field: str) -> dict[int, str]:
        """The code -> label map of a coded or checkbox field."""
        return self.fields[field].choices

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]
