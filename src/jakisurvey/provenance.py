"""Provenance of a run: when, with which software, from which files (names and SHA-256 only)."""

from __future__ import annotations

import datetime as dt
import platform
import re
from importlib import metadata
from pathlib import Path

from . import __version__


def package_versions() -> dict[str, str]:
    """Versions of the packages jakisurvey requires (extras left out)."""
    requirements = metadata.requires("jakisurvey") or []
    names = sorted({re.match(r"[\w.-]+", r).group() for r in requirements if "extra ==" not in r})
    return {name: metadata.version(name) for name in names}


def input_files(files: dict[str, Path], hashes: dict[str, str]) -> dict[str, dict]:
    """Each input by role: its file name (never the folder it is in) and SHA-256."""
    return {role: {"file": Path(path).name, "sha256": hashes[role]} for role, path in files.items()}


def run_info(files: dict[str, Path], hashes: dict[str, str], renderer: dict) -> dict:
    """run.json: date, Python, package and renderer versions, and the inputs."""
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "jakisurvey": __version__,
            "renderer": renderer, "packages": package_versions(),
            "inputs": input_files(files, hashes)}
