"""Input paths as users type them: relative, '~', symbolic links, spaces and non-ASCII names, from
any working folder. Each is resolved once, before any kernel starts (inputs.Inputs)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from jakisurvey.cli import main
from jakisurvey.inputs import Inputs

from helpers import DATA, jakisurvey, project_copy


def test_inputs_are_resolved_once_when_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "2024 export.csv").write_text("x")
    (tmp_path / "latest.csv").symlink_to(tmp_path / "exports" / "2024 export.csv")
    inputs = Inputs("latest.csv", "~/dictionary.csv", "exports/../study.yml")
    assert inputs.records == tmp_path / "latest.csv"            # the link, as typed
    assert inputs.dictionary == tmp_path / "home" / "dictionary.csv"
    assert inputs.study == tmp_path / "study.yml"
    assert all(path.is_absolute() for path in inputs.paths().values())


def user_folders(tmp_path: Path) -> Path:
    """A home folder holding the inputs under names with spaces and accents, one through a
    symbolic link; returns the home folder."""
    home = tmp_path / "home"
    exports = home / "Exports é"
    exports.mkdir(parents=True)
    shutil.copy(DATA / "synthetic" / "records.csv", exports / "my export.csv")
    (exports / "latest.csv").symlink_to(exports / "my export.csv")
    for name in ("data_dictionary.csv", "study.yml", "country_aliases.csv", "regions.csv"):
        shutil.copy(DATA / name, exports / name)
    (home / "study link.yml").symlink_to(exports / "study.yml")   # its country files: beside
    return home                                                    # the file it names


def test_validate_reads_paths_as_users_type_them(tmp_path, monkeypatch):
    home = user_folders(tmp_path)
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["validate", "--records", "~/Exports é/latest.csv",
                       "--dictionary", "../home/Exports é/data_dictionary.csv",
                       "--study", "~/study link.yml"])
    assert status == 0, err.getvalue()
    assert "~/Exports é/latest.csv: valid (235 records, 229 respondents" in out.getvalue()


def test_the_report_runs_with_relative_paths_from_two_folders(tmp_path, pandoc_report):
    """From the project folder, then from the export's folder with '~' and a symbolic link:
    the kernels read what the run resolved, whatever their working folder."""
    project = project_copy(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    (home / "study link.yml").symlink_to(project / "data" / "study.yml")
    first = jakisurvey("run", "--records", "data/synthetic/records.csv", "--dictionary",
                       "data/data_dictionary.csv", "--study", "data/study.yml", "--out",
                       "out one", "--renderer", "pandoc", cwd=project)
    assert first.returncode == 0, first.stderr
    second = jakisurvey("run", "--records", "records.csv", "--dictionary",
                        "../data_dictionary.csv", "--study", "~/study link.yml", "--out",
                        "../../résumé out", "--renderer", "pandoc",
                        cwd=project / "data" / "synthetic", env={"HOME": str(home)})
    assert second.returncode == 0, second.stderr
    expected = (pandoc_report / "results.json").read_text(encoding="utf-8")
    for out in (project / "out one", project / "résumé out"):
        assert (out / "results.json").read_text(encoding="utf-8") == expected
        inputs = json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]
        assert inputs["records"]["file"] == "records.csv"
        assert inputs["study"]["file"] in ("study.yml", "study link.yml")
        assert str(tmp_path) not in (out / "report.html").read_text(encoding="utf-8")
    assert not (project / "data" / "synthetic" / "notebooks").exists()   # nothing written there
