"""The published claims (data/study.yml) checked against the collected results.

Each claim names a results.json entry (`result`, a dotted path for a nested one) and how it is
checked (`check`); study.check_claims refuses, before anything runs, a claim that a run could
not check. `check` compares the collected (exact) values with the published ones.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from . import measures as m
from . import privacy
from .rounding import percent_half_up

MATCH, NO_MATCH, NOT_REPRODUCIBLE = "match", "no match", "not reproducible"
WITHHELD = "withheld"   # the value rests on a hidden count: whether it matches is not shown
def lookup(results: dict, path: str) -> Any:
    """The value at a dotted path of the results; None when absent. A name missing from a map
    of counts (a country nobody gave) is a count of 0."""
    head, *rest = path.split(".")
    measure = m.BY_KEY.get(head)
    if measure and measure.kind == m.COUNTS and not measure.parts and len(rest) == 1:
        counts = results.get(head)
        return counts.get(rest[0], 0) if isinstance(counts, dict) else None
    value: Any = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def ranking_decided(ranking: list[dict], k: int) -> bool:
    """Whether the data decide the first k places: scored items, no tie left to code order."""
    if len(ranking) < k or not all(item["borda"] for item in ranking[:k]):
        return False
    keys = [(item["borda"], item["n_first"]) for item in ranking[: k + 1]]
    return all(a != b for a, b in zip(keys, keys[1:]))


def status(claim, reproduced: Any) -> str:
    """match, no match, or not reproducible (the result rests on no data or on a tie)."""
    if reproduced is None:
        return NOT_REPRODUCIBLE
    if claim.check == "percent":
        if not reproduced["N"]:
            return NOT_REPRODUCIBLE
        return MATCH if percent_half_up(
            Fraction(reproduced["n"], reproduced["N"])) == claim.published else NO_MATCH
    if claim.check == "leading":
        if not ranking_decided(reproduced, len(claim.published)):
            return NOT_REPRODUCIBLE
        leading = [item["code"] for item in reproduced[: len(claim.published)]]
        return MATCH if leading == claim.published else NO_MATCH
    if claim.check == "over":
        return MATCH if reproduced > claim.published else NO_MATCH
    return MATCH if reproduced == claim.published else NO_MATCH


def matches(claim, reproduced: Any) -> bool:
    """Whether a reproduced value matches a published claim."""
    return status(claim, reproduced) == MATCH


def published_text(claim, labels: dict[int, str]) -> str:
    """The published value as the abstract words it (`labels`: a ranking claim's items)."""
    if claim.check == "percent":
        return f"{claim.published}%"
    if claim.check == "over":
        return f"over {claim.published}"
    if claim.check == "leading":
        return "; ".join(labels[code] for code in claim.published)
    return str(claim.published)


def complete(claim, public: Any) -> bool:
    """Whether the gate let the whole claimed value be shown (nothing hidden in it)."""
    if claim.check == "percent":
        return isinstance(public, dict) and privacy.is_count(public.get("n")) and \
            privacy.is_count(public.get("N"))
    return claim.check == "leading" or public is None or privacy.is_count(public)


def reproduced_text(claim, public: Any) -> str:
    """The reproduced value as the gate lets it be shown, percentages with n/N."""
    if public is None:
        return "-"
    if claim.check == "percent":
        return "-" if public.get("N") == 0 else privacy.share_text(public)
    if claim.check == "leading":
        return "; ".join(item["label"] for item in public[: len(claim.published)])
    return str(public)


def shown_value(claim, public: Any) -> Any:
    """The reproduced value as results.json shows it."""
    if public is None:
        return None
    if claim.check == "percent":
        return public.get("pct")
    if claim.check == "leading":
        return [item["code"] for item in public[: len(claim.published)]]
    return public


def check(claims: tuple, results: dict, codebook, gate: privacy.Gate | None = None) -> list[dict]:
    """Each published claim checked against the exact results; what it shows (the reproduced
    value, and whether it matches) is what the gate lets be shown."""
    gate = gate or privacy.Gate()
    published = gate.publish_all(results)
    rows = []
    for claim in claims:
        reproduced, public = lookup(results, claim.result), lookup(published, claim.result)
        labels = (codebook.rankings[m.ranking_of(claim.result)].choices
                  if claim.check == "leading" else {})
        state = status(claim, reproduced) if complete(claim, public) else WITHHELD
        rows.append({"id": claim.id, "claim": claim.claim, "check": claim.check,
                     "result": claim.result, "published": claim.published,
                     "reproduced": shown_value(claim, public),
                     "published_text": published_text(claim, labels),
                     "reproduced_text": reproduced_text(claim, public),
                     "status": state, "matches": state == MATCH})
    return rows


def leading_places(claims: tuple, key: str, positions: int) -> int:
    """How many leading places of a ranking the study's claim on it names (else all of its
    `positions`): the places whose stability the report examines."""
    lengths = [len(c.published) for c in claims if c.check == "leading" and c.result == key]
    return lengths[0] if lengths else positions


def percent_shares(claims: tuple, published: privacy.Published) -> dict[str, privacy.Published]:
    """Each percentage claim's share ({n, N, ...}) from the published results, by its wording."""
    return {c.claim: published.at(c.result) for c in claims if c.check == "percent"
            and published.at(c.result) is not None}
