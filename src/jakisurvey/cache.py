"""The run cache: executed notebooks and rendered files, keyed by everything they were made from.

An entry's key is the SHA-256 of what made it: a notebook's source, its parameters, the
SHA-256 of every input file, and the software (Python, every installed distribution's
version, the bytes of this package's own files, and the lock file's SHA-256). An unchanged
key means the stored result is the result; a changed anything means a new key. The folder is
safe to delete.

An entry is a folder named by its key holding its files and MANIFEST.json, the SHA-256 of each;
it is read only whole and as stored: a missing, truncated or altered file is noticed, the entry
discarded (with a line saying so) and made again. The cache never follows a symbolic link:
it reads, prunes and deletes only what it wrote, and refuses a folder holding anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from functools import cache
from pathlib import Path

from . import lockfile
from .errors import SurveyError

PACKAGE = Path(__file__).resolve().parent
KEEP = 64  # entries kept per kind, most recently used first
KINDS = ("notebooks", "views", "render")
FAILED = "failed"   # partially executed notebooks, kept for inspection (one per notebook name)
MANIFEST = "MANIFEST.json"
ENTRY = re.compile(r"[0-9a-f]{64}")
# An entry being stored: `.<key>.<process id>.<random>.partial` (no id: an earlier version's).
PARTIAL = re.compile(r"\.[0-9a-f]{64}(?:\.(\d+))?\.[0-9a-f]{8}\.partial")
LEGACY = re.compile(r"[0-9a-f]{64}(\.ipynb|\.html)?")   # entries of the format without a manifest
ENTRY_FILE = re.compile(r"[\w.-]+")
FAILED_FILE = re.compile(r"[\w.-]+\.ipynb|\.[\w.-]+\.[0-9a-f]{8}\.partial")


class CacheError(SurveyError):
    """The cache folder holds what this tool did not write: nothing is read from or removed in it."""


def digest(*parts) -> str:
    """SHA-256 of JSON-serialisable parts (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def software() -> dict:
    """What the results depend on besides the inputs: Python, distributions, this package's files
    (the renderers' assets among them), and the lock file (the report says whether the
    environment is the one it pins)."""
    distributions = lockfile.installed()
    package = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            package.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            package.update(path.read_bytes())
    return {"python": platform.python_version(), "distributions": distributions,
            "package": package.hexdigest(), "lock": lockfile.sha256()}


def read_file(path: Path) -> bytes:
    """A regular file's bytes, never through a symbolic link (OSError for anything else)."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OSError(f"{path} is not a regular file")
        with os.fdopen(handle, "rb", closefd=False) as reader:
            return reader.read()
    finally:
        os.close(handle)


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file, never through a symbolic link (OSError for anything else)."""
    return hashlib.sha256(read_file(path)).hexdigest()


def write_file(path: Path, data: bytes) -> None:
    """Write a file whole under its name: a symbolic link there is replaced, never followed."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    with open(partial, "xb") as handle:
        handle.write(data)
    os.replace(partial, path)


def remove(path: Path) -> None:
    """Remove a file, link or folder of the tool's, never following a symbolic link."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)   # on Linux, by file descriptors: no link inside is followed
    else:
        path.unlink(missing_ok=True)


def real_folder(path: Path) -> bool:
    """Whether a path is a folder itself (not a link to one)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


class Cache:
    """Entries under one folder, by kind ('notebooks', 'views', 'render') and key.

    `say` gets the line about a damaged entry; `guard` runs before anything is stored (the run
    checks there that its inputs did not change)."""

    def __init__(self, folder: Path, use: bool = True, say: Callable[[str], None] = print,
                 guard: Callable[[], None] = lambda: None) -> None:
        self.folder = folder
        self.use = use
        self.say = say
        self.guard = guard

    def get(self, kind: str, key: str) -> dict[str, bytes] | None:
        """The stored files of an entry, as verified against their SHA-256, and the entry
        marked as just used; None on a miss, with --force, or for a damaged entry (removed)."""
        entry = self.folder / kind / key
        if not self.use or not real_folder(entry):
            return None
        try:
            files = self.verified(entry)
        except (OSError, ValueError) as damage:
            if not real_folder(entry):     # pruned by another of the run's threads: a miss
                return None
            remove(entry)
            self.say(f"cache: a damaged {kind} entry ({damage}) was removed; it is made again")
            return None
        os.utime(entry, follow_symlinks=False)
        return files

    @staticmethod
    def verified(entry: Path) -> dict[str, bytes]:
        """An entry's files, each as its manifest's SHA-256 says (ValueError naming the first
        one that is missing, truncated, altered or not listed)."""
        try:
            manifest = json.loads(read_file(entry / MANIFEST))
        except (OSError, ValueError):
            raise ValueError(f"{MANIFEST} missing or unreadable") from None
        if not isinstance(manifest, dict) or not manifest:
            raise ValueError(f"{MANIFEST} lists no file")
        present = {path.name for path in entry.iterdir()} - {MANIFEST}
        if present != set(manifest):
            name = sorted(present ^ set(manifest))[0]
            raise ValueError(f"{name}: {'missing' if name in manifest else 'not listed'}")
        files = {}
        for name, expected in manifest.items():
            files[name] = read_file(entry / name)
            if hashlib.sha256(files[name]).hexdigest() != expected:
                raise ValueError(f"{name}: truncated or altered, its SHA-256 is not the one stored")
        return files

    def put(self, kind: str, key: str, files: dict[str, Path]) -> None:
        """Store copies of files as one entry, with their SHA-256, atomically (readers never see
        half an entry)."""
        self.guard()
        area = self.area(kind)
        partial = self.partial(area, key)
        partial.mkdir()
        manifest = {}
        for name, source in files.items():
            data = read_file(source)
            (partial / name).write_bytes(data)
            manifest[name] = hashlib.sha256(data).hexdigest()
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        target = area / key
        if os.path.lexists(target):   # --force made it again: the old one goes
            old = self.partial(area, key)
            os.rename(target, old)
            remove(old)
        os.rename(partial, target)
        self.prune(area)

    @staticmethod
    def partial(area: Path, key: str) -> Path:
        """A name for an entry being stored (or removed) by this process."""
        return area / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.partial"

    def area(self, kind: str) -> Path:
        """The folder of one kind of entry (made when first needed; a link is refused)."""
        area = self.folder / kind
        area.mkdir(parents=True, exist_ok=True)
        if not real_folder(area):
            raise CacheError(f"the cache folder {area} is not a folder of its own (a symbolic "
                             "link?); this tool never writes through it: remove it, then run again")
        return area

    @staticmethod
    def prune(area: Path) -> None:
        """Keep the most recently used entries of a kind; remove what other processes left
        while storing (one run at a time uses a cache: theirs are dead runs'; this run's own
        threads may be storing now) and entries of the earlier format. Links are never
        followed."""
        with os.scandir(area) as found:
            names = [(e.name, e.stat(follow_symlinks=False)) for e in found if not e.is_symlink()]
        entries = sorted(((status.st_mtime, name) for name, status in names
                          if ENTRY.fullmatch(name) and stat.S_ISDIR(status.st_mode)), reverse=True)
        old = [name for _, name in entries[KEEP:]]
        old += [name for name, status in names if (LEGACY.fullmatch(name) and not
                                                   stat.S_ISDIR(status.st_mode))
                or (partial := PARTIAL.fullmatch(name)) and partial[1] != str(os.getpid())]
        for name in old:
            remove(area / name)

    def foreign(self, inside: bool = True) -> list[str]:
        """What in the entry folders (and failed/) this tool did not write: links anywhere,
        names that are not entries, and (`inside`) files in an entry that are not its own."""
        found = []
        for kind in (*KINDS, FAILED):
            area = self.folder / kind
            if not os.path.lexists(area):
                continue
            if not real_folder(area):
                found.append(kind)
                continue
            for path in sorted(area.iterdir()):
                name = f"{kind}/{path.name}"
                if path.is_symlink():
                    found.append(name)
                elif kind == FAILED:
                    if not (FAILED_FILE.fullmatch(path.name) and path.is_file()):
                        found.append(name)
                elif PARTIAL.fullmatch(path.name) or (LEGACY.fullmatch(path.name)
                                                      and not ENTRY.fullmatch(path.name)):
                    continue
                elif not (ENTRY.fullmatch(path.name) and path.is_dir()):
                    found.append(name)
                elif inside:
                    found += [f"{name}/{inner}" for inner in self.strangers(path)]
        return found

    @staticmethod
    def strangers(entry: Path) -> list[str]:
        """What in an entry is not its own: not listed in its manifest (or, without a readable
        manifest, an entry of the earlier format or a damaged one, not a plain file), links."""
        try:
            listed = {MANIFEST, *json.loads(read_file(entry / MANIFEST))}
        except (OSError, ValueError, TypeError):
            listed = None
        return [inner.name for inner in sorted(entry.iterdir())
                if inner.is_symlink() or not inner.is_file()
                or (inner.name not in listed if listed else not ENTRY_FILE.fullmatch(inner.name))]
