"""What the notebooks display: Markdown tables and sentences, input text escaped, counts gated.

Every text that comes from an input file (labels, names, claim texts) is plain text: it is
escaped before it becomes Markdown, so it can never turn into HTML, a link, mathematics or a
cross-reference. Markdown the code writes itself is wrapped in `Markup` and left as it is.

Every count of people shown comes through the gate (privacy.py): the display functions take
the `Published` views that `results.record` returns, and a bare number reaching a table or a
sentence is refused (deny by default) unless it is declared not to count people (`safe`, or a
table's `safe` columns: codes, positions, points, band ends).
"""

from __future__ import annotations

import numbers
import re

import pandas as pd
from IPython.display import Markdown, display

from .markdown import escape
from .privacy import Published, share_text
from .rounding import percent_of
from .stats import LEVEL
from .subgroups import MEASURE_TITLES, MIN_EXPECTED

_LINK_TARGET = re.compile(r"^(?:[A-Za-z0-9_.-]+\.html)?#[A-Za-z0-9_-]+$")


class Markup(str):
    """Markdown written by this package's code (not from an input): shown as it is."""


class Safe(str):
    """A number that does not count people (a code, a position, a setting), as text."""


class Ungated(TypeError):
    """A number would reach the report without passing the gate."""


def safe(value: object) -> Safe:
    """Declare a number one that does not count people, so that it may be shown as it is."""
    return Safe(value)


def md(value: object) -> str:
    """A value as Markdown: Markup unchanged, missing values empty, published views as the gate
    let them, texts escaped; a bare number is refused (it might count people)."""
    if isinstance(value, Markup):
        return value
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if isinstance(value, Published):
        return escape(str(value))
    if isinstance(value, numbers.Number) or hasattr(value, "as_dict"):
        raise Ungated(f"the number {value!r} would be shown without passing the gate: show what "
                      "results.record returned, or t.safe(...) for a number that counts no one")
    return escape(value)


def link(text: object, target: str) -> Markup:
    """A link to a cell or section of the report's own files (nothing else is linked)."""
    if not _LINK_TARGET.match(target):
        raise ValueError(f"not a link within the report: {target!r}")
    return Markup(f"[{md(text)}]({target})")


def markdown_table(frame: pd.DataFrame, safe: tuple[str, ...] = ()) -> Markup:
    """A pipe table of a frame: headers and cells as text (Markup cells as written); numbers
    only in the `safe` columns (they count no one) or as published views."""
    def cell(value: object, column: str) -> str:
        if column in safe and isinstance(value, numbers.Number):
            return md(Safe(value))
        return md(value)

    def numeric(column: str) -> bool:
        values = [v.value if isinstance(v, Published) else v for v in frame[column]]
        return bool(values) and all(isinstance(v, numbers.Number) or v in {"x", None} or
                                    (isinstance(v, str) and v.startswith("<")) for v in values) \
            and any(isinstance(v, numbers.Number) for v in values)

    rule = "|" + "|".join("--:" if numeric(c) else "---" for c in frame.columns) + "|"
    header = "| " + " | ".join(md(str(c)) for c in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v, c) for v, c in zip(values, frame.columns)) + " |"
            for values in frame.itertuples(index=False)]
    return Markup("\n".join([header, rule, *rows]))


def show(*parts: object) -> None:
    """Display Markdown blocks (tables, sentences) as one output, where the call is."""
    display(Markdown("\n\n".join(md(p) for p in parts)))


def sentence(*parts: object) -> Markup:
    """A sentence from Markup and plain-text pieces (the latter escaped)."""
    return Markup("".join(md(p) for p in parts))


def bold(text: object) -> Markup:
    """Strong emphasis of a text."""
    return Markup(f"**{md(text)}**")


def share(p: Published) -> str:
    """A published share's text with n/N: '77% (114/148)', '<5 (of 148)', 'x (of x)'."""
    return share_text(p.value)


def interval(p: Published) -> str:
    """The 95% Wilson interval of a published share ('' when it is hidden or N is 0)."""
    low, high = p.value.get("ci_low"), p.value.get("ci_high")
    if low is None or high is None:
        return ""
    return f"{LEVEL} CI {percent_of(low)}–{percent_of(high)}%"


def share_with_interval(p: Published) -> str:
    """A published share's text with its 95% interval (none when hidden or N is 0)."""
    return f"{share(p)} [{interval(p)}]" if interval(p) else share(p)


STATUS = {"match": "✓ yes", "no match": "✗ no", "not reproducible": "– not reproducible",
          "withheld": "– not shown (small count)"}


def synthetic_banner(survey) -> Markdown:
    """A visible banner when the records are synthetic (every record id marked by the generator)."""
    if survey.synthetic:
        return Markdown("::: {.callout-warning .synthetic-banner}\n**Synthetic data.** These "
                        "records were generated by `jakisurvey synth` to match the published "
                        "aggregates. They are not the study's data, and no finding here is "
                        "evidence about JAKi in JDM.\n:::")
    return Markdown("")


def claims_table(claims: list[dict], where) -> Markup:
    """The reproduction table: each claim (linked to the cell computing it) beside its check."""
    def claim(entry: dict) -> str:
        target = where(entry["result"])
        return link(entry["claim"], target) if target else entry["claim"]
    rows = pd.DataFrame({"Claim": [claim(c) for c in claims],
                         "Published": [c["published_text"] for c in claims],
                         "Reproduced": [c["reproduced_text"] for c in claims],
                         "Match": [STATUS[c["status"]] for c in claims]})
    n_match = sum(c["status"] == "match" for c in claims)
    summary = f"**{n_match} of {len(claims)}** published claims reproduced."
    unknown = sum(c["status"] == "not reproducible" for c in claims)
    if unknown:
        summary += f" {unknown} cannot be checked from these records."
    return Markup(summary + "\n\n" + markdown_table(rows))


def precision_table(shares: dict[str, Published]) -> Markup:
    """Each headline percentage with n/N and its 95% Wilson interval."""
    return markdown_table(pd.DataFrame({
        "Headline percentage": list(shares),
        "% (n/N)": [share(p) for p in shares.values()],
        f"{LEVEL} Wilson interval": [interval(p) for p in shares.values()]}))


def share_table(table: Published, heading: str) -> Markup:
    """Label, % (n/N) and the 95% interval per answer of a published {label: share}."""
    return markdown_table(pd.DataFrame({
        heading: list(table.value),
        "Respondents, % (n/N)": [share(p) for _, p in table.items()],
        f"{LEVEL} CI": [interval(p) for _, p in table.items()]}))


def ranking_table(ranking: Published) -> Markup:
    """A published ranking in order: Borda score, first places, times ranked, mean position."""
    items = ranking.value
    return markdown_table(pd.DataFrame({
        "Rank": range(1, len(items) + 1), "Code": [i["code"] for i in items],
        "Item": [i["label"] for i in items],
        "Borda score": [withheld(i["borda"]) for i in items],
        "Ranked first": [Published("", i["n_first"]) for i in items],
        "Ranked at all": [Published("", i["n_ranked"]) for i in items],
        "Mean position": ["" if i["mean_position"] is None else f"{i['mean_position']:.2f}"
                          for i in items]}), safe=("Rank", "Code"))


def withheld(value: object) -> object:
    """A score or bound as shown: itself, or 'withheld' when the gate withheld it."""
    return "withheld" if value is None else Published("", value)


def country_table(counts: Published, resolver) -> Markup:
    """Respondents per country (published), with names from the regions file."""
    from .countries import UNKNOWN

    codes = list(counts.value)
    names = [resolver.name(code) if code != UNKNOWN else "Not recognised" for code in codes]
    return markdown_table(pd.DataFrame({"Country": names, "ISO3": codes,
                                        "Respondents": [p for _, p in counts.items()]}))


def region_table(counts: Published, total: Published) -> Markup:
    """Respondents per region as a share of those who gave a country (both published)."""
    return markdown_table(pd.DataFrame({
        "Region": list(counts.value),
        "Respondents, % (n/N)": [share_text({"n": p.value, "N": total.value})
                                 for _, p in counts.items()]}))


def band_table(bands: Published, codebook, field: str) -> Markup:
    """Users per band of patients treated (published), with the band's ends."""
    lower, upper = codebook.band_bounds(field)
    labels = codebook.labels(field)
    return markdown_table(pd.DataFrame({
        "Patients treated": list(labels.values()),
        "Users": [bands[label] for label in labels.values()],
        "Band lower end": [lower[code] for code in labels],
        "Band upper end": ["open" if upper[code] is None else upper[code] for code in labels]}),
        safe=("Band lower end", "Band upper end"))


def tally_table(tally: Published, code_column: bool = True) -> Markup:
    """A published tally: each row (an answer code, with whether it counts) and its counts."""
    rows = tally.value["rows"]
    groups = tally.value["groups"]
    frame = {"Code": [r["key"] if r["key"].lstrip("-").isdigit() else "" for r in rows],
             "Answer": [r["label"] for r in rows], "In n": [r["counted"] for r in rows],
             **{g: [Published("", r["n"][g]) for r in rows] for g in groups}}
    if not code_column:
        frame = {k: v for k, v in frame.items() if k not in {"Code", "In n"}}
    return markdown_table(pd.DataFrame(frame))


def fraction(item: dict, key: str) -> str:
    """A share of resamples as a percentage with one decimal ('withheld' by the gate)."""
    if item.get("withheld"):
        return "withheld"
    return "-" if item[key] is None else f"{100 * item[key]:.1f}%"


def stability_table(stability: Published, top: int) -> Markup:
    """Per item: how often it ranks first and among the top places in the resamples."""
    found = stability.value
    rows = pd.DataFrame({"Item": [i["label"] for i in found["items"]],
                         "Ranked first": [fraction(i, "p_first") for i in found["items"]],
                         f"Among the top {top}": [fraction(i, "p_top") for i in found["items"]]})
    return Markup(f"Shares of {found['resamples']:,} bootstrap resamples of the respondents "
                  f"(seed {found['seed']}).\n\n" + markdown_table(rows))


def scorings_table(scorings: dict, labels: dict[int, str]) -> Markup:
    """The leading places under Borda and the two other scorings."""
    names = {"borda": "Borda score (as published)", "first_places": "Times ranked first",
             "mean_position": "Mean position among those who ranked it"}
    from .stability import MIN_SHARE_RANKED

    rows = pd.DataFrame({"Scoring": [names[k] for k in names if k in scorings],
                         "Leading items, in order": ["; ".join(labels[c] for c in scorings[k])
                                                     for k in names if k in scorings]})
    left_out = scorings.get("excluded_from_mean_position", [])
    note = (f"Mean position leaves out items ranked by fewer than {MIN_SHARE_RANKED:.0%} of the "
            "valid rankings" + (": " + "; ".join(labels[c] for c in left_out) if left_out
                                else " (none here)") + ".")
    return Markup(markdown_table(rows) + "\n\n" + sentence(note))


def p_value(p: float | None) -> str:
    """A p-value as journals print it."""
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def subgroup_tables(subgroups: Published, grouping: str) -> Markup:
    """Each measure by group (% (n/N) and interval), then the tests (withheld where a hidden
    count could be worked out from them)."""
    found = subgroups[grouping]
    groups = found.value["groups"]
    rows = [{"Measure": MEASURE_TITLES.get(measure, measure),
             **{g: f"{share(by_group[g])} {interval(by_group[g])}".strip() for g in groups}}
            for measure, by_group in found["measures"].items()]
    tests = found.value["tests"]
    table = pd.DataFrame([{
        "Measure": MEASURE_TITLES.get(t["measure"], t["measure"]),
        "Chi-square (dof)": test_statistic(t),
        "p": p_value(t["p"]), "p (Holm)": p_value(t["p_holm"]),
        "Smallest expected count": "-" if t["min_expected"] is None else f"{t['min_expected']:.1f}",
        "Monte Carlo exact p": p_value(t.get("p_fisher_mc"))} for t in tests])
    doubtful = [MEASURE_TITLES.get(t["measure"], t["measure"]) for t in tests
                if t["min_expected"] is not None and t["min_expected"] < MIN_EXPECTED]
    note = ("" if not doubtful else "\n\nThe chi-square approximation is doubtful for "
            + "; ".join(doubtful) + f" (an expected count below {MIN_EXPECTED}): read the Monte "
            "Carlo exact p.")
    if any(t.get("withheld") for t in tests):
        note += ("\n\nA test is withheld where a hidden count could be worked out from its "
                 "statistic or p-value; Holm's adjustment is then over the tests shown.")
    left_out = found["n_not_grouped"]
    return Markup(f"**By {grouping}.** Left out (no group): {md(left_out)}.\n\n"
                  + markdown_table(pd.DataFrame(rows)) + "\n\n" + markdown_table(table) + note)


def test_statistic(test: dict) -> str:
    """Chi-square and degrees of freedom, '-' for no test, 'withheld' when the gate held it."""
    if test.get("withheld"):
        return "withheld"
    return "-" if test["statistic"] is None else f"{test['statistic']:.2f} ({test['dof']})"


def cherries_table(checklist: Published) -> Markup:
    """The CHERRIES items: section, item, what was found (published), and where it comes from."""
    items = checklist.value
    return markdown_table(pd.DataFrame({"Section": [i["section"] for i in items],
                                        "Item": [i["item"] for i in items],
                                        "Reported": [i["text"] for i in items],
                                        "Source": [i["source"] for i in items]}))


def nonresponse_table(shares: Published, labels: dict[str, str]) -> Markup:
    """Item non-response per question (published): unanswered among respondents shown it."""
    return markdown_table(pd.DataFrame({
        "Question": [labels.get(q, q) for q in shares.value],
        "Unanswered, % (n/N shown)": [share(p) for _, p in shares.items()]}))


def definitions_table(codebook) -> Markup:
    """The measures defined by a rule (measures.py, from jakisurvey.definitions), with the
    dictionary's labels of the answers that count."""
    from .measures import rule_measures

    rules = {measure.title: measure.rule for measure in rule_measures().values()}
    return markdown_table(pd.DataFrame({
        "Definition": list(rules), "Field": [r.field for r in rules.values()],
        "Question": [codebook[r.field].label for r in rules.values()],
        "Answers that count": ["; ".join(f"{c} {codebook.labels(r.field)[c]}" for c in sorted(r.codes))
                               for r in rules.values()]}))


def band_ends(codebook) -> Markup:
    """The patient bands with the ends the bounds use."""
    from . import definitions as d

    lower, upper = codebook.band_bounds(d.PATIENT_BANDS)
    labels = codebook.labels(d.PATIENT_BANDS)
    return markdown_table(pd.DataFrame({"Band": list(labels.values()),
                                        "Lower end": [lower[c] for c in labels],
                                        "Upper end": ["open" if upper[c] is None else upper[c]
                                                      for c in labels]}),
                          safe=("Lower end", "Upper end"))


def rankings_rule(codebook) -> Markup:
    """How each ranking is scored, with its number of positions from the dictionary."""
    parts = [f"{name} ({ranking.k} positions: first place {ranking.k} points, last 1)"
             for name, ranking in codebook.rankings.items()]
    return sentence(Markup("**Rankings.** A ranking is valid when no item appears in two "
                           "positions and no position holds two items (empty positions are "
                           "skipped). With K positions an item in "
                           "position p earns K + 1 - p points; items are ordered by total points "
                           "(Borda score), then first places, then code. Rankings: "),
                    "; ".join(parts), ".")


def privacy_rule(gate) -> Markup:
    """The disclosure rules in force for this report: small counts, and the run's plan."""
    if gate.min_cell <= 1:
        return Markup("**Small counts.** Every count is shown (the study's `min_cell` is 1).")
    from .privacy import IMPLIED, SUPPRESSED, WITHHELD

    suppressed = sum(why == SUPPRESSED for why in gate.plan.values())
    withheld = sum(why == WITHHELD for why in gate.plan.values())
    implied = sum(why == IMPLIED for why in gate.plan.values())
    return Markup(
        f"**Small counts.** Counts of people from 1 to {gate.min_cell - 1} are shown as "
        f"\"<{gate.min_cell}\", here and in `results.json` (the study's `min_cell`), with every "
        "share, interval and score built from them. So that no such count can be worked out by "
        "subtraction from a total or from the other cells of its table, or across tables that "
        f"share a total, {suppressed} further count(s) are hidden and shown as \"x\" "
        "(complementary suppression, the next smallest cells), and "
        f"{withheld} score(s), bound(s) or test(s) from which a hidden count could be recovered "
        f"are withheld. {implied} small count(s) follow from totals the report must publish "
        "(such as the number who did not answer a question: those asked minus those who "
        "answered); hiding them would hide nothing, so they are shown. `disclosure.json` beside "
        "`results.json` lists each hidden or shown small cell and why. The exact values are "
        "only in the report folder's `private/`.")


def inputs_table(files: dict[str, dict]) -> Markup:
    """Input files by role: file name and SHA-256."""
    return markdown_table(pd.DataFrame({
        "Input": [role.replace("_", " ") for role in files],
        "File": [Markup(f"`{escape_code(v['file'])}`") for v in files.values()],
        "SHA-256": [Markup(f"`{v['sha256']}`") for v in files.values()]}))


def escape_code(text: str) -> str:
    """Text for an inline code span: backticks and table bars would end it early."""
    return str(text).replace("`", "'").replace("|", "/")


def versions_table(versions: dict[str, str]) -> Markup:
    """Package versions."""
    return markdown_table(pd.DataFrame({"Package": list(versions),
                                        "Version": list(versions.values())}))


def environment_text(env: dict) -> Markup:
    """'Environment as locked', or each package whose installed version is not the locked one
    (lockfile.environment)."""
    if env["lock"] is None:
        return Markup("No lock file (`uv.lock`) was found beside the project: the environment "
                      "was not checked.")
    lock = f"`{escape_code(env['lock'])}`, SHA-256 `{env['sha256']}`"
    if env.get("unreadable"):
        return Markup(f"The lock file ({lock}) cannot be read: the environment was not checked.")
    if env["as_locked"]:
        return Markup(f"**Environment as locked**: every package the report needs is at the "
                      f"version the lock file pins ({lock}).")
    differs = env["differs"]
    rows = pd.DataFrame({"Package": [d["package"] for d in differs],
                         "Locked": [d["locked"] for d in differs],
                         "Installed": [d["installed"] or "not installed" for d in differs]})
    return Markup(f"**The environment differs from the lock** ({lock}): "
                  f"{md(safe(len(differs)))} package(s) at another version than locked.\n\n"
                  + markdown_table(rows))


def data_quality_table(entries: Published) -> Markup:
    """Problems that did not stop the analysis, counted by field and problem (published)."""
    if not entries.value:
        return Markup("No data-quality problems were found.")
    rows = pd.DataFrame({"Field": [e["field"] or "(record)" for e in entries.value],
                         "Problem": [e["problem"] for e in entries.value],
                         "Records": [Published("", e["n"]) for e in entries.value]})
    return Markup(markdown_table(rows) + "\n\nThe row-by-row listing is written to "
                  "`private/data_quality.csv` in the report folder for the researchers; it is "
                  "not part of this report.")


def changes_section(change: list[dict], flips: list[dict]) -> Markup:
    """The report's short 'Changes since the previous run' text (claims that flipped first)."""
    from .changes import shown

    if not change:
        return Markup("No result changed since the previous run.")
    parts = []
    if flips:
        parts.append(bold("Claims whose match status changed"))
        parts.append(markdown_table(pd.DataFrame(
            {"Claim": [f["claim"] for f in flips], "Before": [f["old"] for f in flips],
             "Now": [f["new"] for f in flips]})))
    parts.append(bold("Results that changed"))
    parts.append(markdown_table(pd.DataFrame(
        {"results.json key": [c["key"] for c in change],
         "Before": [shown(c["old"]) for c in change], "Now": [shown(c["new"]) for c in change]})))
    parts.append(Markup("Every old and new value is in `changes.json` beside `results.json`."))
    return Markup("\n\n".join(parts))
