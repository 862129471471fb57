"""results.json: the report's aggregates and the check of each published claim."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

from . import stats
from .load import Problem
from .errors import StudyError
from .study import Claim, Study
from .survey import Survey

RANKINGS = {"barrier": "barrier_ranking", "indication": "indication_ranking"}
CHECKBOXES = ("jaki_consider", "concomitant")


def ranking_entries(survey: Survey, name: str) -> list[dict]:
    """A ranking as a list of plain dicts, best first."""
    table = stats.ranking_table(survey, name)
    return [{key: (None if value != value else value) for key, value in row.items()}
            for row in table.astype(object).to_dict("records")]


def checkbox_entries(survey: Survey, name: str) -> dict[str, dict]:
    """Ticks per choice as {label: {n, N, pct}}, in dictionary order."""
    table = stats.checkbox_table(survey, name).set_index("label")
    return {label: stats.Proportion(int(table.at[label, "n"]), int(table.at[label, "N"])).as_dict()
            for label in survey.codebook.labels(name).values()}


def data_quality(problems: list[Problem]) -> list[dict]:
    """Warnings counted by field and problem (no record ids, no values)."""
    counts = Counter((p.field, p.rule) for p in problems if p.severity == "warning")
    return [{"field": field, "problem": rule, "n": n} for (field, rule), n in sorted(counts.items())]


def aggregates(survey: Survey, study: Study) -> dict[str, Any]:
    """Every aggregate of the results.json contract, computed from the records."""
    response = stats.response_rate(survey, study.n_invited)
    usa = stats.country_share(survey, "country_iso3", stats.USA)
    europe = stats.country_share(survey, "country_region", stats.EUROPE)
    lower, upper = stats.patients_bounds(survey)
    return {
        "n_records": len(survey.data),
        "n_respondents": len(survey.respondents),
        "n_invited": study.n_invited,
        "response_rate": response.pct, "response": response.as_dict(),
        "n_usa": usa.n, "pct_usa": usa.pct, "usa": usa.as_dict(),
        "n_europe": europe.n, "pct_europe": europe.pct, "europe": europe.as_dict(),
        "country_counts": {k: int(v) for k, v in stats.country_counts(survey).items()},
        "region_counts": {k: int(v) for k, v in stats.region_counts(survey).items()},
        "n_jaki_users": len(stats.jaki_users(survey)),
        "patients_lower_bound": lower,
        "patients_upper_bound": upper,
        "improvement": stats.coded_share(survey, "jaki_improvement", {3, 4}).as_dict(),
        "side_effects": stats.coded_share(survey, "jaki_side_effects", {1}).as_dict(),
        **{key: ranking_entries(survey, name) for name, key in RANKINGS.items()},
        "n_valid_rankings": {name: stats.n_valid_rankings(survey, name) for name in RANKINGS},
        **{name: checkbox_entries(survey, name) for name in CHECKBOXES},
        "data_quality": data_quality(survey.problems),
    }


def lookup(results: dict, claim: Claim) -> Any:
    """Follow a claim's dotted result path (e.g. 'improvement') into the results."""
    value: Any = results
    for key in claim.result.split("."):
        if not isinstance(value, dict) or key not in value:
            raise StudyError(f"claim '{claim.id}': result '{claim.result}' is not in results.json")
        value = value[key]
    return value


def matches(claim: Claim, reproduced: Any) -> bool:
    """Whether a reproduced value matches a published claim."""
    if claim.check == "equals":
        return reproduced == claim.published
    if claim.check == "percent":
        return bool(reproduced["N"]) and stats.percent_half_up(
            Fraction(reproduced["n"], reproduced["N"])) == claim.published
    if claim.check == "over":
        return reproduced > claim.published
    return [item["code"] for item in reproduced[: len(claim.published)]] == claim.published


def published_text(claim: Claim, survey: Survey) -> str:
    """The published value as the abstract words it."""
    if claim.check == "percent":
        return f"{claim.published}%"
    if claim.check == "over":
        return f"over {claim.published}"
    if claim.check == "leading":
        labels = ranking_labels(claim, survey)
        return "; ".join(labels.get(code, f"code {code}") for code in claim.published)
    return str(claim.published)


def reproduced_text(claim: Claim, reproduced: Any) -> str:
    """The reproduced value, percentages with n/N."""
    if claim.check == "percent":
        return str(stats.Proportion(reproduced["n"], reproduced["N"]))
    if claim.check == "leading":
        return "; ".join(item["label"] for item in reproduced[: len(claim.published)])
    return str(reproduced)


def ranking_labels(claim: Claim, survey: Survey) -> dict[int, str]:
    """Labels of the ranking a 'leading' claim checks."""
    name = claim.result.removesuffix("_ranking")
    if name not in survey.codebook.rankings:
        raise StudyError(f"claim '{claim.id}': '{claim.result}' is not a ranking")
    return survey.codebook.rankings[name].choices


def claim_entry(claim: Claim, results: dict, survey: Survey) -> dict:
    """One row of the reproduction table: published, reproduced, matches."""
    reproduced = lookup(results, claim)
    value = reproduced
    if claim.check == "percent":
        value = reproduced["pct"]
    elif claim.check == "leading":
        value = [item["code"] for item in reproduced[: len(claim.published)]]
    return {"id": claim.id, "claim": claim.claim, "check": claim.check,
            "published": claim.published, "reproduced": value,
            "published_text": published_text(claim, survey),
            "reproduced_text": reproduced_text(claim, reproduced),
            "matches": matches(claim, reproduced)}


def compute_results(survey: Survey, study: Study, inputs: dict[str, str]) -> dict[str, Any]:
    """The full results.json content."""
    results = aggregates(survey, study)
    results["claims"] = [claim_entry(c, results, survey) for c in study.claims]
    results["inputs"] = inputs
    return results
