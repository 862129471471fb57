"""Every statistic of the report, as the instrument defines it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from . import definitions as d
from .codebook import checkbox_column
from .countries import UNKNOWN
from .rounding import percent_half_up, percent_of, round_half_up  # noqa: F401 (re-exported)
from .survey import Survey, answered
ALPHA = 0.05  # 95% intervals
LEVEL = f"{round(100 * (1 - ALPHA))}%"  # how the interval's level is printed


@dataclass(frozen=True)
class Proportion:
    """n of N, shown as a whole percentage with n/N beside it."""

    n: int
    N: int

    @property
    def pct(self) -> float | None:
        """The fraction n/N (None when N is 0)."""
        return self.n / self.N if self.N else None

    @property
    def ci(self) -> tuple[float | None, float | None]:
        """The 95% Wilson score interval of n/N (None, None when N is 0)."""
        return wilson(self.n, self.N)

    def as_dict(self) -> dict:
        """The results.json form: {n, N, pct, ci_low, ci_high}."""
        low, high = self.ci
        return {"n": self.n, "N": self.N, "pct": self.pct, "ci_low": low, "ci_high": high}

    def interval_text(self) -> str:
        """The 95% Wilson interval in whole percentages: '95% CI 70–83%' ('-' when N is 0)."""
        low, high = self.ci
        if low is None:
            return "-"
        return f"{LEVEL} CI {percent_of(low)}–{percent_of(high)}%"

    def __str__(self) -> str:
        if not self.N:
            return "- (0/0)"
        return f"{percent_half_up(Fraction(self.n, self.N))}% ({self.n}/{self.N})"


def wilson(n: int, N: int, alpha: float = ALPHA) -> tuple[float | None, float | None]:
    """The Wilson score interval of n/N as statsmodels computes it (None, None when N is 0).

    An impossible share (n above N, e.g. more respondents than invited) has no interval: None, None.
    """
    if not N or not 0 <= n <= N:
        return None, None
    low, high = proportion_confint(n, N, alpha=alpha, method="wilson")
    return float(low), float(high)


def json_ready(value):
    """Plain Python types for json.dump: numpy scalars unwrapped, NaN as None, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def share(mask: pd.Series, among: pd.Series) -> Proportion:
    """How many of the records in `among` also satisfy `mask`."""
    return Proportion(int((mask & among).sum()), int(among.sum()))


def response_rate(survey: Survey, n_invited: int) -> Proportion:
    """Respondents out of those invited."""
    return Proportion(len(survey.respondents), n_invited)


def response_rate_range(n_respondents: int, low: int, high: int) -> dict:
    """Response rate at both ends of a range of invitation counts: {low: {...}, high: {...}}."""
    return {"low": Proportion(n_respondents, low).as_dict(),
            "high": Proportion(n_respondents, high).as_dict()}


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
    """Respondents who have prescribed a systemic JAKi for JDM (definitions.JAKI_USER)."""
    people = survey.respondents
    return people[people[d.JAKI_USER.field].isin(d.JAKI_USER.codes).fillna(False).astype(bool)]


def coded_share(survey: Survey, name: str, codes: set[int]) -> Proportion:
    """Respondents who chose one of `codes`, among those who answered (branching applied)."""
    people = survey.respondents
    chosen = people[name].isin(codes).fillna(False).astype(bool)
    return share(chosen, people[name].notna())


def rule_share(survey: Survey, rule: d.Rule) -> Proportion:
    """Respondents whose answer a rule counts, among those who answered (branching applied)."""
    return coded_share(survey, rule.field, set(rule.codes))


def patients_bounds(survey: Survey) -> tuple[int, int | None]:
    """Lower and upper bound of JDM patients treated with JAKi (upper None if open-ended)."""
    lower, upper = survey.codebook.band_bounds(d.PATIENT_BANDS)
    bands = jaki_users(survey)[d.PATIENT_BANDS].dropna().astype(int)
    uppers = bands.map(upper)
    high = None if uppers.isna().any() else int(uppers.sum())
    return int(bands.map(lower).sum()), high


def band_table(survey: Survey, name: str = d.PATIENT_BANDS) -> pd.DataFrame:
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
    """A frame of label, n, N, pct, display text and the 95% Wilson interval (ci_low, ci_high)."""
    return pd.DataFrame([{"label": label, "n": p.n, "N": p.N, "pct": p.pct, "text": str(p),
                          "ci_low": p.ci[0], "ci_high": p.ci[1]} for label, p in rows])


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
    rows.sort(key=lambda row: (-row["borda"], -row["n_first"], code_order(row["code"])))
    return pd.DataFrame(rows)


def code_order(code: int | str) -> tuple[bool, int | str]:
    """A choice code's place when codes tie: whole numbers in numeric order, then letter codes."""
    return (isinstance(code, str), code)


def n_valid_rankings(survey: Survey, name: str) -> int:
    """Respondents whose ranking counts (non-empty, no item twice)."""
    return int(survey.respondents[f"{name}_valid"].sum())
