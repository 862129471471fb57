"""Headline measures by region and by society, with chi-square tests and Holm's adjustment.

Each measure keeps the headline number's definition and denominator (definitions.py); a
respondent outside every group of a grouping (country missing or unresolved, no society ticked)
is left out of that grouping only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact
from statsmodels.stats.multitest import multipletests

from . import definitions as d
from .codebook import checkbox_column
from .countries import M49_REGIONS
from .measures import GROUPINGS, subgroup_measures
from .stats import Proportion, json_ready
from .survey import Survey

REGION_GROUPS = GROUPINGS["region"]
SOCIETY_GROUPS = GROUPINGS["society"]
# The measures compared, each with its headline rule and title (measures.py declares them).
MEASURES = {key: measure.rule for key, measure in subgroup_measures().items()}
MEASURE_TITLES = {key: measure.title for key, measure in subgroup_measures().items()}
MIN_EXPECTED = 5  # below this expected count the chi-square approximation is doubtful
FISHER_RESAMPLES = 9999


def grouped(labels: pd.Series, groups: tuple[str, ...], index: pd.Index) -> pd.Series:
    """Group labels (None = no group) as an ordered categorical on `index`."""
    return pd.Series(pd.Categorical(labels, categories=list(groups)), index=index)


def region_group(survey: Survey) -> pd.Series:
    """Each respondent's region group: USA, Europe, Rest of world; NA if the country is unknown."""
    people = survey.respondents
    iso3, region = people["country_iso3"], people["country_region"]
    known = iso3.notna() & region.isin(M49_REGIONS)
    labels = np.select([known & iso3.eq(d.USA), known & region.eq(d.EUROPE), known],
                       list(REGION_GROUPS), default=None)
    return grouped(labels, REGION_GROUPS, people.index)


def society_group(survey: Survey) -> pd.Series:
    """Each respondent's society group: CARRA only, PReS only, Both; NA if neither was ticked."""
    people = survey.respondents
    carra = people[checkbox_column(d.SOCIETY, d.CARRA)].to_numpy(dtype=bool)
    pres = people[checkbox_column(d.SOCIETY, d.PRES)].to_numpy(dtype=bool)
    labels = np.select([carra & ~pres, pres & ~carra, carra & pres], list(SOCIETY_GROUPS),
                       default=None)
    return grouped(labels, SOCIETY_GROUPS, people.index)


def measure_counts(survey: Survey, groups: pd.Series, rule: d.Rule) -> pd.DataFrame:
    """Per group: n (answer in the rule's codes) and N (answered), branching already applied."""
    answers = survey.respondents[rule.field]
    answered = answers.notna()
    yes = answers.isin(rule.codes).fillna(False).astype(bool) & answered
    frame = pd.DataFrame({"group": groups, "n": yes.astype(int), "N": answered.astype(int)})
    return frame.groupby("group", observed=False)[["n", "N"]].sum()


def chi2_test(table) -> dict:
    """Pearson's chi-square test (no continuity correction) on a groups x (yes, no) table.

    Groups with no answers are left out; with fewer than two groups left, or the same outcome
    for everyone, there is no test and statistic, dof, p and min_expected are None.
    """
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    result = {"test": "chi2", "statistic": None, "dof": None, "p": None, "min_expected": None}
    if len(table) < 2 or (table.sum(axis=0) == 0).any():
        return result
    found = chi2_contingency(table, correction=False)
    return {**result, "statistic": float(found.statistic), "dof": int(found.dof),
            "p": float(found.pvalue), "min_expected": float(found.expected_freq.min())}


def fisher_mc(table, seed: int, resamples: int = FISHER_RESAMPLES) -> float:
    """Seeded Monte Carlo p of the Fisher-Freeman-Halton exact test (groups with N = 0 left out)."""
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    method = MonteCarloMethod(n_resamples=resamples, rng=np.random.default_rng(seed))
    # scipy returns a one-element array for some small tables: take the single value.
    return float(np.asarray(fisher_exact(table, method=method).pvalue).item())


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels' multipletests)."""
    if not p_values:
        return []
    return [float(p) for p in multipletests(p_values, method="holm")[1]]


def grouping_results(survey: Survey, groups: pd.Series, seed: int) -> dict:
    """Measures by group and one test per measure (p_holm filled in by subgroup_results)."""
    labels = [str(g) for g in groups.cat.categories]
    measures, tests = {}, []
    for name, rule in MEASURES.items():
        counts = measure_counts(survey, groups, rule)
        measures[name] = {g: Proportion(int(counts.at[g, "n"]), int(counts.at[g, "N"])).as_dict()
                          for g in labels}
        table = np.column_stack([counts["n"], counts["N"] - counts["n"]])
        test = {"measure": name, **chi2_test(table), "p_holm": None, "p_fisher_mc": None}
        if test["p"] is not None and test["min_expected"] < MIN_EXPECTED:
            test["p_fisher_mc"] = fisher_mc(table, seed)
        tests.append(test)
    return {"groups": labels, "n_not_grouped": int(groups.isna().sum()),
            "measures": measures, "tests": tests}


def subgroup_results(survey: Survey, seed: int, withheld: set[str] = frozenset()) -> dict:
    """results.json 'subgroups': region and society groupings, Holm-adjusted across both.

    `withheld`: tests the report does not publish ('subgroups.<grouping>.tests.<measure>': a
    hidden count could be worked out from them); Holm's family is the tests published.
    """
    results = {"region": grouping_results(survey, region_group(survey), seed),
               "society": grouping_results(survey, society_group(survey), seed)}
    family = [t for grouping, found in results.items() for t in found["tests"]
              if t["p"] is not None and f"subgroups.{grouping}.tests.{t['measure']}" not in withheld]
    for test, adjusted in zip(family, holm([t["p"] for t in family])):
        test["p_holm"] = adjusted
    return json_ready(results)

