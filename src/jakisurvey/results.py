"""results.json: the report's aggregates and the check of each published claim."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

from . import definitions as d
from . import privacy, stats
from .cherries import cherries
from .errors import StudyError
from .load import Problem
from .study import Claim, Study
from .survey import Survey

MATCH, NO_MATCH, NOT_REPRODUCIBLE = "match", "no match", "not reproducible"
RANKING_KEYS = {name: f"{name}_ranking" for name in d.RANKINGS}
MAX_FIELDS_LISTED = 10  # a data-quality problem over more fields is one row naming the first few


def ranking_entries(survey: Survey, name: str) -> list[dict]:
    """A ranking as a list of plain dicts, best first."""
    table = stats.ranking_table(survey, name)
    return [{key: (None if value != value else value) for key, value in row.items()}
            for row in table.astype(object).to_dict("records")]


def checkbox_entries(survey: Survey, name: str) -> dict[str, dict]:
    """Ticks per choice as {label: {n, N, pct, ci_low, ci_high}}, in dictionary order."""
    table = stats.checkbox_table(survey, name).set_index("label")
    return {label: stats.Proportion(int(table.at[label, "n"]), int(table.at[label, "N"])).as_dict()
            for label in survey.codebook.labels(name).values()}


def data_quality(problems: list[Problem]) -> list[dict]:
    """Warnings counted by problem and field; one problem over many fields is one entry."""
    counts = Counter((p.rule, p.field) for p in problems if p.severity == "warning")
    by_rule: dict[str, list[tuple[str, int]]] = {}
    for (rule, field), n in sorted(counts.items()):
        by_rule.setdefault(rule, []).append((field, n))
    entries = []
    for rule, fields in by_rule.items():
        if len(fields) <= MAX_FIELDS_LISTED:
            entries += [{"field": field, "problem": rule, "n": n} for field, n in fields]
        else:
            names = ", ".join(field for field, _ in fields[:3])
            entries.append({"field": f"{len(fields)} fields ({names}, ...)", "problem": rule,
                            "n": sum(n for _, n in fields)})
    return sorted(entries, key=lambda e: (e["field"], e["problem"]))


def aggregates(survey: Survey, study: Study) -> dict[str, Any]:
    """Every aggregate of the results.json contract, computed from the records."""
    response = stats.response_rate(survey, study.n_invited)
    usa = stats.country_share(survey, "country_iso3", d.USA)
    europe = stats.country_share(survey, "country_region", d.EUROPE)
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
        "improvement": stats.rule_share(survey, d.IMPROVED_MOST_OR_ALL).as_dict(),
        "side_effects": stats.rule_share(survey, d.SIDE_EFFECTS).as_dict(),
        **{key: ranking_entries(survey, name) for name, key in RANKING_KEYS.items()},
        "n_valid_rankings": {name: stats.n_valid_rankings(survey, name) for name in d.RANKINGS},
        **{name: checkbox_entries(survey, name) for name in d.CHECKBOXES},
        "data_quality": data_quality(survey.problems),
    }


def ranking_depth(study: Study, name: str, survey: Survey) -> int:
    """How many leading places the study's claim on a ranking names (else all its positions)."""
    key = RANKING_KEYS[name]
    lengths = [len(c.published) for c in study.claims if c.check == "leading" and c.result == key]
    return lengths[0] if lengths else survey.codebook.rankings[name].k


def beyond(survey: Survey, study: Study) -> dict[str, Any]:
    """What a statistical reviewer asks beyond the abstract: subgroups, stability, CHERRIES."""
    from .stability import alternative_scorings, ranking_stability
    from .subgroups import subgroup_results

    depth = {name: ranking_depth(study, name, survey) for name in d.RANKINGS}
    extra = {
        "subgroups": subgroup_results(survey, study.seed),
        "ranking_stability": {name: ranking_stability(survey, name, k, study.resamples, study.seed)
                              for name, k in depth.items()},
        "alternative_scorings": {name: alternative_scorings(survey, name, k)
                                 for name, k in depth.items()},
        "cherries": cherries(survey, study.cherries),
    }
    if study.n_invited_range:
        extra["response_rate_range"] = stats.response_rate_range(len(survey.respondents),
                                                                 *study.n_invited_range)
    return extra


def lookup(results: dict, claim: Claim) -> Any:
    """Follow a claim's dotted result path (e.g. 'improvement') into the results."""
    value: Any = results
    for key in claim.result.split("."):
        if not isinstance(value, dict) or key not in value:
            raise StudyError(f"claim '{claim.id}', key 'result': '{claim.result}' is not a "
                             "results.json entry")
        value = value[key]
    return value


def is_number(value: Any) -> bool:
    """A count or amount (not true/false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_shape(claim: Claim, value: Any, survey: Survey) -> None:
    """Refuse a claim whose check cannot compare its result (e.g. 'leading' on a number)."""
    if claim.check == "percent":
        fits = isinstance(value, dict) and {"n", "N"} <= set(value)
        needs = "an {n, N} share such as 'improvement'"
    elif claim.check == "leading":
        fits = (isinstance(value, list) and claim.result.removesuffix("_ranking") in
                survey.codebook.rankings)
        needs = "a ranking such as 'barrier_ranking'"
    else:
        fits = is_number(value) or value is None
        needs = "a number such as 'n_respondents'"
    if not fits:
        raise StudyError(f"claim '{claim.id}', key 'result': a '{claim.check}' check needs "
                         f"{needs}; '{claim.result}' is not one")
    if claim.check == "leading":
        codes = ranking_labels(claim, survey)
        unknown = [c for c in claim.published if c not in codes]
        if unknown:
            raise StudyError(f"claim '{claim.id}', key 'published': {unknown} are not codes of "
                             f"the ranking '{claim.result}' (codes: {sorted(codes)})")


def ranking_decided(ranking: list[dict], k: int) -> bool:
    """Whether the data decide the first k places: scored items, no tie left to code order."""
    if len(ranking) < k or not all(item["borda"] for item in ranking[:k]):
        return False
    keys = [(item["borda"], item["n_first"]) for item in ranking[: k + 1]]
    return all(a != b for a, b in zip(keys, keys[1:]))


def status(claim: Claim, reproduced: Any) -> str:
    """match, no match, or not reproducible (the result rests on no data or on a tie)."""
    if claim.check == "percent":
        if not reproduced["N"]:
            return NOT_REPRODUCIBLE
        return MATCH if stats.percent_half_up(
            Fraction(reproduced["n"], reproduced["N"])) == claim.published else NO_MATCH
    if claim.check == "leading":
        if not ranking_decided(reproduced, len(claim.published)):
            return NOT_REPRODUCIBLE
        leading = [item["code"] for item in reproduced[: len(claim.published)]]
        return MATCH if leading == claim.published else NO_MATCH
    if reproduced is None:
        return NOT_REPRODUCIBLE
    if claim.check == "over":
        return MATCH if reproduced > claim.published else NO_MATCH
    return MATCH if reproduced == claim.published else NO_MATCH


def matches(claim: Claim, reproduced: Any) -> bool:
    """Whether a reproduced value matches a published claim."""
    return status(claim, reproduced) == MATCH


def ranking_labels(claim: Claim, survey: Survey) -> dict[int, str]:
    """Labels of the ranking a 'leading' claim checks."""
    return survey.codebook.rankings[claim.result.removesuffix("_ranking")].choices


def published_text(claim: Claim, survey: Survey) -> str:
    """The published value as the abstract words it."""
    if claim.check == "percent":
        return f"{claim.published}%"
    if claim.check == "over":
        return f"over {claim.published}"
    if claim.check == "leading":
        labels = ranking_labels(claim, survey)
        return "; ".join(labels[code] for code in claim.published)
    return str(claim.published)


def reproduced_text(claim: Claim, reproduced: Any, min_cell: int) -> str:
    """The reproduced value, percentages with n/N, small counts suppressed."""
    if claim.check == "percent":
        share = stats.Proportion(reproduced["n"], reproduced["N"])
        return "-" if not share.N else (f"<{min_cell} (of {share.N})"
                                         if privacy.hidden(share.n, min_cell) else str(share))
    if claim.check == "leading":
        return "; ".join(item["label"] for item in reproduced[: len(claim.published)])
    if reproduced is None:
        return "-"
    return privacy.mark(min_cell) if privacy.hidden(reproduced, min_cell) else str(reproduced)


def claim_entry(claim: Claim, results: dict, survey: Survey, min_cell: int = 1) -> dict:
    """One row of the reproduction table: published, reproduced, status (texts suppressed)."""
    reproduced = lookup(results, claim)
    check_shape(claim, reproduced, survey)
    value = reproduced
    if claim.check == "percent":
        value = None if privacy.hidden(reproduced["n"], min_cell) else reproduced["pct"]
    elif claim.check == "leading":
        value = [item["code"] for item in reproduced[: len(claim.published)]]
    elif privacy.hidden(reproduced, min_cell):
        value = privacy.mark(min_cell)
    state = status(claim, reproduced)
    return {"id": claim.id, "claim": claim.claim, "check": claim.check, "result": claim.result,
            "published": claim.published, "reproduced": value,
            "published_text": published_text(claim, survey),
            "reproduced_text": reproduced_text(claim, reproduced, min_cell),
            "status": state, "matches": state == MATCH}


def claims(survey: Survey, study: Study, results: dict, min_cell: int = 1) -> list[dict]:
    """Each published claim checked against the exact results (texts suppressed by min_cell)."""
    try:
        return [claim_entry(c, results, survey, min_cell) for c in study.claims]
    except StudyError as error:
        raise StudyError(f"{study.path.name}: {error}") from None


def compute_results(survey: Survey, study: Study, inputs: dict[str, str],
                    found: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full, exact results.json content (private); `published` makes the shared one.

    `found`: the `aggregates` of these very records, when the caller has them already.
    """
    results = {**(found or aggregates(survey, study)), **beyond(survey, study)}
    results["claims"] = claims(survey, study, results)
    results["inputs"] = inputs
    return results


def published(results: dict, survey: Survey, study: Study) -> dict[str, Any]:
    """results.json as shared: small counts hidden under the study's min_cell, claims re-worded."""
    public = privacy.public_results({k: v for k, v in results.items() if k != "claims"},
                                    study.min_cell)
    public["claims"] = claims(survey, study, results, study.min_cell)
    return {key: public[key] for key in results}
