"""The instrument's definitions applied to checked records: respondents, branching, rankings, countries."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from . import fieldtypes
from .codebook import CODED_TYPES, Codebook, Ranking, checkbox_column
from .countries import CountryResolver, resolve_countries
from .load import DEFAULT_MISSING, Problem, read_export


SYNTHETIC_PREFIX = "SYN-"   # every record id of a synthetic export starts with it (synth.py)


@dataclass
class Survey:
    """Records ready for analysis: typed answers, the respondent flag and data-quality warnings."""

    data: pd.DataFrame
    codebook: Codebook
    problems: list[Problem] = field(default_factory=list)

    @property
    def respondents(self) -> pd.DataFrame:
        """Records with at least one answered question."""
        return self.data[self.data["respondent"]]

    @property
    def synthetic(self) -> bool:
        """Whether every record id carries the synthetic generator's mark."""
        ids = self.data[self.codebook.record_id]
        return bool(len(ids)) and bool(ids.astype("string").str.startswith(SYNTHETIC_PREFIX).all())

    def labelled(self, name: str) -> pd.Series:
        """A coded field of the respondents as a categorical of the dictionary's labels."""
        labels = self.codebook.labels(name)
        values = self.respondents[name].map(labels)
        return pd.Series(pd.Categorical(values, categories=list(labels.values())),
                         index=values.index, name=name)


def typed(raw: pd.DataFrame, codebook: Codebook,
          missing: frozenset[str] = DEFAULT_MISSING) -> pd.DataFrame:
    """Convert string cells to typed columns: codes (whole-number codes as Int64), checkboxes as
    booleans, numbers for calc and slider fields, text otherwise; empty cells, missing-data codes
    and values the loader set aside as missing."""
    columns = {}
    for f in codebook.fields.values():
        for column in f.columns:
            cells = raw[column] if column in raw else pd.Series("", index=raw.index, dtype="str")
            if f.type == "checkbox":
                columns[column] = cells.eq("1")
                continue
            if f.type not in CODED_TYPES and f.name != codebook.record_id and missing:
                cells = cells.mask(cells.isin(missing), "")   # codes are never missing codes
            columns[column] = fieldtypes.typed_values(cells, f)
    status = f"{codebook.form}_complete"
    if status in raw:
        columns[status] = raw[status].map({"0": 0, "1": 1, "2": 2}).astype("Int64")
    return pd.DataFrame(columns, index=raw.index)


def answered(data: pd.DataFrame, codebook: Codebook, name: str) -> pd.Series:
    """Whether each record answered a field (a checkbox: at least one box ticked; a descriptive
    field has nothing to answer)."""
    columns = codebook[name].columns
    if not columns:
        return pd.Series(False, index=data.index)
    if codebook[name].type == "checkbox":
        return data[columns].any(axis=1)
    return data[name].notna()


def shown_column(name: str) -> str:
    """The data column holding whether the branching logic showed a field to each record (a name
    no REDCap field can have)."""
    return f"{name}:shown"


def shown(data: pd.DataFrame, codebook: Codebook, name: str) -> pd.Series:
    """Whether the branching logic showed a field to each record (as prepare evaluated it)."""
    column = shown_column(name)
    return data[column] if column in data else pd.Series(True, index=data.index)


def warn(problems: list[Problem], source: str, data: pd.DataFrame, rows, field: str,
         rule: str, values=None) -> None:
    """Append one warning per row."""
    for row in rows:
        value = "" if values is None else str(values[row])
        problems.append(Problem(source, int(row), field, value, rule, severity="warning",
                                record_id=str(data.at[row, "record_id"])))


def apply_branching(data: pd.DataFrame, raw: pd.DataFrame, codebook: Codebook,
                    problems: list[Problem], source: str,
                    missing: frozenset[str] = DEFAULT_MISSING) -> None:
    """Ignore (blank out) answers to questions the branching logic would have hidden.

    The logic reads the values as exported (missing-data codes included), field by field in
    dictionary order; an answer it hides is erased for the logic of later fields too, as a
    survey page erases it. Whether each field was shown is kept in the data (shown_column).
    """
    from . import branching

    texts: dict[str, np.ndarray] = {}

    def column(name: str) -> np.ndarray:
        if name not in texts:
            texts[name] = (raw[name].to_numpy(dtype=object) if name in raw
                           else np.full(len(raw), "", dtype=object))
        return texts[name]

    for f in codebook.fields.values():
        if f.show_when is None or not f.columns:   # a descriptive text shown by branching
            continue
        try:
            found = branching.shown(f.show_when, column, len(raw), missing)
        except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
            problems.append(Problem(Path(codebook.source).name if codebook.source else source,
                                    codebook.lines.get(f.name), f.name, "", (
                                        f"branching logic {f.show_when.text!r} could not be "
                                        f"evaluated ({type(error).__name__}); the field is "
                                        "treated as always shown"), severity="warning"))
            continue
        seen = pd.Series(found, index=data.index)
        data[shown_column(f.name)] = seen
        hidden = ~seen & answered(data, codebook, f.name)
        if not hidden.any():
            continue
        rule = "answered although the branching logic hides it; ignored for this question"
        warn(problems, source, data, data.index[hidden], f.name, rule)
        checkbox = f.type == "checkbox"
        data.loc[hidden, f.columns] = False if checkbox else pd.NA
        for name in f.columns:
            texts[name] = np.where(hidden.to_numpy(), "0" if checkbox else "", column(name))


def repeats_an_item(positions: pd.DataFrame) -> pd.Series:
    """Whether a ranking places the same item in two positions (empty positions skipped)."""
    values = positions.to_numpy(dtype=object, na_value=None)
    items = pd.factorize(values.ravel())[0].reshape(values.shape)   # empty: -1
    repeated = np.zeros(len(values), dtype=bool)
    for first, second in combinations(range(values.shape[1]), 2):
        repeated |= (items[:, first] == items[:, second]) & (items[:, first] >= 0)
    return pd.Series(repeated, index=positions.index)


def matrix_positions(data: pd.DataFrame, ranking: Ranking) -> tuple[pd.DataFrame, pd.Series]:
    """From a ranking matrix (one radio per item holding its rank), the item at each position,
    and whether a position was given to more than one item (REDCap allows each once)."""
    crowded = pd.Series(False, index=data.index)
    positions = {}
    for column, rank in zip(ranking.fields, ranking.ranks):
        at = pd.concat([data[item].eq(rank).fillna(False).astype(bool)
                        for item in ranking.members], axis=1).to_numpy()
        placed = at.sum(axis=1)
        crowded |= placed > 1
        items = pd.array(np.where(placed > 0, at.argmax(axis=1) + 1, 0), dtype="Int64")
        positions[column] = pd.Series(items, index=data.index).mask(placed == 0)
    return pd.DataFrame(positions, index=data.index), crowded


def ranking_values(data: pd.DataFrame, ranking: Ranking, rows) -> pd.Series:
    """An invalid ranking as the listing shows it: the items per position, '/' between
    positions, '+' between items sharing one (a ranking matrix)."""
    if not ranking.matrix:
        positions = data.loc[rows, list(ranking.fields)]
        return positions.astype("string").fillna("").agg("/".join, axis=1)
    def placed(row, rank) -> str:
        """The items given this rank, '+' between them."""
        return "+".join(str(i) for i, item in enumerate(ranking.members, 1)
                        if not pd.isna(data.at[row, item]) and data.at[row, item] == rank)

    return pd.Series({row: "/".join(placed(row, rank) for rank in ranking.ranks)
                      for row in rows}, dtype="string")


INVALID_RANKING = ("an item is ranked in more than one position, or a position holds more than "
                   "one item; ranking excluded")


def check_rankings(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                   source: str) -> None:
    """Flag rankings that place one item in two positions, or (a ranking matrix) two items in
    one position: excluded from that ranking."""
    for ranking in codebook.rankings.values():
        crowded = pd.Series(False, index=data.index)
        if ranking.matrix:
            derived, crowded = matrix_positions(data, ranking)
            data[list(ranking.fields)] = derived
        positions = data[list(ranking.fields)]
        ranked = positions.notna().any(axis=1)
        invalid = repeats_an_item(positions) | crowded
        data[f"{ranking.name}_ranked"] = ranked
        data[f"{ranking.name}_valid"] = ranked & ~invalid
        rows = data.index[invalid]
        warn(problems, source, data, rows, f"{ranking.name}_rank", INVALID_RANKING,
             ranking_values(data, ranking, rows))


def check_exclusive(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                    source: str) -> None:
    """Flag an exclusive 'None' box ticked together with other boxes (answer kept as given)."""
    for f in codebook.fields.values():
        if f.type != "checkbox":
            continue
        exclusive = {checkbox_column(f.name, code): code for code in f.none_codes}
        others = [c for c in f.columns if c not in exclusive]
        for none, code in exclusive.items():
            clash = data.index[data[none] & data[others].any(axis=1)]
            warn(problems, source, data, clash, f.name,
                 f"'{f.choices[code]}' ticked together with other choices; kept as given")


def mark_respondents(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                     source: str) -> None:
    """A respondent answered at least one question other than record id and country."""
    answers = pd.concat([answered(data, codebook, f.name) for f in codebook.question_fields],
                        axis=1)
    data["respondent"] = answers.any(axis=1)
    warn(problems, source, data, data.index[~data["respondent"]], "",
         "nothing answered (opened, not answered); not a respondent")


def add_countries(data: pd.DataFrame, resolver: CountryResolver, problems: list[Problem],
                  source: str) -> None:
    """Resolve free-text countries to ISO3 and region; keep and report what does not resolve."""
    resolved = resolve_countries(data["country"], resolver)
    data[resolved.columns] = resolved
    unresolved = data.index[data["country"].notna() & resolved["country_iso3"].isna()
                            & data["respondent"]]
    warn(problems, source, data, unresolved, "country",
         "country not recognised; counted as region 'Unknown' (add it to country_aliases.csv)",
         data["country"])


def prepare(raw: pd.DataFrame, codebook: Codebook, resolver: CountryResolver,
            source: str, problems: list[Problem] | None = None,
            missing: frozenset[str] = DEFAULT_MISSING) -> Survey:
    """Apply the instrument's definitions to checked raw records (`missing`: the missing-data
    codes, read as not answered)."""
    problems = list(problems or [])
    data = typed(raw, codebook, missing)
    mark_respondents(data, codebook, problems, source)
    apply_branching(data, raw, codebook, problems, source, missing)
    check_rankings(data, codebook, problems, source)
    check_exclusive(data, codebook, problems, source)
    add_countries(data, resolver, problems, source)
    return Survey(data, codebook, problems)


def load_survey(records: Path, codebook: Codebook, resolver: CountryResolver,
                missing: frozenset[str] = DEFAULT_MISSING) -> Survey:
    """Read, check and prepare a records export (`missing`: the missing-data codes)."""
    raw, problems = read_export(records, codebook, missing)
    return prepare(raw, codebook, resolver, Path(records).name, problems, missing)
