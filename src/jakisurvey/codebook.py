"""The survey instrument, read once from a REDCap data dictionary.

Every field type REDCap writes is read (text with its validation, notes, radio, dropdown,
checkbox, yesno, truefalse, calc, slider, file, descriptive, sql), with Section Header, Question
Number, Matrix Group Name, Matrix Ranking? and Field Annotation as REDCap writes them. Choice
codes may be whole numbers, negative numbers or letters. Branching logic is parsed with a
grammar (jakisurvey.branching); logic one survey export cannot answer is a warning and the field
is then always shown. Only the absence, or a type the analysis cannot read, of a field the
analysis needs refuses a dictionary.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import definitions as d
from . import measures
from .errors import DictionaryError
from .textfile import NotText, allow_long_cells, read_utf8

# REDCap's data-dictionary headers (the CSV download), in order.
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
# The same columns as REDCap's API writes the metadata (Export Metadata, CSV).
API_HEADERS = dict(zip((
    "field_name", "form_name", "section_header", "field_type", "field_label",
    "select_choices_or_calculations", "field_note", "text_validation_type_or_show_slider_number",
    "text_validation_min", "text_validation_max", "identifier", "branching_logic",
    "required_field", "custom_alignment", "question_number", "matrix_group_name",
    "matrix_ranking", "field_annotation"), REDCAP_HEADERS))
# Columns REDCap added in later versions: a dictionary from an older REDCap lacks them.
LATER_HEADERS = {"Matrix Ranking?", "Field Annotation"}
FIELD_TYPES = {"text", "notes", "radio", "dropdown", "checkbox", "yesno", "truefalse", "calc",
               "slider", "file", "descriptive", "sql"}
CHOICE_TYPES = {"radio", "dropdown", "checkbox"}        # choices written in the dictionary
CODED_TYPES = {"radio", "dropdown", "yesno", "truefalse"}  # one code per record
FIXED_CHOICES = {"yesno": {1: "Yes", 0: "No"}, "truefalse": {1: "True", 0: "False"}}
YESNO_CHOICES = FIXED_CHOICES["yesno"]
NO_COLUMN = {"descriptive"}                              # shown on the form, never exported
# A choice code as REDCap allows it: letters, digits, '_', '.', '-' (no spaces or commas).
CODE = re.compile(r"[A-Za-z0-9_.\-]+")
WHOLE = re.compile(r"-?\d+")
RANKING_TAG = re.compile(r"@RANKING=(\w+)(?:,(\d+))?")
RANKING_TYPES = {"radio", "dropdown"}
NONE_TAG = re.compile(r"@NONEOFTHEABOVE\s*=\s*(['\"]?)([^'\"\s]+)\1")
BAND_TAG = re.compile(r"@BAND-(LOWER|UPPER)=([\d,]*)")
HTML_TAG = re.compile(r"<[^>]*>")
# What the analysis refers to by name, with usable types: every field a declared measure reads
# (measures.py), by the kind of field it must be.
FIELD_KINDS = {measures.CODED: CODED_TYPES, measures.CHECKBOX: {"checkbox"},
               measures.TEXT: {"text"}}
ANALYSED_FIELDS = {name: FIELD_KINDS[kind] for name, kind in measures.fields_needed().items()
                   if kind in FIELD_KINDS}
ANALYSED_RANKINGS = [name for name, kind in measures.fields_needed().items()
                     if kind == measures.RANKED]
# The answer codes the study's definitions count, by field (a dictionary must define them).
COUNTED_CODES = {**{rule.field: set(rule.codes) for rule in
                    (d.JAKI_USER, d.IMPROVED_MOST_OR_ALL, d.SIDE_EFFECTS)},
                 d.SOCIETY: {d.CARRA, d.PRES}}
Code = int | str


@dataclass(frozen=True)
class Field:
    """One field of the instrument, as its dictionary row describes it."""

    name: str
    form: str
    type: str
    label: str
    choices: dict[Code, str]
    show_when: Any        # branching.Logic, or None: always shown
    identifier: bool
    required: bool
    annotation: str
    branching: str = ""   # the branching logic as written
    section: str = ""     # Section Header (a matrix's header: its question)
    validation: str = ""  # Text Validation Type OR Show Slider Number
    minimum: str = ""
    maximum: str = ""
    number: str = ""      # Question Number (surveys only)
    matrix: str = ""      # Matrix Group Name
    ranked_matrix: bool = False  # Matrix Ranking? = y

    @property
    def columns(self) -> list[str]:
        """The export columns of this field (one per choice for checkboxes; none for a
        descriptive field)."""
        if self.type in NO_COLUMN:
            return []
        if self.type == "checkbox":
            return list(dict.fromkeys(checkbox_column(self.name, code) for code in self.choices))
        return [self.name]

    @property
    def none_codes(self) -> tuple[Code, ...]:
        """The codes of exclusive choices (REDCap's @NONEOFTHEABOVE='code[,code]')."""
        found = NONE_TAG.search(self.annotation)
        if not found:
            return ()
        written = [part.strip() for part in found.group(2).split(",")]
        return tuple(code for code in self.choices if str(code) in written)

    @property
    def none_code(self) -> Code | None:
        """The code of the exclusive 'None' choice, if any."""
        return self.none_codes[0] if self.none_codes else None


@dataclass(frozen=True)
class Ranking:
    """A ranking question. `fields`: the data columns holding the item at each position, best
    first (the position fields themselves, or columns derived from a ranking matrix);
    `members`: the dictionary fields the question is made of; `ranks`: for a ranking matrix,
    the code of each position among the matrix's choices (empty for one field per position)."""

    name: str
    fields: tuple[str, ...]
    choices: dict[Code, str]
    members: tuple[str, ...] = ()
    label: str = ""
    ranks: tuple[Code, ...] = ()

    @property
    def k(self) -> int:
        """Number of positions."""
        return len(self.fields)

    @property
    def matrix(self) -> bool:
        """Whether the ranking is a REDCap ranking matrix (one radio per item holding its rank)."""
        return bool(self.ranks)


def checkbox_column(field: str, code: Code) -> str:
    """REDCap's export column for one checkbox choice: field___code, the code lower-cased, '-'
    and '.' turned into '_' and any other character outside a-z, 0-9 and '_' dropped, as REDCap
    names it (Project::getExtendedCheckboxCodeFormatted): -99 gives field____99, A field___a."""
    text = str(code).replace("-", "_").replace(".", "_").lower()
    return f"{field}___{re.sub(r'[^a-z0-9_]', '', text)}"


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


def parse_code(text: str) -> Code:
    """A choice code as written: a whole number (as REDCap writes it, e.g. -99) or a text."""
    return int(text) if WHOLE.fullmatch(text) and str(int(text)) == text else text


def parse_choices(text: str, path: Path, line: int, name: str) -> dict[Code, str]:
    """Parse REDCap choices '1, Label | a, Label | -99, Label' into {code: label}."""
    choices: dict[Code, str] = {}
    for part in re.split(r"\||\\n|\n", text):
        if not part.strip():
            continue
        written, sep, label = part.partition(",")
        written, label = written.strip(), label.strip() if sep else written.strip()
        if not CODE.fullmatch(written) or not label:
            raise problem(path, "a choice must be written 'code, label' (e.g. '1, Yes'; a code "
                                "is letters, digits, '_', '.' or '-'), choices separated by '|'",
                          line, name, part.strip())
        code = parse_code(written)
        if code in choices or str(code) in map(str, choices):
            raise problem(path, f"code {code} is defined twice in the choices", line, name,
                          part.strip())
        choices[code] = label
    return choices


def field_choices(row: dict[str, str], ftype: str, path: Path, line: int,
                  name: str) -> dict[Code, str]:
    """The codes and labels of a field (none for types without choices)."""
    if ftype in FIXED_CHOICES:
        return dict(FIXED_CHOICES[ftype])
    if ftype not in CHOICE_TYPES:   # calc equations, slider labels, SQL queries: not choices
        return {}
    raw = row["Choices, Calculations, OR Slider Labels"].strip()
    if not raw:
        raise problem(path, f"a {ftype} field needs choices", line, name)
    return parse_choices(raw, path, line, name)


def parse_field(row: dict[str, str], line: int, source: Path) -> Field:
    """Build one Field from a dictionary row (its branching logic is compiled later, against
    every field of the dictionary)."""
    name = row["Variable / Field Name"].strip()
    ftype = row["Field Type"].strip().lower()
    if ftype not in FIELD_TYPES:
        raise problem(source, f"field type is not one of {', '.join(sorted(FIELD_TYPES))}",
                      line, name, row["Field Type"].strip())
    cell = lambda header: (row.get(header) or "").strip()   # noqa: E731
    return Field(
        name=name,
        form=cell("Form Name"),
        type=ftype,
        label=cell("Field Label"),
        choices=field_choices(row, ftype, source, line, name),
        show_when=None,
        identifier=cell("Identifier?").lower() == "y",
        required=cell("Required Field?").lower() == "y",
        annotation=cell("Field Annotation"),
        branching=cell("Branching Logic (Show field only if...)"),
        section=cell("Section Header"),
        validation=cell("Text Validation Type OR Show Slider Number").lower(),
        minimum=cell("Text Validation Min"),
        maximum=cell("Text Validation Max"),
        number=cell("Question Number (surveys only)"),
        matrix=cell("Matrix Group Name"),
        ranked_matrix=cell("Matrix Ranking?").lower() == "y",
    )


def read_dictionary_text(path: Path) -> str:
    """The dictionary file as text, refusing empty, binary and non-UTF-8 files."""
    try:
        return read_utf8(path, "download the data dictionary from REDCap again, as CSV")
    except NotText as error:
        raise problem(path, error.rule, error.line) from None


def dictionary_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(file row, cells by column) for each dictionary row, checking the REDCap columns (the
    download's headers, or the API's names for them)."""
    text = read_dictionary_text(path)
    allow_long_cells()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, start = [], 2
    try:
        header = [h.strip() if h else h for h in reader.fieldnames or []]
        reader.fieldnames = [API_HEADERS.get(h, h) for h in header]
        header = reader.fieldnames
        for row in reader:
            if None in row or None in row.values():
                raise problem(path, f"{n_cells(row)} cells where the header has {len(header)}: "
                                    "the file looks truncated or hand-edited", start)
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise problem(path, f"cannot be read as CSV ({error}): the file looks truncated or "
                            "hand-edited", start) from None
    missing = [h for h in REDCAP_HEADERS if h not in header and h not in LATER_HEADERS]
    if missing:
        raise problem(path, "not a REDCap data dictionary: column(s) " + ", ".join(
            f"'{m}'" for m in missing) + " missing from the header; download the data "
            "dictionary from REDCap again", 1)
    return rows


class Codebook:
    """The instrument: fields in order, their codes and labels, and derived structure."""

    def __init__(self, fields: list[Field], source: Path | None = None,
                 lines: dict[str, int] | None = None,
                 warnings: list[tuple[int | None, str, str, str]] | None = None) -> None:
        self.fields = {f.name: f for f in fields}
        self.source = source
        self.lines = lines or {}   # field name -> row of the dictionary file (header = 1)
        self.record_id = fields[0].name
        # (row, field, value, rule) of what the dictionary holds that the analysis sets aside
        self.warnings = list(warnings or [])
        self.rankings = self.find_rankings()
        questions = self.instrument_fields()
        self.form = questions[0].form if questions else fields[0].form

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
            if not field.name:
                raise problem(path, "the field has no name ('Variable / Field Name' is empty)",
                              line)
            if field.name in seen:
                raise problem(path, "field is defined twice", line, field.name)
            seen.add(field.name)
        lines = {field.name: line for (line, _), field in zip(rows, fields)}
        fields, warnings = compile_branching(fields, lines)
        book = cls(fields, path, lines, warnings)
        book.check()
        return book

    def check(self) -> None:
        """Check that the fields the analysis uses are defined, usable and hold the codes the
        study's definitions count."""
        missing = [f"{name} ({either(types)})" for name, types in ANALYSED_FIELDS.items()
                   if name not in self.fields]
        missing += [f"ranking {name} (dropdown or radio fields annotated @RANKING={name},1, "
                    f"{name},2 ..., or a ranking matrix named {name})"
                    for name in ANALYSED_RANKINGS if name not in self.rankings]
        if missing:
            raise problem(self.source, "the analysis needs these fields, which the data "
                                       "dictionary lacks: " + "; ".join(missing))
        wrong = []
        for name, types in ANALYSED_FIELDS.items():
            found = self.fields[name]
            if found.type not in types:
                wrong.append(problem(self.source, f"the analysis needs this field, of type "
                                                  f"{either(types)}; it has type '{found.type}'",
                                     self.lines.get(name), name))
            elif name in COUNTED_CODES and not COUNTED_CODES[name] <= set(found.choices):
                lacking = sorted(COUNTED_CODES[name] - set(found.choices))
                wrong.append(problem(self.source, f"the study's definitions count code(s) "
                                                  f"{', '.join(map(str, lacking))} of this field, "
                                                  "which its choices do not define",
                                     self.lines.get(name), name))
        if wrong:
            raise DictionaryError("\n".join(str(error) for error in wrong))
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

    def ranking_positions(self) -> dict[str, dict[int, list[Field]]]:
        """The fields of each @RANKING=name,position annotation, by ranking and position."""
        positions: dict[str, dict[int, list[Field]]] = {}
        for field in self.fields.values():
            tag = RANKING_TAG.search(field.annotation)
            if tag and not field.ranked_matrix:
                if tag.group(2) is None:
                    raise self.ranking_problem(field, f"a ranking field needs its position: "
                                                      f"@RANKING={tag.group(1)},1 for the first")
                by_position = positions.setdefault(tag.group(1), {})
                by_position.setdefault(int(tag.group(2)), []).append(field)
        return positions

    def find_rankings(self) -> dict[str, Ranking]:
        """Ranking questions: one dropdown or radio per position (@RANKING=name,position), or a
        REDCap ranking matrix (Matrix Ranking? = y: one radio per item holding its rank)."""
        rankings = {name: self.position_ranking(name, by_position)
                    for name, by_position in self.ranking_positions().items()}
        for name, items in self.ranking_matrices().items():
            if name in rankings:
                raise self.ranking_problem(items[0], f"ranking '{name}' is defined twice: by "
                                                     "@RANKING annotations and as a ranking matrix")
            rankings[name] = self.matrix_ranking(name, items)
        return rankings

    def position_ranking(self, name: str, by_position: dict[int, list[Field]]) -> Ranking:
        """A ranking of one dropdown or radio field per position 1..K, all with the same choices."""
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
        names = tuple(f.name for f in fields)
        return Ranking(name, names, fields[0].choices, names, fields[0].label.rsplit(":", 1)[0])

    def ranking_matrices(self) -> dict[str, list[Field]]:
        """The item fields of each ranking matrix, by ranking name (the matrix's group name, or
        an @RANKING=name annotation on its fields)."""
        groups: dict[str, list[Field]] = {}
        for field in self.fields.values():
            if field.ranked_matrix and field.matrix:
                groups.setdefault(field.matrix, []).append(field)
        named = {}
        for group, items in groups.items():
            tag = next((RANKING_TAG.search(f.annotation) for f in items
                        if RANKING_TAG.search(f.annotation)), None)
            named[tag.group(1) if tag else group] = items
        return named

    def matrix_ranking(self, name: str, items: list[Field]) -> Ranking:
        """A REDCap ranking matrix: item i is its i-th row (a radio field), the positions are
        the matrix's choices in order (REDCap lets each be chosen for one item only)."""
        for field in items:
            if field.type != "radio":
                raise self.ranking_problem(field, f"a ranking matrix's fields must be of type "
                                                  f"radio, not '{field.type}'")
            if field.choices != items[0].choices:
                raise self.ranking_problem(
                    field, f"the choices differ from those of '{items[0].name}' in ranking "
                           f"matrix '{name}'; a matrix's fields share their choices")
        ranks = tuple(items[0].choices)
        label = " ".join(HTML_TAG.sub(" ", items[0].section).split()) or name
        return Ranking(name, tuple(f"{name}:position_{p}" for p in range(1, len(ranks) + 1)),
                       {i: f.label for i, f in enumerate(items, 1)},
                       tuple(f.name for f in items), label, ranks)

    def row_of(self, field: Field) -> str:
        """' (row N)' for a field read from a file, else ''."""
        return f" (row {self.lines[field.name]})" if field.name in self.lines else ""

    def ranking_problem(self, field: Field, rule: str) -> DictionaryError:
        """A dictionary error about a ranking field, naming its row, name and annotation (or its
        matrix group)."""
        tag = RANKING_TAG.search(field.annotation)
        return problem(self.source, rule, self.lines.get(field.name), field.name,
                       tag.group(0) if tag else field.matrix)

    def instrument_fields(self) -> list[Field]:
        """The instrument's questions, in dictionary order: the fields the analysis reads, the
        ranking questions' fields and the questions it describes (definitions.DESCRIBED). Other
        fields a project holds (consent, calculations, uploads ...) are read and checked but are
        not questions of this survey."""
        names = set(ANALYSED_FIELDS) | set(d.DESCRIBED)
        names |= {member for ranking in self.rankings.values() for member in ranking.members}
        return [f for f in self.fields.values() if f.name in names and f.columns]

    @property
    def analysed(self) -> set[str]:
        """Fields whose values the analysis reads: a wrong value in them stops it."""
        ranked = {member for ranking in self.rankings.values() for member in ranking.members}
        return (set(ANALYSED_FIELDS) | ranked | {self.record_id}) & set(self.fields)

    @property
    def forms(self) -> list[str]:
        """The instruments (forms) of the project, in dictionary order."""
        return list(dict.fromkeys(f.form for f in self.fields.values() if f.form))

    @property
    def survey_columns(self) -> tuple[str, str, str]:
        """REDCap's survey columns of the instrument's form: identifier, timestamp, status."""
        return "redcap_survey_identifier", f"{self.form}_timestamp", f"{self.form}_complete"

    @property
    def system_columns(self) -> list[str]:
        """REDCap system columns a raw export may carry (every form's timestamp and status)."""
        forms = [self.form, *(f for f in self.forms if f != self.form)]
        return ["redcap_survey_identifier", "redcap_data_access_group",
                *(f"{form}_timestamp" for form in forms), *(f"{form}_complete" for form in forms)]

    @property
    def columns(self) -> list[str]:
        """All export columns the dictionary defines, in order."""
        return [column for field in self.fields.values() for column in field.columns]

    @property
    def question_fields(self) -> list[Field]:
        """The instrument's questions that count as answered (all but record id and country)."""
        return [f for f in self.instrument_fields() if f.name not in {self.record_id, "country"}]

    def band_bounds(self, field: str) -> tuple[dict[Code, int], dict[Code, int | None]]:
        """Lower and upper ends of a banded count (@BAND-LOWER/@BAND-UPPER; empty = open)."""
        tags = dict(BAND_TAG.findall(self.fields[field].annotation))
        codes = list(self.fields[field].choices)
        lower = [int(v) for v in tags["LOWER"].split(",")]
        upper = [int(v) if v else None for v in tags["UPPER"].split(",")]
        return dict(zip(codes, lower)), dict(zip(codes, upper))

    def never_true(self, missing: frozenset[str] = frozenset()
                   ) -> list[tuple[int | None, str, str, str]]:
        """(row, field, value, rule) for each comparison in branching logic of a coded field with
        a value that is none of its codes nor a missing-data code (valid REDCap, but never
        true: most likely a typo in the logic)."""
        found = []
        for field in self.fields.values():
            for column, value in field.show_when.compares() if field.show_when else ():
                other = self.fields.get(column)
                if other is None or other.type not in CODED_TYPES or value in missing | {""}:
                    continue
                if not any(str(code) == value or _same_number(code, value)
                           for code in other.choices):
                    codes = ", ".join(map(str, other.choices))
                    found.append((self.lines.get(field.name), field.name, value,
                                  f"the branching logic compares [{column}] with '{value}', "
                                  f"which is not one of its codes ({codes}): that comparison "
                                  "never holds"))
        return found

    def labels(self, field: str) -> dict[Code, str]:
        """The code -> label map of a coded or checkbox field."""
        return self.fields[field].choices

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]


def either(types: set[str]) -> str:
    """Field types as a sentence lists them: 'dropdown, radio or yesno'."""
    names = sorted(types)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def compile_branching(fields: list[Field], lines: dict[str, int]
                      ) -> tuple[list[Field], list[tuple[int | None, str, str, str]]]:
    """Each field with its branching logic parsed against the whole dictionary; a logic that
    cannot be read, or that one survey export cannot answer, is a warning (the field is then
    always shown), and so is a comparison with a value that is not one of a field's codes."""
    by_name = {f.name: f for f in fields}
    compiled, warnings = [], []
    if any(f.branching for f in fields):
        from . import branching

    for field in fields:
        if not field.branching:
            compiled.append(field)
            continue
        try:
            logic = branching.compile_logic(field.branching, by_name, checkbox_column)
        except (branching.Unreadable, branching.Unsupported) as error:
            logic = None
            warnings.append((lines.get(field.name), field.name, "",
                             f"branching logic {field.branching!r} is set aside: "
                             f"{branching.described(error)}; the field is treated as always "
                             "shown"))
        compiled.append(replace(field, show_when=logic))
    return compiled, warnings


def _same_number(code: Code, value: str) -> bool:
    """Whether a code and a written value are the same number ('1' and '1.0')."""
    try:
        return float(str(code)) == float(value)
    except ValueError:
        return False
