"""Subgroups by region and society: exact counts, chi-square, Holm and Monte Carlo Fisher p."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact
from statsmodels.stats.multitest import multipletests

from jakisurvey import figures, stats
from jakisurvey.privacy import Gate, Published
from jakisurvey.subgroups import (chi2_test, region_group, society_group, subgroup_results)

SEED = 20250301


def test_region_groups(survey_of):
    survey = survey_of([{"country": c, "role": 1} for c in
                        ["USA", "United States", "France", "UK", "Turkey", "Canada", "Atlantis"]]
                       + [{"role": 1}, {"country": "Germany"}])   # no country; not a respondent
    groups = region_group(survey)
    assert list(groups.cat.categories) == ["USA", "Europe", "Rest of world"]
    assert groups.astype(object).where(groups.notna(), None).tolist() == [
        "USA", "USA", "Europe", "Europe", "Rest of world", "Rest of world", None, None]
    assert groups.index.equals(survey.respondents.index)


def test_society_groups(survey_of):
    answers = [{"society___1": 1}, {"society___1": 1, "society___3": 1}, {"society___2": 1},
               {"society___1": 1, "society___2": 1}, {"society___3": 1}, {"role": 1}]
    groups = society_group(survey_of(answers))
    assert groups.astype(object).where(groups.notna(), None).tolist() == [
        "CARRA only", "CARRA only", "PReS only", "Both", None, None]


def person(country, used=None, improvement=None, effects=None, **more):
    """One respondent's answers."""
    row = {"country": country, "role": 1, **more}
    for field, value in (("jaki_used", used), ("jaki_improvement", improvement),
                         ("jaki_side_effects", effects)):
        if value is not None:
            row[field] = value
    return row


RECORDS = [
    person("USA", 1, 3, 1), person("USA", 1, 4, 0), person("USA", 1, 5, 0), person("USA", 0),
    person("USA", 1),                                   # user who answered neither user question
    person("France", 1, 1, 1), person("Italy", 0, 3, 1),  # hidden answers of a non-user: ignored
    person("Italy", 0), person("Japan", 1, 3, 0), person("Atlantis", 1, 3, 1),
    person("Brazil"),                                   # did not answer jaki_used
]


def test_measures_keep_the_headline_definitions(survey_of):
    region = subgroup_results(survey_of(RECORDS), SEED)["region"]
    assert region["groups"] == ["USA", "Europe", "Rest of world"]
    assert region["n_not_grouped"] == 1
    counts = {m: {g: (v["n"], v["N"]) for g, v in by.items()}
              for m, by in region["measures"].items()}
    assert counts == {
        "jaki_used": {"USA": (4, 5), "Europe": (1, 3), "Rest of world": (1, 1)},
        "improvement": {"USA": (2, 3), "Europe": (0, 1), "Rest of world": (1, 1)},
        "side_effects": {"USA": (1, 3), "Europe": (1, 1), "Rest of world": (0, 1)},
    }
    usa = region["measures"]["jaki_used"]["USA"]
    assert usa == stats.Proportion(4, 5).as_dict()
    improvement = region["tests"][1]                    # table [[2, 1], [0, 1], [1, 0]]
    assert improvement["min_expected"] < 5 and 0 < improvement["p_fisher_mc"] <= 1


def test_empty_group_is_reported_and_left_out_of_the_test(survey_of):
    survey = survey_of([person("USA", 1), person("USA", 0), person("France", 0),
                        person("France", 0), person("USA", 1)])
    region = subgroup_results(survey, SEED)["region"]
    assert region["measures"]["jaki_used"]["Rest of world"] == {
        "n": 0, "N": 0, "pct": None, "ci_low": None, "ci_high": None}
    test = region["tests"][0]
    expected = chi2_contingency(np.array([[2, 1], [0, 2]]), correction=False)
    assert test["measure"] == "jaki_used" and test["dof"] == 1
    assert test["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert test["p"] == pytest.approx(expected.pvalue, rel=1e-12)


def test_chi2_equals_scipy_without_continuity_correction():
    table = [[30, 12], [18, 20], [9, 11]]
    expected = chi2_contingency(np.array(table), correction=False)
    found = chi2_test(table)
    assert found["test"] == "chi2"
    assert found["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert found["p"] == pytest.approx(expected.pvalue, rel=1e-12)
    assert found["dof"] == 2 and type(found["dof"]) is int
    assert found["min_expected"] == pytest.approx(expected.expected_freq.min(), rel=1e-12)
    two_by_two = chi2_test([[8, 2], [1, 5]])
    assert two_by_two["p"] == pytest.approx(
        chi2_contingency(np.array([[8, 2], [1, 5]]), correction=False).pvalue, rel=1e-12)


@pytest.mark.parametrize("table", [[[3, 4], [0, 0]], [[5, 0], [7, 0], [1, 0]], [[0, 4], [0, 2]],
                                   [[0, 0], [0, 0]]])
def test_no_test_with_one_group_or_one_outcome(table):
    assert chi2_test(table) == {"test": "chi2", "statistic": None, "dof": None, "p": None,
                                "min_expected": None}


def society_records():
    """Respondents in the three society groups, with some small cells."""
    rows = []
    for society, used, users_improved, n in (
            ({"society___1": 1}, [1] * 30 + [0] * 10, 22, 40),
            ({"society___2": 1}, [1] * 12 + [0] * 13, 6, 25),
            ({"society___1": 1, "society___2": 1}, [1] * 3 + [0] * 2, 3, 5)):
        for i in range(n):
            answers = {**society, "jaki_used": used[i]}
            if used[i]:
                answers["jaki_improvement"] = 3 if i < users_improved else 2
                answers["jaki_side_effects"] = 1 if i % 4 == 0 else 0
            rows.append(person("USA" if i % 3 else "Germany", **answers))
    return rows


def test_holm_is_across_both_groupings(survey_of):
    results = subgroup_results(survey_of(society_records()), SEED)
    tests = results["region"]["tests"] + results["society"]["tests"]
    family = [t for t in tests if t["p"] is not None]
    assert len(family) >= 4
    adjusted = multipletests([t["p"] for t in family], method="holm")[1]
    assert [t["p_holm"] for t in family] == pytest.approx(list(adjusted), rel=1e-12)
    assert all(t["p_holm"] is None for t in tests if t["p"] is None)


def test_fisher_monte_carlo_where_expected_counts_are_small(survey_of):
    results = subgroup_results(survey_of(society_records()), SEED)
    society = {t["measure"]: t for t in results["society"]["tests"]}
    small = society["improvement"]
    assert small["min_expected"] < 5
    table = np.array([[22, 8], [6, 6], [3, 0]])
    method = MonteCarloMethod(n_resamples=9999, rng=np.random.default_rng(SEED))
    assert small["p_fisher_mc"] == fisher_exact(table, method=method).pvalue
    assert subgroup_results(survey_of(society_records()), SEED) == results   # seeded
    large = {t["measure"]: t for t in results["region"]["tests"]}["jaki_used"]
    assert large["min_expected"] >= 5 and large["p_fisher_mc"] is None


def test_results_are_plain_json(survey_of):
    results = subgroup_results(survey_of(society_records()), SEED)
    text = json.dumps(results, allow_nan=False)
    assert json.loads(text) == results
    assert set(results) == {"region", "society"}
    assert set(results["society"]["tests"][0]) == {"measure", "test", "statistic", "dof", "p",
                                                   "min_expected", "p_holm", "p_fisher_mc"}


def test_subgroup_plot_draws_each_measure_and_suppresses_small_cells(survey_of):
    results = subgroup_results(survey_of(society_records()), SEED)
    shown = Published("subgroups", Gate(5).publish("subgroups", results), 5)
    fig = figures.subgroup_plot(shown, "society")
    assert len(fig.axes) == 3
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "30/40" in texts and "<5/5" in texts and "3/5" not in texts
    assert [label.get_text() for label in fig.axes[0].get_yticklabels()] == [
        "CARRA only", "PReS only", "Both"]
    fig.canvas.draw()
    figures.plt.close(fig)
