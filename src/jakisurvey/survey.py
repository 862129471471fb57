"""The instrument's definitions applied to checked records: respondents, branching, rankings, countries."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook, checkbox_column
from .countries import CountryResolver, resolve_countries
from .load import Problem, read_export


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


def typed(raw: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Convert string cells to typed columns: codes as Int64, checkboxes as booleans."""
    columns = {column: typed_column(raw[column], f.type, f.choices)
               for f in codebook.fields.values() for column in f.columns}
    status = f"{codebook.form}_complete"
    if status in raw:
        columns[status] = typed_column(raw[status], "radio", {0: "", 1: "", 2: ""})
    return pd.DataFrame(columns, index=raw.index)


def typed_column(cells: pd.Series, kind: str, codes: dict[int, str]) -> pd.Series:
    """One column typed; the loader has checked every cell (codes of the field; boxes 0, 1)."""
    if kind == "checkbox":
        return cells.eq("1")
    if codes:
        return cells.map({str(code): code for code in codes}).astype("Int64")
    return cells.mask(cells.eq("")).astype("string")


def answered(data: pd.DataFrame, codebook: Codebook, name: str) -> pd.Series:
    """Whether each record answered a field (a checkbox: at least one box ticked)."""
    columns = codebook[name].columns
    if codebook[name].type == "checkbox":
        return data[columns].any(axis=1)
    return data[name].notna()


def shown(data: pd.DataFrame, codebook: Codebook, name: str) -> pd.Series:
    """Whether the branching logic showed a field to each record."""
    mask = pd.Series(True, index=data.index)
    for other, code in codebook[name].show_when:
        mask &= data[other].eq(code).fillna(False).astype(bool)
    return mask


def warn(problems: list[Problem], source: str, data: pd.DataFrame, rows, field: str,
         rule: str, values=None) -> None:
    """Append one warning per row."""
    for row in rows:
        value = "" if values is None else str(values[row])
        problems.append(Problem(source, int(row), field, value, rule, severity="warning",
                                record_id=str(data.at[row, "record_id"])))


def apply_branching(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                    source: str) -> None:
    """Ignore (blank out) answers to questions the branching logic would have hidden."""
    for f in codebook.fields.values():
        if not f.show_when:
            continue
        hidden = ~shown(data, codebook, f.name) & answered(data, codebook, f.name)
        rule = "answered although the branching logic hides it; ignored for this question"
        warn(problems, source, data, data.index[hidden], f.name, rule)
        data.loc[hidden, f.columns] = False if f.type == "checkbox" else pd.NA


def repeats_an_item(positions: pd.DataFrame) -> pd.Series:
    """Whether a ranking places the same item in two positions (empty positions skipped)."""
    values = positions.to_numpy(dtype="float64", na_value=np.nan)
    repeated = np.zeros(len(values), dtype=bool)
    for first, second in combinations(range(values.shape[1]), 2):
        repeated |= values[:, first] == values[:, second]   # NaN never equals NaN
    return pd.Series(repeated, index=positions.index)


def check_rankings(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                   source: str) -> None:
    """Flag rankings that place one item in two positions (excluded from that ranking)."""
    for ranking in codebook.rankings.values():
        positions = data[list(ranking.fields)]
        ranked = positions.notna().any(axis=1)
        invalid = repeats_an_item(positions)
        data[f"{ranking.name}_ranked"] = ranked
        data[f"{ranking.name}_valid"] = ranked & ~invalid
        rows = data.index[invalid]
        values = positions.loc[rows].astype("string").fillna("").agg("/".join, axis=1)
        warn(problems, source, data, rows, f"{ranking.name}_rank",
             "an item is ranked in more than one position; ranking excluded", values)


def check_exclusive(data: pd.DataFrame, codebook: Codebook, problems: list[Problem],
                    source: str) -> None:
    """Flag an exclusive 'None' box ticked together with other boxes (answer kept as given)."""
    for f in codebook.fields.values():
        if f.none_code is None:
            continue
        none = checkbox_column(f.name, f.none_code)
        others = [c for c in f.columns if c != none]
        clash = data.index[data[none] & data[others].any(axis=1)]
        warn(problems, source, data, clash, f.name,
             f"'{f.choices[f.none_code]}' ticked together with other choices; kept as given")


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
            source: str, problems: list[Problem] | None = None) -> Survey:
    """Apply the instrument's definitions to checked raw records."""
    problems = list(problems or [])
    data = typed(raw, codebook)
    mark_respondents(data, codebook, problems, source)
    apply_branching(data, codebook, problems, source)
    check_rankings(data, codebook, problems, source)
    check_exclusive(data, codebook, problems, source)
    add_countries(data, resolver, problems, source)
    return Survey(data, codebook, problems)


def load_survey(records: Path, codebook: Codebook, resolver: CountryResolver) -> Survey:
    """Read, check and prepare a records export."""
    raw, problems = read_export(records, codebook)
    return prepare(raw, codebook, resolver, Path(records).name, problems)
