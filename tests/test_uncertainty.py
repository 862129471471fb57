"""Wilson intervals on every proportion, the response-rate range and their study settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from statsmodels.stats.proportion import proportion_confint

from jakisurvey import stats
from jakisurvey.errors import StudyError
from jakisurvey.study import load_study

from helpers import STUDY


@pytest.mark.parametrize("n, N", [(0, 1), (0, 10), (1, 8), (114, 148), (25, 148), (229, 1272),
                                  (10, 10), (1, 1), (57, 100_000)])
def test_wilson_equals_statsmodels(n, N):
    low, high = stats.wilson(n, N)
    expected = proportion_confint(n, N, alpha=0.05, method="wilson")
    assert (low, high) == pytest.approx(expected, abs=1e-12, rel=0)
    assert type(low) is float and type(high) is float
    assert stats.wilson(n, N, alpha=0.1) == pytest.approx(
        proportion_confint(n, N, alpha=0.1, method="wilson"), abs=1e-12, rel=0)


def test_wilson_without_a_denominator_or_with_an_impossible_share():
    assert stats.wilson(0, 0) == (None, None)
    assert stats.wilson(300, 229) == (None, None)     # more respondents than invited


def test_proportion_dict_carries_the_interval_and_str_is_unchanged():
    share = stats.Proportion(114, 148)
    low, high = proportion_confint(114, 148, method="wilson")
    assert share.as_dict() == pytest.approx({"n": 114, "N": 148, "pct": 114 / 148,
                                             "ci_low": low, "ci_high": high}, abs=1e-12)
    assert list(share.as_dict()) == ["n", "N", "pct", "ci_low", "ci_high"]
    assert str(share) == "77% (114/148)"
    assert share.interval_text() == "95% CI 70–83%"
    empty = stats.Proportion(0, 0)
    assert empty.as_dict() == {"n": 0, "N": 0, "pct": None, "ci_low": None, "ci_high": None}
    assert empty.interval_text() == "-" and str(empty) == "- (0/0)"


def test_interval_text_rounds_half_up_and_reaches_the_ends():
    assert stats.Proportion(0, 10).interval_text() == "95% CI 0–28%"     # 0-27.75%
    assert stats.Proportion(10, 10).interval_text() == "95% CI 72–100%"  # 72.25-100%
    assert stats.percent_of(0.125) == 13 and stats.percent_of(0.1249) == 12


def test_response_rate_range_gives_both_ends():
    rates = stats.response_rate_range(229, 1000, 1272)
    assert list(rates) == ["low", "high"]
    assert rates["low"] == stats.Proportion(229, 1000).as_dict()
    assert rates["high"]["N"] == 1272 and rates["high"]["pct"] == 229 / 1272
    assert rates["high"]["ci_low"] == pytest.approx(
        proportion_confint(229, 1272, method="wilson")[0], abs=1e-12)
    json.dumps(rates, allow_nan=False)


def test_json_ready_unwraps_numpy_and_nan():
    value = stats.json_ready({"a": np.int64(3), "b": [np.float64("nan"), np.float64(0.5)],
                              1: (np.bool_(True),)})
    assert value == {"a": 3, "b": [None, 0.5], "1": [True]}
    assert type(value["a"]) is int and type(value["1"][0]) is bool


def study_with(tmp_path, **settings):
    """The project's study file with some settings replaced, written to tmp_path."""
    data = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    data.update(settings)
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_invitation_range_is_read(tmp_path):
    assert load_study(STUDY).n_invited_range is None
    assert load_study(study_with(tmp_path, n_invited_range=[1000, 1272])).n_invited_range == (
        1000, 1272)
    assert load_study(study_with(tmp_path, n_invited_range=[900, 900])).n_invited_range == (
        900, 900)


@pytest.mark.parametrize("value", [[1272, 1000], [0, 10], [1000], 1000, [1000, "1272"],
                                   [1000.5, 1272], [True, 5]])
def test_bad_invitation_range_names_file_and_key(tmp_path, value):
    path = study_with(tmp_path, n_invited_range=value)
    with pytest.raises(StudyError, match=r"study\.yml: 'n_invited_range' must be \[low, high\]"):
        load_study(path)


def test_share_tables_carry_the_interval(survey_of):
    survey = survey_of([{"jaki_consider___1": 1, "jaki_consider___2": 1},
                        {"jaki_consider___1": 1}, {"jaki_consider___3": 1}])
    table = stats.checkbox_table(survey, "jaki_consider").set_index("label")
    assert table.loc["Tofacitinib", ["n", "N", "text"]].tolist() == [2, 3, "67% (2/3)"]
    assert table.loc["Tofacitinib", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        proportion_confint(2, 3, method="wilson"), abs=1e-12)
    assert table.loc["Upadacitinib", "ci_low"] == 0.0
