"""Disclosure control: the one gate every count of people passes before it is shown.

A notebook cell records what it computed (`results.record`), which returns what may be shown of
it: a `Published` view, the only input the display functions (tables, figures) accept, so that
no count reaches a table, a sentence, a figure or results.json without passing here. With
`min_cell` above 1 a count of people from 1 to min_cell - 1 is hidden (shown "<5"), and so are
the cells the run's disclosure plan lists: further counts hidden so that no small count can be
worked out from the others and a total (complementary suppression, shown "x"), and the scores,
bounds and test statistics from which one could be recovered (withheld). Shares and intervals
of a hidden count are hidden with it. disclosure.py makes the plan from the exact values, which
stay in `private/`.

A cell's path is its results.json key followed by the keys inside the value: map entries by
name, list entries by their `code` (rankings), `measure` (tests), `key` (checklist, tally rows)
or index (data-quality rows), e.g. `subgroups.society.measures.side_effects.Both.n`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import measures as m
from .rounding import percent_half_up

SMALL, SUPPRESSED, WITHHELD = "small", "complementary", "withheld"
IMPLIED = "implied"   # a small count that follows from published totals: shown
SUPPRESSED_MARK = "x"
COUNT_NAMES = {"n", "N", "n_not_grouped", "n_first", "n_ranked"}
POSITION = re.compile(r"^position_\d+$")
DERIVED = ("pct", "ci_low", "ci_high")
STATISTICS = ("statistic", "p", "p_holm", "p_fisher_mc", "min_expected")
NOT_WALKED = {"claims", "inputs", "alternative_scorings"}   # no counts of people inside
# Whole numbers inside results that count no one (a code, a setting, degrees of freedom; a Borda
# score is a weighted sum of counts the disclosure plan audits): every other whole number is a
# count of people, or is refused when recorded (deny by default).
SAFE_NAMES = {"code", "top_k", "resamples", "seed", "dof", "borda"}


def is_count(value: Any) -> bool:
    """A whole number (not true/false)."""
    return isinstance(value, int) and not isinstance(value, bool)


def small(n: Any, min_cell: int) -> bool:
    """Whether a count is too small to publish (zero is shown)."""
    return is_count(n) and 0 < n < min_cell


hidden = small


def mark(min_cell: int) -> str:
    """What a small count shows."""
    return f"<{min_cell}"


def item_key(item: Any, index: int) -> str:
    """How a path names an entry of a list: its code, measure or key, else its index."""
    if isinstance(item, dict):
        for name in ("code", "measure", "key", "question"):
            if name in item:
                return str(item[name])
    return str(index)


def is_counted(name: str, container: dict, in_counts: bool) -> bool:
    """Whether an entry of a structure counts people."""
    return in_counts or name in COUNT_NAMES or bool(POSITION.match(name)) or (
        name == "value" and container.get("source") == "records")


def transform(path: str, value: Any, count: Callable[[str, int], Any],
              in_counts: bool = False) -> Any:
    """A copy of a results structure with every count of people replaced by count(path, n)."""
    if isinstance(value, dict):
        out = {}
        for name, inner in value.items():
            sub = f"{path}.{name}"
            if is_count(inner) and is_counted(name, value, in_counts):
                out[name] = count(sub, inner)
            else:
                out[name] = transform(sub, inner, count, name == "n" and isinstance(inner, dict))
        return out
    if isinstance(value, list):
        return [transform(f"{path}.{item_key(v, i)}", v, count) for i, v in enumerate(value)]
    return value


def undeclared(path: str, value: Any) -> list[str]:
    """Whole numbers in a results structure that are neither counts of people the gate knows
    nor declared not to count anyone (SAFE_NAMES): the gate refuses to publish them."""
    if path.split(".")[0] in NOT_WALKED:
        return []
    found = []
    if isinstance(value, dict):
        in_counts = path.endswith(".n")
        for name, inner in value.items():
            sub = f"{path}.{name}"
            if is_count(inner):
                known = is_counted(name, value, in_counts) or name in SAFE_NAMES or (
                    name == "value" and value.get("source") not in (None, "records"))
                found += [] if known else [sub]
            else:
                found += undeclared(sub, inner)
    elif isinstance(value, list):
        found += [p for i, v in enumerate(value) for p in undeclared(f"{path}.{i}", v)]
    return found


def kind_of(key: str) -> str:
    """The declared kind of a recorded key (a part: its measure's kind for the part)."""
    head, _, part = key.partition(".")
    if head in m.DERIVED:
        measure, of = m.DERIVED[head]
        return m.PART_KIND[(measure.kind, of)]
    measure = m.BY_KEY.get(head)
    if measure is None:
        return m.TABLE
    return m.PART_KIND.get((measure.kind, "*"), measure.kind) if part else measure.kind


def source_path(key: str) -> str:
    """The cell a key stands for: a derived key (n_usa) is a part of its measure (usa.n)."""
    if key in m.DERIVED:
        measure, part = m.DERIVED[key]
        return f"{measure.key}.{part}"
    return key


def count_cells(key: str, value: Any) -> dict[str, int]:
    """Every count of people in a recorded value, by path."""
    found: dict[str, int] = {}
    if key.split(".")[0] in NOT_WALKED:
        return found
    kind = kind_of(key)
    if kind == m.COUNT and is_count(value):
        found[source_path(key)] = value
    elif kind in (m.COUNT, m.SETTING, m.FRACTION, m.BOUND):
        pass
    else:
        def keep(path: str, n: int) -> int:
            found[path] = n
            return n
        measure = m.BY_KEY.get(key.split(".")[0])
        if measure and measure.parts and "." not in key:
            for part, inner in value.items():
                found.update(count_cells(f"{key}.{part}", inner))
        else:
            transform(key, value, keep, kind == m.COUNTS)
    return found


def share_text(share: dict) -> str:
    """A published share as the report writes it: '77% (114/148)', '<5 (of 148)', 'x (of x)'."""
    n, N = share.get("n"), share.get("N")
    if is_count(n) and is_count(N):
        return f"{percent_half_up(Fraction(n, N))}% ({n}/{N})" if N else "- (0/0)"
    return f"{n} (of {N})"


@dataclass
class Gate:
    """What may be published: counts below min_cell hidden, and the plan's further cells."""

    min_cell: int = 1
    plan: dict[str, str] = field(default_factory=dict)   # path -> SUPPRESSED or WITHHELD

    @classmethod
    def from_file(cls, min_cell: int, path: str | Path | None) -> "Gate":
        """A run's gate: its min_cell and the disclosure plan it wrote (before it has one: {})."""
        plan = {}
        if path and Path(path).is_file():
            plan = json.loads(Path(path).read_text(encoding="utf-8")).get("hidden", {})
        return cls(min_cell, {k: v for k, v in plan.items() if v != SMALL})

    def why(self, path: str, n: Any) -> str:
        """Why a count is hidden: SMALL, SUPPRESSED (complementary), '' when it is shown."""
        if self.plan.get(path) == IMPLIED:
            return ""
        if small(n, self.min_cell):
            return SMALL
        return SUPPRESSED if self.plan.get(path) == SUPPRESSED else ""

    def shown(self, path: str, n: Any) -> Any:
        """A count as published: itself, '<min_cell' or 'x'."""
        reason = self.why(path, n)
        return n if not reason else mark(self.min_cell) if reason == SMALL else SUPPRESSED_MARK

    def withheld(self, path: str) -> bool:
        """Whether the plan withholds a score, bound or test statistic."""
        return self.plan.get(path) == WITHHELD

    def publish(self, key: str, value: Any) -> Any:
        """A recorded value as it may be published (results.json, displays)."""
        if self.min_cell <= 1 and not self.plan or key.split(".")[0] in NOT_WALKED:
            return value
        kind = kind_of(key)
        if kind == m.COUNT:
            return self.shown(source_path(key), value)
        if kind == m.BOUND:
            return None if self.withheld(key) else value
        if kind in (m.SETTING, m.FRACTION):
            return value
        measure = m.BY_KEY.get(key.split(".")[0])
        if measure and measure.parts and "." not in key:
            return {part: self.publish(f"{key}.{part}", inner) for part, inner in value.items()}
        public = transform(key, value, self.shown, kind == m.COUNTS)
        return self.derived(key, public)

    def derived(self, path: str, value: Any) -> Any:
        """Hide what is computed from hidden counts: shares, intervals, scores, statistics."""
        if isinstance(value, list):
            return [self.derived(f"{path}.{item_key(v, i)}", v) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        value = {name: self.derived(f"{path}.{name}", inner) for name, inner in value.items()}
        if {"n", "N"} <= set(value) and not (is_count(value["n"]) and is_count(value["N"])):
            value.update({k: None for k in DERIVED if k in value})
        if "borda" in value and "code" in value:   # a ranked item
            counts = [v for k, v in value.items() if k in COUNT_NAMES or POSITION.match(k)]
            if not is_count(value.get("n_ranked")) or self.withheld(f"{path}.borda"):
                value["borda"] = None
            if not all(map(is_count, counts)) or self.withheld(f"{path}.mean_position"):
                value["mean_position"] = None
        if "statistic" in value and self.withheld(path):
            value.update({k: None for k in STATISTICS if k in value}, withheld=True)
        if "p_first" in value and self.withheld(path):
            value.update(p_first=None, p_top=None, withheld=True)
        if value.get("source") == "records" and "text" in value:
            value["text"] = checklist_text(value)
        return value

    def view(self, results: dict) -> "Published":
        """Collected results as they may be published, as one view."""
        return Published("", self.publish_all(results), self.min_cell)

    def withheld_under(self, key: str) -> set[str]:
        """The paths under a key that the plan withholds (e.g. subgroup tests)."""
        return {path for path, why in self.plan.items()
                if why == WITHHELD and path.startswith(f"{key}.")}

    def publish_all(self, results: dict) -> dict:
        """Every recorded value as published (results.json); derived keys follow their measure."""
        public = {key: self.publish(key, value) for key, value in results.items()
                  if key not in m.DERIVED}
        for key in results:
            if key in m.DERIVED:
                measure, part = m.DERIVED[key]
                public[key] = public[measure.key][part] if measure.key in public else \
                    self.publish(key, results[key])
        return {key: public[key] for key in results}


def checklist_text(item: dict) -> str:
    """A checklist row's text from its published value."""
    value = item["value"]
    if isinstance(value, dict):
        return share_text(value)
    if isinstance(value, list):   # item non-response: the range of the published shares
        shown = [v["pct"] for v in value if v.get("pct") is not None and v.get("N")]
        if not shown:
            return "no question was shown to any respondent"
        low, high = (percent_half_up(Fraction(p)) for p in (min(shown), max(shown)))
        return (f"{low}% to {high}% per question (unanswered among respondents shown the "
                "question)")
    return "-" if value is None else str(value)


@dataclass(frozen=True)
class Published:
    """What may be shown of a recorded value: the only input the display functions accept."""

    key: str
    value: Any
    min_cell: int = 1

    def __getitem__(self, name: str) -> "Published":
        return Published(f"{self.key}.{name}".lstrip("."), self.value[name], self.min_cell)

    def at(self, path: str) -> "Published | None":
        """The view of the value at a dotted path (None when there is none)."""
        view: Published | None = self
        for name in path.split("."):
            if view is None or not isinstance(view.value, dict) or name not in view.value:
                return None
            view = view[name]
        return view

    def items(self) -> Iterator[tuple[str, "Published"]]:
        """The entries of a published map, each as a view."""
        return ((name, self[name]) for name in self.value)

    def __str__(self) -> str:
        if isinstance(self.value, dict) and {"n", "N"} <= set(self.value):
            return share_text(self.value)
        return "-" if self.value is None else str(self.value)
