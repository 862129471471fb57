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


def reproduced_text(claim, reproduced: Any, min_cell: int) -> str:
    """The reproduced value, percentages with n/N, small counts suppressed."""
    if reproduced is None:
        return "-"
    if claim.check == "percent":
        n, N = reproduced["n"], reproduced["N"]
        if not N:
            return "-"
        if privacy.hidden(n, min_cell):
            return f"{privacy.mark(min_cell)} (of {N})"
        return f"{percent_half_up(Fraction(n, N))}% ({n}/{N})"
    if claim.check == "leading":
        return "; ".join(item["label"] for item in reproduced[: len(claim.published)])
    return privacy.mark(min_cell) if privacy.hidden(reproduced, min_cell) else str(reproduced)


def shown_value(claim, reproduced: Any, min_cell: int) -> Any:
    """The reproduced value as results.json shows it (suppressed when small)."""
    if reproduced is None:
        return None
    if claim.check == "percent":
        return None if privacy.hidden(reproduced["n"], min_cell) else reproduced.get("pct")
    if claim.check == "leading":
        return [item["code"] for item in reproduced[: len(claim.published)]]
    return privacy.mark(min_cell) if privacy.hidden(reproduced, min_cell) else reproduced


def check(claims: tuple, results: dict, codebook, min_cell: int = 1) -> list[dict]:
    """Each published claim checked against the exact results (texts suppressed by min_cell)."""
    rows = []
    for claim in claims:
        reproduced = lookup(results, claim.result)
        labels = (codebook.rankings[m.ranking_of(claim.result)].choices
                  if claim.check == "leading" else {})
        state = status(claim, reproduced)
        rows.append({"id": claim.id, "claim": claim.claim, "check": claim.check,
                     "result": claim.result, "published": claim.published,
                     "reproduced": shown_value(claim, reproduced, min_cell),
                     "published_text": published_text(claim, labels),
                     "reproduced_text": reproduced_text(claim, reproduced, min_cell),
                     "status": state, "matches": state == MATCH})
    return rows


def leading_places(claims: tuple, key: str, positions: int) -> int:
    """How many leading places of a ranking the study's claim on it names (else all of its
    `positions`): the places whose stability the report examines."""
    lengths = [len(c.published) for c in claims if c.check == "leading" and c.result == key]
    return lengths[0] if lengths else positions


def percent_shares(claims: tuple, results: dict) -> dict[str, dict]:
    """Each percentage claim's share ({n, N, ...}) from the results, by the claim's wording."""
    return {c.claim: lookup(results, c.result) for c in claims if c.check == "percent"
            and lookup(results, c.result) is not None}
