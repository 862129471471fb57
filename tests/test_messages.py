"""Clear one-line messages, exit 1 and nothing half-written, for what a careless user does."""

from __future__ import annotations

import csv
import errno
import os

import pytest
import yaml

from jakisurvey import cli, pipeline
from jakisurvey.cli import LISTED_PER_RULE, listed
from jakisurvey.load import Problem

from helpers import DATA, DICTIONARY, RECORDS, STUDY



def run(capsys, *args: str) -> tuple[int, str]:
    """The command line in-process: exit status and standard error."""
    status = cli.main(["run", "--renderer", "pandoc", *args])
    return status, capsys.readouterr().err


def study_with(tmp_path, **changes) -> str:
    """A copy of the bundled study file with some settings changed."""
    settings = yaml.safe_load(STUDY.read_text())
    settings.update({"country_aliases": str(DATA / "country_aliases.csv"),
                     "regions": str(DATA / "regions.csv"), **changes})
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return str(path)


def test_an_unwritable_parent_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)   # as a non-root user sees it
    status, error = run(capsys, "--out", str(tmp_path / "out"))
    assert status == 1 and "cannot write in" in error and "Traceback" not in error
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_nothing_half_written(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x"))
    monkeypatch.setattr(pipeline, "write_private_listing", full)
    monkeypatch.setattr(pipeline.Run, "execute", lambda *args, **kwargs: {})   # no kernels
    status, error = run(capsys, "--out", str(tmp_path / "out"))
    assert status == 1 and "No space left on device" in error and "Traceback" not in error
    assert list(tmp_path.iterdir()) == []        # no report, no staging, no cache folder


def test_fewer_invited_than_respondents_is_an_error(tmp_path, capsys):
    status, error = run(capsys, "--out", str(tmp_path / "out"), "--study",
                        study_with(tmp_path, n_invited=100))
    assert status == 1 and "n_invited" in error and "229 respondents" in error
    assert not (tmp_path / "out").exists()


def test_a_claim_whose_check_cannot_compare_its_result_is_an_error(tmp_path, capsys):
    claims = yaml.safe_load(STUDY.read_text())["claims"]
    claims[0] = {**claims[0], "check": "leading", "published": [1, 2]}   # a ranking check on 229
    status, error = run(capsys, "--out", str(tmp_path / "out"), "--study",
                        study_with(tmp_path, claims=claims))
    assert status == 1 and "claim 'respondents'" in error and "n_respondents" in error
    assert "Traceback" not in error and not (tmp_path / "out").exists()
    claims[0] = {**claims[0], "result": "barrier_ranking", "published": [1, 99]}
    status, error = run(capsys, "--out", str(tmp_path / "out"), "--study",
                        study_with(tmp_path, claims=claims))
    assert status == 1 and "[99] are not codes" in error


def test_validate_lists_a_few_warnings_of_each_kind():
    many = [Problem("x.csv", row, "country", "Atlantis", "country not recognised",
                    severity="warning") for row in range(2, 500)]
    lines = listed(many + [Problem("x.csv", 3, "role", "", "other", severity="warning")])
    assert len(lines) == LISTED_PER_RULE + 2
    assert lines[-1] == f"... and {498 - LISTED_PER_RULE} more: country not recognised"


@pytest.mark.parametrize("argv, code", [(["synth", "--seed", "-1", "--out", "x.csv"], 2),
                                        (["run", "--jobs", "0"], 2)])
def test_usage_errors_exit_2(argv, code, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == code and "Traceback" not in capsys.readouterr().err


def test_inputs_are_checked_before_the_report_folder_is_touched(tmp_path, capsys):
    status, error = run(capsys, "--records", str(tmp_path / "missing.csv"), "--out",
                        str(tmp_path / "out"))
    assert status == 1 and "records file not found" in error
    assert list(tmp_path.iterdir()) == [] and DICTIONARY.is_file() and RECORDS.is_file()


@pytest.mark.parametrize("setting, value, message", [
    ("regions", None, "'regions' must name a file"), ("regions", 7, "'regions' must name a file"),
    ("regions", ["regions.csv"], "'regions' must name a file"),
    ("country_aliases", "", "'country_aliases' must name a file"),
    ("title", None, "'title' must be a non-empty text (found None)"),
    ("title", "  ", "'title' must be a non-empty text"),
    ("title", ["a", "list"], "'title' must be a non-empty text")])
def test_a_study_setting_of_the_wrong_kind_is_one_line(tmp_path, capsys, setting, value,
                                                       message):
    study = study_with(tmp_path, **{setting: value})
    assert cli.main(["validate", "--study", study]) == 1
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1 and error.startswith(f"error: {study}: {message}"), error


def test_an_input_whose_name_is_not_utf8_is_one_line(tmp_path, capsys):
    records = tmp_path / os.fsdecode(b"records-\xff.csv")
    records.write_bytes(RECORDS.read_bytes())
    status, error = run(capsys, "--records", str(records), "--out", str(tmp_path / "out"))
    assert status == 1 and "Traceback" not in error
    assert error.splitlines()[0] == f"error: {tmp_path}/records-\\udcff.csv: the records file's " \
        "name is not valid UTF-8 text; rename the file (or its folder)"
    assert sorted(p.name for p in tmp_path.iterdir()) == [records.name]


ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31mAtlantis\u202e"


def test_control_characters_from_inputs_are_shown_not_obeyed(tmp_path, capsys):
    """A country answer and a claim id with terminal escape sequences (a new window title, a
    cleared screen, colour, right-to-left text) are printed as their escapes."""
    lines = RECORDS.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    first = next(csv.reader([lines[1]]))
    first[header.index("country")] = ESCAPES
    records = tmp_path / "records.csv"
    with records.open("w", encoding="utf-8", newline="") as handle:
        handle.write(lines[0])
        csv.writer(handle, lineterminator="\n").writerow(first)
        handle.writelines(lines[2:])
    assert cli.main(["validate", "--records", str(records)]) == 0
    printed = capsys.readouterr().out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mAtlantis\\u202e" in printed
    claims = yaml.safe_load(STUDY.read_text())["claims"]
    claims[0] = {**claims[0], "id": f"respondents{ESCAPES}", "result": "no_such_result"}
    assert cli.main(["validate", "--study", study_with(tmp_path, claims=claims)]) == 1
    error = capsys.readouterr().err
    assert "claim 'respondents\\x1b]0;owned" in error
    pipeline.to_stderr(f"changes: claim '{ESCAPES}': match -> mismatch")
    said = capsys.readouterr().err
    for text in (printed, error, said):
        assert not any(c in text for c in "\x1b\x07\u202e"), text


def test_progress_lines_from_many_threads_are_never_interleaved(monkeypatch):
    """The kernels' threads say 'notebook X: done' side by side: each line arrives whole (the
    old print() wrote the text and its newline apart: 'done in 0.6 snotebook 00_summary...')."""
    import threading
    import time

    class Slow:
        """A terminal that gives the other threads a turn between writes."""
        def __init__(self) -> None:
            self.text = ""

        def write(self, part: str) -> None:
            self.text += part
            time.sleep(0.0005)

        def flush(self) -> None:
            pass

    terminal = Slow()
    monkeypatch.setattr("sys.stderr", terminal)
    lines = [[f"notebook {t}: line {i}" for i in range(40)] for t in range(4)]
    threads = [threading.Thread(target=lambda said=said: [pipeline.to_stderr(s) for s in said])
               for said in lines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(terminal.text.splitlines()) == sorted(s for said in lines for s in said)
