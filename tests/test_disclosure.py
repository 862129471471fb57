"""Disclosure control that holds: complementary suppression, no statistic that gives a hidden
cell away, and a checker run over every published file of two suppressed reports: the bundled
export with min_cell 5 (replacing a report made with min_cell 1), and the hostile export of
test_hostile.py (60 respondents: groups of 1 to 3 people everywhere, min_cell 5)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from scipy.stats import chi2_contingency

from jakisurvey import disclosure, measures as m
from jakisurvey.codebook import Codebook
from jakisurvey.privacy import IMPLIED, SMALL, SUPPRESSED, WITHHELD, count_cells
from jakisurvey.study import load_study
from jakisurvey.subgroups import holm

from helpers import MIN_CELL, STUDY, bundled_inputs, check_report, jakisurvey, regions_of, text_of



def share(n: int, N: int) -> dict:
    """A share as results.json holds it."""
    return {"n": n, "N": N, "pct": n / N if N else None, "ci_low": 0.0, "ci_high": 1.0}


def society(side_effects: dict[str, tuple[int, int]], left_out: int) -> dict:
    """A subgroups entry with side effects by society (the other measures all published)."""
    groups = m.GROUPINGS["society"]
    big = {g: share(40, 80) for g in groups}
    return {"region": {"groups": list(m.GROUPINGS["region"]), "n_not_grouped": 0,
                       "measures": {k: {g: share(40, 80) for g in m.GROUPINGS["region"]}
                                    for k in m.subgroup_measures()}, "tests": []},
            "society": {"groups": list(groups), "n_not_grouped": left_out, "tests": [],
                        "measures": {"jaki_used": big, "improvement": big,
                                     "side_effects": {g: share(*side_effects[g]) for g in groups}}}}


def test_the_issue_example_both_cannot_be_worked_out(codebook):
    """25 of 147 overall, CARRA only 19, PReS only 5, Both <5, 6 in no group: Both = 1 by
    subtraction on today's main; the plan hides another cell so that it is not."""
    results = {"n_respondents": 229, "n_records": 229, "side_effects": share(25, 147),
               "jaki_used": share(240, 240), "improvement": share(240, 240),
               "subgroups": society({"CARRA only": (19, 89), "PReS only": (5, 48),
                                     "Both": (1, 4)}, 6)}
    model = disclosure.model_of(results, codebook, {})
    small = {c: SMALL for c, n in model.values.items() if 0 < n < MIN_CELL}
    assert "subgroups.society.measures.side_effects.Both.n" in disclosure.disclosed(
        model, small, MIN_CELL)                                  # what the issue found
    plan = disclosure.plan(results, codebook, {}, MIN_CELL)
    hidden = {c: why for c, why in plan.items() if c in model.values and why != IMPLIED}
    assert disclosure.disclosed(model, hidden, MIN_CELL) == []
    assert SUPPRESSED in plan.values()
    assert plan["subgroups.society.tests.side_effects"] == WITHHELD


def test_a_small_band_cannot_be_worked_out_from_the_bound(codebook):
    """Users per band and the lower bound of patients: one small band is the bound minus the
    others, divided by its lower end; the plan hides more bands, not the claimed bound."""
    labels = list(codebook.labels("jaki_n_patients").values())
    bands = dict(zip(labels, [38, 76, 22, 8, 3]))
    lower = sum(n * e for n, e in zip(bands.values(), (1, 2, 6, 11, 21)))
    results = {"n_jaki_users": 150, "patient_bands": bands, "patients_lower_bound": lower}
    claims = tuple(c for c in load_study(STUDY).claims if c.result == "patients_lower_bound")
    plan = disclosure.plan(results, codebook, {}, MIN_CELL, claims)
    assert plan[f"patient_bands.{labels[-1]}"] == SMALL
    assert any(why == SUPPRESSED for c, why in plan.items() if c.startswith("patient_bands."))
    assert "patients_lower_bound" not in plan


def test_a_count_alone_in_its_region_is_protected(codebook):
    results = {"n_respondents": 30, "usa": share(20, 30), "europe": share(10, 30),
               "region_counts": {"Americas": 20, "Europe": 10},
               "country_counts": {"USA": 20, "FRA": 7, "FIN": 1, "DEU": 2}}
    regions = {"USA": "Americas", "FRA": "Europe", "FIN": "Europe", "DEU": "Europe"}
    plan = disclosure.plan(results, codebook, regions, MIN_CELL)
    model = disclosure.model_of(results, codebook, regions)
    hidden = {c: why for c, why in plan.items() if c in model.values}
    assert plan["country_counts.FIN"] == plan["country_counts.DEU"] == SMALL
    assert disclosure.disclosed(model, hidden, MIN_CELL) == []


def test_holm_is_over_the_published_tests_only(survey_of):
    from jakisurvey.subgroups import subgroup_results

    survey = survey_of([{"country": "USA", "society___1": 1, "jaki_used": 1}] * 30
                       + [{"country": "France", "society___2": 1, "jaki_used": 0}] * 30)
    every = subgroup_results(survey, 7)
    withheld = {"subgroups.region.tests.jaki_used"}
    fewer = subgroup_results(survey, 7, withheld)
    published = [t for g, found in fewer.items() for t in found["tests"]
                 if t["p"] is not None and f"subgroups.{g}.tests.{t['measure']}" not in withheld]
    assert [t["p_holm"] for t in published] == pytest.approx(holm([t["p"] for t in published]))
    assert fewer != every


# ------------------------------------------------------------------ the checker


@pytest.fixture(scope="module")
def suppressed(pandoc_report, tmp_path_factory) -> Path:
    """The bundled export reported with min_cell 5, replacing the min_cell 1 report."""
    project = tmp_path_factory.mktemp("suppressed")
    shutil.copytree(pandoc_report.parent / "data", project / "data")
    shutil.copytree(pandoc_report, project / "_output")
    study = yaml.safe_load((project / "data" / "study.yml").read_text())
    study["min_cell"] = MIN_CELL
    (project / "data" / "study.yml").write_text(yaml.safe_dump(study, sort_keys=False))
    done = jakisurvey("run", *bundled_inputs(project), "--out", str(project / "_output"),
                      "--renderer", "pandoc")
    assert done.returncode == 0, done.stderr
    return project / "_output"


def test_nothing_small_can_be_learnt_from_the_bundled_report(suppressed, codebook, resolver):
    assert check_report(suppressed, codebook, regions_of(suppressed, resolver)) == []


def test_the_tallies_show_no_small_answer_count(suppressed):
    public = json.loads((suppressed / "results.json").read_text())
    users = public["tallies"]["improvement"]["rows"][0]["n"]    # code 1 "None": 2 users
    assert list(users.values())[0] == "<5"
    report = text_of((suppressed / "report.html").read_text(encoding="utf-8"))
    assert not re.search(r"\b1 None no 2\b", report)
    assert "Small counts." in report and "disclosure.json" in report


def test_the_both_group_and_its_tests_are_not_published(suppressed):
    public = json.loads((suppressed / "results.json").read_text())
    both = {k: v["Both"] for k, v in public["subgroups"]["society"]["measures"].items()}
    assert all(b["N"] in ("<5", "x") or b["N"] >= MIN_CELL for b in both.values())
    assert all(t["withheld"] for t in public["subgroups"]["society"]["tests"])
    assert {t["statistic"] for t in public["subgroups"]["society"]["tests"]} == {None}


def test_changes_do_not_publish_the_old_exact_counts(suppressed):
    """The replaced report (min_cell 1) is compared as this report's rules publish it: its
    small counts (FIN: 1 ...) are hidden on both sides, so the countries did not change."""
    change = {c["key"]: c for c in json.loads((suppressed / "changes.json").read_text())}
    plan = json.loads((suppressed / "disclosure.json").read_text())["hidden"]
    assert change and "country_counts" not in change
    for key, entry in change.items():
        for side in ("old", "new"):
            if entry[side] is None or key == "claims":
                continue
            small = {p: n for p, n in count_cells(key, entry[side]).items()
                     if 0 < n < MIN_CELL and plan.get(p) != IMPLIED}
            assert small == {}, (key, side, small)


def test_with_min_cell_1_nothing_is_hidden(pandoc_report):
    assert json.loads((pandoc_report / "disclosure.json").read_text()) == {"min_cell": 1,
                                                                          "hidden": {}}
    exact = json.loads((pandoc_report / "private" / "results.json").read_text())
    assert json.loads((pandoc_report / "results.json").read_text()) == exact
