"""The disclosure plan: which counts to hide besides the small ones, and which statistics to
withhold, so that no hidden count can be worked out from what is published.

Every count of people in the collected results is a cell (privacy.count_cells names them by
path); the instrument ties cells together by linear relations: a tally's rows add up to its
total, a share's n is the sum of the answer codes that count, countries add up to their region,
subgroups and the respondents left out add up to the overall share, a ranked item's positions to
the times it was ranked and, weighted, to its Borda score, the patient bands to the bounds. A
reader knows every published cell, that a small count lies between 1 and min_cell - 1 and that
a cell shown "x" is at least min_cell. `audit` solves, for each hidden cell, the smallest and
largest whole value those facts allow (an integer programme, scipy's HiGHS); a cell whose two
ends meet is disclosed. `plan` hides the next smallest published cell that shares a relation
with a disclosed one (a score or bound only when no count is left), as statistical offices do,
until nothing is disclosed; then it withholds the subgroup tests and bootstrap shares computed
from a table with a hidden cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import measures as m
from .privacy import IMPLIED, SMALL, SUPPRESSED, WITHHELD, count_cells

Relation = tuple[dict[str, float], str, float]   # coefficients by cell, "=" or "<=", right side


@dataclass
class Model:
    """Cells (exact values), the relations between them, and unpublished helper variables."""

    values: dict[str, float] = field(default_factory=dict)
    derived: set[str] = field(default_factory=set)         # scores and bounds, not counts
    protected: set[str] = field(default_factory=set)       # never hidden to protect another
    relations: list[Relation] = field(default_factory=list)
    helpers: dict[str, tuple[float, float]] = field(default_factory=dict)   # name -> bounds

    def equal(self, left: dict[str, float], right: dict[str, float] | float = 0) -> None:
        """Σ left = Σ right (a dict of cells, or a number), over cells that exist."""
        self.relate(left, right, "=")

    def at_most(self, left: dict[str, float], right: dict[str, float] | float) -> None:
        """Σ left <= Σ right."""
        self.relate(left, right, "<=")

    def relate(self, left: dict[str, float], right: dict[str, float] | float, sense: str) -> None:
        """Add a relation, moving the cells of the right side to the left."""
        coefficients = dict(left)
        constant = 0.0
        if isinstance(right, dict):
            for cell, c in right.items():
                coefficients[cell] = coefficients.get(cell, 0) - c
        else:
            constant = float(right)
        known = set(self.values) | set(self.helpers)
        if coefficients and all(cell in known for cell in coefficients):
            self.relations.append(({k: v for k, v in coefficients.items() if v}, sense, constant))


def cells_of(results: dict) -> dict[str, int]:
    """Every count of people in the collected results, by path."""
    found: dict[str, int] = {}
    for key, value in results.items():
        found.update(count_cells(key, value))
    return found


def model_of(results: dict, codebook, regions: dict[str, str]) -> Model:
    """The cells of the collected results and the relations the instrument puts between them.

    `regions`: the region of each country code that appears (countries.CountryResolver.region).
    """
    model = Model(values=dict(cells_of(results)))
    for relate in (geography, tallies, shares, bands, rankings, subgroups, checklist, quality):
        relate(model, results, codebook, regions)
    return model


def ones(*cells: str) -> dict[str, float]:
    """Coefficients 1 for each cell."""
    return {cell: 1.0 for cell in cells}


def geography(model: Model, results: dict, codebook, regions: dict[str, str]) -> None:
    """Countries add up to their region and to those who gave a country; the USA and Europe."""
    countries = {p.split(".", 1)[1]: p for p in model.values if p.startswith("country_counts.")}
    places = {p.split(".", 1)[1]: p for p in model.values if p.startswith("region_counts.")}
    model.equal(ones(*countries.values()), ones("usa.N"))
    model.equal(ones(*places.values()), ones("usa.N"))
    model.equal(ones("europe.N"), ones("usa.N"))
    for region, path in places.items():
        members = [p for code, p in countries.items() if regions.get(code, "Unknown") == region]
        model.equal(ones(*members), ones(path))
    model.equal(ones("usa.n"), ones(countries["USA"]) if "USA" in countries else 0)
    model.equal(ones("europe.n"), ones(places["Europe"]) if "Europe" in places else 0)


def tally_cells(model: Model, name: str) -> dict[tuple[str, str], str]:
    """(row key, group) -> path of a recorded tally's cells."""
    prefix = f"tallies.{name}.rows."
    found = {}
    for path in model.values:
        if path.startswith(prefix):
            row, _, group = path[len(prefix):].partition(".n.")
            found[(row, group)] = path
    return found


def tallies(model: Model, results: dict, codebook, regions) -> None:
    """Each tally against the totals and shares it shows the rows of."""
    records = tally_cells(model, "records")
    for (row, _group), path in records.items():
        target = {"respondents": ones("n_respondents"), "all": ones("n_records")}.get(row)
        if target:
            model.equal(ones(path), target)
        elif row == "not_answered":
            model.equal(ones(path, "n_respondents"), ones("n_records"))
    for name in ("usa", "europe"):
        cells = {row: path for (row, _), path in tally_cells(model, name).items()}
        if cells:
            model.equal(ones(cells["match"]), ones(f"{name}.n"))
            model.equal(ones(cells["match"], cells["other"]), ones(f"{name}.N"))
            model.equal(ones(*cells.values()), ones("n_respondents"))
    for measure in ("jaki_used", "improvement", "side_effects"):
        cells = tally_cells(model, measure)
        rows = results.get("tallies", {}).get(measure, {}).get("rows", [])
        if not cells:
            continue
        counted = [r["key"] for r in rows if r["counted"] == "yes"]
        answered = [r["key"] for r in rows if r["counted"] != "not in N"]
        model.equal(ones(*[p for (row, _), p in cells.items() if row in counted]),
                    ones(f"{measure}.n"))
        model.equal(ones(*[p for (row, _), p in cells.items() if row in answered]),
                    ones(f"{measure}.N"))
        groups = results["tallies"][measure]["groups"]
        if len(groups) == 1:
            model.equal(ones(*cells.values()), ones("n_respondents"))
        else:   # users and other respondents
            model.equal(ones(*[p for (_, g), p in cells.items() if g == groups[0]]),
                        ones("n_jaki_users"))
            model.equal(ones(*[p for (_, g), p in cells.items() if g == groups[1]],
                             "n_jaki_users"), ones("n_respondents"))
    model.equal(ones("jaki_used.n"), ones("n_jaki_users"))


def shares(model: Model, results: dict, codebook, regions) -> None:
    """n of N: n is at most N; tick-box questions asked of users only."""
    for path in list(model.values):
        if path.endswith(".n") and path[:-2] + ".N" in model.values:
            model.at_most(ones(path), ones(path[:-2] + ".N"))
    for path in model.values:
        if path.startswith("jaki_agents_used.") and path.endswith(".N"):
            model.at_most(ones(path), ones("n_jaki_users"))
        if path.startswith("jaki_side_effect_types.") and path.endswith(".N"):
            model.at_most(ones(path), ones("side_effects.n"))
    model.equal(ones("response.n"), ones("n_respondents"))


def bands(model: Model, results: dict, codebook, regions) -> None:
    """The patient bands add up, weighted by their ends, to the bounds of patients treated."""
    from .definitions import PATIENT_BANDS

    cells = {p.split(".", 1)[1]: p for p in model.values if p.startswith("patient_bands.")}
    if not cells:
        return
    lower, upper = codebook.band_bounds(PATIENT_BANDS)
    labels = codebook.labels(PATIENT_BANDS)
    by_label = {labels[code]: code for code in labels}
    model.at_most(ones(*cells.values()), ones("n_jaki_users"))
    for key, ends in (("patients_lower_bound", lower), ("patients_upper_bound", upper)):
        if results.get(key) is not None and all(ends[by_label[b]] is not None for b in cells):
            model.values[key] = results[key]
            model.derived.add(key)
            model.equal({p: float(ends[by_label[b]]) for b, p in cells.items()}, ones(key))


def rankings(model: Model, results: dict, codebook, regions) -> None:
    """A ranked item: positions add up to its rankings, to its first places, and weighted to its
    Borda score and mean position; positions add up to at most the valid rankings; the order."""
    for key, value in results.items():
        if m.BY_KEY.get(key) is None or m.BY_KEY[key].kind != m.RANKING:
            continue
        name = m.ranking_of(key)
        k = codebook.rankings[name].k
        previous = None
        for item in value:
            at = f"{key}.{item['code']}"
            positions = {p: f"{at}.position_{p}" for p in range(1, k + 1)}
            model.equal(ones(*positions.values()), ones(f"{at}.n_ranked"))
            model.equal(ones(positions[1]), ones(f"{at}.n_first"))
            model.values[f"{at}.borda"] = item["borda"]
            model.derived.add(f"{at}.borda")
            model.equal({positions[p]: float(k + 1 - p) for p in positions}, ones(f"{at}.borda"))
            if item.get("mean_position") is not None:   # mean x times ranked: Σ p x position
                model.values[f"{at}.mean_position"] = round(item["mean_position"] * item["n_ranked"])
                model.derived.add(f"{at}.mean_position")
                model.equal({positions[p]: float(p) for p in positions}, ones(f"{at}.mean_position"))
            if previous is not None:   # in Borda order
                model.at_most(ones(f"{at}.borda"), ones(previous))
            previous = f"{at}.borda"
        for p in range(1, k + 1):
            model.at_most(ones(*[f"{key}.{i['code']}.position_{p}" for i in value]),
                          ones(f"n_valid_rankings.{name}"))


def subgroups(model: Model, results: dict, codebook, regions) -> None:
    """The groups and the respondents left out of a grouping add up to the overall share."""
    for grouping, groups in m.GROUPINGS.items():
        left_out = f"subgroups.{grouping}.n_not_grouped"
        for measure in m.subgroup_measures():
            base = f"subgroups.{grouping}.measures.{measure}"
            for part in ("n", "N"):
                helper = f"left out:{grouping}:{measure}:{part}"
                model.helpers[helper] = (0, model.values.get("n_respondents", 0))
                model.equal(ones(*[f"{base}.{g}.{part}" for g in groups], helper),
                            ones(f"{measure}.{part}"))
            model.at_most(ones(f"left out:{grouping}:{measure}:n"),
                          ones(f"left out:{grouping}:{measure}:N"))
            model.at_most(ones(f"left out:{grouping}:{measure}:N"), ones(left_out))


def checklist(model: Model, results: dict, codebook, regions) -> None:
    """The CHERRIES counts are the respondents section's; item non-response is its own table's
    and the tallies' unanswered rows; a question's N is those it was shown to."""
    model.equal(ones("cherries.records_opened.value"), ones("n_records"))
    model.equal(ones("cherries.respondents.value"), ones("n_respondents"))
    model.equal(ones("cherries.participation_rate.value.n"), ones("n_respondents"))
    model.equal(ones("cherries.participation_rate.value.N"), ones("n_records"))
    model.equal(ones("cherries.completion_rate.value.n"), ones("cherries.complete.value"))
    model.equal(ones("cherries.completion_rate.value.N"), ones("n_respondents"))
    model.at_most(ones("cherries.complete.value"), ones("n_respondents"))
    rows = next((c["value"] for c in results.get("cherries", []) if c["key"] == "item_nonresponse"),
                []) or []
    for row in rows:
        for part in ("n", "N"):
            model.equal(ones(f"cherries.item_nonresponse.value.{row['question']}.{part}"),
                        ones(f"item_nonresponse.{row['question']}.{part}"))
    totals = {"n_respondents", "n_jaki_users", "side_effects.n"}
    for path, value in list(model.values.items()):
        if path.startswith("item_nonresponse.") and path.endswith(".N"):
            for total in totals:   # the question was shown to everyone, or to users ...
                if model.values.get(total) == value:
                    model.equal(ones(path), ones(total))
                    break
    unanswered = {"jaki_used": ("jaki_used", 0), "jaki_improvement": ("improvement", 0),
                  "jaki_side_effects": ("side_effects", 0)}
    for question, (tally, group) in unanswered.items():
        cells = tally_cells(model, tally)
        groups = results.get("tallies", {}).get(tally, {}).get("groups", [])
        if cells and groups:
            model.equal(ones(f"item_nonresponse.{question}.n"),
                        ones(cells[("not_answered", groups[group])]))


def quality(model: Model, results: dict, codebook, regions) -> None:
    """Records with nothing answered, and unrecognised countries, in the data-quality table."""
    for index, entry in enumerate(results.get("data_quality", [])):
        path = f"data_quality.{index}.n"
        if entry["problem"].startswith("nothing answered"):
            model.equal(ones(path, "n_respondents"), ones("n_records"))
        elif entry["problem"].startswith("country not recognised"):
            model.equal(ones(path), ones("country_counts.Unknown")
                        if "country_counts.Unknown" in model.values else 0)


def bounds(model: Model, hidden: dict[str, str], min_cell: int) -> dict[str, tuple[float, float]]:
    """What a reader knows of each hidden cell: small 1..min_cell-1, 'x' at least min_cell."""
    counts = [v for c, v in model.values.items() if c not in model.derived] or [0]
    scores = [v for c, v in model.values.items() if c in model.derived] or [0]
    found = {}
    for cell, why in hidden.items():
        if why == SMALL:
            found[cell] = (1.0, float(min_cell - 1))
        elif cell in model.derived:
            found[cell] = (0.0, 10.0 * max(scores) + 10)
        else:
            found[cell] = (float(min_cell), float(max(counts)))
    return {**found, **{k: (float(lo), float(hi)) for k, (lo, hi) in model.helpers.items()}}


def components(relations: list[Relation], unknown: set[str]) -> list[tuple[set[str], list]]:
    """Groups of unknown cells linked by relations, with their relations (each solved alone)."""
    parent = {cell: cell for cell in unknown}

    def root(cell: str) -> str:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell
    linked = []
    for relation in relations:
        inside = [c for c in relation[0] if c in unknown]
        if inside:
            linked.append((relation, inside))
            for other in inside[1:]:
                parent[root(other)] = root(inside[0])
    groups: dict[str, tuple[set[str], list]] = {}
    for cell in unknown:
        groups.setdefault(root(cell), (set(), []))[0].add(cell)
    for relation, inside in linked:
        groups[root(inside[0])][1].append(relation)
    return list(groups.values())


def solve(model: Model, cells: set[str], relations: list[Relation], hidden: dict[str, str],
          limits: dict[str, tuple[float, float]], only: set[str] | None = None
          ) -> dict[str, tuple[float | None, float | None]]:
    """The smallest and largest whole value of each hidden cell (of `only`, when given) of one
    group of linked cells."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    names = sorted(cells)
    index = {name: i for i, name in enumerate(names)}
    rows, lows, highs = [], [], []
    for coefficients, sense, constant in relations:
        row = np.zeros(len(names))
        rhs = constant
        for cell, c in coefficients.items():
            if cell in index:
                row[index[cell]] += c
            else:
                rhs -= c * model.values[cell]
        rows.append(row)
        lows.append(rhs if sense == "=" else -np.inf)
        highs.append(rhs)
    constraints = [LinearConstraint(np.array(rows), lows, highs)] if rows else []
    box = Bounds([limits[n][0] for n in names], [limits[n][1] for n in names])
    found = {}
    for name in names:
        if name not in hidden or (only is not None and name not in only):
            continue
        ends = []
        for sign in (1, -1):
            target = np.zeros(len(names))
            target[index[name]] = sign
            solved = milp(target, constraints=constraints, bounds=box,
                          integrality=np.ones(len(names)))
            ends.append(sign * solved.fun if solved.success else None)
        found[name] = (ends[0], ends[1])
    return found


class Auditor:
    """What a reader can work out of the hidden cells, solved group by group (a group whose
    cells and bounds did not change is not solved again)."""

    def __init__(self, model: Model, min_cell: int) -> None:
        self.model, self.min_cell = model, min_cell
        self.solved: dict[tuple, dict] = {}

    def ranges(self, hidden: dict[str, str]) -> dict[str, tuple[float | None, float | None]]:
        """The smallest and largest whole value each hidden cell can take."""
        limits = bounds(self.model, hidden, self.min_cell)
        found = {}
        for cells, relations in components(self.model.relations, set(limits)):
            key = tuple(sorted((c, limits[c]) for c in cells))
            if key not in self.solved:
                self.solved[key] = solve(self.model, cells, relations, hidden, limits)
            found.update(self.solved[key])
        return found

    def range_of(self, cell: str, hidden: dict[str, str]) -> tuple[float | None, float | None]:
        """The smallest and largest whole value one hidden cell can take."""
        limits = bounds(self.model, hidden, self.min_cell)
        for cells, relations in components(self.model.relations, set(limits)):
            if cell in cells:
                return solve(self.model, cells, relations, hidden, limits, {cell})[cell]
        return (None, None)

    def pinned(self, cell: str, hidden: dict[str, str]) -> bool:
        """Whether a reader can work out one hidden cell exactly."""
        low, high = self.range_of(cell, hidden)
        return low is not None and high is not None and round(low) == round(high)

    def disclosed(self, hidden: dict[str, str]) -> list[str]:
        """The small counts a reader can work out exactly from what is published (the cells
        hidden beside them, and withheld scores, are there to protect them)."""
        return sorted(cell for cell, (low, high) in self.ranges(hidden).items()
                      if hidden.get(cell) == SMALL and low is not None and high is not None
                      and round(low) == round(high))

    def implied(self, cell: str, hidden: dict[str, str]) -> bool:
        """Whether a cell follows from the protected cells alone (hiding every other published
        cell would not protect it)."""
        rest = {c: WITHHELD if c in self.model.derived else SUPPRESSED for c in self.model.values
                if c not in hidden and c not in self.model.protected
                and (c in self.model.derived or self.model.values[c] >= self.min_cell)}
        return self.pinned(cell, {**hidden, **rest})


def disclosed(model: Model, hidden: dict[str, str], min_cell: int) -> list[str]:
    """The hidden cells a reader can work out exactly from what is published."""
    return Auditor(model, min_cell).disclosed(hidden)


def neighbours(model: Model, cells: set[str], sense: str) -> set[str]:
    """Every cell sharing a relation ('=' or '<=') with one of `cells`."""
    return {other for coefficients, kind, _ in model.relations
            if kind == sense and cells & set(coefficients) for other in coefficients}


def candidates(model: Model, cell: str, hidden: dict[str, str], min_cell: int) -> list[str]:
    """Published cells to hide beside a disclosed one, nearest first (its own relations, then
    those of the hidden cells it is linked to); in each ring, cells of its equations before
    those of its inequalities, each counts of at least min_cell (smallest first) before scores
    and bounds."""
    def eligible(cells: set[str]) -> list[str]:
        published = [c for c in cells if c in model.values and c not in hidden
                     and c not in model.protected]
        counts = sorted((c for c in published if c not in model.derived
                         and model.values[c] >= min_cell), key=lambda c: (model.values[c], c))
        return counts + sorted(c for c in published if c in model.derived)

    ring, seen = {cell}, {cell}
    for _ in range(len(model.values)):
        equal = neighbours(model, ring, "=") - seen
        bound = neighbours(model, ring, "<=") - seen - equal
        found = eligible(equal) + eligible(bound)
        if found:
            return found
        seen |= equal | bound
        ring = {c for c in equal | bound if c in hidden or c in model.helpers}
        if not ring:
            return []
    return []


def follow(model: Model, hidden: dict[str, str]) -> None:
    """What the gate hides with its counts: a ranked item's mean position when one of its
    counts is hidden, its Borda score when the times it was ranked are."""
    for cell in list(model.derived):
        item = cell.rsplit(".", 1)[0]
        if cell.endswith(".mean_position") and any(
                h.startswith(item + ".") and h not in model.derived for h in hidden):
            hidden.setdefault(cell, WITHHELD)
        if cell.endswith(".borda") and f"{item}.n_ranked" in hidden:
            hidden.setdefault(cell, WITHHELD)


def protect(model: Model, results: dict, claims: tuple) -> None:
    """The cells the report exists to publish, never hidden to protect another: the records,
    the respondents, the denominators of the headline shares and tick-box questions, every
    claimed result, and the Borda scores and first places a claimed ranking rests on (its
    leading items and the next one)."""
    claimed = {c.result for c in claims if c.check != "leading"}
    for claim in claims:
        if claim.check == "leading":
            for item in results.get(claim.result, [])[: len(claim.published) + 1]:
                claimed |= {f"{claim.result}.{item['code']}.borda",
                            f"{claim.result}.{item['code']}.n_first"}
    model.protected |= {"n_records", "n_respondents"}
    for cell in model.values:
        head = cell.split(".")[0]
        measure = m.BY_KEY.get(head)
        kind = measure.kind if measure else None
        if kind == m.COUNT or (kind in (m.SHARE, m.SHARES) and cell.endswith(".N")) \
                or any(cell == c or cell.startswith(c + ".") for c in claimed):
            model.protected.add(cell)
    for _ in range(len(model.relations)):   # a cell equal to a protected one is shown with it
        twins = {cell for coefficients, sense, constant in model.relations
                 if sense == "=" and not constant and len(coefficients) == 2
                 and sorted(coefficients.values()) == [-1.0, 1.0]
                 and set(coefficients) & model.protected for cell in coefficients}
        if twins <= model.protected:
            break
        model.protected |= twins


def plan(results: dict, codebook, regions: dict[str, str], min_cell: int,
         claims: tuple = ()) -> dict[str, str]:
    """Every cell to hide and statistic to withhold, by path, with the reason; a small count
    that follows from cells the report must publish (the number not answering a question:
    the respondents minus those who answered) is shown, and listed as IMPLIED."""
    if min_cell <= 1:
        return {}
    model = model_of(results, codebook, regions)
    protect(model, results, claims)
    hidden = {cell: SMALL for cell, n in model.values.items()
              if cell not in model.derived and 0 < n < min_cell}
    follow(model, hidden)
    audit, implied = Auditor(model, min_cell), {}
    # Hiding a cell only widens what the others can be: a cell protected stays protected, so
    # only the cells found disclosed are looked at again (all of them after a cell is shown).
    pending = set(audit.disclosed(hidden))
    for _ in range(4 * len(model.values)):
        pending = {cell for cell in pending if cell in hidden}
        if not pending:
            break
        cell = min(pending)
        if not audit.pinned(cell, hidden):
            pending.discard(cell)
            continue
        options = candidates(model, cell, hidden, min_cell)
        if not options or audit.implied(cell, hidden):
            implied[cell] = IMPLIED   # it follows from what must be published: shown
            del hidden[cell]
            pending = set(audit.disclosed(hidden))
            continue
        hidden.update(with_hidden(model, hidden, best(audit, model, hidden, cell, options[:40])))
    return {**hidden, **implied, **statistics(results, hidden)}


def best(audit: Auditor, model: Model, hidden: dict[str, str], cell: str,
         options: list[str]) -> str:
    """The option that, hidden, protects the cell; else the one that widens its range most."""
    widths = []
    for option in options:
        low, high = audit.range_of(cell, with_hidden(model, hidden, option))
        width = float("inf") if low is None or high is None else high - low
        if width >= 1:
            return option
        widths.append(width)
    return options[max(range(len(options)), key=lambda i: (widths[i], -i))]


def with_hidden(model: Model, hidden: dict[str, str], cell: str) -> dict[str, str]:
    """The hidden cells with one more (a score or bound withheld, a count complementary)."""
    more = {**hidden, cell: WITHHELD if cell in model.derived else SUPPRESSED}
    follow(model, more)
    return more


def statistics(results: dict, hidden: dict[str, str]) -> dict[str, str]:
    """Tests and bootstrap shares computed from a table with a hidden cell are withheld."""
    withheld = {}
    for grouping in m.GROUPINGS:
        for measure in m.subgroup_measures():
            base = f"subgroups.{grouping}.measures.{measure}."
            if any(cell.startswith(base) for cell in hidden):
                withheld[f"subgroups.{grouping}.tests.{measure}"] = WITHHELD
    for name, found in results.get("ranking_stability", {}).items():
        key = f"{name}_ranking"
        for item in found.get("items", []):
            if any(cell.startswith(f"{key}.{item['code']}.") for cell in hidden):
                withheld[f"ranking_stability.{name}.items.{item['code']}"] = WITHHELD
    return withheld


def as_file(plan_: dict[str, str], min_cell: int) -> dict[str, Any]:
    """disclosure.json: the rule and every hidden cell with why."""
    return {"min_cell": min_cell, "hidden": dict(sorted(plan_.items()))}
