"""Country normalisation: free text -> ISO 3166-1 alpha-3 -> UN M49 region, plus map boundaries.

Resolution is deliberately exact (after text normalisation): a reviewed alias file, then ISO
codes, then pycountry's names. There is no fuzzy matching, so "Niger" never becomes "Nigeria".
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pycountry

from .errors import SurveyError
from .textfile import NotText, read_utf8

if TYPE_CHECKING:
    import geopandas

UNKNOWN = "Unknown"  # the region of an unresolved answer, and its place in country counts
M49_REGIONS: tuple[str, ...] = ("Africa", "Americas", "Asia", "Europe", "Oceania")

# Answers that mean "no answer". Without this "NA" would be Namibia, "no" Norway, "NR" Nauru.
MISSING_TOKENS: frozenset[str] = frozenset(
    {"na", "n a", "nan", "no", "nr", "none", "null", "nil", "unknown", "not applicable",
     "not stated", "not reported", "prefer not to say"}
)


class CountryDataError(SurveyError, ValueError):
    """The alias or region file cannot be read or is inconsistent."""


_BOUNDARIES_PACKAGE = "pyogrio"
_BOUNDARIES_PATH = "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp"


def boundaries_source() -> str:
    """Where the map boundaries come from, for the report."""
    return ("Natural Earth 1:110m Cultural Vectors, Admin 0 - Countries (public domain), read "
            f"from the copy in the installed {_BOUNDARIES_PACKAGE} "
            f"{metadata.version(_BOUNDARIES_PACKAGE)} package "
            f"({_BOUNDARIES_PACKAGE}/{_BOUNDARIES_PATH}); nothing is downloaded.")


_DROPPED = re.compile(r"[.'’`´]")  # removed outright: "U.S.A." -> "usa", "d'Ivoire" -> "divoire"
_SEPARATORS = re.compile(r"[^\w\s]|_")  # other punctuation becomes a space
_SPACES = re.compile(r"\s+")


def normalise_text(value: str) -> str:
    """Casefold, strip accents and punctuation, collapse spaces and drop a leading "the "."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SEPARATORS.sub(" ", _DROPPED.sub("", text))
    text = _SPACES.sub(" ", text).strip()
    return text.removeprefix("the ")


def _is_missing(value: object) -> bool:
    """True for None, NaN, pd.NA and other scalar missing markers."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@cache
def _pycountry_names() -> dict[str, str]:
    """Map normalised pycountry name, official_name and common_name to alpha-3."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            label = getattr(country, attr, None)
            if label:
                index.setdefault(normalise_text(label), country.alpha_3)
    return index


@cache
def _pycountry_codes() -> dict[str, str]:
    """Map lower-case alpha-2 and alpha-3 codes to alpha-3."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        codes[country.alpha_3.lower()] = country.alpha_3
        codes[country.alpha_2.lower()] = country.alpha_3
    return codes


def _read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Read a UTF-8 CSV (BOM allowed) and check it has the expected columns."""
    try:
        reader = csv.DictReader(io.StringIO(read_utf8(path, "save it as CSV UTF-8"), newline=""))
    except NotText as error:
        raise CountryDataError(f"{path}: {error.rule}") from None
    missing = set(columns) - set(reader.fieldnames or ())
    if missing:
        raise CountryDataError(f"{path}: missing column(s) {sorted(missing)}; expected {list(columns)}")
    return [{k: (row[k] or "").strip() for k in columns} for row in reader]


def _load_regions(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Read regions.csv into (iso3 -> region, iso3 -> name)."""
    regions: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in _read_csv_rows(path, ("iso3", "name", "region")):
        iso3 = row["iso3"].upper()
        if not iso3 or row["region"] not in (*M49_REGIONS, UNKNOWN):
            raise CountryDataError(f"{path}: {iso3 or 'a row'} needs a region, one of "
                                   f"{', '.join(M49_REGIONS)} or {UNKNOWN} (found {row['region']!r})")
        if iso3 in regions:
            raise CountryDataError(f"{path}: duplicate iso3 {iso3}")
        regions[iso3], names[iso3] = row["region"], row["name"] or iso3
    return regions, names


def _load_aliases(path: Path, known: set[str]) -> dict[str, str]:
    """Read country_aliases.csv into normalised alias -> iso3, checking each code is known."""
    aliases: dict[str, str] = {}
    for row in _read_csv_rows(path, ("alias", "iso3")):
        key, iso3 = normalise_text(row["alias"]), row["iso3"].upper()
        if not key:
            continue
        if iso3 not in known:
            raise CountryDataError(
                f"{path}: alias {row['alias']!r} maps to {iso3!r}, not listed in the regions file")
        if aliases.get(key, iso3) != iso3:
            raise CountryDataError(
                f"{path}: alias {row['alias']!r} maps to both {aliases[key]} and {iso3}")
        aliases[key] = iso3
    return aliases


class CountryResolver:
    """Resolve free-text country answers to ISO alpha-3 codes, regions and display names."""

    def __init__(self, aliases: dict[str, str], regions: dict[str, str],
                 names: dict[str, str]) -> None:
        """Store normalised aliases and the iso3 -> region / name tables."""
        self._aliases = {normalise_text(k): v.upper() for k, v in aliases.items()}
        self._regions = dict(regions)
        self._names = dict(names)
        self._cache: dict[str, str | None] = {}

    @classmethod
    def from_files(cls, aliases: Path, regions: Path) -> CountryResolver:
        """Build a resolver from aliases (alias,iso3) and regions (iso3,name,region) CSV files."""
        region_map, names = _load_regions(Path(regions))
        return cls(_load_aliases(Path(aliases), set(region_map)), region_map, names)

    def iso3(self, value: str | None) -> str | None:
        """Return the ISO alpha-3 code for a free-text value, or None if empty or unresolvable."""
        if _is_missing(value):
            return None
        key = normalise_text(str(value))
        if key not in self._cache:
            self._cache[key] = self._lookup(key)
        return self._cache[key]

    def _lookup(self, key: str) -> str | None:
        """Resolve a normalised key: aliases, then ISO codes, then pycountry names."""
        if not key or key in MISSING_TOKENS:
            return None
        if key in self._aliases:
            return self._aliases[key]
        if 2 <= len(key) <= 3 and key.isalpha() and key in _pycountry_codes():
            return _pycountry_codes()[key]
        return _pycountry_names().get(key)

    def region(self, iso3: str | None) -> str:
        """Return the region of an ISO alpha-3 code, or "Unknown" for None or an unlisted code."""
        if _is_missing(iso3) or not iso3:
            return UNKNOWN
        return self._regions.get(str(iso3).upper(), UNKNOWN)

    def name(self, iso3: str | None) -> str:
        """Return a code's short English name: the code if unlisted, "Unknown" for None."""
        if _is_missing(iso3) or not iso3:
            return UNKNOWN
        return self._names.get(str(iso3).upper(), str(iso3))


def resolve_countries(values: pd.Series, resolver: CountryResolver) -> pd.DataFrame:
    """Return country_iso3 (missing where unresolved) and country_region ("Unknown" there).

    Each distinct answer is resolved once (an export repeats a few dozen answers).
    """
    distinct = values.dropna().unique()
    iso3 = values.map(dict(zip(distinct, map(resolver.iso3, distinct)))).astype("str")
    return pd.DataFrame({"country_iso3": iso3, "country_region": iso3.map(resolver.region)})


def _boundaries_file() -> Path:
    """Locate the Natural Earth 110 m shapefile inside the installed pyogrio package."""
    try:
        path = Path(str(resources.files(_BOUNDARIES_PACKAGE).joinpath(_BOUNDARIES_PATH)))
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            f"Map boundaries not found: package {_BOUNDARIES_PACKAGE!r} is not installed "
            f"(expected <site-packages>/{_BOUNDARIES_PACKAGE}/{_BOUNDARIES_PATH})."
        ) from exc
    if not path.is_file():
        raise FileNotFoundError(
            f"Map boundaries not found: expected {path} inside the installed "
            f"{_BOUNDARIES_PACKAGE} package."
        )
    return path


def _repair_iso3(code: object, name: object) -> str | None:
    """Return a valid alpha-3 code, resolving Natural Earth's "-99" via the country name."""
    code = None if _is_missing(code) else str(code).upper()
    if code in _pycountry_codes().values():
        return code
    return _pycountry_names().get(normalise_text(str(name)))


def world_boundaries() -> geopandas.GeoDataFrame:
    """Return Natural Earth 110 m countries (iso3, name, geometry) without Antarctica."""
    import geopandas

    raw = geopandas.read_file(_boundaries_file())
    iso3 = [_repair_iso3(c, n) for c, n in zip(raw["iso_a3"], raw["name"], strict=True)]
    world = geopandas.GeoDataFrame(
        {"iso3": pd.Series(iso3, dtype="object"), "name": raw["name"].astype(str)},
        geometry=raw.geometry.values,
        crs=raw.crs,
    )
    keep = (world["iso3"] != "ATA") & (world["name"] != "Antarctica")
    return world[keep].reset_index(drop=True)
