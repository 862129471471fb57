"""Tests of the synthetic data generator."""

from __future__ import annotations

import errno
import os
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
    identifier, stamp, complete = codebook.survey_columns
    fields = [c for c in codebook.columns if c != codebook.record_id]
    assert list(frame.columns) == [codebook.record_id, identifier, stamp, *fields, complete]
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


def synth_cli(*args: str) -> int:
    """`jakisurvey synth` in this process; argparse's usage errors return their exit status."""
    from jakisurvey.cli import main

    try:
        return main(["synth", *args])
    except SystemExit as stop:
        return int(stop.code)


@pytest.mark.parametrize("args, message", [
    (["--n", "10"], "argument --n: must be a whole number from 50 to 1,000,000 (got '10')"),
    (["--n", "5000000"], "argument --n: must be a whole number from 50 to 1,000,000 "
                         "(got '5000000')"),
    (["--seed", "-1"], "argument --seed: must be a whole number of at least 0 (got '-1')"),
    (["--seed", "x"], "argument --seed: must be a whole number of at least 0 (got 'x')"),
    (["--out", ""], "argument --out: must name a file (got an empty path)"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, args, message):
    options = {"--n": "229", "--seed": "1", "--out": str(tmp_path / "x.csv")}
    options.update(dict(zip(args[::2], args[1::2])))
    assert synth_cli(*[item for pair in options.items() for item in pair]) == 2
    error = capsys.readouterr().err
    assert error.splitlines()[-1] == f"jakisurvey synth: error: {message}"
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_with_force(tmp_path, capsys):
    out = tmp_path / "records.csv"
    out.write_text("the researcher's own file\n", encoding="utf-8")
    assert synth_cli("--seed", "1", "--out", str(out)) == 1
    assert capsys.readouterr().err == f"error: {out}: already exists; add --force to replace it\n"
    assert out.read_text(encoding="utf-8") == "the researcher's own file\n"
    assert synth_cli("--seed", "1", "--out", str(out), "--force") == 0
    assert out.read_text(encoding="utf-8").startswith("record_id,")
    assert [p.name for p in tmp_path.iterdir()] == ["records.csv"]


def test_a_folder_is_refused_even_with_force(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("years of work", encoding="utf-8")
    assert synth_cli("--seed", "1", "--out", str(tmp_path), "--force") == 1
    assert capsys.readouterr().err == (f"error: {tmp_path}: is a folder; --out must name the CSV "
                                       f"file to write, e.g. {tmp_path / 'records.csv'}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


@pytest.mark.parametrize("role, option", [("data dictionary", "--dictionary"),
                                          ("targets file", "--targets")])
def test_an_input_is_never_the_output(tmp_path, capsys, role, option):
    source = DICTIONARY if option == "--dictionary" else TARGETS
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    assert synth_cli("--seed", "1", option, str(copy), "--out", str(copy), "--force") == 1
    assert capsys.readouterr().err == \
        f"error: {copy}: is the {role} the generator reads; choose another --out\n"
    assert copy.read_bytes() == source.read_bytes()


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    out = tmp_path / "records.csv"
    out.write_text("previous export\n", encoding="utf-8")

    def half_then_killed(self, handle, **kwargs):
        handle.write("record_id,coun")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_killed)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic(N, SEED, out, DICTIONARY, TARGETS, force=True)
    assert out.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["records.csv"]


def test_a_file_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    out = tmp_path / "records.csv"
    (tmp_path / ".records.csv.k1ll3d.synth-tmp").write_text("record_id,coun", encoding="utf-8")
    (tmp_path / ".other.csv.k1ll3d.synth-tmp").write_text("not ours to remove", encoding="utf-8")
    write_synthetic(N, SEED, out, DICTIONARY, TARGETS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.csv.k1ll3d.synth-tmp",
                                                          "records.csv"]
    assert out.read_bytes() == RECORDS.read_bytes()


def test_a_full_disk_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    def disk_full(self, handle, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    out = tmp_path / "records.csv"
    assert synth_cli("--seed", "1", "--out", str(out)) == 1
    assert capsys.readouterr().err == (f"error: {out}: cannot write the synthetic records (No "
                                       "space left on device); nothing was written\n")
    assert list(tmp_path.iterdir()) == []


def test_the_written_file_has_ordinary_permissions(tmp_path):
    out = tmp_path / "records.csv"
    write_synthetic(N, SEED, out, DICTIONARY, TARGETS)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_ranking_draws_are_distinct_items_after_the_allocated_first(codebook, frame):
    for ranking in codebook.rankings.values():
        positions = frame[list(ranking.fields)]
        full = positions[(positions != "").all(axis=1)]
        assert len(full) > 150
        assert (full.nunique(axis=1) == ranking.k).sum() == len(full) - 1   # 1 planted repeat
