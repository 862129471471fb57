"""Small-cell suppression of everything published, the analyses beyond the paper included."""

from __future__ import annotations

from jakisurvey.privacy import Gate
from jakisurvey import claims, definitions as d, results, stats
from jakisurvey.study import load_study

from helpers import STUDY


SHARE = {"n": 2, "N": 40, "pct": 0.05, "ci_low": 0.01, "ci_high": 0.16}


def test_every_small_count_becomes_a_bound():
    results = {
        "n_respondents": 40, "n_usa": 2, "country_counts": {"USA": 30, "CHL": 1},
        "improvement": SHARE, "jaki_consider": {"Other": SHARE},
        "barrier_ranking": [{"code": 9, "borda": 4, "n_first": 1, "n_ranked": 2,
                             "position_1": 1, "mean_position": 1.5}],
        "subgroups": {"region": {"measures": {"improvement": {"USA": SHARE}},
                                 "tests": [{"statistic": 1.2, "p": 0.5}], "n_not_grouped": 1}},
        "cherries": [{"key": "respondents", "value": 2, "text": "2", "source": "records"},
                     {"key": "completion_rate", "value": SHARE, "text": "5% (2/40)",
                      "source": "records"},
                     {"key": "design", "value": "web", "text": "web", "source": "study.yml"}],
        "ranking_stability": {"barrier": {"items": [{"code": 9, "p_first": 0.01}]}},
    }
    public = Gate(3).publish_all(results)
    assert public["n_usa"] == "<3" and public["n_respondents"] == 40
    assert public["country_counts"] == {"USA": 30, "CHL": "<3"}
    hidden = {"n": "<3", "N": 40, "pct": None, "ci_low": None, "ci_high": None}
    assert public["improvement"] == hidden and public["jaki_consider"]["Other"] == hidden
    assert public["subgroups"]["region"]["measures"]["improvement"]["USA"] == hidden
    assert public["subgroups"]["region"]["n_not_grouped"] == "<3"
    item = public["barrier_ranking"][0]
    assert item["n_first"] == item["n_ranked"] == item["position_1"] == "<3"
    assert item["borda"] is None and item["mean_position"] is None
    assert [c["text"] for c in public["cherries"]] == ["<3", "<3 (of 40)", "web"]
    assert public["ranking_stability"] == results["ranking_stability"]   # shares of resamples
    assert Gate(1).publish_all(results) == results


def test_published_results_hide_small_cells_and_claims_use_exact_values(survey_of, codebook):
    import dataclasses

    survey = survey_of([{"country": "USA", "role": 1, "jaki_used": 1, "jaki_side_effects": 1}]
                       + [{"country": "Chile", "role": 1, "jaki_used": 0}] * 5)
    study = dataclasses.replace(load_study(STUDY), min_cell=3, n_invited=10)
    computed = {"n_respondents": len(survey.respondents), "country_counts": stats.country_counts(survey),
                "response": stats.response_rate(survey, study.n_invited),
                "usa": stats.country_share(survey, "country_iso3", d.USA),
                "side_effects": stats.rule_share(survey, d.SIDE_EFFECTS)}
    exact = {}
    for key, value in computed.items():
        exact.update(results.values_of(key, value))   # as the notebook cells record them
    public = Gate(study.min_cell).publish_all(exact)
    assert exact["country_counts"]["USA"] == 1 and public["country_counts"]["USA"] == "<3"
    assert public["side_effects"]["n"] == "<3" and exact["side_effects"]["n"] == 1
    shown = claims.check(study.claims, exact, codebook, Gate(study.min_cell))
    exact_status = [c["status"] for c in claims.check(study.claims, exact, codebook)]
    hidden = {"usa", "side_effects"}   # their n is below min_cell: whether they match is not shown
    assert [c["status"] for c in shown] == [claims.WITHHELD if c["result"] in hidden else s
                                            for c, s in zip(shown, exact_status)]
    side = next(c for c in shown if c["result"] == "side_effects")
    assert side["reproduced_text"] == "<3 (of <3)" and side["reproduced"] is None
    assert next(c for c in shown if c["result"] == "usa")["reproduced_text"] == "<3 (of 6)"
