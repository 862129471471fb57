"""The study's definitions, stated once: which field and which answer codes make each number.

Field names and labels come from the data dictionary; what this module fixes is the study's
reading of them (../shared/instrument.md, "Definitions"). results.json, the notebooks and the
subgroup analyses all use these objects, so a definition cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A yes/no reading of one coded question: an answer counts when its code is in `codes`."""

    field: str
    codes: frozenset[int]

    def __str__(self) -> str:
        return f"{self.field} in {{{', '.join(str(c) for c in sorted(self.codes))}}}"


# JAKi users: respondents who answered yes to having prescribed a systemic JAKi for JDM.
JAKI_USER = Rule("jaki_used", frozenset({1}))
# Improvement in most or all patients: "Most" or "All"; "Too early to tell" stays in N.
IMPROVED_MOST_OR_ALL = Rule("jaki_improvement", frozenset({3, 4}))
# Side effects observed, among users who answered.
SIDE_EFFECTS = Rule("jaki_side_effects", frozenset({1}))

# Patients treated are known in bands; the band ends are @BAND-LOWER/@BAND-UPPER in the dictionary.
PATIENT_BANDS = "jaki_n_patients"

# Geography: "USA" is the single country (ISO 3166-1 alpha-3), Europe the UN M49 region.
USA = "USA"
EUROPE = "Europe"

# Society membership (checkbox): the codes of the two societies that ran the survey.
SOCIETY = "society"
CARRA = 1
PRES = 2

# Questions reported as "ticked among those who ticked any" (Figure 1C and 1D).
CHECKBOXES = ("jaki_consider", "concomitant")

# Ranking questions (@RANKING=name,position in the dictionary), in report order.
RANKINGS = ("barrier", "indication")

# The instrument's questions the report describes without a measure of their own
# (../shared/instrument.md). With the fields the measures read, they are the survey's questions:
# a respondent answered one of them, and item non-response is counted over them. A project's
# other fields (consent, calculated scores, uploads, staff fields) are read and checked, but a
# record that answered only those is no respondent.
DESCRIBED = ("role", "years_practice", "jdm_patients", "comments")
