"""What a new run changed: the results.json keys whose values differ from the previous report.

Both sides are the published (suppressed) results.json, so a change never reveals more than
either report does. The inputs whose SHA-256 changed appear as the `inputs` key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def previous_results(out: Path, name: str = "results.json",
                     say: Callable[[str], None] = print) -> dict | None:
    """The results.json of the report being replaced (or its private/results.json with the
    exact values): None when there is none, or (said) when it cannot be read as results."""
    path = out / name
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        why = "not JSON: truncated or edited?" if isinstance(error, ValueError) else error.strerror
        say(f"changes: {name} of the report being replaced cannot be read ({why}); there is "
            "nothing to compare with")
        return None
    if not isinstance(data, dict):
        say(f"changes: {name} of the report being replaced holds no results (a JSON "
            f"{type(data).__name__}); there is nothing to compare with")
        return None
    return data


def changes(old: dict | None, new: dict) -> list[dict]:
    """Every top-level key whose value differs, with both values (empty without an old report)."""
    if old is None:
        return []
    keys = list(new) + [k for k in old if k not in new]
    return [{"key": k, "old": old.get(k), "new": new.get(k)} for k in keys
            if old.get(k) != new.get(k)]


def claims_of(value: object) -> list[dict]:
    """The claims of a results.json value that can be compared (a hand-edited file may hold
    anything): entries with a text id."""
    if not isinstance(value, list):
        return []
    return [c for c in value if isinstance(c, dict) and isinstance(c.get("id"), str)]


def flipped_claims(change: list[dict]) -> list[dict]:
    """Claims whose match status differs between the two reports."""
    entry = next((c for c in change if c["key"] == "claims"), None)
    if entry is None:
        return []
    before = {c["id"]: c for c in claims_of(entry["old"])}
    return [{"claim": str(c.get("claim", c["id"])), "old": before[c["id"]].get("status"),
             "new": c.get("status")} for c in claims_of(entry["new"])
            if c["id"] in before and before[c["id"]].get("status") != c.get("status")]


def summary_lines(change: list[dict]) -> list[str]:
    """A one-screen summary for the command line."""
    if not change:
        return ["changes: none since the previous report"]
    lines = [f"changes: claim '{c['claim']}': {c['old']} -> {c['new']}"
             for c in flipped_claims(change)]
    keys = [c["key"] for c in change]
    lines.append(f"changes: {len(keys)} results.json key(s) changed: {', '.join(keys[:12])}"
                 + (" ..." if len(keys) > 12 else ""))
    return lines


def shown(value: object) -> str:
    """A value in a few words: numbers and short texts as they are, structures by size."""
    if isinstance(value, dict) and {"n", "N"} <= set(value):
        return f"{value['n']}/{value['N']}"
    if isinstance(value, (dict, list)):
        return f"{len(value)} entries"
    return "-" if value is None else str(value)
