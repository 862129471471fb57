"""The survey instrument, read once from a REDCap data dictionary."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DictionaryError

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
CONDITION = re.compile(r"^\[(\w+)\]\s*=\s*'([^']*)'$")
RANKING_TAG = re.compile(r"@RANKING=(\w+),(\d+)")
NONE_TAG = re.compile(r"@NONEOFTHEABOVE='?(\d+)'?")
BAND_TAG = re.compile(r"@BAND-(LOWER|UPPER)=([\d,]*)")


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


def parse_choices(text: str, where: str) -> dict[int, str]:
    """Parse REDCap choices '1, Label | 2, Label' into {code: label}."""
    choices: dict[int, str] = {}
    for part in text.split("|"):
        code, sep, label = part.partition(",")
        if not sep or not code.strip().lstrip("-").isdigit() or not label.strip():
            raise DictionaryError(f"{where}: choice '{part.strip()}' is not 'code, label'")
        choices[int(code)] = label.strip()
    return choices


def parse_branching(text: str, where: str) -> tuple[tuple[str, int], ...]:
    """Parse branching logic of the form [a] = '1' and [b] = '2'."""
    if not text.strip():
        return ()
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = CONDITION.match(part.strip())
        if not found:
            raise DictionaryError(f"{where}: branching logic '{text}' is not supported "
                                  "(only [field] = 'code' joined by 'and')")
        conditions.append((found.group(1), int(found.group(2))))
    return tuple(conditions)


def parse_field(row: dict[str, str], line: int, source: Path) -> Field:
    """Build one Field from a dictionary row."""
    name = row["Variable / Field Name"].strip()
    where = f"{source}: row {line}, field '{name}'"
    ftype = row["Field Type"].strip()
    if ftype not in FIELD_TYPES:
        raise DictionaryError(f"{where}: field type '{ftype}' is not one of {sorted(FIELD_TYPES)}")
    raw_choices = row["Choices, Calculations, OR Slider Labels"].strip()
    choices = YESNO_CHOICES if ftype == "yesno" else {}
    if ftype in {"radio", "dropdown", "checkbox"}:
        if not raw_choices:
            raise DictionaryError(f"{where}: a {ftype} field needs choices")
        choices = parse_choices(raw_choices, where)
    return Field(
        name=name,
        form=row["Form Name"].strip(),
        type=ftype,
        label=row["Field Label"].strip(),
        choices=dict(choices),
        show_when=parse_branching(row["Branching Logic (Show field only if...)"], where),
        identifier=row["Identifier?"].strip().lower() == "y",
        required=row["Required Field?"].strip().lower() == "y",
        annotation=row["Field Annotation"].strip(),
    )


class Codebook:
    """The instrument: fields in order, their codes and labels, and derived structure."""

    def __init__(self, fields: list[Field], source: Path | None = None) -> None:
        self.fields = {f.name: f for f in fields}
        self.source = source
        self.form = fields[0].form
        self.record_id = fields[0].name

    @classmethod
    def from_csv(cls, path: Path) -> "Codebook":
        """Read a REDCap data dictionary CSV."""
        path = Path(path)
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                header = reader.fieldnames or []
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise DictionaryError(f"{path}: cannot be read as a UTF-8 CSV data dictionary ({error})")
        missing = [h for h in REDCAP_HEADERS if h not in header]
        if missing:
            raise DictionaryError(f"{path}: not a REDCap data dictionary; missing column(s) "
                                  + ", ".join(f"'{m}'" for m in missing))
        if not rows:
            raise DictionaryError(f"{path}: the data dictionary has no fields")
        fields = [parse_field(row, line, path) for line, row in enumerate(rows, start=2)]
        names = [f.name for f in fields]
        for line, name in enumerate(names, start=2):
            if names.index(name) != line - 2:
                raise DictionaryError(f"{path}: row {line}: field '{name}' is defined twice")
        book = cls(fields, path)
        book.check()
        return book

    def check(self) -> None:
        """Check that branching refers to earlier coded fields."""
        seen: set[str] = set()
        for field in self.fields.values():
            for other, code in field.show_when:
                if other not in seen or code not in self.fields[other].choices:
                    raise DictionaryError(f"{self.source}: field '{field.name}': branching refers "
                                          f"to '{other}' = {code}, not an earlier coded field/choice")
            seen.add(field.name)

    @property
    def system_columns(self) -> list[str]:
        """REDCap system columns a raw export may carry."""
        return ["redcap_survey_identifier", f"{self.form}_timestamp", f"{self.form}_complete"]

    @property
    def columns(self) -> list[str]:
        """All export columns the dictionary defines, in order."""
        return [column for field in self.fields.values() for column in field.columns]

    @property
    def private_columns(self) -> list[str]:
        """Columns that must never reach a report: identifiers, free text, system columns."""
        flagged = [c for f in self.fields.values() if f.identifier or f.type == "notes"
                   for c in f.columns]
        return flagged + self.system_columns

    @property
    def question_fields(self) -> list[Field]:
        """Fields that count as answered questions (all but record id and country)."""
        return [f for f in self.fields.values() if f.name not in {self.record_id, "country"}]

    @property
    def rankings(self) -> dict[str, Ranking]:
        """Ranking questions from @RANKING=name,position annotations."""
        positions: dict[str, dict[int, Field]] = {}
        for field in self.fields.values():
            tag = RANKING_TAG.search(field.annotation)
            if tag:
                positions.setdefault(tag.group(1), {})[int(tag.group(2))] = field
        return {name: Ranking(name, tuple(by_pos[p].name for p in sorted(by_pos)),
                              by_pos[min(by_pos)].choices)
                for name, by_pos in positions.items()}

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
