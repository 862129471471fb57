"""The tallies behind each number: small labelled tables a reviewer can check by eye.

Each function counts the records behind one published number, split the way its
definition splits them (answer codes that count or not; users or not), so that the
percentage shown after it can be recomputed by hand from the table.
"""

from __future__ import annotations

import pandas as pd

from .codebook import Codebook
from .definitions import Rule
from .survey import Survey

NOT_ANSWERED = "(not answered)"


def records(survey: Survey) -> pd.DataFrame:
    """Records in the export, split into respondents and records opened but not answered."""
    n_records, n_respondents = len(survey.data), len(survey.respondents)
    return pd.DataFrame({"Records": ["Respondents (at least one question answered)",
                                     "Opened, not answered", "All records in the export"],
                         "n": [n_respondents, n_records - n_respondents, n_records]})


def answers(survey: Survey, rule: Rule, by: Rule | None = None) -> pd.DataFrame:
    """Respondents per answer code of a question, marking the codes a rule counts.

    With `by`, the respondents are split into those the other rule counts and the rest
    (for example JAKi users and other respondents); branching has already blanked answers
    to questions a respondent was not shown.
    """
    people = survey.respondents
    values = people[rule.field]
    groups = {"Respondents": pd.Series(True, index=people.index)}
    if by is not None:
        member = people[by.field].isin(by.codes).fillna(False).astype(bool)
        groups = {f"{by.field} in {sorted(by.codes)}": member,
                  "other respondents": ~member}
    rows = [{"Code": code, "Answer": label, "In n": "yes" if code in rule.codes else "no",
             **{name: int((values.eq(code).fillna(False).astype(bool) & mask).sum())
                for name, mask in groups.items()}}
            for code, label in survey.codebook.labels(rule.field).items()]
    rows.append({"Code": "", "Answer": NOT_ANSWERED, "In n": "not in N",
                 **{name: int((values.isna() & mask).sum()) for name, mask in groups.items()}})
    return pd.DataFrame(rows)


def ranking_points(codebook: Codebook, name: str) -> pd.DataFrame:
    """Points a position earns in a ranking of K positions: K + 1 - position."""
    k = codebook.rankings[name].k
    return pd.DataFrame({"Position": range(1, k + 1),
                         "Field": list(codebook.rankings[name].fields),
                         "Points": [k + 1 - p for p in range(1, k + 1)]})


def gave_country(survey: Survey, column: str, value: str) -> pd.DataFrame:
    """Respondents who gave a country, split by whether it is `value` (a country or region)."""
    people = survey.respondents
    gave = people["country"].notna()
    match = people[column].eq(value).fillna(False).astype(bool)
    return pd.DataFrame({"Respondents": [f"{column} = {value}", f"{column} is another value",
                                         "no country given (not in N)"],
                         "n": [int((gave & match).sum()), int((gave & ~match).sum()),
                               int((~gave).sum())]})
