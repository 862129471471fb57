"""Shared fixtures: the project's dictionary and country files, and hand-built record sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jakisurvey.codebook import Codebook
from jakisurvey.countries import CountryResolver
from jakisurvey.survey import Survey, prepare

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
DICTIONARY = DATA / "data_dictionary.csv"
RECORDS = DATA / "synthetic" / "records.csv"
STUDY = DATA / "study.yml"


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    """The project's data dictionary."""
    return Codebook.from_csv(DICTIONARY)


@pytest.fixture(scope="session")
def resolver() -> CountryResolver:
    """The project's country files."""
    return CountryResolver.from_files(DATA / "country_aliases.csv", DATA / "regions.csv")


def raw_records(codebook: Codebook, rows: list[dict]) -> pd.DataFrame:
    """A raw export (all cells strings) from a few answers per record; the rest left empty."""
    columns = codebook.columns
    frame = pd.DataFrame([{c: str(row.get(c, "")) for c in columns} for row in rows],
                         columns=columns, dtype="str")
    frame["record_id"] = [str(row.get("record_id", f"R{i}")) for i, row in enumerate(rows, 1)]
    frame.index = pd.Index(range(2, len(rows) + 2), name="row")
    return frame


@pytest.fixture
def survey_of(codebook, resolver):
    """Build a Survey from hand-written records."""
    def build(rows: list[dict]) -> Survey:
        return prepare(raw_records(codebook, rows), codebook, resolver, "hand.csv")
    return build


def write_csv(path: Path, header: list[str], rows: list[list[str]], **kwargs) -> Path:
    """Write a small CSV export for loader tests."""
    import csv

    with path.open("w", newline="", encoding=kwargs.pop("encoding", "utf-8")) as handle:
        writer = csv.writer(handle, lineterminator="\n", **kwargs)
        writer.writerow(header)
        writer.writerows(rows)
    return path
