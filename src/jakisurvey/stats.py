"""Every statistic of the report, as the instrument defines it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import pandas as pd

from .codebook import checkbox_column
from .countries import UNKNOWN
from .survey import Survey, answered

USA = "USA"
EUROPE = "Europe"


@dataclass(frozen=True)
class Proportion:
    """n of N, shown as a whole percentage with n/N beside it."""

    n: int
    N: int

    @property
    def pct(self) -> float | None:
        """The fraction n/N (None when N is 0)."""
        return self.n / self.N if self.N else None

    def as_dict(self) -> dict:
        """The results.json form: {n, N, pct}."""
        return {"n": self.n, "N": self.N, "pct": self.pct}

    def __str__(self) -> str:
        if not self.N:
            return "- (0/0)"
        return f"{percent_half_up(Fraction(self.n, self.N))}% ({self.n}/{self.N})"


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact fraction to a whole number, halves up."""
    return math.floor(value + Fraction(1, 2))


def percent_half_up(fraction: Fraction) -> int:
    """A fraction as a whole percentage, rounding halves up (exactly, without float error)."""
    return round_half_up(fraction * 100)


def share(mask: pd.Series, among: pd.Series) -> Proportion:
    """How many of the records in `among` also satisfy `mask`."""
    return Proportion(int((mask & among).sum()), int(among.sum()))


def response_rate(survey: Survey, n_invited: int) -> Proportion:
    """Respondents out of those invited."""
    return Proportion(len(survey.respondents), n_invited)


def country_counts(survey: Survey) -> pd.Series:
    """Respondents per ISO3 country ('Unknown' when unresolved), largest first."""
    people = survey.respondents
    codes = people.loc[people["country"].notna(), "country_iso3"].fillna(UNKNOWN)
    counts = codes.value_counts()
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def region_counts(survey: Survey) -> pd.Series:
    """Respondents per UN M49 region, largest first."""
    people = survey.respondents
    regions = people.loc[people["country"].notna(), "country_region"]
    return regions.value_counts().sort_index().sort_values(ascending=False, kind="stable")


def country_share(survey: Survey, column: str, value: str) -> Proportion:
    """Respondents whose country (or region) is `value`, among those who gave a country."""
    people = survey.respondents
    gave = people["country"].notna()
    return share(people[column].eq(value).fillna(False).astype(bool), gave)


def jaki_users(survey: Survey) -> pd.DataFrame:
    """Respondents who have prescribed a systemic JAKi for JDM."""
    people = survey.respondents
    return people[people["jaki_used"].eq(1).fillna(False).astype(bool)]


def coded_share(survey: Survey, name: str, codes: set[int]) -> Proportion:
    """Respondents who chose one of `codes`, among those who answered (branching applied)."""
    people = survey.respondents
    chosen = people[name].isin(codes).fillna(False).astype(bool)
    return share(chosen, people[name].notna())


def patients_bounds(survey: Survey) -> tuple[int, int | None]:
    """Lower and upper bound of JDM patients treated with JAKi (upper None if open-ended)."""
    lower, upper = survey.codebook.band_bounds("jaki_n_patients")
    bands = jaki_users(survey)["jaki_n_patients"].dropna().astype(int)
    uppers = bands.map(upper)
    high = None if uppers.isna().any() else int(uppers.sum())
    return int(bands.map(lower).sum()), high


def band_table(survey: Survey, name: str = "jaki_n_patients") -> pd.DataFrame:
    """Users per patient band, with the band's lower and upper ends."""
    lower, upper = survey.codebook.band_bounds(name)
    counts = jaki_users(survey)[name].value_counts()
    rows = [{"band": label, "users": int(counts.get(code, 0)), "lower": lower[code],
             "upper": upper[code]} for code, label in survey.codebook.labels(name).items()]
    return pd.DataFrame(rows)


def coded_table(survey: Survey, name: str) -> pd.DataFrame:
    """Answers to a single-choice question: label, n, N and percentage."""
    people = survey.respondents
    answered_n = int(people[name].notna().sum())
    counts = people[name].value_counts()
    return table_rows([(label, Proportion(int(counts.get(code, 0)), answered_n))
                       for code, label in survey.codebook.labels(name).items()])


def checkbox_table(survey: Survey, name: str) -> pd.DataFrame:
    """Ticks per choice among respondents who ticked at least one box, most ticked first."""
    people = survey.respondents
    book = survey.codebook
    among = answered(people, book, name)
    rows = [(label, share(people[checkbox_column(name, code)], among))
            for code, label in book.labels(name).items()]
    return table_rows(rows).sort_values("n", ascending=False, kind="stable").reset_index(drop=True)


def table_rows(rows: list[tuple[str, Proportion]]) -> pd.DataFrame:
    """A frame of label, n, N, pct and display text."""
    return pd.DataFrame([{"label": label, "n": p.n, "N": p.N, "pct": p.pct, "text": str(p)}
                         for label, p in rows])


def ranking_table(survey: Survey, name: str) -> pd.DataFrame:
    """Items of a ranking ordered by Borda score, then first places, then code."""
    ranking = survey.codebook.rankings[name]
    people = survey.respondents
    valid = people.loc[people[f"{name}_valid"], list(ranking.fields)]
    rows = []
    for code, label in ranking.choices.items():
        at = {p: int(valid[column].eq(code).sum()) for p, column in enumerate(ranking.fields, 1)}
        n_ranked = sum(at.values())
        rows.append({"code": code, "label": label,
                     "borda": sum((ranking.k + 1 - p) * n for p, n in at.items()),
                     "n_first": at[1], "n_ranked": n_ranked,
                     **{f"position_{p}": n for p, n in at.items()},
                     "mean_position": sum(p * n for p, n in at.items()) / n_ranked
                     if n_ranked else None})
    table = pd.DataFrame(rows).sort_values(["borda", "n_first", "code"],
                                           ascending=[False, False, True], kind="stable")
    return table.reset_index(drop=True)


def n_valid_rankings(survey: Survey, name: str) -> int:
    """Respondents whose ranking counts (non-empty, no item twice)."""
    return int(survey.respondents[f"{name}_valid"].sum())
