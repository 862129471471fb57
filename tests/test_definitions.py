"""Every definition of the data contract, checked on small hand-built record sets."""

from __future__ import annotations

from fractions import Fraction

import pytest

from jakisurvey import stats
from jakisurvey.claims import NOT_REPRODUCIBLE, matches, status
from jakisurvey.study import Claim

USER = {"jaki_used": 1}


def warnings_for(survey, field):
    """The warnings reported for one field."""
    return [p for p in survey.problems if p.field == field and p.severity == "warning"]


def test_respondent_needs_an_answer_besides_id_and_country(survey_of):
    survey = survey_of([
        {"country": "USA"},                      # country only: opened, not answered
        {},                                      # nothing at all
        {"comments": "hello"},                   # a free-text answer counts
        {"concomitant___3": 1},                  # one ticked box counts
        {"concomitant___3": 0, "society___1": 0},  # unticked boxes do not
        {"role": 2},
    ])
    assert survey.data["respondent"].tolist() == [False, False, True, True, False, True]
    assert len(survey.respondents) == 3
    assert len([p for p in survey.problems if "nothing answered" in p.rule]) == 3


def test_response_rate_is_respondents_over_invited(survey_of):
    survey = survey_of([{"role": 1}, {"role": 2}, {"country": "Chile"}])
    rate = stats.response_rate(survey, 8)
    assert (rate.n, rate.N, rate.pct) == (2, 8, 0.25)
    assert str(rate) == "25% (2/8)"


def test_user_question_denominator_is_users_who_answered(survey_of):
    survey = survey_of([
        {**USER, "jaki_improvement": 3},
        {**USER, "jaki_improvement": 4},
        {**USER, "jaki_improvement": 5},   # too early to tell stays in N
        {**USER, "jaki_improvement": 1},
        {**USER},                          # user who did not answer: not in N
        {"jaki_used": 0, "jaki_improvement": 3},  # hidden by branching: ignored, reported
        {"jaki_used": 0},
    ])
    improved = stats.coded_share(survey, "jaki_improvement", {3, 4})
    assert (improved.n, improved.N) == (2, 4)
    assert len(stats.jaki_users(survey)) == 5
    assert [p.row for p in warnings_for(survey, "jaki_improvement")] == [7]


def test_side_effects_and_their_types_follow_branching(survey_of):
    survey = survey_of([
        {**USER, "jaki_side_effects": 1, "jaki_side_effect_types___2": 1},
        {**USER, "jaki_side_effects": 1, "jaki_side_effect_types___2": 1,
         "jaki_side_effect_types___3": 1},
        {**USER, "jaki_side_effects": 0, "jaki_side_effect_types___3": 1},  # hidden: ignored
        {**USER, "jaki_side_effects": 0},
        {**USER, "jaki_side_effects": 0},
    ])
    effects = stats.coded_share(survey, "jaki_side_effects", {1})
    assert (effects.n, effects.N) == (2, 5)
    types = stats.checkbox_table(survey, "jaki_side_effect_types").set_index("label")
    assert types.loc["Herpes zoster", ["n", "N"]].tolist() == [2, 2]
    assert types.loc["Laboratory abnormality", ["n", "N"]].tolist() == [1, 2]
    assert len(warnings_for(survey, "jaki_side_effect_types")) == 1


def test_patient_band_bounds(survey_of):
    bands = [{**USER, "jaki_n_patients": code} for code in (1, 2, 3, 4)]
    survey = survey_of(bands + [{"jaki_used": 0, "jaki_n_patients": 5}])
    assert stats.patients_bounds(survey) == (1 + 2 + 6 + 11, 1 + 5 + 10 + 20)
    assert len(warnings_for(survey, "jaki_n_patients")) == 1
    open_ended = survey_of(bands + [{**USER, "jaki_n_patients": 5}])
    assert stats.patients_bounds(open_ended) == (1 + 2 + 6 + 11 + 21, None)


def ranks(*codes):
    """Barrier ranking answers in positions 1..3 (None leaves a gap)."""
    return {f"barrier_rank_{p}": c for p, c in enumerate(codes, 1) if c is not None}


def test_borda_scores_and_order(survey_of):
    survey = survey_of([ranks(1, 2, 3), ranks(2, 1, None), ranks(4, None, 1)])
    table = stats.ranking_table(survey, "barrier").set_index("code")
    # item 1: 3 + 2 + 1 = 6; item 2: 2 + 3 = 5; item 4: 3; item 3: 1
    assert table.loc[[1, 2, 4, 3], "borda"].tolist() == [6, 5, 3, 1]
    assert table.loc[1, ["n_first", "n_ranked"]].tolist() == [1, 3]
    assert table.loc[1, "mean_position"] == pytest.approx(2.0)
    assert table.loc[4, "mean_position"] == 1.0
    assert list(table.index[:4]) == [1, 2, 4, 3]
    assert table.loc[9, "borda"] == 0 and table.loc[9, "n_ranked"] == 0


def test_borda_ties_broken_by_first_places_then_code(survey_of):
    # 5 and 6 both score 3 (5 from a first place, 6 from a second and a third place);
    # 7 and 8 both score 2 with no first places, so the lower code comes first.
    survey = survey_of([ranks(5, None, None), ranks(None, 6, None), ranks(None, None, 6),
                        ranks(None, 8, None), ranks(None, 7, None)])
    table = stats.ranking_table(survey, "barrier")
    assert table["code"].tolist()[:4] == [5, 6, 7, 8]
    assert table["borda"].tolist()[:4] == [3, 3, 2, 2]
    assert table["n_first"].tolist()[:4] == [1, 0, 0, 0]


def test_invalid_ranking_excluded_from_that_ranking_only(survey_of):
    survey = survey_of([
        {**ranks(1, 1, 2), "indication_rank_1": 3},   # barrier invalid, indication valid
        {**ranks(2, None, None), "indication_rank_1": 3},
    ])
    assert stats.n_valid_rankings(survey, "barrier") == 1
    assert stats.n_valid_rankings(survey, "indication") == 2
    barriers = stats.ranking_table(survey, "barrier").set_index("code")
    assert barriers.loc[1, "borda"] == 0 and barriers.loc[2, "borda"] == 3
    problems = warnings_for(survey, "barrier_rank")
    assert [(p.row, p.value) for p in problems] == [(2, "1/1/2")]


def test_country_variants_resolve_and_unknown_is_kept(survey_of):
    typed = ["USA", "U.S.", "United States of America", "usa ", "UK", "England",
             "The Netherlands", "Turkey", "Atlantis"]
    survey = survey_of([{"country": c, "role": 1} for c in typed] + [{"role": 1}])
    counts = stats.country_counts(survey)
    assert counts.to_dict() == {"USA": 4, "GBR": 2, "NLD": 1, "TUR": 1, "Unknown": 1}
    assert stats.region_counts(survey).to_dict() == {"Americas": 4, "Europe": 3, "Asia": 1,
                                                     "Unknown": 1}
    usa = stats.country_share(survey, "country_iso3", "USA")
    assert (usa.n, usa.N) == (4, 9)          # N = respondents who gave a country
    unresolved = warnings_for(survey, "country")
    assert [(p.row, p.value) for p in unresolved] == [(10, "Atlantis")]


def test_none_ticked_with_other_boxes_is_kept_and_reported(survey_of):
    survey = survey_of([{"concomitant___9": 1, "concomitant___3": 1}, {"concomitant___9": 1}])
    table = stats.checkbox_table(survey, "concomitant").set_index("label")
    assert table.loc["None (JAKi monotherapy)", ["n", "N"]].tolist() == [2, 2]
    assert table.loc["Methotrexate", ["n", "N"]].tolist() == [1, 2]
    assert [p.row for p in warnings_for(survey, "concomitant")] == [2]


def test_checkbox_denominator_is_respondents_who_ticked_any(survey_of):
    survey = survey_of([{"jaki_consider___1": 1, "jaki_consider___2": 1},
                        {"jaki_consider___1": 1}, {"role": 1}])
    table = stats.checkbox_table(survey, "jaki_consider")
    assert table[["label", "n", "N"]].head(2).values.tolist() == [["Tofacitinib", 2, 2],
                                                                  ["Baricitinib", 1, 2]]


@pytest.mark.parametrize("fraction, percent", [
    (Fraction(1, 8), 13), (Fraction(1, 200), 1), (Fraction(229, 1272), 18),
    (Fraction(115, 229), 50), (Fraction(3, 8), 38), (Fraction(1, 3), 33), (Fraction(0), 0)])
def test_percent_rounds_half_up_exactly(fraction, percent):
    assert stats.percent_half_up(fraction) == percent


def claim(check, published, result="x"):
    """A claim of the given kind."""
    return Claim("c", "claim", published, check, result)


def ranked(*items: tuple[int, int, int]) -> list[dict]:
    """A ranking from (code, borda, first places), best first."""
    return [{"code": code, "borda": borda, "n_first": first} for code, borda, first in items]


def test_claim_checks():
    assert matches(claim("equals", 229), 229) and not matches(claim("equals", 229), 228)
    assert matches(claim("percent", 13), {"n": 1, "N": 8, "pct": 0.125})
    assert not matches(claim("percent", 12), {"n": 1, "N": 8, "pct": 0.125})
    assert matches(claim("over", 450), 451) and not matches(claim("over", 450), 450)
    ranking = ranked((1, 30, 9), (2, 20, 5), (3, 10, 2))
    assert matches(claim("leading", [1, 2]), ranking)
    assert not matches(claim("leading", [2, 1]), ranking)


def test_claims_resting_on_no_data_are_not_reproducible():
    assert status(claim("percent", 0), {"n": 0, "N": 0, "pct": None}) == NOT_REPRODUCIBLE
    nobody = ranked((1, 0, 0), (2, 0, 0), (3, 0, 0))         # nobody ranked: code order only
    assert status(claim("leading", [1, 2]), nobody) == NOT_REPRODUCIBLE
    tied_next = ranked((1, 30, 9), (2, 20, 5), (3, 20, 5))   # second place tied with third
    assert status(claim("leading", [1, 2]), tied_next) == NOT_REPRODUCIBLE
    assert status(claim("leading", [1]), tied_next) == "match"
    first_places = ranked((1, 30, 9), (2, 20, 6), (3, 20, 5))  # Borda tie broken by first places
    assert status(claim("leading", [1, 2]), first_places) == "match"
    assert status(claim("equals", 229), None) == NOT_REPRODUCIBLE


def test_answers_are_typed_and_labelled_from_the_dictionary(survey_of):
    survey = survey_of([{"role": 2, "society___1": 1}, {"role": 1}, {"jaki_used": 0}])
    assert str(survey.data["role"].dtype) == "Int64"
    assert survey.data["society___1"].tolist() == [True, False, False]
    roles = survey.labelled("role")
    assert list(roles.cat.categories) == ["Paediatric rheumatologist",
                                          "Paediatric rheumatology trainee",
                                          "Adult rheumatologist", "Other"]
    assert roles.tolist()[:2] == ["Paediatric rheumatology trainee", "Paediatric rheumatologist"]
    assert roles.isna().tolist() == [False, False, True]
