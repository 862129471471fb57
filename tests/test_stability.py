"""Ranking stability: bootstrap shares, the same order as the published ranking, other scorings."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from jakisurvey import figures, stats
from jakisurvey.privacy import Published
from jakisurvey.errors import StudyError
from jakisurvey.stability import (alternative_scorings, borda_order, patterns, rank_order,
                                  ranking_stability, scores)
from jakisurvey.study import DEFAULT_RESAMPLES, DEFAULT_SEED, load_study
from jakisurvey.survey import load_survey

from helpers import RECORDS, STUDY


def ranks(*codes):
    """Barrier ranking answers in positions 1..3 (None leaves a gap)."""
    return {f"barrier_rank_{p}": c for p, c in enumerate(codes, 1) if c is not None}


def shares(result, key):
    """{code: share} of a ranking_stability result."""
    return {item["code"]: item[key] for item in result["items"]}


def test_an_item_always_first_has_p_first_one(survey_of):
    survey = survey_of([ranks(3, 1, 2), ranks(3, 2, None), ranks(3, None, 1), ranks(3, 4, 5),
                        {"role": 1}])
    result = ranking_stability(survey, "barrier", top_k=2, resamples=300, seed=5)
    assert shares(result, "p_first")[3] == 1.0
    assert sum(shares(result, "p_first").values()) == pytest.approx(1.0, abs=1e-12)
    assert result["items"][0]["code"] == 3
    assert (result["resamples"], result["seed"], result["top_k"]) == (300, 5, 2)


def test_shares_sum_to_one_first_and_to_k_in_the_top(survey_of):
    survey = survey_of([ranks(1, 2, 3), ranks(2, 1, None), ranks(4, None, 1), ranks(2, 4, 1),
                        ranks(1, 3, None), ranks(3, 1, 2)])
    result = ranking_stability(survey, "barrier", top_k=3, resamples=500, seed=11)
    assert sum(shares(result, "p_first").values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(shares(result, "p_top").values()) == pytest.approx(3.0, abs=1e-12)
    assert all(0 <= v <= 1 for v in shares(result, "p_top").values())
    assert len(result["items"]) == 9                      # every choice, ranked or not
    assert 0 < shares(result, "p_first")[1] < 1 and 0 < shares(result, "p_first")[2] < 1


def test_unranked_items_tie_at_zero_and_are_ordered_by_code(survey_of):
    # Only items 5 and 2 are ever ranked, so the third place always goes to the lowest code, 1.
    survey = survey_of([ranks(5, 2, None), ranks(2, 5, None), ranks(5, None, None)])
    result = ranking_stability(survey, "barrier", top_k=3, resamples=200, seed=3)
    assert shares(result, "p_top")[1] == 1.0 and shares(result, "p_top")[3] == 0.0


def test_same_seed_same_result_and_another_seed_differs(survey_of):
    survey = survey_of([ranks(1, 2, 3), ranks(2, 1, None), ranks(4, None, 1), ranks(2, 4, 1),
                        ranks(1, 3, None), ranks(3, 1, 2)])
    first = ranking_stability(survey, "barrier", top_k=2, resamples=400, seed=1)
    assert ranking_stability(survey, "barrier", top_k=2, resamples=400, seed=1) == first
    other = ranking_stability(survey, "barrier", top_k=2, resamples=400, seed=2)
    assert shares(other, "p_first") != shares(first, "p_first")


def test_unresampled_order_equals_the_published_ranking_with_its_tie_breaks(survey_of):
    # Borda ties: 5 and 6 (3 points, 5 has a first place), 7 and 8 (2 points, code order).
    survey = survey_of([ranks(5, None, None), ranks(None, 6, None), ranks(None, None, 6),
                        ranks(None, 8, None), ranks(None, 7, None), ranks(1, 1, 2)])
    table = stats.ranking_table(survey, "barrier")
    assert rank_order(survey, "barrier") == table["code"].tolist()
    assert rank_order(survey, "barrier")[:4] == [5, 6, 7, 8]


def test_unresampled_order_equals_the_published_ranking_on_the_synthetic_records(
        codebook, resolver):
    survey = load_survey(RECORDS, codebook, resolver)
    for name in ("barrier", "indication"):
        assert rank_order(survey, name) == stats.ranking_table(survey, name)["code"].tolist()


def test_borda_order_breaks_ties_by_first_places_then_code():
    borda = np.array([[4, 6, 6, 4], [1, 1, 1, 1]])
    firsts = np.array([[0, 1, 2, 0], [0, 0, 0, 0]])
    assert borda_order(borda, firsts).tolist() == [[2, 1, 0, 3], [0, 1, 2, 3]]


def test_patterns_count_every_respondent_once(survey_of):
    survey = survey_of([ranks(1, 2, 3)] * 4 + [ranks(2, 1, None)] * 2 + [{"role": 1}] * 3)
    _, points, firsts = scores(survey, "barrier")
    rows, counts = patterns(points, firsts, len(survey.respondents))
    assert sorted(counts[:-1].tolist()) == [2, 4] and counts[-1] == 3   # last: no valid ranking
    assert not rows[-1].any() and len(np.unique(rows, axis=0)) == len(rows)


def test_drawing_patterns_is_drawing_respondents(survey_of):
    """The multinomial over answer patterns gives the shares a plain resampling of people does."""
    people = [ranks(1, 2, 3)] * 5 + [ranks(2, 1, 3)] * 4 + [ranks(3, 2, 1)] * 2 + [{"role": 1}] * 2
    survey = survey_of(people)
    codes, points, firsts = scores(survey, "barrier")
    n, rng = len(survey.respondents), np.random.default_rng(5)
    padded = np.vstack([np.hstack([points, firsts]), np.zeros((n - len(points), 2 * len(codes)))])
    drawn = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(4000)])
    totals = drawn @ padded
    by_people = np.bincount(borda_order(totals[:, :len(codes)], totals[:, len(codes):])[:, 0],
                            minlength=len(codes)) / 4000
    by_patterns = ranking_stability(survey, "barrier", 2, resamples=4000, seed=9)
    first = {item["code"]: item["p_first"] for item in by_patterns["items"]}
    assert np.allclose([first[c] for c in codes], by_people, atol=0.04)


def test_no_respondents_gives_no_shares(survey_of):
    survey = survey_of([{"country": "USA"}])
    result = ranking_stability(survey, "barrier", top_k=2, resamples=10, seed=1)
    assert all(item["p_first"] is None and item["p_top"] is None for item in result["items"])


def test_alternative_scorings(survey_of):
    # Borda: 1 = 3+1+1+1+1 = 7, 2 = 3+3 = 6, 3 = 2+2+2 = 6 (2 has more first places), 4 = 3.
    # First places: 2 (2), then 1 and 4 (1 each; Borda puts 1 first).
    # Mean position: 4 (1.0, ranked once = 1/6 of rankings, kept), 2 (1.0, ranked twice:
    # more rankings first), 3 (2.0), 1 (2.6).
    survey = survey_of([ranks(1, 3, None), ranks(2, 3, 1), ranks(2, 3, 1), ranks(4, None, 1),
                        ranks(None, None, 1), {"barrier_rank_3": 9, "role": 1}])
    table = stats.ranking_table(survey, "barrier")
    assert table["code"].tolist()[:4] == [1, 2, 3, 4]
    found = alternative_scorings(survey, "barrier", top_k=3)
    assert found == {"top_k": 3, "borda": [1, 2, 3], "first_places": [2, 1, 4],
                     "mean_position": [2, 4, 3], "excluded_from_mean_position": [5, 6, 7, 8]}


def test_mean_position_excludes_items_ranked_by_fewer_than_a_tenth(survey_of):
    rows = [ranks(1, 2, None) for _ in range(10)] + [ranks(3, None, None)]
    found = alternative_scorings(survey_of(rows), "barrier", top_k=2)
    assert found["mean_position"] == [1, 2]                # 3 ranked by 1 of 11 < 10%: out
    assert 3 in found["excluded_from_mean_position"]
    assert found["first_places"] == [1, 3]


def test_stability_plot_draws_labels_literally():
    stability = {"resamples": 2000, "seed": 7, "top_k": 1, "items": [
        {"code": 1, "label": "$500 and $1,000", "p_first": 0.75, "p_top": 0.75},
        {"code": 2, "label": "Cost_of care ^2", "p_first": 0.25, "p_top": 0.25}]}
    fig = figures.stability_plot(Published("ranking_stability.barrier", stability), "Barriers $x$")
    ax = fig.axes[0]
    labels = ax.get_yticklabels()
    assert [t.get_text() for t in labels] == ["$500 and $1,000", "Cost_of care ^2"]
    assert not any(t.get_parse_math() for t in labels)
    assert not ax.title.get_parse_math()
    assert sorted(t.get_text() for t in ax.texts) == ["25%", "25%", "75%", "75%"]
    fig.canvas.draw()
    figures.plt.close(fig)


def study_with(tmp_path, **settings):
    """The project's study file with some settings replaced, written to tmp_path."""
    data = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    data.update(settings)
    for key in [k for k, v in settings.items() if v is None]:
        del data[key]
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_seed_and_resamples_settings(tmp_path):
    study = load_study(STUDY)
    assert (study.seed, study.resamples) == (20250301, 2000)
    defaults = load_study(study_with(tmp_path, seed=None, resamples=None))
    assert (defaults.seed, defaults.resamples) == (DEFAULT_SEED, DEFAULT_RESAMPLES)
    assert load_study(study_with(tmp_path, seed=0, resamples=50)).seed == 0


@pytest.mark.parametrize("settings, message", [
    ({"seed": -1}, "'seed' must be a whole number of at least 0"),
    ({"seed": "abc"}, "'seed' must be a whole number of at least 0"),
    ({"seed": 1.5}, "'seed' must be a whole number of at least 0"),
    ({"resamples": 0}, "'resamples' must be a whole number of at least 1"),
    ({"resamples": True}, "'resamples' must be a whole number of at least 1")])
def test_bad_seed_or_resamples_names_file_and_key(tmp_path, settings, message):
    with pytest.raises(StudyError, match=f"study.yml: {message}"):
        load_study(study_with(tmp_path, **settings))
