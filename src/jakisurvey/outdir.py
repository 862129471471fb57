"""The report folder: refuse what is not ours, build beside it, publish atomically, recover.

A report folder is ours when it holds the marker file this module writes, and every file in
it is one the marker lists (Jupyter's own checkpoint folder aside). Runs build in a staging
folder under `.jakisurvey-cache/staging/` next to the report folder, on the same file system,
and publish by exchanging the two folders in one system call (Linux renameat2), so that at
every instant the report folder holds a complete report. Where the file system cannot
exchange, the old report is moved aside first and a run interrupted between the two renames
is restored by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from .errors import SurveyError

TOOL = "jakisurvey"
MARKER = ".jakisurvey-report.json"
CACHE = ".jakisurvey-cache"
JUPYTER_LEFTOVERS = {".ipynb_checkpoints"}  # Jupyter's copies, when a reviewer re-runs a notebook
RENAME_EXCHANGE = 2
AT_FDCWD = -100


class OutputError(SurveyError):
    """The report folder cannot be used: nothing was written."""


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
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise refuse(out, f"holds files this tool did not write ({shown}); move them first")


def read_marker(folder: Path) -> dict | None:
    """The report marker of a folder, or None when there is none or it is not ours."""
    path = folder / MARKER
    if path.is_symlink() or not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("tool") != TOOL:
        return None
    return marker if isinstance(marker.get("files"), list) else None


def files_in(folder: Path) -> list[str]:
    """Every file and link under a folder, as sorted relative POSIX paths (links not followed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        dirs[:] = sorted(d for d in dirs if d not in JUPYTER_LEFTOVERS or base != Path("."))
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        found += [(base / name).as_posix() for name in [*files, *links]]
    return sorted(found)


def foreign_files(folder: Path) -> list[str] | None:
    """Files the marker does not list; None when the folder is not empty and has no marker."""
    present = [f for f in files_in(folder) if f != MARKER
               and not JUPYTER_LEFTOVERS & set(Path(f).parts)]
    marker = read_marker(folder)
    if marker is None:
        return None if present or (folder / MARKER).exists() else []
    listed, expected = set(marker["files"]), marker.get("expected", [])
    return [f for f in present if f not in listed
            and not any(fnmatch.fnmatchcase(f, pattern) for pattern in expected)]


def write_marker(folder: Path, **details) -> None:
    """Mark a folder as a report of ours, listing every file in it (and, under `expected`,
    patterns of files a renderer will write into it on the tool's behalf)."""
    files = [f for f in files_in(folder) if f != MARKER]
    text = json.dumps({"tool": TOOL, **details, "files": files}, indent=1) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")


def cache_dir(out: Path) -> Path:
    """The tool's own folder beside a report folder (cache, staging), ignored by git."""
    return out.parent / CACHE


def staging_area(out: Path) -> Path:
    """Where the runs for this report folder stage (same file system as the report)."""
    return cache_dir(out) / "staging"


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
    """Staging folders of this report folder left by runs that no longer exist (ours, by marker)."""
    area = staging_area(out)
    if not area.is_dir():
        return []
    stale = []
    for folder in area.iterdir():
        made_by = owner(folder)
        if made_by is None or made_by[0] != out.name or folder.is_symlink():
            continue
        if made_by[1] != os.getpid() and not alive(made_by[1]) and read_marker(folder):
            stale.append(folder)
    return sorted(stale, key=lambda f: (f.name.endswith(".old"), f.name))


def recover(out: Path) -> list[str]:
    """Finish or undo what an interrupted run left (ours, by marker), and say what was done."""
    said = []
    for folder in stale_stagings(out):
        if not out.exists() and read_marker(folder).get("state") == "published":
            os.rename(folder, out)
            said.append(f"restored the complete report in {out} that an interrupted run was "
                        "publishing")
        else:
            shutil.rmtree(folder)
            said.append(f"removed {folder.name}, left in {folder.parent} by an interrupted run")
    return said


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


def publish(staging: Path, out: Path, **details) -> None:
    """Replace the report folder with the finished staging folder, complete at every instant."""
    write_marker(staging, state="published", **details)
    if out.exists():
        check_ours(out)  # nothing foreign slipped in while the run was building
        if not exchange(staging, out):
            aside = staging.with_name(staging.name + ".old")
            os.rename(out, aside)          # a kill here: the next run restores `aside`
            os.rename(staging, out)
            staging = aside
        shutil.rmtree(staging)             # the previous report, now at the staging path
    else:
        os.rename(staging, out)


def discard(staging: Path) -> None:
    """Remove a staging folder of this run (ours: made by new_staging), and the tool's folders
    above it if that leaves them empty (a refused first run leaves nothing behind)."""
    if read_marker(staging) is not None:
        shutil.rmtree(staging, ignore_errors=True)
    for folder in (staging.parent, staging.parent.parent):
        try:
            folder.rmdir()
        except OSError:
            break
