"""Every published measure, declared once: its results.json key, title, kind and definition.

Everything else derives from this table: the fields the data dictionary must have
(codebook), the measures compared between subgroups (subgroups), the definitions table of
the Methods section (tables), what counts people and is suppressed (privacy), which claim of
the study file can check which result (validate and run, before anything runs), and the tests'
expectations. A notebook cell computes each measure (calling the function named here) and
records it under its key; the pipeline collects results.json from the executed notebooks.

Adding a measure: declare it here, compute and record it in a notebook cell
(`results.record("key", value)`); a claim on it goes in data/study.yml.
This module imports nothing but the study's definitions, so every layer can read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import definitions as d

# Kinds of value: what a measure's value is, which decides how it is checked, shown and hidden.
COUNT = "count"        # a whole number of people (records, respondents, users)
SETTING = "setting"    # a number from the study file, not counted from the records
SHARE = "share"        # n of N people: {n, N, pct, ci_low, ci_high}
FRACTION = "fraction"  # a share's n/N alone (the contract's pct_* keys)
SHARES = "shares"      # {answer label: share}, one per choice of a tick-box question
COUNTS = "counts"      # {name: count of people}
RANKING = "ranking"    # [{code, label, borda, n_first, n_ranked, position_p, mean_position}]
BOUND = "bound"        # patients treated: a sum of band ends over users (None: open-ended)
SUBGROUPS = "subgroups"  # measures by group, with tests (subgroups.subgroup_results)
TALLY = "tally"        # the tally a number rests on: {groups, rows: [{key, label, n: {group: count}}]}
TABLE = "table"        # a structure of its own (resamples, checklist, listing, claims, files)

# What a claim's check needs the result to be (study.yml `check:`).
CHECKABLE = {"equals": {COUNT, SETTING, BOUND}, "over": {COUNT, SETTING, BOUND},
             "percent": {SHARE}, "leading": {RANKING}}

# Kinds of dictionary field a measure reads (codebook maps them to REDCap field types).
CODED, CHECKBOX, TEXT, RANKED = "coded", "checkbox", "text", "ranked"

# Subgroup comparisons: each grouping and its groups, in report order.
GROUPINGS = {"region": ("USA", "Europe", "Rest of world"),
             "society": ("CARRA only", "PReS only", "Both")}


@dataclass(frozen=True)
class Measure:
    """One published measure.

    `computed_by` is the function a notebook cell calls to compute it (as the cell spells the
    call); `parts` names a measure recorded part by part (`key.part`, one cell each);
    `derived` maps further results.json keys to a part of this measure's value (they come
    from the same cell); `subgroups`: compared between the groups of GROUPINGS.
    """

    key: str
    title: str
    kind: str
    computed_by: str = ""
    rule: d.Rule | None = None
    fields: tuple[tuple[str, str], ...] = ()
    parts: tuple[str, ...] = ()
    derived: dict[str, str] = field(default_factory=dict)
    subgroups: bool = False
    optional: bool = False   # recorded only when the study asks for it

    @property
    def needs(self) -> tuple[tuple[str, str], ...]:
        """The dictionary fields this measure reads, with their kind (a rule's field included)."""
        rule = ((self.rule.field, CODED),) if self.rule else ()
        return rule + self.fields


COUNTRY = (("country", TEXT),)
RANKINGS = d.RANKINGS   # ranking questions (the dictionary's @RANKING annotations), in order

MEASURES = (
    # Respondents and geography
    Measure("n_records", "Records in the export", COUNT, "tallies.records"),
    Measure("n_respondents", "Respondents", COUNT, "tallies.records"),
    Measure("n_invited", "Providers invited (study file)", SETTING),
    Measure("response", "Response rate", SHARE, "stats.response_rate",
            derived={"response_rate": "pct"}),
    Measure("response_rate_range", "Response rate at both ends of the invitation count", TABLE,
            "stats.response_rate_range", optional=True),
    Measure("region_counts", "Respondents per region", COUNTS, "stats.region_counts",
            fields=COUNTRY),
    Measure("usa", "Respondents from the USA", SHARE, "stats.country_share", fields=COUNTRY,
            derived={"n_usa": "n", "pct_usa": "pct"}),
    Measure("europe", "Respondents from Europe", SHARE, "stats.country_share", fields=COUNTRY,
            derived={"n_europe": "n", "pct_europe": "pct"}),
    Measure("country_counts", "Respondents per country", COUNTS, "stats.country_counts",
            fields=COUNTRY),
    # JAKi experience and outcomes
    Measure("n_jaki_users", "JAKi users", COUNT, "stats.jaki_users", rule=d.JAKI_USER),
    Measure("jaki_used", "Have used a systemic JAKi", SHARE, "stats.rule_share",
            rule=d.JAKI_USER, subgroups=True),
    Measure("patient_bands", "JAKi users per band of patients treated", COUNTS,
            "stats.band_table", fields=((d.PATIENT_BANDS, CODED),)),
    Measure("patients_lower_bound", "JDM patients treated with JAKi, lower bound", BOUND,
            "stats.patients_bounds", fields=((d.PATIENT_BANDS, CODED),)),
    Measure("patients_upper_bound", "JDM patients treated with JAKi, upper bound", BOUND,
            "stats.patients_bounds", fields=((d.PATIENT_BANDS, CODED),)),
    Measure("jaki_agents_used", "Systemic JAKi used", SHARES, "stats.checkbox_table",
            fields=(("jaki_agents_used", CHECKBOX),)),
    Measure("improvement", "Improvement in most or all patients", SHARE, "stats.rule_share",
            rule=d.IMPROVED_MOST_OR_ALL, subgroups=True),
    Measure("side_effects", "Side effects observed", SHARE, "stats.rule_share",
            rule=d.SIDE_EFFECTS, subgroups=True),
    Measure("jaki_side_effect_types", "Types of side effect", SHARES, "stats.checkbox_table",
            fields=(("jaki_side_effect_types", CHECKBOX),)),
    # Rankings
    Measure("barrier_ranking", "Barriers to JAKi use, ranked", RANKING, "stats.ranking_table",
            fields=(("barrier", RANKED),)),
    Measure("indication_ranking", "Indications for starting a systemic JAKi, ranked", RANKING,
            "stats.ranking_table", fields=(("indication", RANKED),)),
    Measure("n_valid_rankings", "Valid rankings", COUNTS, "stats.n_valid_rankings",
            parts=RANKINGS),
    Measure("ranking_stability", "Bootstrap stability of the leading places", TABLE,
            "ranking_stability", parts=RANKINGS),
    Measure("alternative_scorings", "Leading places under other scorings", TABLE,
            "alternative_scorings", parts=RANKINGS),
    # Medications
    Measure("jaki_consider", "Systemic JAKi respondents would consider", SHARES,
            "stats.checkbox_table", fields=(("jaki_consider", CHECKBOX),)),
    Measure("concomitant", "Concomitant medications respondents would consider", SHARES,
            "stats.checkbox_table", fields=(("concomitant", CHECKBOX),)),
    # Beyond the paper
    Measure("subgroups", "Measures by region and by society", SUBGROUPS, "subgroup_results",
            fields=COUNTRY + ((d.SOCIETY, CHECKBOX),)),
    Measure("item_nonresponse", "Unanswered among respondents shown the question", SHARES,
            "item_nonresponse"),
    Measure("cherries", "CHERRIES checklist", TABLE, "cherries"),
    # The tallies behind the headline numbers, as the notebooks show them
    Measure("tallies", "Tallies behind the headline numbers", TALLY, "",
            parts=("records", "usa", "europe", "jaki_used", "improvement", "side_effects")),
    # Provenance, and the check of the published claims
    Measure("inputs", "SHA-256 of the input files", TABLE, "input_files"),
    Measure("data_quality", "Data-quality problems that did not stop the analysis", TABLE,
            "data_quality"),
    Measure("claims", "Published claims checked against the records", TABLE, "claims.check"),
)
BY_KEY = {m.key: m for m in MEASURES}
DERIVED = {key: (m, part) for m in MEASURES for key, part in m.derived.items()}
# The kind of a part of a value (a derived key, or one entry of a map).
PART_KIND = {(SHARE, "n"): COUNT, (SHARE, "N"): COUNT, (SHARE, "pct"): FRACTION,
             (SHARES, "*"): SHARE, (COUNTS, "*"): COUNT}


def measure(key: str) -> Measure:
    """The declared measure with this results.json key (KeyError when none)."""
    return BY_KEY[key]


def subgroup_measures() -> dict[str, Measure]:
    """The measures compared between subgroups, by key, in report order."""
    return {m.key: m for m in MEASURES if m.subgroups}


def rule_measures() -> dict[str, Measure]:
    """The measures defined by a rule on one coded question (the Methods' definitions)."""
    rules: dict[str, Measure] = {}
    for m in MEASURES:
        if m.rule is not None and m.rule not in {r.rule for r in rules.values()}:
            rules[m.key] = m
    return rules


def fields_needed() -> dict[str, str]:
    """Every dictionary field a measure reads, with the kind of field it must be."""
    needed: dict[str, str] = {}
    for m in MEASURES:
        needed.update(dict(m.needs))
    return needed


def result_keys() -> set[str]:
    """Every top-level results.json key a run may publish."""
    return set(BY_KEY) | set(DERIVED)


def keys_of_kind(*kinds: str) -> set[str]:
    """The top-level results.json keys whose value is of one of these kinds."""
    found = {m.key for m in MEASURES if m.kind in kinds}
    return found | {key for key, (m, part) in DERIVED.items()
                    if PART_KIND.get((m.kind, part)) in kinds}


def ranking_of(key: str) -> str | None:
    """The ranking question a RANKING measure orders (its RANKED field), else None."""
    m = BY_KEY.get(key)
    return next((name for name, kind in m.needs if kind == RANKED), None) if m else None


def claim_target(path: str, labels: Callable[[str], list[str]]) -> str | None:
    """The kind of the value at a dotted results.json path a claim may check; None when a run
    would have no such value. `labels(field)` gives a dictionary field's answer labels."""
    head, *parts = path.split(".")
    if head in DERIVED:
        m, part = DERIVED[head]
        return None if parts else PART_KIND[(m.kind, part)]
    m = BY_KEY.get(head)
    if m is None:
        return None
    if not parts:
        return TABLE if m.parts else m.kind
    if m.parts:   # recorded part by part: {part: value}
        fits = parts[0] in m.parts and len(parts) == 1
        return PART_KIND.get((m.kind, "*")) if fits else None
    if m.kind in (SHARES, COUNTS) and len(parts) == 1:
        coded = [name for name, kind in m.needs if kind in (CODED, CHECKBOX)]
        if coded and parts[0] not in labels(coded[0]):
            return None
        return PART_KIND[(m.kind, "*")]
    if m.kind == SUBGROUPS and parts[0] in GROUPINGS:
        grouping = parts[0]
        if parts[1:] == ["n_not_grouped"]:
            return COUNT
        if (len(parts) == 4 and parts[1] == "measures" and parts[2] in subgroup_measures()
                and parts[3] in GROUPINGS[grouping]):
            return SHARE
    return None
