"""The CHERRIES checklist for web surveys (Eysenbach 2004, J Med Internet Res 6(3):e34).

Counts and rates come from the records (and the branching from the data dictionary); the
design items come from the `cherries:` mapping of the study file, "not reported" when absent.
"""

from __future__ import annotations

import pandas as pd

from .checklist import (ADMINISTRATION, RESPONSE, STUDY_ITEMS,  # noqa: F401 (re-exported)
                        STUDY_KEYS)
from .codebook import Codebook
from .stats import Proportion, json_ready, percent_of
from .survey import Survey, answered, shown

NOT_REPORTED = "not reported"
NOT_COLLECTED = "not collected yet (`jakisurvey run` collects the section notebooks' results)"
RECORDS, DICTIONARY, STUDY_FILE = "records", "data dictionary", "study.yml"
COMPLETE = 2  # REDCap's <form>_complete: 0 incomplete, 1 unverified, 2 complete




def complete_column(codebook: Codebook) -> str:
    """REDCap's survey status column of the instrument's form (one of codebook.system_columns)."""
    return f"{codebook.form}_complete"


def questions(codebook: Codebook) -> list[tuple[str, str, list[str]]]:
    """(question, label, fields) per question of the instrument; a ranking is one question (its
    label: the first position's label minus ': 1st', or a ranking matrix's header)."""
    firsts = {r.members[0]: r for r in codebook.rankings.values()}
    later = {f for r in codebook.rankings.values() for f in r.members[1:]}
    found = []
    for field in codebook.instrument_fields():
        if field.name == codebook.record_id or field.name in later:
            continue
        ranking = firsts.get(field.name)
        if ranking:
            found.append((ranking.name, ranking.label, list(ranking.members)))
        else:
            found.append((field.name, field.label, [field.name]))
    return found


def item_nonresponse(survey: Survey) -> pd.DataFrame:
    """Per question: respondents shown it (N), those who left it unanswered (n) and the share."""
    people, book = survey.respondents, survey.codebook
    rows = []
    for question, label, fields in questions(book):
        seen = shown(people, book, fields[0])
        given = pd.concat([answered(people, book, f) for f in fields], axis=1).any(axis=1)
        p = Proportion(int((seen & ~given).sum()), int(seen.sum()))
        rows.append({"question": question, "label": label, **p.as_dict(), "text": str(p)})
    return pd.DataFrame(rows)


def entry(key: str, section: str, item: str, value, text: str, source: str) -> dict:
    """One checklist row."""
    return {"key": key, "section": section, "item": item, "value": value, "text": text,
            "source": source}


def share_entry(key: str, section: str, item: str, p: Proportion | None) -> dict:
    """A checklist row holding a rate (None: its counts were not collected)."""
    if p is None:
        return entry(key, section, item, None, NOT_COLLECTED, NOT_REPORTED)
    return entry(key, section, item, p.as_dict(), str(p), RECORDS)


def count_entry(key: str, item: str, n: int | None) -> dict:
    """A checklist row holding a collected count of the response section."""
    if n is None:
        return entry(key, RESPONSE, item, None, NOT_COLLECTED, NOT_REPORTED)
    return entry(key, RESPONSE, item, n, str(n), RECORDS)


def records_items(survey: Survey, collected: dict, nonresponse: pd.DataFrame) -> list[dict]:
    """Response and completion counts, branching and item non-response, from the records.

    The numbers of records and respondents are those the respondents section recorded
    (`collected`: the run's collected results); item non-response is `item_nonresponse`'s table.
    """
    data, people, book = survey.data, survey.respondents, survey.codebook
    n_records, n_people = collected.get("n_records"), collected.get("n_respondents")
    asked = questions(book)
    branched = sum(book[fields[0]].show_when is not None for _, _, fields in asked)
    rows = [entry("adaptive_questioning", ADMINISTRATION, "Adaptive questioning (branching)",
                  branched, f"{branched} of {len(asked)} questions shown only by branching",
                  DICTIONARY),
            count_entry("records_opened", "Records opened (all records in the export)",
                        n_records),
            count_entry("respondents", "Respondents (at least one question answered)", n_people),
            share_entry("participation_rate", RESPONSE,
                        "Participation rate (respondents / records opened)",
                        None if n_people is None else Proportion(n_people, n_records))]
    status = complete_column(book)
    if status in data:
        complete = int(pd.to_numeric(people[status], errors="coerce").eq(COMPLETE).sum())
        rows += [entry("complete", RESPONSE, "Complete questionnaires (marked complete)",
                       complete, str(complete), RECORDS),
                 share_entry("completion_rate", RESPONSE,
                             "Completion rate (complete / respondents)",
                             None if n_people is None else Proportion(complete, n_people))]
    else:
        missing = f"not reported ({status} is not in the records)"
        rows += [entry("complete", RESPONSE, "Complete questionnaires (marked complete)", None,
                       missing, NOT_REPORTED),
                 entry("completion_rate", RESPONSE, "Completion rate (complete / respondents)",
                       None, missing, NOT_REPORTED)]
    rows.append(nonresponse_entry(nonresponse))
    return rows


def nonresponse_entry(table: pd.DataFrame) -> dict:
    """The item non-response row: one {question, n, N, pct, ...} per question, range as text."""
    value = [{k: v for k, v in row.items() if k not in {"label", "text"}}
             for row in table.to_dict("records")]
    asked = table[table["N"] > 0]
    text = "no question was shown to any respondent" if asked.empty else (
        f"{percent_of(asked['pct'].min())}% to {percent_of(asked['pct'].max())}% per question "
        "(unanswered among respondents shown the question)")
    return entry("item_nonresponse", RESPONSE, "Item non-response", value, text, RECORDS)


def study_items(settings: dict[str, str]) -> list[dict]:
    """Design items from the study file's `cherries:` mapping, 'not reported' when absent."""
    return [entry(i.key, i.section, i.item, settings.get(i.key), settings.get(i.key, NOT_REPORTED),
                  STUDY_FILE if i.key in settings else NOT_REPORTED) for i in STUDY_ITEMS]


# Checklist order (Eysenbach 2004, Table 1), study-file and records items together.
ORDER = (*STUDY_KEYS[:STUDY_KEYS.index("randomisation") + 1], "adaptive_questioning",
         *STUDY_KEYS[STUDY_KEYS.index("randomisation") + 1:STUDY_KEYS.index("unique_visitors") + 1],
         "records_opened", "respondents", "participation_rate", "complete", "completion_rate",
         "item_nonresponse", *STUDY_KEYS[STUDY_KEYS.index("unique_visitors") + 1:])


def cherries(survey: Survey, settings: dict[str, str], collected: dict,
             nonresponse: pd.DataFrame) -> list[dict]:
    """The CHERRIES checklist in checklist order: {key, section, item, value, text, source}."""
    rows = study_items(settings) + records_items(survey, collected, nonresponse)
    return json_ready(sorted(rows, key=lambda row: ORDER.index(row["key"])))
