"""results.json: each value recorded once, by the notebook cell that computes it, then collected.

A cell computes a measure (declared in measures.py) and calls `record(key, value)`: the value
goes into the cell's outputs under its results.json key, with the keys derived from it (for
example `n_usa` and `pct_usa` from `usa`). The pipeline collects results.json from the executed
notebooks (`collect`) and never computes a value again; a notebook that needs collected values
(the summary checks the published claims against them) reads them with `collected`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from . import measures as m
from .errors import SurveyError
from .notebook import METADATA_KEY, RESULTS_MIME, recorded
from .privacy import Gate, Published, undeclared

MAX_FIELDS_LISTED = 10  # a data-quality problem over more fields is one row naming the first few


class ResultError(SurveyError):
    """A recorded value does not fit its declaration, or a key is recorded twice or never."""


def is_count(value: Any) -> bool:
    """A whole number of at least 0 (not true/false)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def encoded(kind: str, value: Any, key: str) -> Any:
    """A computed value in its results.json form, checked against its declared kind."""
    import pandas as pd

    from .stats import Proportion, json_ready

    if kind == m.SHARE and hasattr(value, "as_dict"):
        value = value.as_dict()
    elif kind == m.SHARES and isinstance(value, dict):
        value = {k: v.as_dict() if hasattr(v, "as_dict") else v for k, v in value.items()}
    elif kind == m.SHARES and isinstance(value, pd.DataFrame):
        value = {label: Proportion(int(n), int(N)).as_dict()
                 for label, n, N in zip(value["label"], value["n"], value["N"])}
    elif kind == m.COUNTS and isinstance(value, pd.Series):
        value = {str(k): int(v) for k, v in value.items()}
    elif kind == m.RANKING and isinstance(value, pd.DataFrame):
        value = value.astype(object).to_dict("records")
    value = json_ready(value)
    if not fits(kind, value):
        raise ResultError(f"results.json key '{key}' is declared as a {kind} (measures.py); "
                          f"the value recorded is not one: {str(value)[:80]}")
    return value


def fits(kind: str, value: Any) -> bool:
    """Whether a JSON value has the shape its kind promises."""
    if kind == m.COUNT:
        return is_count(value)
    if kind in (m.SETTING, m.FRACTION):
        return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == m.BOUND:
        return value is None or is_count(value)
    if kind == m.SHARE:
        return isinstance(value, dict) and is_count(value.get("n")) and is_count(value.get("N"))
    if kind == m.SHARES:
        return isinstance(value, dict) and all(fits(m.SHARE, v) for v in value.values())
    if kind == m.COUNTS:
        return isinstance(value, dict) and all(is_count(v) for v in value.values())
    if kind == m.RANKING:
        return isinstance(value, list) and all(isinstance(v, dict) and "code" in v for v in value)
    if kind == m.TALLY:
        return isinstance(value, dict) and all(
            isinstance(row.get("n"), dict) and all(is_count(v) for v in row["n"].values())
            for row in value.get("rows", []))
    return isinstance(value, (dict, list))


def values_of(key: str, value: Any) -> dict[str, Any]:
    """What recording `value` under `key` puts into results.json: the key and its derived keys."""
    head, _, part = key.partition(".")
    if head not in m.BY_KEY:
        raise ResultError(f"'{head}' is not a measure declared in measures.py; declare it there "
                          "before recording it")
    measure = m.BY_KEY[head]
    if bool(part) != bool(measure.parts) or (part and part not in measure.parts):
        parts = ", ".join(f"'{head}.{p}'" for p in measure.parts) or f"'{head}'"
        raise ResultError(f"'{key}' cannot be recorded: measures.py declares {parts}")
    kind = m.PART_KIND.get((measure.kind, "*"), measure.kind) if part else measure.kind
    value = encoded(kind, value, key)
    if kind != m.COUNTS and (unknown := undeclared(key, value)):
        raise ResultError(f"results.json key '{key}': the whole number at '{unknown[0]}' is "
                          "neither a count of people the gate knows (n, N, n_first, ...) nor "
                          "declared to count no one (privacy.SAFE_NAMES)")
    values = {key: value}
    values.update({derived: value[part_of] for derived, part_of in measure.derived.items()})
    return values


class Recorder:
    """Records what a notebook's cells compute, and returns what may be shown of it."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def __call__(self, key: str, value: Any) -> Published:
        """Record a value under its results.json key (and the keys derived from it); return
        the published view of it, the only thing the displays show.

        The values travel in the cell's outputs, where the pipeline collects them; the cell
        shows which keys it recorded.
        """
        from IPython.display import display

        values = values_of(key, value)
        names = ", ".join(f"`{k}`" for k in values)
        display({RESULTS_MIME: values, "text/markdown": f"*Recorded in results.json: {names}.*"},
                raw=True, metadata={METADATA_KEY: {"results": list(values)}})
        return Published(key, self.gate.publish(key, values[key]), self.gate.min_cell)


def recorder(min_cell: int, disclosure: str | Path | None) -> Recorder:
    """The recorder of a notebook: what it shows passes the gate of the study's min_cell and of
    the run's disclosure plan (the `disclosure` file; none yet: small counts only)."""
    return Recorder(Gate.from_file(min_cell, disclosure))


def collect(notebooks: dict[str, list[dict]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The values recorded in executed notebooks ({stem: cells}), in declaration order, and
    where each top-level or dotted key was recorded ('<stem>#<cell id>'); a key recorded
    twice is an error."""
    flat: dict[str, Any] = {}
    producers: dict[str, str] = {}
    for stem, cells in notebooks.items():
        for cell_id, key, value in recorded(cells):
            if key in producers:
                raise ResultError(f"results.json key '{key}' is recorded twice: in "
                                  f"{producers[key]} and in {stem}#{cell_id}")
            producers[key], flat[key] = f"{stem}#{cell_id}", value
    return ordered(flat), producers


def ordered(flat: dict[str, Any]) -> dict[str, Any]:
    """Recorded values as results.json holds them: declaration order, parts nested."""
    results: dict[str, Any] = {}
    for measure in m.MEASURES:
        keys = [measure.key, *measure.derived]
        if measure.parts:
            parts = {p: flat[f"{measure.key}.{p}"] for p in measure.parts
                     if f"{measure.key}.{p}" in flat}
            if parts:
                results[measure.key] = parts
            continue
        results.update({k: flat[k] for k in keys if k in flat})
    return results


def collected(path: str | Path) -> dict[str, Any]:
    """The results the section notebooks recorded, as the run collected them into `path`
    (empty, with a note, when no run has collected them there yet)."""
    path = Path(path)
    if not path.is_file():
        print(f"No collected results in {path.name} yet: `jakisurvey run` collects them from "
              "the executed section notebooks.")
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def data_quality(problems: list) -> list[dict]:
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
