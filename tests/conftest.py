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


# --------------------------------------------------------------------- end-to-end reports
import os
import shutil
import subprocess
import sys

VENV_BIN = Path(sys.executable).parent
# CI sets this: a missing browser, PDF tool or Quarto is then a failure, never a skip.
REQUIRE_TOOLS = os.environ.get("JAKISURVEY_REQUIRE_TOOLS") == "1"


def tool_path() -> str:
    """PATH with this venv's commands first (the Quarto hooks call `jakisurvey`)."""
    return os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")])


def need(tool: str) -> str:
    """A command's path; skip (or fail, in CI) when it is missing."""
    found = shutil.which(tool, path=tool_path())
    if found is None:
        message = f"{tool} is not installed"
        if REQUIRE_TOOLS:
            pytest.fail(f"{message} (JAKISURVEY_REQUIRE_TOOLS=1)")
        pytest.skip(message)
    return found


def jakisurvey(*args: str, cwd: Path = ROOT, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the command line as a user would."""
    return subprocess.run([sys.executable, "-m", "jakisurvey.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PATH": tool_path(), **(env or {})},
                          timeout=timeout)


def project_copy(target: Path) -> Path:
    """A copy of the project's files (as git sees them), as in a fresh clone."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def bundled_inputs(project: Path) -> list[str]:
    """The command-line options naming a project's bundled inputs."""
    data = project / "data"
    return ["--records", str(data / "synthetic" / "records.csv"),
            "--dictionary", str(data / "data_dictionary.csv"), "--study", str(data / "study.yml")]


@pytest.fixture(scope="session")
def pandoc_report(tmp_path_factory) -> Path:
    """The bundled data of a project copy rendered with pandoc + Typst into its _output."""
    project = project_copy(tmp_path_factory.mktemp("pandoc") / "project")
    out = project / "_output"
    result = jakisurvey("run", *bundled_inputs(project), "--out", str(out), "--renderer", "pandoc")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def quarto_project(tmp_path_factory, pandoc_report) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the project rendered by `quarto render` at its root, as a Quarto user would
    after `make report` (so the notebooks come from the cache: same inputs, same keys)."""
    quarto = need("quarto")
    project = project_copy(tmp_path_factory.mktemp("quarto") / "project")
    shutil.copytree(pandoc_report.parent / ".jakisurvey-cache" / "notebooks",
                    project / ".jakisurvey-cache" / "notebooks")
    done = subprocess.run([quarto, "render"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PATH": tool_path()}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (project / "_output" / "report.html").is_file(), done.stderr[-3000:]
    return project, done


@pytest.fixture(scope="session")
def quarto_report(quarto_project) -> Path:
    """The report `quarto render` published."""
    return quarto_project[0] / "_output"


@pytest.fixture(scope="session")
def report_dirs(pandoc_report, request) -> dict[str, Path]:
    """The bundled report from each renderer available here (Quarto's skipped, or failed in CI)."""
    dirs = {"pandoc": pandoc_report}
    if REQUIRE_TOOLS or shutil.which("quarto", path=tool_path()):
        dirs["quarto"] = request.getfixturevalue("quarto_report")
    return dirs
