"""Tests for jakisurvey.countries: normalisation, resolution, regions and boundaries."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pycountry
import pytest

from jakisurvey import countries
from jakisurvey.countries import (
    M49_REGIONS,
    UNKNOWN,
    CountryDataError,
    CountryResolver,
    normalise_text,
    resolve_countries,
    world_boundaries,
)

DATA = Path(__file__).resolve().parents[1] / "data"
ALIASES = DATA / "country_aliases.csv"
REGIONS = DATA / "regions.csv"


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV file as a list of dicts."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def resolver() -> CountryResolver:
    """Resolver built from the project's data files."""
    return CountryResolver.from_files(ALIASES, REGIONS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  U.S.A. ", "usa"),
        ("Türkiye", "turkiye"),
        ("Korea,  South", "korea south"),
        ("The Netherlands", "netherlands"),
        ("Côte d'Ivoire", "cote divoire"),
        ("Guinea-Bissau", "guinea bissau"),
        ("ESPAÑA", "espana"),
        ("N/A", "n a"),
        ("", ""),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    """Normalisation ignores case, accents, punctuation, spacing and a leading 'the'."""
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("USA", "USA"),
        ("usa", "USA"),
        ("  usa ", "USA"),
        ("U.S.", "USA"),
        ("U.S.A.", "USA"),
        ("US", "USA"),
        ("United States", "USA"),
        ("United States of America", "USA"),
        ("america", "USA"),
        ("UK", "GBR"),
        ("U.K.", "GBR"),
        ("United Kingdom", "GBR"),
        ("England", "GBR"),
        ("Scotland", "GBR"),
        ("Wales", "GBR"),
        ("Northern Ireland", "GBR"),
        ("Great Britain", "GBR"),
        ("GBR", "GBR"),
        ("The Netherlands", "NLD"),
        ("Netherlands", "NLD"),
        ("Holland", "NLD"),
        ("Turkey", "TUR"),
        ("Turkiye", "TUR"),
        ("Türkiye", "TUR"),
        ("Korea, South", "KOR"),
        ("South Korea", "KOR"),
        ("Republic of Korea", "KOR"),
        ("North Korea", "PRK"),
        ("Czech Republic", "CZE"),
        ("Czechia", "CZE"),
        ("Deutschland", "DEU"),
        ("de", "DEU"),
        ("Germany", "DEU"),
        ("Brasil", "BRA"),
        ("Brazil", "BRA"),
        ("Espana", "ESP"),
        ("España", "ESP"),
        ("Russia", "RUS"),
        ("Iran", "IRN"),
        ("Mexico", "MEX"),
        ("México", "MEX"),
        ("Côte d'Ivoire", "CIV"),
        ("Ivory Coast", "CIV"),
        ("Israel", "ISR"),
        ("Australia", "AUS"),
        ("Japan", "JPN"),
        ("Egypt", "EGY"),
        ("Canada", "CAN"),
    ],
)
def test_variants_resolve(resolver: CountryResolver, raw: str, expected: str) -> None:
    """Codes, names and reviewed variants resolve to the expected alpha-3 code."""
    assert resolver.iso3(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Niger", "NER"),
        ("Nigeria", "NGA"),
        ("Guinea", "GIN"),
        ("Papua New Guinea", "PNG"),
        ("Equatorial Guinea", "GNQ"),
        ("Guinea-Bissau", "GNB"),
        ("Dominica", "DMA"),
        ("Dominican Republic", "DOM"),
        ("Congo", "COG"),
        ("DR Congo", "COD"),
        ("Sudan", "SDN"),
        ("South Sudan", "SSD"),
    ],
)
def test_similar_names_stay_distinct(resolver: CountryResolver, raw: str, expected: str) -> None:
    """Countries whose names contain each other are never confused."""
    assert resolver.iso3(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["Atlantis", "", "   ", None, float("nan"), pd.NA, "N/A", "n/a", "NA", "none", "Unknown",
     "Nigerr", "Europe", "Kosovo", "Americas", "123"],
)
def test_unresolvable_values_give_none(resolver: CountryResolver, raw: object) -> None:
    """Empty, missing-value markers and unknown places resolve to None and region Unknown."""
    assert resolver.iso3(raw) is None
    assert resolver.region(resolver.iso3(raw)) == "Unknown"


@pytest.mark.parametrize(
    ("iso3", "region"),
    [
        ("TUR", "Asia"), ("ISR", "Asia"), ("CYP", "Asia"), ("GEO", "Asia"), ("ARM", "Asia"),
        ("AZE", "Asia"), ("KAZ", "Asia"), ("JPN", "Asia"), ("RUS", "Europe"), ("GBR", "Europe"),
        ("USA", "Americas"), ("CAN", "Americas"), ("MEX", "Americas"), ("BRA", "Americas"),
        ("GRL", "Americas"), ("JAM", "Americas"), ("PRI", "Americas"), ("AUS", "Oceania"),
        ("NZL", "Oceania"), ("EGY", "Africa"), ("ZAF", "Africa"), ("ATA", "Unknown"),
    ],
)
def test_regions(resolver: CountryResolver, iso3: str, region: str) -> None:
    """UN M49 continental regions for countries that are often misplaced."""
    assert resolver.region(iso3) == region


def test_region_of_missing_or_unknown_code(resolver: CountryResolver) -> None:
    """None and codes not in the regions file give 'Unknown'."""
    assert resolver.region(None) == "Unknown"
    assert resolver.region("XKX") == "Unknown"


def test_names(resolver: CountryResolver) -> None:
    """Display names come from regions.csv."""
    assert resolver.name("USA") == "United States"
    assert resolver.name("GBR") == "United Kingdom"
    assert resolver.name("KOR") == "South Korea"
    assert resolver.name("RUS") == "Russia"


def test_regions_file_is_complete_and_valid() -> None:
    """regions.csv lists every pycountry alpha-3 once, sorted, with an allowed region."""
    rows = read_rows(REGIONS)
    codes = [row["iso3"] for row in rows]
    assert codes == sorted(codes)
    assert set(codes) == {c.alpha_3 for c in pycountry.countries}
    assert len(codes) == len(set(codes))
    assert {row["region"] for row in rows} <= {*M49_REGIONS, UNKNOWN}
    assert all(row["name"] for row in rows)
    assert b"\r" not in REGIONS.read_bytes()


def test_every_caribbean_country_is_americas(resolver: CountryResolver) -> None:
    """All Caribbean countries and territories are in the Americas."""
    caribbean = ("AIA ATG ABW BHS BRB BES VGB CYM CUB CUW DMA DOM GRD GLP HTI JAM MTQ MSR PRI "
                 "BLM KNA LCA MAF VCT SXM TTO TCA VIR").split()
    assert {resolver.region(code) for code in caribbean} == {"Americas"}


def test_every_alias_maps_to_a_listed_code(resolver: CountryResolver) -> None:
    """Every alias points at a code in regions.csv and resolves to it."""
    codes = {row["iso3"] for row in read_rows(REGIONS)}
    aliases = read_rows(ALIASES)
    for row in aliases:
        assert row["iso3"] in codes, row
        assert resolver.iso3(row["alias"]) == row["iso3"], row


def test_alias_to_unknown_code_is_rejected(tmp_path: Path) -> None:
    """A typo in the alias file stops the run with a clear error."""
    bad = tmp_path / "aliases.csv"
    bad.write_text("alias,iso3\nAtlantis,XXX\n", encoding="utf-8")
    with pytest.raises(CountryDataError, match="XXX"):
        CountryResolver.from_files(bad, REGIONS)


def test_missing_or_malformed_files_are_reported(tmp_path: Path) -> None:
    """A missing file or a missing column gives a CountryDataError naming the file."""
    with pytest.raises(CountryDataError, match="nope.csv"):
        CountryResolver.from_files(tmp_path / "nope.csv", REGIONS)
    wrong = tmp_path / "aliases.csv"
    wrong.write_text("spelling,code\nHolland,NLD\n", encoding="utf-8")
    with pytest.raises(CountryDataError, match="missing column"):
        CountryResolver.from_files(wrong, REGIONS)


def test_aliases_extend_the_mapping(tmp_path: Path) -> None:
    """A user-added alias is used after normalisation."""
    extra = tmp_path / "aliases.csv"
    extra.write_text("alias,iso3\nBhārat,IND\n", encoding="utf-8")
    resolver = CountryResolver.from_files(extra, REGIONS)
    assert resolver.iso3("  BHARAT ") == "IND"
    assert resolver.iso3("Holland") is None  # only the given aliases are used


def test_resolve_countries_keeps_index_and_marks_unknown(resolver: CountryResolver) -> None:
    """resolve_countries returns codes and regions aligned on the input index."""
    values = pd.Series(["USA", "England", "Atlantis", None, "Türkiye", "", "usa"],
                       index=[10, 11, 12, 13, 14, 15, 16])
    result = resolve_countries(values, resolver)
    assert list(result.columns) == ["country_iso3", "country_region"]
    assert list(result.index) == [10, 11, 12, 13, 14, 15, 16]
    assert result["country_iso3"].tolist()[:2] == ["USA", "GBR"]
    assert result["country_iso3"].isna().tolist() == [False, False, True, True, False, True, False]
    assert result.loc[14, "country_iso3"] == "TUR"
    assert result["country_region"].tolist() == [
        "Americas", "Europe", "Unknown", "Unknown", "Asia", "Unknown", "Americas"]


def test_world_boundaries() -> None:
    """Natural Earth boundaries have repaired codes and no Antarctica."""
    world = world_boundaries()
    assert list(world.columns) == ["iso3", "name", "geometry"]
    assert 170 <= len(world) <= 177
    codes = set(world["iso3"].dropna())
    assert {"FRA", "NOR", "USA", "GBR", "TUR", "BRA"} <= codes
    assert "ATA" not in codes
    assert "Antarctica" not in set(world["name"])
    unresolved = set(world.loc[world["iso3"].isna(), "name"])
    assert unresolved == {"N. Cyprus", "Somaliland", "Kosovo"}
    assert world["iso3"].dropna().is_unique
    assert world.crs is not None and world.crs.to_epsg() == 4326
    assert codes <= {c.alpha_3 for c in pycountry.countries}


def test_missing_boundaries_file_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the shapefile is absent the error names the expected path and the package."""
    monkeypatch.setattr(countries, "_BOUNDARIES_PATH", "tests/fixtures/missing/world.shp")
    with pytest.raises(FileNotFoundError, match=r"missing/world\.shp.*pyogrio"):
        world_boundaries()


def test_non_answers_do_not_become_countries(resolver: CountryResolver) -> None:
    """'No', 'NR' and 'N/A' are non-answers, not Norway, Nauru and Namibia."""
    for value in ["No", "NR", "N/A", "n.a.", "Not reported", "prefer not to say"]:
        assert resolver.iso3(value) is None, value
    assert resolver.iso3("Norway") == "NOR" and resolver.iso3("NOR") == "NOR"


def test_files_saved_by_excel_with_a_bom_are_read(tmp_path: Path) -> None:
    """An alias file saved as 'CSV UTF-8' by Excel (with a byte order mark) works."""
    extra = tmp_path / "aliases.csv"
    extra.write_bytes("\ufeffalias,iso3\r\nBharat,IND\r\n".encode("utf-8"))
    assert CountryResolver.from_files(extra, REGIONS).iso3("Bharat") == "IND"


def test_a_region_outside_m49_is_rejected(tmp_path: Path) -> None:
    """A typo in the regions file stops the run naming the code and the allowed regions."""
    regions = tmp_path / "regions.csv"
    regions.write_text("iso3,name,region\nFRA,France,Europa\n", encoding="utf-8")
    with pytest.raises(CountryDataError, match="FRA needs a region, one of Africa"):
        CountryResolver.from_files(ALIASES, regions)
