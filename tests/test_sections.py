"""What the notebooks show: tables, suppression of small cells, figures."""

from __future__ import annotations

import dataclasses

import pandas as pd

from jakisurvey import figures
from jakisurvey.countries import world_boundaries
from jakisurvey.sections import Section, markdown_table, shown_share, suppress
from jakisurvey.stats import Proportion
from jakisurvey.study import load_study

from conftest import STUDY


def section_of(survey, tmp_path, min_cell=1) -> Section:
    """A Section over hand-built records with a given min_cell."""
    study = dataclasses.replace(load_study(STUDY), min_cell=min_cell)
    from jakisurvey.countries import CountryResolver
    resolver = CountryResolver.from_files(study.country_aliases, study.regions)
    return Section(survey, study, resolver, tmp_path)


def test_suppression_of_small_cells():
    assert suppress(2, 3) == "<3" and suppress(3, 3) == "3" and suppress(0, 3) == "0"
    assert shown_share(Proportion(2, 40), 3) == "<3 (of 40)"
    assert shown_share(Proportion(3, 40), 3) == "8% (3/40)"
    assert shown_share(Proportion(2, 40), 1) == "5% (2/40)"


def test_country_table_suppresses_below_min_cell(survey_of, tmp_path):
    survey = survey_of([{"country": "USA", "role": 1}] * 3 + [{"country": "Chile", "role": 1}])
    table = section_of(survey, tmp_path, min_cell=2).countries().data
    assert "| United States | USA | 3 |" in table and "| Chile | CHL | <2 |" in table
    plain = section_of(survey, tmp_path).countries().data
    assert "| Chile | CHL | 1 |" in plain


def test_map_leaves_out_small_and_unknown_cells():
    counts = pd.Series({"USA": 5, "CHL": 1, "Unknown": 4})
    assert figures.map_counts(counts, 2).to_dict() == {"USA": 5}
    assert figures.map_bins(2) == [2, 6, 11, 21, 51]
    assert figures.bin_labels([1, 2, 6]) == ["1", "2-5", "6+"]


def test_world_map_draws(tmp_path):
    figures.use_style()
    fig = figures.world_map(pd.Series({"USA": 115, "FRA": 4, "NOR": 1}), world_boundaries(), 1)
    path = figures.save(fig, tmp_path / "map.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_markdown_table_aligns_numbers_right():
    table = markdown_table(pd.DataFrame({"Item": ["a|b"], "n": [3]}))
    assert table.splitlines() == ["| Item | n |", "|---|--:|", "| a\\|b | 3 |"]
