"""Tests of the synthetic data generator."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jakisurvey.codebook import Codebook
from jakisurvey.synth import PREFIX, generate, load_targets, write_synthetic

ROOT = Path(__file__).resolve().parents[1]
DICTIONARY = ROOT / "data" / "data_dictionary.csv"
TARGETS = ROOT / "data" / "synthetic" / "targets.yml"
RECORDS = ROOT / "data" / "synthetic" / "records.csv"
N, SEED = 229, 20250301


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    """The project's data dictionary."""
    return Codebook.from_csv(DICTIONARY)


@pytest.fixture(scope="module")
def targets() -> dict:
    """The generator's targets."""
    return load_targets(TARGETS)


@pytest.fixture(scope="module")
def frame(codebook: Codebook, targets: dict) -> pd.DataFrame:
    """The synthetic records as generated for the shipped file."""
    return generate(codebook, targets, N, SEED)


def test_regeneration_reproduces_shipped_file(tmp_path: Path) -> None:
    """The shipped records.csv is exactly what the documented command writes."""
    out = tmp_path / "records.csv"
    write_synthetic(N, SEED, out, dictionary=DICTIONARY, targets=TARGETS)
    assert out.read_bytes() == RECORDS.read_bytes()


def test_same_seed_same_data_other_seed_other_data(codebook: Codebook, targets: dict,
                                                   frame: pd.DataFrame) -> None:
    """Generation is a function of the seed."""
    assert generate(codebook, targets, N, SEED).equals(frame)
    assert not generate(codebook, targets, N, SEED + 1).equals(frame)


def test_cells_are_codes_the_dictionary_defines(codebook: Codebook, frame: pd.DataFrame) -> None:
    """Coded cells hold defined codes; checkbox cells are 0, 1 or empty."""
    for field in codebook.fields.values():
        if field.type == "checkbox":
            for column in field.columns:
                assert set(frame[column]) <= {"0", "1", ""}, column
        elif field.type in {"radio", "dropdown", "yesno"}:
            allowed = {str(code) for code in field.choices} | {""}
            assert set(frame[field.name]) <= allowed, field.name


def test_record_ids_unique_and_synthetic(codebook: Codebook, frame: pd.DataFrame) -> None:
    """Record ids are unique and carry the synthetic prefix."""
    ids = frame[codebook.record_id]
    assert ids.is_unique
    assert ids.str.startswith(PREFIX).all()


def test_layout_and_string_cells(codebook: Codebook, frame: pd.DataFrame) -> None:
    """Columns follow the REDCap raw export layout and every cell is a string."""
    identifier, stamp, complete = codebook.system_columns
    fields = [c for c in codebook.columns if c != codebook.record_id]
    assert list(frame.columns) == [codebook.record_id, identifier, stamp, *fields, complete]
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


def test_too_few_respondents_is_refused_plainly(tmp_path):
    from jakisurvey.cli import main

    assert main(["synth", "--n", "10", "--seed", "1", "--out", str(tmp_path / "x.csv")]) == 1
    assert not (tmp_path / "x.csv").exists()
