"""The CHERRIES checklist for web surveys (Eysenbach 2004, J Med Internet Res 6(3):e34).

Counts and rates come from the records (and the branching from the data dictionary); the
design items come from the `cherries:` mapping of the study file, "not reported" when absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .codebook import Codebook
from .stats import Proportion, json_ready, percent_of
from .survey import Survey, answered, shown

NOT_REPORTED = "not reported"
RECORDS, DICTIONARY, STUDY_FILE = "records", "data dictionary", "study.yml"
COMPLETE = 2  # REDCap's <form>_complete: 0 incomplete, 1 unverified, 2 complete


@dataclass(frozen=True)
class Item:
    """One checklist item: its key in the study file (or in the records part), section, wording."""

    key: str
    section: str
    item: str


DESIGN = "Design"
ETHICS = "IRB approval and informed consent process"
PRETEST = "Development and pre-testing"
RECRUITMENT = "Recruitment process and description of the sample having access to the questionnaire"
ADMINISTRATION = "Survey administration"
RESPONSE = "Response rates"
MULTIPLE = "Preventing multiple entries from the same individual"
ANALYSIS = "Analysis"

# Items the study file reports, in checklist order; each is a `cherries:` key in study.yml.
STUDY_ITEMS = (
    Item("design", DESIGN, "Survey design and target population"),
    Item("ethics_approval", ETHICS, "Ethics (IRB) approval"),
    Item("informed_consent", ETHICS, "Informed consent: what respondents were told"),
    Item("data_protection", ETHICS, "Data protection"),
    Item("development_testing", PRETEST, "Usability and technical testing before fielding"),
    Item("open_or_closed", RECRUITMENT, "Open or closed survey"),
    Item("recruitment", RECRUITMENT, "Recruitment and contact mode"),
    Item("advertising", RECRUITMENT, "How the survey was announced"),
    Item("administration", ADMINISTRATION, "Web or e-mail survey, and the platform"),
    Item("voluntary", ADMINISTRATION, "Participation voluntary or mandatory"),
    Item("incentives", ADMINISTRATION, "Incentives"),
    Item("survey_dates", ADMINISTRATION, "Dates of data collection"),
    Item("randomisation", ADMINISTRATION, "Randomisation of items or questionnaires"),
    Item("items_per_page", ADMINISTRATION, "Items per page and number of screens"),
    Item("completeness_check", ADMINISTRATION, "Completeness check before submission"),
    Item("review_step", ADMINISTRATION, "Whether respondents could review and change answers"),
    Item("unique_visitors", RESPONSE, "How unique visitors were determined"),
    Item("duplicates", MULTIPLE, "How duplicate entries were prevented (cookies, IP check, "
                                 "log files, registration)"),
    Item("incomplete_questionnaires", ANALYSIS, "Handling of incomplete questionnaires"),
    Item("atypical_timestamps", ANALYSIS, "Questionnaires submitted with an atypical timestamp"),
    Item("statistical_correction", ANALYSIS, "Weighting or other statistical correction"),
)
STUDY_KEYS = tuple(item.key for item in STUDY_ITEMS)


def complete_column(codebook: Codebook) -> str:
    """REDCap's survey status column of the instrument's form (one of codebook.system_columns)."""
    return f"{codebook.form}_complete"


def questions(codebook: Codebook) -> list[tuple[str, str, list[str]]]:
    """(question, label, fields) per question; a ranking is one (its first label minus ': 1st')."""
    firsts = {r.fields[0]: r for r in codebook.rankings.values()}
    later = {f for r in codebook.rankings.values() for f in r.fields[1:]}
    found = []
    for field in codebook.fields.values():
        if field.name == codebook.record_id or field.name in later:
            continue
        ranking = firsts.get(field.name)
        if ranking:
            found.append((ranking.name, field.label.rsplit(":", 1)[0], list(ranking.fields)))
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


def share_entry(key: str, section: str, item: str, p: Proportion) -> dict:
    """A checklist row holding a rate."""
    return entry(key, section, item, p.as_dict(), str(p), RECORDS)


def records_items(survey: Survey) -> list[dict]:
    """Response and completion counts, branching and item non-response, from the records."""
    data, people, book = survey.data, survey.respondents, survey.codebook
    n_records, n_people = len(data), len(people)
    asked = questions(book)
    branched = sum(bool(book[fields[0]].show_when) for _, _, fields in asked)
    rows = [entry("adaptive_questioning", ADMINISTRATION, "Adaptive questioning (branching)",
                  branched, f"{branched} of {len(asked)} questions shown only by branching",
                  DICTIONARY),
            entry("records_opened", RESPONSE, "Records opened (all records in the export)",
                  n_records, str(n_records), RECORDS),
            entry("respondents", RESPONSE, "Respondents (at least one question answered)",
                  n_people, str(n_people), RECORDS),
            share_entry("participation_rate", RESPONSE,
                        "Participation rate (respondents / records opened)",
                        Proportion(n_people, n_records))]
    status = complete_column(book)
    if status in data:
        complete = int(pd.to_numeric(people[status], errors="coerce").eq(COMPLETE).sum())
        rows += [entry("complete", RESPONSE, "Complete questionnaires (marked complete)",
                       complete, str(complete), RECORDS),
                 share_entry("completion_rate", RESPONSE,
                             "Completion rate (complete / respondents)",
                             Proportion(complete, n_people))]
    else:
        missing = f"not reported ({status} is not in the records)"
        rows += [entry("complete", RESPONSE, "Complete questionnaires (marked complete)", None,
                       missing, NOT_REPORTED),
                 entry("completion_rate", RESPONSE, "Completion rate (complete / respondents)",
                       None, missing, NOT_REPORTED)]
    rows.append(nonresponse_entry(item_nonresponse(survey)))
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


def cherries(survey: Survey, settings: dict[str, str]) -> list[dict]:
    """The CHERRIES checklist in checklist order: {key, section, item, value, text, source}."""
    rows = study_items(settings) + records_items(survey)
    return json_ready(sorted(rows, key=lambda row: ORDER.index(row["key"])))
