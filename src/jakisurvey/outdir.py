"""The report folder: refuse what is not ours, build beside it, publish atomically, recover.

A report folder is ours when it holds the marker file this module writes, and every file in
it is one the marker lists, with the SHA-256 it had when it was published (`published_hashes`,
`verify_published`); anything else in it, hidden files and Jupyter's checkpoints included,
is not ours and the folder is refused. Runs build in a staging folder under
`.jakisurvey-cache/staging/` next to the report folder, on the same file system, and publish by
exchanging the two folders in one system call (Linux renameat2), so that at every instant the
report folder holds a complete report. Where the file system cannot exchange, the old report is
moved aside first and a run interrupted between the two renames is restored by the next run.
A published file changed by hand (a notebook a reviewer edited) is kept under
`.jakisurvey-cache/replaced/` before its report is replaced.

One run at a time uses a report folder and its cache: a run holds the lock file
`.jakisurvey-cache/lock` (with its process id) from its start to its end.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import fnmatch
import json
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .cache import KINDS, FAILED, Cache, CacheError, file_sha256, read_file, real_folder, remove
from .errors import SurveyError

TOOL = "jakisurvey"
MARKER = ".jakisurvey-report.json"
CACHE = ".jakisurvey-cache"
LOCK = "lock"            # in the cache folder: the process id of the run holding it
REPLACED = "replaced"    # in the cache folder: published files changed by hand, kept
STAGING = "staging"      # in the cache folder: reports being built
RENAME_EXCHANGE = 2
AT_FDCWD = -100
MISSING, CHANGED = "missing", "changed"


class OutputError(SurveyError):
    """The report folder cannot be used: nothing was written."""


class Busy(SurveyError):
    """Another run holds the report folder's lock."""


def refuse(out: Path | str, why: str) -> OutputError:
    """The one-line refusal for an output folder."""
    return OutputError(f"--out {out}: {why}; nothing was written")


def check_out(given: str | os.PathLike, inputs: Iterable[Path], project: Path) -> Path:
    """The absolute report folder, or a refusal before any work when it is not ours to replace."""
    if not str(given).strip():
        raise refuse("''", "the folder name is empty (an unset shell variable?); "
                           "name the report folder, e.g. --out _output")
    out = Path(os.path.abspath(given))
    real = out.resolve()
    if out.is_symlink():
        raise refuse(out, "is a symbolic link; name the folder it points to, or another folder")
    guarded = {"the current folder": Path.cwd().resolve(), "the project folder": project.resolve()}
    for what, folder in guarded.items():
        if real == folder or real in folder.parents:
            raise refuse(out, f"is {what} or one of its parents")
    for path in inputs:
        if real == Path(path).resolve() or real in Path(path).resolve().parents:
            raise refuse(out, f"holds the input {Path(path).name}")
    if not out.parent.is_dir():
        raise refuse(out, f"the folder {out.parent} does not exist; create it first")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise refuse(out, f"cannot write in {out.parent} (permission denied)")
    if out.exists():
        check_ours(out)
    return out


def check_ours(out: Path) -> None:
    """Refuse a folder that is not a report this tool wrote (an empty folder is fine)."""
    if not out.is_dir():
        raise refuse(out, "is a file, not a report folder")
    if out.stat().st_uid != os.geteuid():
        raise refuse(out, f"is owned by another user (uid {out.stat().st_uid})")
    if not os.access(out, os.W_OK | os.X_OK):
        raise refuse(out, "cannot be replaced (permission denied)")
    foreign = foreign_files(out)
    if foreign is None:
        raise refuse(out, "is a folder this tool did not make (no report marker); move it or "
                          "choose another folder")
    if foreign:
        raise refuse(out, f"holds files this tool did not write ({listing(foreign)}); move "
                          "them first")


def listing(names: list[str], shown: int = 3) -> str:
    """A few names, and how many more."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def read_marker(folder: Path) -> dict | None:
    """The report marker of a folder, or None when there is none or it is not ours."""
    try:
        marker = json.loads(read_file(folder / MARKER))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("tool") != TOOL:
        return None
    files = marker.get("files")
    if isinstance(files, list):   # a marker written before files had their SHA-256
        files = {name: None for name in files if isinstance(name, str)}
    if not isinstance(files, dict) or not all(isinstance(n, str) for n in files):
        return None
    return {**marker, "files": files}


def published_hashes(folder: Path) -> dict[str, str] | None:
    """{file: SHA-256} of every file of a report as it was published (relative POSIX names);
    None when the folder holds no report of this tool or its marker has no hashes."""
    marker = read_marker(folder)
    if marker is None or not all(isinstance(h, str) for h in marker["files"].values()):
        return None
    return dict(marker["files"])


def verify_published(folder: Path) -> dict[str, str] | None:
    """The published files of a report that are no longer as published: {file: 'missing' or
    'changed'} (empty: every file is as published); None when there is nothing to verify
    against (no marker of this tool, or one without hashes)."""
    hashes = published_hashes(folder)
    if hashes is None:
        return None
    found = {}
    for name, expected in hashes.items():
        try:
            same = file_sha256(folder / name) == expected
        except FileNotFoundError:
            found[name] = MISSING
            continue
        except OSError:    # a link, a folder or a device where the file was
            same = False
        if not same:
            found[name] = CHANGED
    return found


def contents(folder: Path) -> tuple[list[str], list[str]]:
    """(files, folders) under a folder, as sorted relative POSIX paths; links are files (never
    followed), hidden names included."""
    files, folders = [], []
    for root, dirs, names in os.walk(folder):
        base = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if d not in links)
        folders += [(base / d).as_posix() for d in dirs]
        files += [(base / name).as_posix() for name in [*names, *links]]
    return sorted(files), sorted(folders)


def foreign_files(folder: Path) -> list[str] | None:
    """What in a report folder the marker does not account for (files not listed and not
    expected, listed names that are no longer files, folders holding none of ours); None when
    the folder is not empty and has no marker of ours."""
    files, folders = contents(folder)
    marker = read_marker(folder)
    if marker is None:
        return None if files or folders else []
    listed, expected = marker["files"], marker.get("expected", [])

    def ours(name: str) -> bool:
        return name in listed or any(fnmatch.fnmatchcase(name, p) for p in expected)

    found = [f for f in files if f != MARKER and not (ours(f) and regular(folder / f))]
    kept = {parent.as_posix() for f in files if f != MARKER and ours(f)
            for parent in Path(f).parents}
    kept |= {p.split("/*")[0] for p in expected}
    return found + [f"{d}/" for d in folders if d not in kept
                    and not any(f.startswith(f"{d}/") for f in found)]


def regular(path: Path) -> bool:
    """Whether a path is a regular file itself (not a link)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def write_marker(folder: Path, **details) -> None:
    """Mark a folder as a report of ours, listing every file in it with its SHA-256 (and,
    under `expected`, patterns of files a renderer will write into it on the tool's behalf)."""
    files = {name: file_sha256(folder / name) for name in contents(folder)[0] if name != MARKER}
    text = json.dumps({"tool": TOOL, **details, "files": files}, indent=1) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")


def cache_dir(out: Path) -> Path:
    """The tool's own folder beside a report folder (cache, staging), ignored by git."""
    return out.parent / CACHE


def staging_area(out: Path) -> Path:
    """Where the runs for this report folder stage (same file system as the report)."""
    return cache_dir(out) / STAGING


def check_cache(out: Path, cache: Cache, inside: bool = True) -> None:
    """Refuse, with one line, a cache folder (or a folder in it) that is a link or holds what
    this tool did not write: it is never read, pruned or deleted through. `inside`: the files
    in each entry too (before a run that reads entries)."""
    folder = cache_dir(out)
    if not os.path.lexists(folder):
        return
    found = [] if real_folder(folder) else ["."]
    if not found:
        known = {*KINDS, FAILED, STAGING, REPLACED}
        found = [p.name + ("/" if real_folder(p) else "") for p in sorted(folder.iterdir())
                 if p.name not in known and not (p.name == LOCK and regular(p))]
        found += [name for name in (STAGING, REPLACED) if os.path.lexists(folder / name)
                  and not real_folder(folder / name)]
        if real_folder(staging_area(out)):
            found += [f"{STAGING}/{p.name}" for p in sorted(staging_area(out).iterdir())
                      if owner(p) is None or not real_folder(p)]
        found += cache.foreign(inside)
    links = [name for name in found if (folder / name.rstrip("/")).is_symlink()]
    if links:
        raise CacheError(f"{folder / links[0]} is a symbolic link: the cache never follows one "
                         "(it would read or delete files elsewhere); remove the link (the cache "
                         "is safe to delete), then run again")
    if found:
        raise CacheError(f"the cache folder {folder} holds files this tool did not write "
                         f"({listing(found)}); it reads and deletes only its own: move them, "
                         "then run again")


@contextmanager
def locked(out: Path, wait: bool = True, say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the lock of a report folder and its cache (a lock file with this process's id) for
    the block; another run holding it is waited for, or refused (`wait` False)."""
    folder = cache_dir(out)
    while True:
        if os.path.lexists(folder) and not real_folder(folder):
            raise CacheError(f"the cache folder {folder} is a symbolic link or a file; this "
                             "tool never follows it: remove it, then run again")
        folder.mkdir(exist_ok=True)
        path = folder / LOCK
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "unknown"
            if not wait:
                os.close(handle)
                raise Busy(f"--out {out}: another run (process {holder}) is making this report "
                           "now (--no-wait: this one does not wait for it); nothing was written")
            say(f"waiting for another run (process {holder}) to finish with {out} ...")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            except BaseException:
                os.close(handle)
                raise
        if same_file(handle, path):   # not removed by the run that held it before
            break
        os.close(handle)
    os.ftruncate(handle, 0)
    os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
    try:
        yield
    finally:
        Path(path).unlink(missing_ok=True)
        os.close(handle)
        try:
            folder.rmdir()      # a refused first run leaves nothing behind
        except OSError:
            pass


def same_file(handle: int, path: Path) -> bool:
    """Whether an open file is still the one at a path."""
    try:
        return os.path.samestat(os.fstat(handle), os.lstat(path))
    except FileNotFoundError:
        return False


def new_staging(out: Path) -> Path:
    """A fresh, marked staging folder; its name carries this process's id."""
    area = staging_area(out)
    area.mkdir(parents=True, exist_ok=True)
    staging = area / f"{out.name}.{os.getpid()}.{secrets.token_hex(4)}"
    staging.mkdir()
    write_marker(staging, state="staging")
    return staging


def alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(folder: Path) -> tuple[str, int] | None:
    """(report folder name, process id) from a staging folder's name, if it is one."""
    stem = folder.name.removesuffix(".old")
    name, _, rest = stem.rpartition(".")
    name, _, pid = name.rpartition(".")
    return (name, int(pid)) if name and pid.isdigit() and len(rest) == 8 else None


def stale_stagings(out: Path) -> list[Path]:
    """Staging folders of this report folder left by runs that no longer exist: named by this
    tool, for this report folder, after a process that is gone."""
    area = staging_area(out)
    if not real_folder(area):
        return []
    stale = []
    for folder in area.iterdir():
        made_by = owner(folder)
        if made_by is None or made_by[0] != out.name or not real_folder(folder):
            continue
        if made_by[1] != os.getpid() and not alive(made_by[1]):
            stale.append(folder)
    return sorted(stale, key=lambda f: (f.name.endswith(".old"), f.name))


def recover(out: Path) -> list[str]:
    """Finish or undo what an interrupted run left, and say what was done."""
    said = []
    for folder in stale_stagings(out):
        marker = read_marker(folder) or {}
        if not out.exists() and marker.get("state") == "published":
            os.rename(folder, out)
            said.append(f"restored the complete report in {out} that an interrupted run was "
                        "publishing")
        else:
            remove_ours(folder)
            said.append(f"removed {folder.name}, left in {folder.parent} by an interrupted run")
    return said


def remove_ours(folder: Path) -> None:
    """Remove a folder of the tool's, its marker last: interrupted, what is left is still
    recognisably ours (and a later run removes it)."""
    for path in sorted(folder.iterdir()):
        if path.name != MARKER:
            remove(path)
    (folder / MARKER).unlink(missing_ok=True)
    folder.rmdir()


def exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    if libc.renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second),
                      RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}:
        return False
    raise OSError(code, os.strerror(code), str(second))


def keep_changed(out: Path) -> list[str]:
    """Copy the published files changed by hand since they were published (a notebook a
    reviewer edited) under the cache's replaced/ folder, before the report is replaced; the
    lines saying where."""
    changed = [name for name, why in (verify_published(out) or {}).items() if why == CHANGED]
    if not changed:
        return []
    kept = cache_dir(out) / REPLACED / f"{out.name}.{time.strftime('%Y%m%d-%H%M%S')}"
    while os.path.lexists(kept):
        kept = kept.with_name(f"{kept.name}-{secrets.token_hex(2)}")
    kept.mkdir(mode=0o700, parents=True)
    kept.chmod(0o700)     # private/ files may be among them: for their owner only
    for name in changed:
        (kept / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            data = read_file(out / name)
        except OSError:   # a link or a folder where a file was: foreign, refused by publish
            continue
        with open(os.open(kept / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as copy:
            copy.write(data)
    return [f"kept {name} (changed since it was published) in {kept}" for name in changed
            if (kept / name).is_file()]


def publish(staging: Path, out: Path, **details) -> list[str]:
    """Replace the report folder with the finished staging folder, complete at every instant;
    the lines saying which hand-changed files of the old report were kept, and where."""
    write_marker(staging, state="published", **details)
    said = []
    if out.exists():
        check_ours(out)  # nothing foreign slipped in while the run was building
        said = keep_changed(out)
        if not exchange(staging, out):
            aside = staging.with_name(staging.name + ".old")
            os.rename(out, aside)          # a kill here: the next run restores `aside`
            os.rename(staging, out)
            staging = aside
        remove_ours(staging)               # the previous report, now at the staging path
    else:
        os.rename(staging, out)
    return said


def discard(staging: Path) -> None:
    """Remove a staging folder of this run (ours: made by new_staging), and the tool's folders
    above it if that leaves them empty (a refused first run leaves nothing behind)."""
    if real_folder(staging):
        for _ in range(5):   # a tool or kernel stopped a moment ago may still be finishing
            try:
                remove_ours(staging)
                break
            except OSError:
                time.sleep(0.2)
    for folder in (staging.parent, staging.parent.parent):
        try:
            folder.rmdir()
        except OSError:
            break
