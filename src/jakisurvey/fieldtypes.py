"""What a REDCap raw export may hold in a field of each type, and how each value is read.

Raw exports write codes, not labels: a radio, dropdown, yesno or truefalse cell holds one of
the field's codes; a checkbox column 0 or 1; a calc a number; a slider a number in its range
(0 to 100 unless the dictionary sets Text Validation Min/Max); a file field '[document]' when a
file was uploaded; dates and times in the raw export's Y-M-D form. A text field is checked by
its validation type as far as REDCap defines it; notes, sql and unvalidated text hold any text.
A missing-data code (study.yml `missing_codes`) may stand in any field: it is read as not
answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .codebook import CODED_TYPES, Field

NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)"
COMMA_NUMBER = r"[-+]?(\d+([.,]\d*)?|[.,]\d+)"
DATE = r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{4}"
# REDCap's validation types (Online Designer, 'Validation?'), by name or name pattern: the
# form of a value, the kind of its Min/Max, and what the rule says.
VALIDATIONS = (
    (r"integer", r"[-+]?\d+", "number", "a whole number"),
    (r"number(_\d+dp)?", NUMBER, "number", "a number"),
    (r"number(_\d+dp)?_comma_decimal", COMMA_NUMBER, "comma", "a number"),
    (r"date_(ymd|mdy|dmy)", DATE, "date", "a date"),
    (r"datetime_(ymd|mdy|dmy)", rf"({DATE}) \d{{1,2}}:\d{{2}}", "date", "a date and time"),
    (r"datetime_seconds_(ymd|mdy|dmy)", rf"({DATE}) \d{{1,2}}:\d{{2}}:\d{{2}}", "date",
     "a date and time with seconds"),
    (r"time", r"\d{1,2}:\d{2}", "date", "a time (HH:MM)"),
    (r"time_hh_mm_ss", r"\d{1,2}:\d{2}:\d{2}", "date", "a time (HH:MM:SS)"),
    (r"time_mm_ss", r"\d{1,2}:\d{2}", "date", "a time (MM:SS)"),
    (r"email", r"[^@\s]+@[^@\s]+\.[^@\s]+", "text", "an e-mail address"),
    (r"alpha_only", r"[^\W\d_]+", "text", "letters only"),
    (r"zipcode", r"\d{5}(-\d{4})?", "text", "a US ZIP code"),
    (r"phone", r"\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}", "text", "a phone number"),
)
IGNORED = "ignored (read as not answered)"
KEPT = "kept as given"
FILE_UPLOADED = "[document]"   # a raw export's value of a file field holding a file


@dataclass(frozen=True)
class Check:
    """What one export column of a field may hold: the mask of acceptable non-empty values, the
    rule a wrong value breaks, and whether a wrong value is then ignored or kept."""

    column: str
    codes: tuple[str, ...]     # for coded and checkbox columns: the codes (labels are spotted)
    labels: frozenset[str]
    rule: str
    ignored: bool

    def allowed(self, values: pd.Series, field: Field) -> pd.Series:
        """Which values this column accepts (empty cells are not judged here)."""
        if self.codes:
            return values.isin(self.codes)
        if field.type == "calc":
            return numbers(values).notna()
        if field.type == "slider":
            low, high = slider_range(field)
            found = numbers(values)
            return found.between(low, high)
        if field.type == "text" and validation(field):
            return text_allowed(values, field)
        return pd.Series(True, index=values.index)


def validation(field: Field) -> tuple[str, str, str] | None:
    """(pattern, kind, what) of a text field's validation type, if REDCap defines its form."""
    for name, pattern, kind, what in VALIDATIONS:
        if re.fullmatch(name, field.validation):
            return pattern, kind, what
    return None


def numbers(values: pd.Series, comma: bool = False) -> pd.Series:
    """Each value as a number (NaN when it is none)."""
    if comma:
        values = values.str.replace(",", ".", regex=False)
    return pd.to_numeric(values, errors="coerce")


def bound(text: str, kind: str) -> float | str | None:
    """A Text Validation Min/Max as a comparable value (None when absent or not fixed, such as
    'today' or a piped [field])."""
    text = text.strip()
    if not text:
        return None
    if kind in ("number", "comma"):
        try:
            return float(text.replace(",", ".") if kind == "comma" else text)
        except ValueError:
            return None
    return text if kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}( .*)?", text) else None


def text_allowed(values: pd.Series, field: Field) -> pd.Series:
    """Values of the form the text field's validation type sets, within its Min and Max."""
    pattern, kind, _ = validation(field)
    ok = values.str.fullmatch(pattern).fillna(False).astype(bool)
    low, high = bound(field.minimum, kind), bound(field.maximum, kind)
    if low is None and high is None:
        return ok
    if kind in ("number", "comma"):
        found = numbers(values, comma=kind == "comma")
        ok &= ~(found < low).fillna(False) if low is not None else True
        ok &= ~(found > high).fillna(False) if high is not None else True
    elif kind == "date":   # Y-M-D values compare as text
        ymd = values.str.match(r"\d{4}-").fillna(False).astype(bool)
        ok &= ~(ymd & (values < low)) if low is not None else True
        ok &= ~(ymd & (values > high)) if high is not None else True
    return ok


def slider_range(field: Field) -> tuple[float, float]:
    """A slider's range: Text Validation Min/Max, else REDCap's 0 to 100."""
    low, high = bound(field.minimum, "number"), bound(field.maximum, "number")
    return (0.0 if low is None else low), (100.0 if high is None else high)


def checks(field: Field) -> list[Check]:
    """The checks of a field's export columns."""
    if field.type in CODED_TYPES:
        codes = tuple(str(code) for code in field.choices)
        return [Check(field.name, codes, frozenset(v.casefold() for v in field.choices.values()),
                      f"code not defined in the data dictionary (defined: {', '.join(codes)})",
                      True)]
    if field.type == "checkbox":
        return [Check(column, ("0", "1"), frozenset({"checked", "unchecked", label.casefold()}),
                      "a checkbox column holds 0 (not ticked) or 1 (ticked) or nothing", True)
                for column, label in zip(field.columns, field.choices.values())]
    if field.type == "calc":
        return [Check(field.name, (), frozenset(), "a calculated field holds a number or nothing",
                      True)]
    if field.type == "slider":
        low, high = slider_range(field)
        return [Check(field.name, (), frozenset(), f"a slider holds a number from {low:g} to "
                      f"{high:g} or nothing", True)]
    found = validation(field) if field.type == "text" else None
    if found:
        limits = [f"at least {field.minimum}" if field.minimum else "",
                  f"at most {field.maximum}" if field.maximum else ""]
        within = " and ".join(filter(None, limits))
        return [Check(field.name, (), frozenset(), f"the field's validation "
                      f"'{field.validation}' needs {found[2]}{', ' + within if within else ''}",
                      False)]
    return []


def status_check(column: str) -> Check:
    """REDCap's form status column: 0 incomplete, 1 unverified, 2 complete."""
    return Check(column, ("0", "1", "2"), frozenset({"incomplete", "unverified", "complete"}),
                 "survey status must be 0, 1 or 2", True)


def typed_values(cells: pd.Series, field: Field) -> pd.Series:
    """A field's export column read: codes (whole-number codes as Int64), numbers for calc and
    slider, text otherwise; empty, missing-data codes and wrong values as missing."""
    if field.type in CODED_TYPES:
        codes = {str(code): code for code in field.choices}
        mapped = cells.map(codes)
        if all(isinstance(code, int) for code in field.choices):
            return mapped.astype("Int64")
        return mapped.astype(object).where(mapped.notna(), pd.NA)
    if field.type == "calc" or field.type == "slider":
        found = numbers(cells)
        if field.type == "slider":
            low, high = slider_range(field)
            found = found.where(found.between(low, high))
        return found.astype("Float64")
    return cells.mask(cells.eq("")).astype("string")
