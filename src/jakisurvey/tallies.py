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
NOT_ANSWERED_KEY = "not_answered"


def tally(groups: list[str], rows: list[tuple[str, str, str, list[int]]]) -> dict:
    """A tally as results.json holds it: each row's key, label, whether it counts, and the
    number of people per group."""
    return {"groups": groups,
            "rows": [{"key": key, "label": label, "counted": counted,
                      "n": {g: int(n) for g, n in zip(groups, counts)}}
                     for key, label, counted, counts in rows]}


def records(survey: Survey) -> dict:
    """Records in the export, split into respondents and records opened but not answered."""
    n_records, n_respondents = len(survey.data), len(survey.respondents)
    return tally(["Records"], [
        ("respondents", "Respondents (at least one question answered)", "", [n_respondents]),
        ("not_answered", "Opened, not answered", "", [n_records - n_respondents]),
        ("all", "All records in the export", "", [n_records])])


def answers(survey: Survey, rule: Rule, by: Rule | None = None) -> dict:
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
    rows = [(str(code), label, "yes" if code in rule.codes else "no",
             [(values.eq(code).fillna(False).astype(bool) & mask).sum()
              for mask in groups.values()])
            for code, label in survey.codebook.labels(rule.field).items()]
    rows.append((NOT_ANSWERED_KEY, NOT_ANSWERED, "not in N",
                 [(values.isna() & mask).sum() for mask in groups.values()]))
    return tally(list(groups), rows)


def ranking_points(codebook: Codebook, name: str) -> pd.DataFrame:
    """Points a position earns in a ranking of K positions: K + 1 - position."""
    k = codebook.rankings[name].k
    return pd.DataFrame({"Position": range(1, k + 1),
                         "Points": [k + 1 - p for p in range(1, k + 1)]})


def gave_country(survey: Survey, column: str, value: str) -> dict:
    """Respondents who gave a country, split by whether it is `value` (a country or region)."""
    people = survey.respondents
    gave = people["country"].notna()
    match = people[column].eq(value).fillna(False).astype(bool)
    return tally(["Respondents"], [
        ("match", f"{column} = {value}", "yes", [(gave & match).sum()]),
        ("other", f"{column} is another value", "no", [(gave & ~match).sum()]),
        ("no_country", "no country given (not in N)", "not in N", [(~gave).sum()])])
