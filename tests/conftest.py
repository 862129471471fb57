"""Shared fixtures: the project's dictionary and country files, hand-built record sets, and the
bundled report from each renderer. Helpers shared by the test files are in helpers.py.

Tests that execute notebooks, run a report, start a browser or a renderer are marked `slow`
(by the fixtures they use, or by their module): `make test-fast` leaves them out."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jakisurvey.codebook import Codebook
from jakisurvey.countries import CountryResolver
from jakisurvey.survey import Survey, prepare

from helpers import (DATA, DICTIONARY, bundled_inputs, jakisurvey, need, project_copy,
                     raw_records, tool_path, wanted)

# Fixtures that run a report (or Quarto): a test using one is slow.
SLOW_FIXTURES = {"pandoc_report", "quarto_project", "quarto_report", "report_dirs",
                 "quarto_command", "hostile", "suppressed", "quarto_rendered", "rendered",
                 "browser", "printed"}


def pytest_collection_modifyitems(items) -> None:
    """Mark the tests that run reports, kernels, renderers or a browser as slow."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    """The project's data dictionary."""
    return Codebook.from_csv(DICTIONARY)


@pytest.fixture(scope="session")
def resolver() -> CountryResolver:
    """The project's country files."""
    return CountryResolver.from_files(DATA / "country_aliases.csv", DATA / "regions.csv")


@pytest.fixture
def survey_of(codebook, resolver):
    """Build a Survey from hand-written records."""
    def build(rows: list[dict]) -> Survey:
        return prepare(raw_records(codebook, rows), codebook, resolver, "hand.csv")
    return build


@pytest.fixture(scope="session")
def quarto_command() -> str:
    """The quarto command: skipped where it is missing, a failure in CI (helpers.need)."""
    return need("quarto")


@pytest.fixture(scope="session")
def pandoc_report(tmp_path_factory) -> Path:
    """The bundled data of a project copy rendered with pandoc + Typst into its _output."""
    project = project_copy(tmp_path_factory.mktemp("pandoc") / "project")
    out = project / "_output"
    result = jakisurvey("run", *bundled_inputs(project), "--out", str(out), "--renderer", "pandoc")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def quarto_project(tmp_path_factory, pandoc_report,
                   quarto_command) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the project rendered by `quarto render` at its root, as a Quarto user would
    after `make report` (so the notebooks come from the cache: same inputs, same keys)."""
    project = project_copy(tmp_path_factory.mktemp("quarto") / "project")
    shutil.copytree(pandoc_report.parent / ".jakisurvey-cache" / "notebooks",
                    project / ".jakisurvey-cache" / "notebooks")
    done = subprocess.run([quarto_command, "render"], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "PATH": tool_path()}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (project / "_output" / "report.html").is_file(), done.stderr[-3000:]
    return project, done


@pytest.fixture(scope="session")
def quarto_report(quarto_project) -> Path:
    """The report `quarto render` published."""
    return quarto_project[0] / "_output"


@pytest.fixture(scope="session")
def report_dirs(pandoc_report, request) -> dict[str, Path]:
    """The bundled report from each renderer here (Quarto's only where it is installed or
    required: helpers.wanted)."""
    dirs = {"pandoc": pandoc_report}
    if wanted("quarto"):
        dirs["quarto"] = request.getfixturevalue("quarto_report")
    return dirs
