"""REDCap branching logic: parsed with a grammar (branching.lark), evaluated over all records at once.

`compile_logic` reads one field's "Show the field only if..." text against the data dictionary:
it returns a `Logic` whose references are export columns, or raises `Unreadable` (not REDCap
logic) or `Unsupported` (REDCap logic that one survey export cannot answer: event references,
smart variables, action tags, functions of dates that are not in the export). `shown` evaluates a
Logic over every record in one pass of array operations, comparing as REDCap does: two numbers as
numbers, anything else as text; an empty value makes an ordering comparison false.

Lark is imported, and the grammar read, only when a dictionary's branching logic is parsed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRAMMAR = Path(__file__).with_name("branching.lark")
CHECKBOX = "checkbox"
# The functions evaluated here, with the fewest and most arguments each takes (None: any number).
ARITY = {
    **dict.fromkeys(("isblankormissingcode", "isblanknotmissingcode", "ismissingcode",
                     "hasmissingcode", "abs", "sqrt", "isnumber", "isinteger", "length", "lower",
                     "upper", "trim", "year", "month", "day"), (1, 1)),
    **dict.fromkeys(("contains", "not_contain", "starts_with", "ends_with", "mod"), (2, 2)),
    **dict.fromkeys(("sum", "min", "max", "mean", "median", "concat"), (1, None)),
    **dict.fromkeys(("round", "roundup", "rounddown"), (1, 2)),
    "if": (3, 3), "datediff": (2, 5)}
SUPPORTED = frozenset(ARITY)
NOT_IN_EXPORT = {"calctext": "@CALCTEXT, computed by REDCap when a form is shown",
                 "calcdate": "@CALCDATE, computed by REDCap when a form is shown"}
# datediff units (REDCap: y years of 365.2425 days, M months of 30.44 days, d, h, m minutes, s)
DATE_UNITS = {"y": 365.2425 * 86400, "M": 30.44 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
NOW_WORDS = {"today", "now"}
Tree = tuple


class Unreadable(ValueError):
    """The text is not REDCap branching logic (the reason names where reading stopped)."""


class Unsupported(ValueError):
    """REDCap logic that one survey export cannot answer: `part` is the piece, `why` the reason."""

    def __init__(self, part: str, why: str) -> None:
        super().__init__(f"{part}: {why}")
        self.part, self.why = part, why


@dataclass(frozen=True)
class Logic:
    """A field's branching logic, its references resolved to export columns."""

    text: str
    tree: Tree
    columns: tuple[str, ...]

    def compares(self) -> list[tuple[str, str]]:
        """(column, value) for each comparison of a column with a quoted or bare value."""
        found = []
        for node in walk(self.tree):
            if node[0] == "cmp":
                sides = node[2:]
                for one, other in (sides, sides[::-1]):
                    if one[0] == "col" and other[0] in ("str", "num"):
                        found.append((one[1], other[1]))
        return found


@functools.cache
def parser() -> Any:
    """The Lark parser of branching.lark (built once per process, when first needed)."""
    from lark import Lark

    return Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", maybe_placeholders=False)


@functools.cache
def builder() -> Any:
    """A Lark Transformer turning parse trees into nested tuples."""
    from lark import Transformer, v_args

    @v_args(inline=True)
    class Build(Transformer):
        """Lark's tree as ('or', a, b, ...), ('cmp', op, a, b), ('ref', name, code, modifiers) ..."""

        def either(self, *parts):   # a chain of 'or' is one node, however long
            return ("or", *parts[::2])

        def both(self, *parts):
            return ("and", *parts[::2])

        def negate(self, _, a):
            return ("not", a)

        def compare(self, a, op, b):
            return ("cmp", {"==": "=", "!=": "<>"}.get(str(op), str(op)), a, b)

        def arithmetic(self, first, *rest):   # left to right: a - b + c is (a - b) + c
            return functools.reduce(lambda a, step: ("arith", str(step[0]), a, step[1]),
                                    zip(rest[::2], rest[1::2]), first)

        def sign(self, op, a):
            return ("neg", a) if str(op) == "-" else a

        def number(self, token):
            return ("num", str(token))

        def text(self, token):
            return ("str", str(token)[1:-1])

        def true(self, _):
            return ("num", "1")

        def false(self, _):
            return ("num", "0")

        def call(self, name, *args):
            return ("call", str(name).lower(), tuple(a for a in args if a is not None))

        def tag(self, token, *_):
            return ("tag", str(token))

        def references(self, *found):
            if len(found) > 1:
                return ("event", "".join(written(ref) for ref in found))
            return found[0]

        def reference(self, name, *rest):
            code = next((r[1] for r in rest if r[0] == "choice"), None)
            modifiers = tuple(r[1] for r in rest if r[0] == "modifier")
            return ("ref", str(name), code, modifiers)

        def choice(self, code):
            return ("choice", str(code).strip())

        def modifier(self, name):
            return ("modifier", str(name))

    return Build()


def parse(text: str) -> Tree:
    """The syntax tree of a branching-logic text, as nested tuples (Unreadable if it is not one)."""
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    try:
        return builder().transform(parser().parse(text))
    except UnexpectedCharacters as error:
        raise Unreadable(f"unexpected '{text[error.pos_in_stream]}' at character "
                         f"{error.column}") from None
    except UnexpectedToken as error:
        where = "at the end" if error.token.type == "$END" else (
            f"'{error.token}' at character {error.column}")
        raise Unreadable(f"unexpected {where}") from None
    except UnexpectedEOF:
        raise Unreadable("the logic stops before it is complete") from None
    except LarkError as error:   # any other reading error of the parser
        raise Unreadable(str(error).splitlines()[0]) from None


def written(ref: Tree) -> str:
    """A reference as it is written: [name(code):modifier]."""
    _, name, code, modifiers = ref
    return f"[{name}{f'({code})' if code is not None else ''}{''.join(':' + m for m in modifiers)}]"


def walk(tree: Tree):
    """Every node of a tree, parents first."""
    yield tree
    for child in tree[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            yield from walk(child)
        elif isinstance(child, tuple):
            for item in child:
                if isinstance(item, tuple):
                    yield from walk(item)


def compile_logic(text: str, fields: Mapping[str, Any],
                  column_of: Callable[[str, Any], str]) -> Logic | None:
    """A field's branching logic against the dictionary's fields (None when there is none).

    `fields`: name -> field (with `.type` and `.choices`); `column_of(name, code)`: the export
    column of a checkbox choice. Raises Unreadable or Unsupported.
    """
    if not text.strip():
        return None
    try:
        tree = resolve(parse(text), fields, column_of)
    except RecursionError:
        raise Unreadable("it is nested too deeply") from None
    columns = tuple(dict.fromkeys(node[1] for node in walk(tree) if node[0] == "col"))
    return Logic(" ".join(text.split()), tree, columns)


def resolve(tree: Tree, fields: Mapping[str, Any], column_of: Callable[[str, Any], str]) -> Tree:
    """The tree with each reference replaced by its export column; Unsupported for what one
    survey export cannot answer."""
    kind = tree[0]
    if kind == "event":
        raise Unsupported(tree[1], "an event reference; a survey export holds one event")
    if kind == "tag":
        raise Unsupported(tree[1], "an action tag, computed by REDCap when a form is shown")
    if kind == "ref":
        return reference(tree, fields, column_of)
    if kind == "call":
        name, args = tree[1], tree[2]
        call = f"{name}()"
        if name in NOT_IN_EXPORT:
            raise Unsupported(call, NOT_IN_EXPORT[name])
        if name not in SUPPORTED:
            raise Unsupported(call, "a function this report does not evaluate")
        fewest, most = ARITY[name]
        if len(args) < fewest or (most is not None and len(args) > most):
            takes = f"{fewest}" if fewest == most else f"{fewest} or more" if most is None \
                else f"{fewest} to {most}"
            raise Unreadable(f"{name}() takes {takes} argument{'s' * (takes != '1')}, not "
                             f"{len(args)}")
        if name == "datediff":
            for arg in args[:2]:
                if arg[0] == "str" and arg[1].strip().lower() in NOW_WORDS:
                    raise Unsupported(f"datediff(..., '{arg[1]}')", "the date a form is opened, "
                                      "which is not in the export")
        return ("call", name, tuple(resolve(a, fields, column_of) for a in args))
    if kind == "cmp":
        return ("cmp", tree[1], resolve(tree[2], fields, column_of),
                resolve(tree[3], fields, column_of))
    if kind in ("str", "num"):
        return tree
    return (kind, *(resolve(child, fields, column_of) if isinstance(child, tuple) else child
                    for child in tree[1:]))


def reference(ref: Tree, fields: Mapping[str, Any], column_of: Callable[[str, Any], str]) -> Tree:
    """A [field] or [field(code)] reference as ('col', export column)."""
    _, name, code, modifiers = ref
    shown = written(ref)
    field = fields.get(name)
    if field is None:
        why = ("a smart variable, filled in by REDCap when a form is shown" if "-" in name
               else "not a field of the data dictionary")
        raise Unsupported(shown, why)
    other = [m for m in modifiers if m.lower() != "value"]
    if other:
        raise Unsupported(shown, f"the ':{other[0]}' form of a field, which is not its value")
    if field.type == CHECKBOX:
        if code is None:
            raise Unsupported(shown, f"a checkbox field without a choice; write [{name}(code)]")
        match = next((c for c in field.choices if str(c).lower() == code.lower()), None)
        if match is None:
            raise Unsupported(shown, f"a choice the checkbox field {name} does not have")
        return ("col", column_of(name, match))
    if code is not None:
        raise Unsupported(shown, f"a choice reference on a {field.type} field, which is not a "
                                 "checkbox")
    if not getattr(field, "columns", [name]):
        raise Unsupported(shown, f"a {field.type} field, which has no column in the export")
    return ("col", name)


# ---------------------------------------------------------------- evaluation over all records


@dataclass(frozen=True)
class Values:
    """A value per record: its text ('' = empty) and its number (NaN when not a number)."""

    text: Any
    num: Any


def number(text: str) -> float:
    """A text as REDCap reads a number (NaN when it is none)."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def numbers(texts: Any) -> Any:
    """Each text as a number (NaN when not one), for an array of texts."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    values = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def truth(value: Values) -> Any:
    """Whether each value counts as true: a non-zero number, or a text other than '' and '0'."""
    import numpy as np

    num = np.asarray(value.num, dtype="float64")
    return np.where(np.isnan(num), (value.text != "") & (value.text != "0"), num != 0)


def boolean(mask: Any) -> Values:
    """True/false as REDCap's logic holds them: 1 or 0."""
    import numpy as np

    mask = np.asarray(mask, dtype=bool)
    return Values(np.where(mask, "1", "0").astype(object), mask.astype("float64"))


def numeric(result: Any) -> Values:
    """Numbers (NaN = empty) with their text."""
    import numpy as np

    result = np.asarray(result, dtype="float64")
    text = np.vectorize(format_number, otypes=[object])(result) if result.ndim else \
        format_number(float(result))
    return Values(text, result)


def format_number(value: float) -> str:
    """A number as text (integers without a decimal point; NaN as empty)."""
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def shown(logic: Logic, column: Callable[[str], Any], n: int,
          missing: frozenset[str] = frozenset()) -> Any:
    """Whether the logic shows the field to each of n records.

    `column(name)`: the column's texts, one per record ('' when empty); `missing`: the project's
    missing-data codes (for isblankormissingcode and the like). The logic is evaluated once per
    distinct combination of the values it reads (a survey's answers repeat), then spread back
    to the records: the cost grows with the records only by hashing their values.
    """
    import numpy as np

    texts = {name: np.asarray(column(name), dtype=object) for name in logic.columns}
    combination, first = distinct_rows(list(texts.values()), n)
    values = {name: Values(text[first], numbers(text[first])) for name, text in texts.items()}
    result = truth(Evaluation(values.__getitem__, missing).of(logic.tree))
    result = np.broadcast_to(np.asarray(result, dtype=bool), (len(first),))
    return result[combination]


def distinct_rows(columns: list[Any], n: int) -> tuple[Any, Any]:
    """Each row's number among the distinct rows of the columns (in order of first appearance),
    and the first row of each distinct row."""
    import numpy as np
    import pandas as pd

    combination = np.zeros(n, dtype=np.int64)
    for values in columns:
        codes = pd.factorize(values)[0].astype(np.int64)
        combination = pd.factorize(combination * (int(codes.max(initial=0)) + 1) + codes)[0]
    distinct = int(combination.max(initial=-1)) + 1 if n else 0
    first = np.empty(distinct, dtype=np.int64)
    first[combination[::-1]] = np.arange(n - 1, -1, -1)
    return combination, first


class Evaluation:
    """Evaluate a resolved tree with array operations."""

    def __init__(self, values: Callable[[str], Values], missing: frozenset[str]) -> None:
        self.values, self.missing = values, missing

    def of(self, tree: Tree) -> Values:
        """The value of a node for every record."""
        kind = tree[0]
        if kind == "col":
            return self.values(tree[1])
        if kind == "str":
            return Values(tree[1], number(tree[1]))
        if kind == "num":
            return Values(tree[1], number(tree[1]))
        if kind == "or":
            return boolean(functools.reduce(lambda a, b: a | b,
                                            (truth(self.of(part)) for part in tree[1:])))
        if kind == "and":
            return boolean(functools.reduce(lambda a, b: a & b,
                                            (truth(self.of(part)) for part in tree[1:])))
        if kind == "not":
            return boolean(~truth(self.of(tree[1])))
        if kind == "cmp":
            return boolean(compare(tree[1], self.of(tree[2]), self.of(tree[3])))
        if kind == "neg":
            return numeric(-self.of(tree[1]).num)
        if kind == "arith":
            return numeric(arithmetic(tree[1], self.of(tree[2]).num, self.of(tree[3]).num))
        if kind == "call":
            return getattr(self, f"call_{tree[1]}")(*tree[2])
        raise AssertionError(f"unknown node {kind}")

    # Functions REDCap documents for logic (Help & FAQ, "Special functions").

    def call_isblankormissingcode(self, a: Tree) -> Values:
        value = self.of(a)
        return boolean((value.text == "") | self.is_missing(value))

    def call_isblanknotmissingcode(self, a: Tree) -> Values:
        return boolean(self.of(a).text == "")

    def call_ismissingcode(self, a: Tree) -> Values:
        return boolean(self.is_missing(self.of(a)))

    call_hasmissingcode = call_ismissingcode

    def is_missing(self, value: Values) -> Any:
        import numpy as np

        texts = np.asarray(value.text, dtype=object)
        return np.isin(texts, list(self.missing)) if self.missing else np.zeros(texts.shape, bool)

    def texts(self, *args: Tree) -> list[Any]:
        """Lower-case texts of the arguments (REDCap's text functions ignore case)."""
        import numpy as np

        return [np.char.lower(np.asarray(self.of(a).text, dtype=str)) for a in args]

    def call_contains(self, a: Tree, b: Tree) -> Values:
        import numpy as np

        haystack, needle = self.texts(a, b)
        return boolean(np.char.find(haystack, needle) >= 0)

    def call_not_contain(self, a: Tree, b: Tree) -> Values:
        return boolean(~truth(self.call_contains(a, b)))

    def call_starts_with(self, a: Tree, b: Tree) -> Values:
        import numpy as np

        text, start = self.texts(a, b)
        return boolean(np.char.startswith(text, start))

    def call_ends_with(self, a: Tree, b: Tree) -> Values:
        import numpy as np

        text, end = self.texts(a, b)
        return boolean(np.char.endswith(text, end))

    def call_if(self, condition: Tree, then: Tree, otherwise: Tree) -> Values:
        import numpy as np

        chosen = truth(self.of(condition))
        a, b = self.of(then), self.of(otherwise)
        return Values(np.where(chosen, a.text, b.text).astype(object),
                      np.where(chosen, a.num, b.num))

    def aggregate(self, how: str, args: tuple[Tree, ...]) -> Values:
        """sum/min/max/mean/median over the arguments, empty ones left out (REDCap's rule)."""
        import numpy as np

        stacked = np.array(np.broadcast_arrays(*(np.asarray(self.of(a).num, dtype="float64")
                                                 for a in args)), dtype="float64")
        given = ~np.isnan(stacked)
        if how == "sum":
            result = np.where(given.any(axis=0), np.nansum(stacked, axis=0), np.nan)
        else:
            filled = np.where(given, stacked, 0.0)
            count = given.sum(axis=0)
            with np.errstate(all="ignore"):
                result = {"min": lambda: np.where(given, stacked, np.inf).min(axis=0),
                          "max": lambda: np.where(given, stacked, -np.inf).max(axis=0),
                          "mean": lambda: filled.sum(axis=0) / count,
                          "median": lambda: np.nanmedian(np.where(given, stacked, np.nan),
                                                         axis=0)}[how]()
            result = np.where(count > 0, result, np.nan)
        return numeric(result)

    def call_sum(self, *args: Tree) -> Values:
        return self.aggregate("sum", args)

    def call_min(self, *args: Tree) -> Values:
        return self.aggregate("min", args)

    def call_max(self, *args: Tree) -> Values:
        return self.aggregate("max", args)

    def call_mean(self, *args: Tree) -> Values:
        return self.aggregate("mean", args)

    def call_median(self, *args: Tree) -> Values:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-empty records: empty result
            return self.aggregate("median", args)

    def call_abs(self, a: Tree) -> Values:
        import numpy as np

        return numeric(np.abs(self.of(a).num))

    def call_sqrt(self, a: Tree) -> Values:
        import numpy as np

        with np.errstate(invalid="ignore"):
            return numeric(np.sqrt(self.of(a).num))

    def call_mod(self, a: Tree, b: Tree) -> Values:
        import numpy as np

        with np.errstate(all="ignore"):
            return numeric(np.fmod(self.of(a).num, self.of(b).num))

    def rounded(self, how: Callable, a: Tree, places: Tree | None) -> Values:
        import numpy as np

        digits = 0 if places is None else np.asarray(self.of(places).num, dtype="float64")
        scale = np.power(10.0, digits)
        return numeric(how(np.asarray(self.of(a).num) * scale) / scale)

    def call_round(self, a: Tree, places: Tree | None = None) -> Values:
        import numpy as np

        return self.rounded(lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5), a, places)

    def call_roundup(self, a: Tree, places: Tree | None = None) -> Values:
        import numpy as np

        return self.rounded(lambda x: np.sign(x) * np.ceil(np.abs(x)), a, places)

    def call_rounddown(self, a: Tree, places: Tree | None = None) -> Values:
        import numpy as np

        return self.rounded(lambda x: np.sign(x) * np.floor(np.abs(x)), a, places)

    def call_isnumber(self, a: Tree) -> Values:
        import numpy as np

        return boolean(~np.isnan(np.asarray(self.of(a).num, dtype="float64")))

    def call_isinteger(self, a: Tree) -> Values:
        import numpy as np

        value = self.of(a)
        num = np.asarray(value.num, dtype="float64")
        texts = np.asarray(value.text, dtype=str)
        return boolean(~np.isnan(num) & (np.char.find(texts, ".") < 0)
                       & (np.mod(np.nan_to_num(num), 1) == 0))

    def call_length(self, a: Tree) -> Values:
        import numpy as np

        return numeric(np.char.str_len(np.asarray(self.of(a).text, dtype=str)))

    def string(self, transform: Callable, a: Tree) -> Values:
        import numpy as np

        texts = transform(np.asarray(self.of(a).text, dtype=str)).astype(object)
        return Values(texts, numbers(texts) if texts.ndim else number(str(texts)))

    def call_lower(self, a: Tree) -> Values:
        import numpy as np

        return self.string(np.char.lower, a)

    def call_upper(self, a: Tree) -> Values:
        import numpy as np

        return self.string(np.char.upper, a)

    def call_trim(self, a: Tree) -> Values:
        import numpy as np

        return self.string(np.char.strip, a)

    def call_concat(self, *args: Tree) -> Values:
        import numpy as np

        texts = [np.asarray(self.of(a).text, dtype=str) for a in args]
        joined = functools.reduce(np.char.add, texts).astype(object)
        return Values(joined, numbers(joined) if joined.ndim else number(str(joined)))

    def dates(self, a: Tree) -> Any:
        """Each value as a date-time (NaT when empty or not a date); raw exports write Y-M-D."""
        import numpy as np
        import pandas as pd

        texts = np.atleast_1d(np.asarray(self.of(a).text, dtype=object))
        parsed = pd.to_datetime(pd.Series(texts), errors="coerce", format="ISO8601")
        return parsed.to_numpy(dtype="datetime64[ns]")

    def call_datediff(self, a: Tree, b: Tree, unit: Tree | None = None, _format: Tree | None = None,
                      signed: Tree | None = None) -> Values:
        import numpy as np

        seconds = DATE_UNITS.get(str(self.of(unit).text) if unit is not None else "d", math.nan)
        first, second = np.broadcast_arrays(self.dates(a), self.dates(b))
        with np.errstate(invalid="ignore"):
            difference = (second - first) / np.timedelta64(1, "s") / seconds
        difference = np.where(np.isnat(first) | np.isnat(second), np.nan, difference)
        if signed is None or not bool(truth(self.of(signed)).all()):
            difference = np.abs(difference)
        return numeric(difference)

    def part_of_date(self, a: Tree, unit: str) -> Values:
        import numpy as np

        when = self.dates(a).astype(f"datetime64[{unit}]")
        start = {"Y": 1970, "M": 1, "D": 1}[unit]
        if unit == "Y":
            value = when.astype("int64") + start
        elif unit == "M":
            value = when.astype("int64") % 12 + 1
        else:
            value = (when - when.astype("datetime64[M]")).astype("int64") + 1
        return numeric(np.where(np.isnat(when), np.nan, value))

    def call_year(self, a: Tree) -> Values:
        return self.part_of_date(a, "Y")

    def call_month(self, a: Tree) -> Values:
        return self.part_of_date(a, "M")

    def call_day(self, a: Tree) -> Values:
        return self.part_of_date(a, "D")


def compare(op: str, a: Values, b: Values) -> Any:
    """A comparison as REDCap makes it: two numbers as numbers ('01' = 1), other values as text.
    An ordering (<, >, <=, >=) with an empty side, or of a number with a text that is none, is
    false, as in the survey page's JavaScript (a blank or a word is no number)."""
    import numpy as np

    a_num, b_num = np.asarray(a.num, dtype="float64"), np.asarray(b.num, dtype="float64")
    both = ~np.isnan(a_num) & ~np.isnan(b_num)
    if op in ("=", "<>"):
        with np.errstate(invalid="ignore"):
            same = np.where(both, a_num == b_num, np.asarray(a.text == b.text, dtype=bool))
        return same if op == "=" else ~same
    operation = {"<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal}[op]
    a_text, b_text = np.asarray(a.text, dtype=str), np.asarray(b.text, dtype=str)
    words = np.isnan(a_num) & np.isnan(b_num) & (a_text != "") & (b_text != "")
    with np.errstate(invalid="ignore"):
        return np.where(both, operation(a_num, b_num), words & operation(a_text, b_text))


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """+ - * / ^ on numbers; an empty operand gives an empty result."""
    import numpy as np

    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    with np.errstate(all="ignore"):
        result = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                  "^": np.power}[op](a, b)
    return np.where(np.isfinite(result), result, np.nan)


def described(error: Unreadable | Unsupported) -> str:
    """The reason, as a data-quality line gives it."""
    if isinstance(error, Unsupported):
        return f"'{error.part}' is {error.why}"
    return f"it cannot be read as REDCap logic ({error})"

