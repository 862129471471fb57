"""Provenance of a run: its date, the software (and whether it is the locked environment), the
input files (names and SHA-256 only).

The report's date is never the clock, so that the same inputs, lock and command give the same
files: SOURCE_DATE_EPOCH when it is set (the reproducible-builds convention), else the study
file's `date`, else the day the records export was last modified; a day, in UTC.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from . import __version__
from .errors import StudyError

EPOCH = "SOURCE_DATE_EPOCH"


def package_versions() -> dict[str, str]:
    """Versions of the packages jakisurvey requires (extras left out)."""
    requirements = metadata.requires("jakisurvey") or []
    names = sorted({re.match(r"[\w.-]+", r).group() for r in requirements if "extra ==" not in r})
    return {name: metadata.version(name) for name in names}


def input_files(files: dict[str, Path], hashes: dict[str, str]) -> dict[str, dict]:
    """Each input by role: its file name (never the folder it is in) and SHA-256."""
    return {role: {"file": Path(path).name, "sha256": hashes[role]} for role, path in files.items()}


def report_date(study_date: dt.date | None, study: Path, records: Path,
                environ: dict | None = None) -> dict[str, str]:
    """The report's date and where it comes from (module docstring: never the clock)."""
    environ = os.environ if environ is None else environ
    given = environ.get(EPOCH, "").strip()
    if given:
        try:
            day = dt.datetime.fromtimestamp(int(given), dt.timezone.utc).date()
        except (ValueError, OverflowError, OSError):
            raise StudyError(f"{EPOCH} must be a whole number of seconds since 1970-01-01 UTC "
                             f"(found {given!r}); unset it to date the report from the study "
                             "file") from None
        source = EPOCH
    elif study_date is not None:
        day, source = study_date, f"{Path(study).name} date"
    else:
        modified = Path(records).stat().st_mtime
        day = dt.datetime.fromtimestamp(modified, dt.timezone.utc).date()
        source = f"{Path(records).name} modification time"
    return {"date": day.isoformat(), "date_from": source}


def run_info(files: dict[str, Path], hashes: dict[str, str], renderer: dict,
             date: dict[str, str], env: dict) -> dict:
    """run.json: the report's date, Python, package and renderer versions, the environment
    against the lock, and the inputs."""
    return {**date, "python": platform.python_version(), "jakisurvey": __version__,
            "renderer": renderer, "packages": package_versions(), "environment": env,
            "inputs": input_files(files, hashes)}
