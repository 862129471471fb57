"""What the notebooks show: each method returns one result as Markdown or a figure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown

from . import figures, stats
from .countries import UNKNOWN, CountryResolver, boundaries_source, world_boundaries
from .pipeline import Inputs, check_inputs
from .study import Study
from .survey import Survey
from .synth import PREFIX as SYNTHETIC_PREFIX


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table of a frame's columns (headers as given, cells as text)."""
    def cell(value) -> str:
        text = "" if value is None or value != value else str(value)
        return text.replace("|", "\\|").replace("\n", " ")
    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("--:" if pd.api.types.is_numeric_dtype(frame[c]) else "---"
                          for c in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def suppress(n: int, min_cell: int) -> str:
    """A count, or '<min_cell' when it is too small to publish (zero is shown)."""
    return f"<{min_cell}" if 0 < n < min_cell else str(n)


def shown_share(p: stats.Proportion, min_cell: int) -> str:
    """A proportion's text, suppressed when n is below min_cell."""
    return f"<{min_cell} (of {p.N})" if 0 < p.n < min_cell else str(p)


@dataclass
class Section:
    """One results section: the checked survey, the study settings and the output folder."""

    survey: Survey
    study: Study
    resolver: CountryResolver
    output: Path

    @classmethod
    def open(cls, records: str, dictionary: str, study: str, output: str) -> "Section":
        """Load and check the inputs named by the notebook's parameters, as a run does."""
        settings, resolver, survey = check_inputs(Inputs(Path(records), Path(dictionary),
                                                         Path(study)))
        figures.use_style()
        return cls(survey, settings, resolver, Path(output))

    @property
    def min_cell(self) -> int:
        """Smallest count shown as such (study setting)."""
        return self.study.min_cell

    def figure(self, fig, name: str) -> Image:
        """Save a figure under output/figures and return it for display."""
        return Image(filename=str(figures.save(fig, self.output / "figures" / f"{name}.png")))

    def share_table(self, table: pd.DataFrame, heading: str) -> Markdown:
        """A label / n/N table with suppression of small cells."""
        rows = pd.DataFrame({heading: table["label"],
                             "Respondents, % (n/N)": [
                                 shown_share(stats.Proportion(n, N), self.min_cell)
                                 for n, N in zip(table["n"], table["N"])]})
        return Markdown(markdown_table(rows))

    # Respondents and geography
    def response(self) -> Markdown:
        """Records, respondents and the response rate."""
        rate = stats.response_rate(self.survey, self.study.n_invited)
        n_records = len(self.survey.data)
        rows = pd.DataFrame({"": ["Records in the export", "Opened, not answered",
                                  "Respondents", "Providers invited", "Response rate"],
                             "Value": [n_records, n_records - rate.n, rate.n,
                                       self.study.n_invited, str(rate)]})
        return Markdown(markdown_table(rows))

    def regions(self) -> Markdown:
        """Respondents per UN M49 region."""
        counts = stats.region_counts(self.survey)
        total = int(counts.sum())
        rows = pd.DataFrame({"Region": counts.index,
                             "Respondents, % (n/N)": [shown_share(stats.Proportion(int(n), total),
                                                                  self.min_cell) for n in counts]})
        return Markdown(markdown_table(rows))

    def countries(self) -> Markdown:
        """Respondents per country, largest first."""
        counts = stats.country_counts(self.survey)
        names = [self.resolver.name(code) if code != UNKNOWN else "Not recognised"
                 for code in counts.index]
        rows = pd.DataFrame({"Country": names, "ISO3": counts.index,
                             "Respondents": [suppress(int(n), self.min_cell) for n in counts]})
        return Markdown(markdown_table(rows))

    def figure_map(self) -> Image:
        """Figure 1A: world map of respondents per country."""
        counts = stats.country_counts(self.survey)
        fig = figures.world_map(counts, world_boundaries(), self.min_cell)
        return self.figure(fig, "figure_1a_map")

    def map_source(self) -> Markdown:
        """Where the map's country boundaries come from."""
        return Markdown(f"Country boundaries: {boundaries_source()}")

    # JAKi experience and outcomes
    def users(self) -> Markdown:
        """JAKi users among respondents who answered."""
        used = stats.coded_share(self.survey, "jaki_used", {1})
        lower, upper = stats.patients_bounds(self.survey)
        rows = pd.DataFrame({"": ["Respondents who have used a systemic JAKi for JDM",
                                  "JDM patients treated with JAKi, lower bound",
                                  "JDM patients treated with JAKi, upper bound"],
                             "Value": [str(used), lower, "open-ended" if upper is None else upper]})
        return Markdown(markdown_table(rows))

    def patient_bands(self) -> Markdown:
        """JAKi users per band of patients treated, with band ends."""
        table = stats.band_table(self.survey)
        rows = pd.DataFrame({"Patients treated": table["band"],
                             "Users": [suppress(n, self.min_cell) for n in table["users"]],
                             "Band lower end": table["lower"],
                             "Band upper end": table["upper"].map(lambda u: "open" if pd.isna(u)
                                                                  else int(u))})
        return Markdown(markdown_table(rows))

    def answers(self, name: str, heading: str) -> Markdown:
        """Answers to a single-choice question with n/N."""
        return self.share_table(stats.coded_table(self.survey, name), heading)

    def improvement(self) -> Markdown:
        """Users who saw improvement in most or all of their patients."""
        most = stats.coded_share(self.survey, "jaki_improvement", {3, 4})
        return Markdown(f"Improvement in most or all patients: **{shown_share(most, self.min_cell)}** "
                        "of JAKi users who answered.")

    def side_effects(self) -> Markdown:
        """Users who observed side effects."""
        seen = stats.coded_share(self.survey, "jaki_side_effects", {1})
        return Markdown(f"Side effects observed: **{shown_share(seen, self.min_cell)}** "
                        "of JAKi users who answered.")

    def ticks(self, name: str, heading: str) -> Markdown:
        """Ticks per choice of a checkbox question with n/N."""
        return self.share_table(stats.checkbox_table(self.survey, name), heading)

    # Rankings
    def ranking(self, name: str) -> Markdown:
        """A ranking in Borda order with first places, times ranked and mean position."""
        table = stats.ranking_table(self.survey, name)
        rows = pd.DataFrame({"Rank": range(1, len(table) + 1), "Item": table["label"],
                             "Borda score": table["borda"],
                             "Ranked first": [suppress(n, self.min_cell) for n in table["n_first"]],
                             "Ranked at all": [suppress(n, self.min_cell) for n in table["n_ranked"]],
                             "Mean position": table["mean_position"].map(
                                 lambda m: "" if m != m or m is None else f"{m:.2f}")})
        valid = stats.n_valid_rankings(self.survey, name)
        return Markdown(f"Valid rankings: **{valid}** of {len(self.survey.respondents)} "
                        f"respondents.\n\n{markdown_table(rows)}")

    def figure_ranking(self, name: str, title: str, file: str) -> Image:
        """A ranking chart (Figure 1B for indications)."""
        table = stats.ranking_table(self.survey, name)
        k = self.survey.codebook.rankings[name].k
        return self.figure(figures.ranking_chart(table, k, title), file)

    def figure_ticks(self, name: str, title: str, file: str) -> Image:
        """A checkbox chart (Figures 1C and 1D)."""
        return self.figure(figures.share_chart(stats.checkbox_table(self.survey, name), title), file)

    # Summary
    def results(self) -> dict:
        """The run's results.json."""
        return json.loads((self.output / "results.json").read_text(encoding="utf-8"))

    def claims(self) -> Markdown:
        """The reproduction table: each published claim beside the reproduced value."""
        claims = self.results()["claims"]
        rows = pd.DataFrame({"Claim": [c["claim"] for c in claims],
                             "Published": [c["published_text"] for c in claims],
                             "Reproduced": [c["reproduced_text"] for c in claims],
                             "Match": ["✓ yes" if c["matches"] else "✗ no" for c in claims]})
        n_match = sum(c["matches"] for c in claims)
        return Markdown(f"**{n_match} of {len(claims)}** published claims reproduced.\n\n"
                        + markdown_table(rows))

    def synthetic_banner(self) -> Markdown:
        """A visible banner when the records are synthetic (every record id marked by synth)."""
        ids = self.survey.data["record_id"]
        if len(ids) and ids.str.startswith(SYNTHETIC_PREFIX).all():
            return Markdown("::: {.callout-warning .synthetic-banner}\n**Synthetic data.** "
                            "These records were generated by `jakisurvey synth` to match the "
                            "published aggregates. They are not the study's data, and no "
                            "finding here is evidence about JAKi in JDM.\n:::")
        return Markdown("")

    # Provenance
    def run_info(self) -> dict:
        """The run's provenance record (run.json)."""
        return json.loads((self.output / "run.json").read_text(encoding="utf-8"))

    def inputs(self) -> Markdown:
        """SHA-256 of every input file."""
        info = self.run_info()
        rows = pd.DataFrame({"Input": list(info["inputs"]),
                             "File": [f"`{Path(v['path']).name}`" for v in info["inputs"].values()],
                             "SHA-256": [f"`{v['sha256']}`" for v in info["inputs"].values()]})
        return Markdown(markdown_table(rows))

    def environment(self) -> Markdown:
        """Date, Python and package versions of the run."""
        info = self.run_info()
        lines = [f"Run on **{info['date']}** with Python {info['python']} "
                 f"(jakisurvey {info['jakisurvey']})."]
        rows = pd.DataFrame({"Package": list(info["packages"]),
                             "Version": list(info["packages"].values())})
        return Markdown("\n\n".join([*lines, markdown_table(rows)]))

    def data_quality(self) -> Markdown:
        """Problems that did not stop the analysis, counted by field and problem."""
        entries = self.results()["data_quality"]
        if not entries:
            return Markdown("No data-quality problems were found.")
        rows = pd.DataFrame({"Field": [e["field"] or "(record)" for e in entries],
                             "Problem": [e["problem"] for e in entries],
                             "Records": [e["n"] for e in entries]})
        return Markdown(markdown_table(rows) + "\n\nThe row-by-row listing is written to "
                        "`private/data_quality.csv` in the output folder for the researchers; "
                        "it is not part of this report.")
