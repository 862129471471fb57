"""The run cache: executed notebooks and rendered files, keyed by everything they were made from.

An entry's key is the SHA-256 of what made it: a notebook's source, its parameters, the
SHA-256 of every input file, and the software (Python, every installed distribution's
version, the bytes of this package's own files, and the lock file's SHA-256). An unchanged
key means the stored result is the result; a changed anything means a new key. The folder is
safe to delete.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import time
from functools import cache
from pathlib import Path

from . import lockfile

PACKAGE = Path(__file__).resolve().parent
KEEP = 64  # entries kept per kind, most recently used first


def digest(*parts) -> str:
    """SHA-256 of JSON-serialisable parts (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def software() -> dict:
    """What the results depend on besides the inputs: Python, distributions, this package's files,
    and the lock file (the report says whether the environment is the one it pins)."""
    distributions = lockfile.installed()
    package = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            package.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            package.update(path.read_bytes())
    return {"python": platform.python_version(), "distributions": distributions,
            "package": package.hexdigest(), "lock": lockfile.sha256()}


class Cache:
    """Entries under one folder, by kind ('notebooks', 'views', 'render') and key."""

    def __init__(self, folder: Path, use: bool = True) -> None:
        self.folder = folder
        self.use = use

    def get(self, kind: str, key: str, suffix: str = "") -> Path | None:
        """The stored entry (file or folder), marked as just used; None on a miss or with --force."""
        path = self.folder / kind / f"{key}{suffix}"
        if not self.use or not path.exists():
            return None
        os.utime(path)
        return path

    def put(self, kind: str, key: str, made: Path, suffix: str = "") -> None:
        """Store a copy of a file or folder, atomically (readers never see half an entry)."""
        area = self.folder / kind
        area.mkdir(parents=True, exist_ok=True)
        partial = area / f".{key}.{secrets.token_hex(4)}.partial"
        if made.is_dir():
            shutil.copytree(made, partial)
        else:
            shutil.copyfile(made, partial)
        target = area / f"{key}{suffix}"
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
        self.prune(area)

    @staticmethod
    def prune(area: Path) -> None:
        """Keep the most recently used entries of a kind; remove unfinished copies of dead runs."""
        entries = sorted((p for p in area.iterdir() if not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        unfinished = [p for p in area.glob(".*.partial") if time.time() - p.stat().st_mtime > 3600]
        for old in entries[KEEP:] + unfinished:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
