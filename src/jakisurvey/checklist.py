"""The CHERRIES checklist's items (Eysenbach 2004, J Med Internet Res 6(3):e34), declared once.

The study file's `cherries:` mapping reports the design items (study.py reads and checks it);
cherries.py adds the items the records show, and puts all of them in checklist order.
"""

from __future__ import annotations

from dataclasses import dataclass


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
