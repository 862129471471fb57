"""The CHERRIES checklist: counts from hand-built records, design items from the study file."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from jakisurvey import stats
from jakisurvey.cherries import STUDY_KEYS, cherries, complete_column, item_nonresponse
from jakisurvey.errors import StudyError
from jakisurvey.study import load_study

from helpers import STUDY

USER = {"jaki_used": 1}
RECORDS = [
    {**USER, "jaki_improvement": 3, "jaki_side_effects": 0, "society___1": 1},
    {**USER, "jaki_side_effects": 1},                         # improvement left unanswered
    {**USER},                                                 # both left unanswered
    {"jaki_used": 0, "jaki_improvement": 3},                  # hidden answer: not "shown"
    {"role": 1, "barrier_rank_2": 4},                         # a ranking with a gap counts
    {"country": "Chile"},                                     # opened, not answered
    {},                                                       # opened, not answered
]


def by_key(rows):
    """Checklist rows by key."""
    return {row["key"]: row for row in rows}


def checklist(survey, settings: dict) -> list[dict]:
    """The checklist as notebook 07 makes it: with the counts the respondents section recorded."""
    recorded = {"n_records": len(survey.data), "n_respondents": len(survey.respondents)}
    return cherries(survey, settings, recorded, item_nonresponse(survey))


def test_records_counts_come_from_the_collected_results(survey_of):
    survey = survey_of(RECORDS)
    rows = by_key(cherries(survey, {}, {"n_records": 70, "n_respondents": 50},
                           item_nonresponse(survey)))
    assert rows["records_opened"]["value"] == 70 and rows["respondents"]["value"] == 50
    assert rows["participation_rate"]["text"] == "71% (50/70)"
    missing = by_key(cherries(survey, {}, {}, item_nonresponse(survey)))  # nothing collected yet
    assert missing["respondents"]["value"] is None
    assert missing["participation_rate"]["text"].startswith("not collected yet")


def with_status(survey, statuses):
    """The survey with REDCap's survey status column, as an export carries it."""
    survey.data[complete_column(survey.codebook)] = pd.array(statuses, dtype="Int64")
    return survey


def test_counts_and_rates_from_the_records(survey_of):
    survey = with_status(survey_of(RECORDS), [2, 2, 0, 1, 2, 2, None])
    rows = by_key(checklist(survey, {}))
    assert rows["records_opened"]["value"] == 7
    assert rows["respondents"]["value"] == 5
    assert rows["participation_rate"]["value"] == stats.Proportion(5, 7).as_dict()
    assert rows["participation_rate"]["text"] == "71% (5/7)"
    assert rows["complete"]["value"] == 3           # complete among respondents only
    assert rows["completion_rate"]["value"] == stats.Proportion(3, 5).as_dict()
    assert {rows[k]["source"] for k in ("records_opened", "respondents", "participation_rate",
                                        "complete", "completion_rate")} == {"records"}


def test_without_the_status_column_completion_is_not_reported(survey_of):
    rows = by_key(checklist(survey_of(RECORDS), {}))
    assert complete_column(survey_of(RECORDS).codebook) == "jaki_survey_complete"
    assert rows["complete"]["value"] is None and rows["complete"]["source"] == "not reported"
    assert "jaki_survey_complete" in rows["completion_rate"]["text"]


def test_item_nonresponse_counts_respondents_shown_the_question(survey_of):
    table = item_nonresponse(survey_of(RECORDS)).set_index("question")
    assert table.loc["jaki_used", ["n", "N"]].tolist() == [1, 5]
    assert table.loc["jaki_improvement", ["n", "N"]].tolist() == [2, 3]   # users only
    assert table.loc["jaki_side_effects", ["n", "N"]].tolist() == [1, 3]
    assert table.loc["jaki_side_effect_types", ["n", "N"]].tolist() == [1, 1]
    assert table.loc["society", ["n", "N"]].tolist() == [4, 5]
    assert table.loc["barrier", ["n", "N"]].tolist() == [4, 5]            # one question
    assert table.loc["barrier", "label"] == "Rank the three most important barriers to JAKi use"
    assert "barrier_rank_2" not in table.index and "record_id" not in table.index
    assert table.loc["country", ["n", "N"]].tolist() == [5, 5]


def test_item_nonresponse_row_is_json(survey_of):
    rows = by_key(checklist(survey_of(RECORDS), {}))
    value = {q["question"]: (q["n"], q["N"]) for q in rows["item_nonresponse"]["value"]}
    assert value["jaki_improvement"] == (2, 3)
    # from jaki_used (1 of 5 unanswered) to country (5 of 5)
    assert rows["item_nonresponse"]["text"].startswith("20% to 100% per question")
    json.dumps(rows, allow_nan=False)


def test_design_items_come_from_the_study_file_or_are_not_reported(survey_of):
    rows = checklist(survey_of(RECORDS), {"ethics_approval": "Approved by board X."})
    found = by_key(rows)
    assert found["ethics_approval"]["text"] == "Approved by board X."
    assert found["ethics_approval"]["source"] == "study.yml"
    assert found["incentives"] == {**found["incentives"], "value": None, "text": "not reported",
                                   "source": "not reported"}
    assert set(STUDY_KEYS) <= set(found)
    assert found["adaptive_questioning"]["value"] == 5 and \
        found["adaptive_questioning"]["source"] == "data dictionary"
    sections = [row["section"] for row in rows]
    assert sections[0] == "Design" and sections[-1] == "Analysis"
    assert sections == sorted(sections, key=sections.index)   # each section in one block
    assert all(set(row) == {"key", "section", "item", "value", "text", "source"} for row in rows)


def test_project_study_file_reports_only_what_the_abstract_states():
    assert set(load_study(STUDY).cherries) == {"design", "recruitment"}


def study_with(tmp_path, cherries_setting):
    """The project's study file with another cherries mapping."""
    data = yaml.safe_load(STUDY.read_text(encoding="utf-8"))
    data["cherries"] = cherries_setting
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("setting, message", [
    ({"ethics": "yes"}, r"'cherries\.ethics' is not a checklist item; did you mean 'ethics_approval'"),
    ({"incentives": ""}, r"'cherries\.incentives' must be a non-empty text"),
    ({"incentives": 5}, r"'cherries\.incentives' must be a non-empty text"),
    (["incentives"], r"'cherries' must be 'item: text' lines")])
def test_bad_cherries_setting_names_file_and_key(tmp_path, setting, message):
    with pytest.raises(StudyError, match=r"study\.yml: " + message):
        load_study(study_with(tmp_path, setting))


def test_empty_cherries_setting_reports_nothing(tmp_path):
    assert load_study(study_with(tmp_path, None)).cherries == {}
