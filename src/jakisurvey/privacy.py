"""Small-cell suppression of everything published: counts of people below min_cell become '<k'.

The report, results.json and changes.json are for sharing; with `min_cell` above 1 none of
them shows a count of people between 1 and min_cell - 1, nor a share, interval, score or
mean built from such a count. The exact values stay in `private/results.json`, and the
claim checks use them.
"""

from __future__ import annotations

import re
from typing import Any

from . import measures

# Keys whose whole-number values count people (or records) in results.json: the declared counts
# (measures.py), and the counts inside shares, rankings and subgroups.
COUNTS = {"n", "n_first", "n_ranked", "n_not_grouped"} | measures.keys_of_kind(measures.COUNT)
COUNT_MAPS = measures.keys_of_kind(measures.COUNTS)
POSITION = re.compile(r"^position_\d+$")
DERIVED = ("pct", "ci_low", "ci_high")


def hidden(n: Any, min_cell: int) -> bool:
    """Whether a count is too small to publish (zero is shown)."""
    return isinstance(n, int) and not isinstance(n, bool) and 0 < n < min_cell


def mark(min_cell: int) -> str:
    """What a suppressed count shows."""
    return f"<{min_cell}"


def proportion(value: dict, min_cell: int) -> dict:
    """{n, N, pct, ...}: n and everything derived from it hidden when n is small."""
    if not hidden(value.get("n"), min_cell):
        return value
    return {**value, "n": mark(min_cell), **{k: None for k in DERIVED if k in value}}


def ranking_item(value: dict, min_cell: int) -> dict:
    """A ranked item: its counts hidden one by one, its score and mean when few ranked it."""
    item = {k: mark(min_cell) if (k in COUNTS or POSITION.match(k)) and hidden(v, min_cell) else v
            for k, v in value.items()}
    if hidden(value.get("n_ranked"), min_cell):
        item.update({k: None for k in ("borda", "mean_position") if k in item})
    return item


def checklist_item(item: dict, min_cell: int) -> dict:
    """A CHERRIES row counted from the records: its value and its text hidden when small."""
    value = item.get("value")
    if item.get("source") != "records":
        return item
    if hidden(value, min_cell):
        return {**item, "value": mark(min_cell), "text": mark(min_cell)}
    if isinstance(value, dict) and hidden(value.get("n"), min_cell):
        return {**item, "value": proportion(value, min_cell),
                "text": f"{mark(min_cell)} (of {value['N']})"}
    return {**item, "value": suppressed(value, min_cell)}


def suppressed(value: Any, min_cell: int, key: str = "") -> Any:
    """A results structure with every small count of people hidden."""
    if min_cell <= 1:
        return value
    if isinstance(value, dict):
        if {"n", "N"} <= set(value):
            return proportion(value, min_cell)
        if "borda" in value and "n_ranked" in value:
            return ranking_item(value, min_cell)
        if key in COUNT_MAPS:
            return {k: mark(min_cell) if hidden(v, min_cell) else v for k, v in value.items()}
        return {k: suppressed(v, min_cell, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "cherries":
            return [checklist_item(v, min_cell) for v in value]
        return [suppressed(v, min_cell, key) for v in value]
    if key in COUNTS and hidden(value, min_cell):
        return mark(min_cell)
    return value


def public_results(results: dict, min_cell: int) -> dict:
    """results.json as published: counts hidden, the patients' bounds hidden with few users."""
    public = suppressed(results, min_cell)
    if hidden(results.get("n_jaki_users"), min_cell):
        public.update(patients_lower_bound=None, patients_upper_bound=None)
    return public
