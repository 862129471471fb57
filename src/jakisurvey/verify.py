"""`jakisurvey verify DIR`: is a shared report what its inputs make?

The inputs are given as for `run` (by default the bundled data); each must be the file the
report records in run.json (file name and SHA-256), else verify refuses with one line. The
report is then made again in a temporary folder as it was made (its renderer, its date, its
inputs as its notebooks show them, the changes it recorded since a report it replaced), and
every shared file is compared byte by byte with the one made again. private/ (never shared)
and the tool's marker are not compared; changes.docx and changes.html compare a report with the
one it replaced, which is not shared, so they cannot be made again.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from . import outdir
from .errors import SurveyError
from .inputs import Inputs, hashes, study_files
from .pipeline import PRIVATE, Options, run

NOT_MADE_AGAIN = ("changes.docx", "changes.html")   # made from the replaced report
INPUT_OPTION = {"records": "--records", "dictionary": "--dictionary", "study": "--study"}
REPRODUCED = "reproduced"


class VerifyError(SurveyError):
    """A report cannot be verified with these inputs: nothing was run."""


def recorded(folder: Path) -> dict:
    """The shared report's run.json, checked to be as a run writes it (one line otherwise)."""
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise VerifyError(f"{folder}: no readable run.json; not a report made by jakisurvey") \
            from None
    problem = run_json_problem(info)
    if problem:
        raise VerifyError(f"{folder}/run.json: {problem}; not as jakisurvey writes it")
    return info


def run_json_problem(info: object) -> str | None:
    """What in a run.json is not as a run writes it (None: nothing)."""
    if not isinstance(info, dict):
        return "not a JSON object"
    inputs = info.get("inputs")
    if not isinstance(inputs, dict) or not inputs or not all(
            isinstance(e, dict) and isinstance(e.get("file"), str)
            and re.fullmatch(r"[0-9a-f]{64}", str(e.get("sha256"))) for e in inputs.values()):
        return "'inputs' must give each input's file name and SHA-256"
    if not isinstance(info.get("renderer"), dict) or \
            info["renderer"].get("renderer") not in ("pandoc", "quarto"):
        return "'renderer' must name the renderer, pandoc or quarto"
    if not (isinstance(info.get("date"), str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", info["date"])
            and isinstance(info.get("date_from"), str)):
        return "'date' must be the report's day (YYYY-MM-DD), with 'date_from'"
    return None


def same_inputs(info: dict, inputs: Inputs) -> None:
    """Refuse, in one line, an input that is not the file the report was made from."""
    files = study_files(inputs)[1]
    digests = hashes(files)
    for role, entry in info["inputs"].items():
        what = role.replace("_", " ")
        how = (f"give it with {INPUT_OPTION[role]}" if role in INPUT_OPTION
               else f"{Path(inputs.study).name} names it")
        if role not in files:
            raise VerifyError(f"the report was made from a {what} file {entry.get('file')!r} "
                              "that these inputs lack; nothing was run")
        if digests[role] != entry.get("sha256"):
            raise VerifyError(
                f"{Path(files[role]).name} ({what}): SHA-256 {digests[role][:12]}... is not "
                f"the {entry.get('file')} the report was made from (SHA-256 "
                f"{str(entry.get('sha256'))[:12]}...); {how}; nothing was run")


def shown_inputs(folder: Path) -> dict[str, str] | None:
    """The input paths as the shared report's notebooks show them (the same in every one)."""
    for book in sorted((folder / "notebooks").glob("*.ipynb")):
        try:
            shown = json.loads(book.read_text(encoding="utf-8"))["metadata"]["papermill"][
                "parameters"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        picked = {k: v for k, v in shown.items() if k in INPUT_OPTION and isinstance(v, str)}
        if len(picked) == len(INPUT_OPTION):
            return picked
    return None


def replaced_changes(folder: Path) -> list | None:
    """The changes the shared report recorded since the report it replaced (None: it replaced
    none, as its report notebook shows: no 'Changes since the previous run' section)."""
    from .render.revision import CHANGES_TAG

    try:
        report = json.loads((folder / "report.ipynb").read_text(encoding="utf-8"))
        change = json.loads((folder / "changes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or not isinstance(report.get("cells"), list):
        return None
    tagged = any(CHANGES_TAG in cell.get("metadata", {}).get("tags", [])
                 for cell in report["cells"] if isinstance(cell, dict)
                 and isinstance(cell.get("metadata"), dict))
    if not tagged:
        return None
    if not (isinstance(change, list) and all(isinstance(c, dict) and isinstance(c.get("key"), str)
                                             and {"old", "new"} <= set(c) for c in change)):
        raise VerifyError(f"{folder}/changes.json: not the list of changes jakisurvey writes")
    return change


def remake(folder: Path, inputs: Inputs, into: Path, say) -> Path:
    """Make the shared report again from the inputs, in `into` (a new folder), as it was made."""
    info = recorded(folder)
    same_inputs(info, inputs)
    renderer = info["renderer"]["renderer"]
    if renderer == "quarto" and shutil.which("quarto") is None:
        raise VerifyError("the report was rendered by Quarto, which is not on PATH here; "
                          "install Quarto 1.10 (see README) to verify it; nothing was run")
    options = Options(renderer=renderer, force=True, say=say,
                      date={"date": info["date"], "date_from": info["date_from"]},
                      shown=shown_inputs(folder), replaced=replaced_changes(folder))
    out = run(inputs, into, options)
    as_quarto_rendered(folder, out)
    return out


def as_quarto_rendered(folder: Path, out: Path) -> None:
    """A report `quarto render` published carries its report notebook as Quarto must see it
    (Typst anchors, escaped captions): the one made again is given the same form."""
    import nbformat

    from .render.quarto import ESCAPED_CAPTIONS, quarto_notebook

    try:
        shared = json.loads((folder / "report.ipynb").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if shared.get("metadata", {}).get("jakisurvey", {}).get(ESCAPED_CAPTIONS):
        notebook = out / "report.ipynb"
        nbformat.write(quarto_notebook(nbformat.read(notebook, as_version=4)), notebook)


JUPYTER_CHECKPOINTS = ".ipynb_checkpoints"


def shared_files(folder: Path) -> list[str]:
    """The files of a report that are shared: all but private/, the tool's marker and what
    Jupyter leaves beside a notebook opened in it (checkpoints are no part of the report)."""
    return [name for name in outdir.contents(folder)[0]
            if name != outdir.MARKER and not name.startswith(f"{PRIVATE}/")
            and JUPYTER_CHECKPOINTS not in Path(name).parts]


def compare(shared: Path, again: Path) -> list[tuple[str, str]]:
    """Each file of either report with what comparing its bytes found."""
    ours, theirs = set(shared_files(shared)), set(shared_files(again))
    found = []
    for name in sorted(ours | theirs):
        if name in NOT_MADE_AGAIN:
            status = "not made again (it compares with the report this one replaced)"
        elif name not in theirs:
            status = "differs: not made by the inputs"
        elif name not in ours:
            status = "differs: missing from the shared report"
        elif (shared / name).read_bytes() == (again / name).read_bytes():
            status = REPRODUCED
        else:
            status = "differs"
        found.append((name, status))
    return found


def differing(found: list[tuple[str, str]]) -> list[str]:
    """The files that are not reproduced."""
    return [name for name, status in found if status.startswith("differs")]


def verdict(folder: Path, found: list[tuple[str, str]]) -> str:
    """The last line: reproduced, or which files differ."""
    bad = differing(found)
    checked = sum(1 for _, status in found if status == REPRODUCED) + len(bad)
    if not bad:
        return f"{folder}: reproduced (all {checked} shared files are byte for byte the same)"
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    return f"{folder}: NOT reproduced: {len(bad)} of {checked} shared files differ ({shown})"


def environment_notes(info: dict) -> list[str]:
    """Why a file might differ for want of the same software: another lock or Python."""
    import platform

    from .lockfile import environment, warning

    notes, env = [], environment()
    made = info.get("environment", {}) if isinstance(info.get("environment"), dict) else {}
    if made.get("sha256") and env.get("sha256") and made["sha256"] != env["sha256"]:
        notes.append("environment: the report was made with another uv.lock than this project's")
    if warning(env):
        notes.append(warning(env))
    if info.get("python") and info["python"] != platform.python_version():
        notes.append(f"environment: the report was made with Python {info['python']}, this is "
                     f"{platform.python_version()}")
    return notes


def verify(folder: Path, inputs: Inputs, say, keep: Path | None = None) -> tuple[list, str]:
    """Make the report in `folder` again and compare it file by file; (found, verdict line).
    `keep`: a new folder to keep what was made again in (else a temporary one, removed)."""
    folder = Path(folder).resolve()
    info = recorded(folder)
    for note in environment_notes(info):
        say(note)
    if keep is not None and Path(keep).exists():
        raise VerifyError(f"--keep {keep}: already exists; name a new folder")
    work = None if keep else Path(tempfile.mkdtemp(prefix="jakisurvey-verify-"))
    into = Path(keep) if keep else work / folder.name
    try:
        again = remake(folder, inputs, into, say)
        found = compare(folder, again)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return found, verdict(folder, found)
