"""A cache and a report folder that cannot lie (issue 14): inputs read once, damaged cache
entries and changed published files noticed, nothing followed or deleted outside the tool's
folders, one run at a time, hand edits kept, interrupts and kills leaving nothing behind.

Most tests work on a copy of the bundled report's project (its cache included), so a run in
them executes at most one notebook."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from jakisurvey import inputs, outdir, pipeline
from jakisurvey.errors import SurveyError

from helpers import (DATA, ROOT, bundled_inputs, copied, jakisurvey, pdf_text, tool_path,
                     wait_for)

EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}


def run_on(out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`jakisurvey run` on the bundled inputs of the project holding a report folder."""
    return jakisurvey("run", *bundled_inputs(out.parent), "--out", str(out), "--renderer",
                      "pandoc", *extra, env=env)


def reworded(project: Path, name: str = "05_medications.ipynb") -> dict[str, str]:
    """Change one notebook's prose in a project copy (a run there executes that notebook only);
    the environment that runs the copy's package, so that its notebooks are the ones used."""
    notebook = project / "notebooks" / name
    book = nbformat.read(notebook, as_version=4)
    book.cells[0].source += " Reworded for this test."
    nbformat.write(book, notebook)
    return {"PYTHONPATH": str(project / "src")}


def started(out: Path, env: dict, renderer: str = "pandoc", *extra: str) -> subprocess.Popen:
    """`jakisurvey run` on a project copy, running (its progress readable on stderr)."""
    return subprocess.Popen(
        [sys.executable, "-m", "jakisurvey.cli", "run", *bundled_inputs(out.parent), "--out",
         str(out), "--renderer", renderer, *extra], stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True, cwd=out.parent, env={**os.environ, "PATH": tool_path(), **env})


def staged(project: Path) -> list[str]:
    """What the staging area of a project's cache holds."""
    area = project / ".jakisurvey-cache" / "staging"
    return sorted(p.name for p in area.iterdir()) if area.is_dir() else []


def tree(folder: Path) -> list[str]:
    """Every file and folder under a folder."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# 1. Inputs are read once

def test_kernels_get_the_bytes_the_run_read_whatever_the_files_hold_now(tmp_path, monkeypatch):
    data = shutil.copytree(DATA, tmp_path / "data")
    given = inputs.Inputs(data / "synthetic" / "records.csv", data / "data_dictionary.csv",
                          data / "study.yml")
    checked = inputs.check_inputs(given)
    monkeypatch.setattr(inputs, "_loaded", {})
    monkeypatch.setenv(*inputs.hand_over(checked, given, tmp_path / "checked.pickle").popitem())
    lines = given.records.read_text(encoding="utf-8").splitlines(keepends=True)
    given.records.write_text("".join(lines[:100]), encoding="utf-8")   # a sync client's copy
    kernel = inputs.load(given.records, given.dictionary, given.study)
    assert len(kernel.survey.data) == len(checked.survey.data) == 235
    assert kernel.hashes == checked.hashes


@pytest.mark.slow
def test_an_input_changed_during_a_run_ends_it_with_nothing_published_or_cached(tmp_path):
    data = shutil.copytree(DATA, tmp_path / "data")
    records = data / "synthetic" / "records.csv"
    with records.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    user = next(r for r in rows if r["jaki_used"] == "1" and r["jaki_side_effects"] == "0")
    user["jaki_side_effects"] = "1"                       # the export downloaded again
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_experience.ipynb", notebooks)

    def say(line: str) -> None:                           # the run paused at this step
        if "02_experience.ipynb: running" in line:
            with records.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)

    out = tmp_path / "_output"
    with pytest.raises(SurveyError) as stopped:
        pipeline.run(inputs.Inputs(records, data / "data_dictionary.csv", data / "study.yml"),
                     out, pipeline.Options(renderer="pandoc", notebooks=notebooks, say=say,
                                           jobs=1))
    assert "records.csv: the records file changed while the report was being made" in \
        str(stopped.value).splitlines()[0]
    assert not out.exists()
    assert tree(tmp_path / ".jakisurvey-cache" / "notebooks") == []
    assert staged(tmp_path) == []


# 3. Verified cache entries, and "up to date" only when every published file is as published

def test_published_files_missing_or_changed_are_restored_and_hand_edits_kept(pandoc_report,
                                                                            tmp_path):
    """A report is up to date only when every published file is as published: a file removed
    is restored; a file changed by hand (a reviewer's edited notebook, a truncated
    results.json) is kept under the cache's replaced/ folder before the report is replaced."""
    out = copied(pandoc_report, tmp_path)
    (out / "report.pdf").unlink()
    notebook = out / "notebooks" / "02_experience.ipynb"
    book = nbformat.read(notebook, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell("# a reviewer's own check\n114 / 148"))
    nbformat.write(book, notebook)
    edited = notebook.read_bytes()
    truncated = (out / "results.json").read_bytes()[:200]
    (out / "results.json").write_bytes(truncated)
    done = run_on(out)
    assert done.returncode == 0, done.stderr
    assert f"report.pdf in {out} is missing; the report is made again" in done.stderr
    assert f"notebooks/02_experience.ipynb in {out} was changed since it was published; the " \
        "report is made again" in done.stderr
    assert "running" not in done.stderr and "nothing changed" not in done.stderr
    kept = [line.rpartition(" in ")[2] for line in done.stderr.splitlines()
            if line.startswith("kept ") and "(changed since it was published) in " in line]
    assert len(kept) == 2 and len(set(kept)) == 1, done.stderr
    folder = Path(kept[0])
    assert folder.parent == out.parent / ".jakisurvey-cache" / "replaced"
    assert tree(folder) == ["notebooks", "notebooks/02_experience.ipynb", "results.json"]
    assert (folder / "notebooks" / "02_experience.ipynb").read_bytes() == edited
    assert (folder / "results.json").read_bytes() == truncated
    assert "changes: results.json of the report being replaced cannot be read (not JSON: " \
        "truncated or edited?); there is nothing to compare with" in done.stderr
    assert notebook.read_bytes() == \
        (pandoc_report / "notebooks" / "02_experience.ipynb").read_bytes()
    assert len(PdfReader(out / "report.pdf").pages) == \
        len(PdfReader(pandoc_report / "report.pdf").pages)
    assert outdir.verify_published(out) == {}
    assert "nothing changed" in run_on(out).stderr


def test_damaged_cache_entries_are_noticed_and_made_again(pandoc_report, tmp_path):
    out = copied(pandoc_report, tmp_path)
    cache = out.parent / ".jakisurvey-cache"

    def cached(kind: str, pattern: str, holding: bytes = b"") -> Path:
        return next(p for p in (cache / kind).rglob(pattern) if holding in p.read_bytes())

    notebook = cached("notebooks", "*.ipynb", b'"notebooks/02_experience.ipynb"')
    notebook.write_bytes(notebook.read_bytes()[:20000])               # truncated
    pdf = cached("render", "report.pdf")
    pdf.write_bytes(pdf.read_bytes()[:5000])                          # a PDF that does not open
    second = out.parent / "second"          # a new report folder beside it: the same cache
    done = jakisurvey("run", *bundled_inputs(out.parent), "--out", str(second), "--renderer",
                      "pandoc")
    assert done.returncode == 0, done.stderr
    damaged = [line for line in done.stderr.splitlines() if line.startswith("cache: a damaged")]
    assert len(damaged) == 2, done.stderr
    assert re.findall(r"notebook (\S+): running", done.stderr) == ["02_experience.ipynb"]
    assert "render: report unchanged" not in done.stderr
    assert pdf_text(second / "report.pdf") == pdf_text(pandoc_report / "report.pdf")
    assert (second / "results.json").read_text() == (pandoc_report / "results.json").read_text()


# 4. The cache stays inside itself

def test_a_cache_folder_that_is_a_link_is_refused_never_followed(pandoc_report, tmp_path):
    out = copied(pandoc_report, tmp_path)
    env = reworded(out.parent)                       # work to do: a view to store, and prune
    mine = tmp_path / "photos-of-mine"
    (mine / "photos").mkdir(parents=True)
    (mine / "photos" / "beach.jpg").write_bytes(b"jpg")
    for number in range(80):
        (mine / f"letter-{number:02d}.txt").write_text("dear ...")
        os.utime(mine / f"letter-{number:02d}.txt", (number, 1000 + number))
    os.utime(mine / "photos", (0, 0))
    before = tree(mine)
    views = out.parent / ".jakisurvey-cache" / "views"
    shutil.rmtree(views)
    views.symlink_to(mine)
    done = run_on(out, env=env)
    assert tree(mine) == before
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[0] == f"error: {views} is a symbolic link: the cache never " \
        "follows one (it would read or delete files elsewhere); remove the link (the cache is " \
        "safe to delete), then run again"
    assert "Traceback" not in done.stderr and "running" not in done.stderr


# 5. One run at a time

PAUSED_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from jakisurvey import pipeline

    def say(line):
        print(line, file=sys.stderr, flush=True)
        if line.startswith("render:"):          # paused here until the test says go
            print("paused", file=sys.stderr, flush=True)
            sys.stdin.readline()

    project, out, notebooks = map(Path, sys.argv[1:4])
    pipeline.run(pipeline.default_inputs(project), out,
                 pipeline.Options(renderer="pandoc", notebooks=notebooks, say=say))
""")


def test_two_runs_on_one_report_folder_take_turns(pandoc_report, tmp_path):
    """Run A (a one-section report) is paused while rendering; run B, started then, waits for it
    and compares its report with A's, the report it replaces; --no-wait refuses."""
    out = copied(pandoc_report, tmp_path)
    notebooks = tmp_path / "one-section"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_respondents.ipynb", notebooks)
    first = subprocess.Popen([sys.executable, "-c", PAUSED_RUN, str(out.parent), str(out),
                              str(notebooks)], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PATH": tool_path()})
    wait_for(first, "paused")
    second = started(out, {})
    try:
        said = wait_for(second, "waiting for another run", timeout=60)
    except AssertionError as never:       # it did not wait: it runs beside the first
        said = str(never)
    first.communicate("\n", timeout=300)
    said += second.communicate(timeout=300)[1]
    assert first.returncode == 0 and second.returncode == 0, said
    results = json.loads((out / "results.json").read_text())
    assert "side_effects" in results, "the report of the run that finished first was kept"
    changed = {c["key"] for c in json.loads((out / "changes.json").read_text())}
    assert {"side_effects", "improvement", "claims"} <= changed   # A's report had none of them
    assert f"waiting for another run (process {first.pid}) to finish with {out}" in said
    with outdir.locked(out):                # a run holds the folder now: this test
        refused = run_on(out, "--no-wait")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == f"error: --out {out}: another run (process " \
        f"{os.getpid()}) is making this report now (--no-wait: this one does not wait for it); " \
        "nothing was written"


# 7. Interrupts leave nothing behind; what a kill leaves is removed by the next run

def rendering_anew(out: Path, aside: Path | None = None) -> Path:
    """A new report folder beside a report (the same cache) whose run only renders: its
    notebooks and views are cached, the rendered report is not (its entry moved `aside`)."""
    render = out.parent / ".jakisurvey-cache" / "render"
    shutil.move(render, aside) if aside else shutil.rmtree(render)
    return out.parent / "second"


def appears(where: Path, pattern: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until a file matching `pattern` exists under `where`: a step of the run has begun."""
    end = time.monotonic() + timeout
    while not any(where.glob(pattern)):
        assert process.poll() is None and time.monotonic() < end, f"no {pattern} in {where}"
        time.sleep(0.005)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("during", ["execution", "render"])
def test_an_interrupt_leaves_no_staging_or_render_folder(pandoc_report, tmp_path, request, how,
                                                         during):
    """Interrupted while a notebook's view is rendered and others run, or while Quarto renders
    the report: the staging folder, the renderers' temporary folders (Quarto's in TMPDIR too)
    are gone when the run has stopped, and the report is the one before."""
    out = copied(pandoc_report, tmp_path)
    cache = out.parent / ".jakisurvey-cache"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    before = (out / "report.pdf").read_bytes()
    if during == "execution":
        process = started(out, {"TMPDIR": str(temporary)}, "pandoc", "--force")
        wait_for(process, ": done in")
        appears(cache, "staging/*/notebooks/*.view.ipynb", process)
    else:
        request.getfixturevalue("quarto_command")
        process = started(rendering_anew(out), {"TMPDIR": str(temporary)}, "quarto")
        appears(temporary, "quarto-session*", process)
    process.send_signal(how)
    said = process.communicate(timeout=120)[1]
    assert process.returncode == EXIT[how], said
    assert staged(out.parent) == []
    assert tree(temporary) == []
    assert not [p for p in out.parent.rglob(".*") if p.name.startswith((".render-", ".view-",
                                                                         ".quarto-render-"))]
    assert (out / "report.pdf").read_bytes() == before
    assert not (out.parent / "second").exists()


def test_what_a_killed_run_leaves_is_recognised_and_removed(pandoc_report, tmp_path):
    out = rendering_anew(copied(pandoc_report, tmp_path), aside=tmp_path / "render")
    cache = out.parent / ".jakisurvey-cache"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = cache / "staging" / f"{out.name}.{dead}.0123abcd"
    (left / "notebooks").mkdir(parents=True)   # what an earlier version's interrupted run left
    (left / "notebooks" / "02_experience.html").write_text("<p>half a view</p>")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = started(out, {"TMPDIR": str(temporary)})
    appears(cache, f"staging/{out.name}.{process.pid}.*/report.[hpd]*", process)  # rendering
    process.kill()
    process.communicate(timeout=60)
    assert tree(temporary) == []                 # the render's folder was in the staging one
    assert left.name not in staged(out.parent)
    assert len(staged(out.parent)) == 1
    shutil.move(tmp_path / "render", cache / "render")   # the next run renders from the cache
    again = run_on(out)
    assert again.returncode == 0, again.stderr
    assert "left in" in again.stderr and "by an interrupted run" in again.stderr
    assert staged(out.parent) == []


# 8. Text from inputs is inert; a hand-edited previous report is no traceback

def test_a_replaced_report_with_hand_edited_results_is_compared_without_a_traceback(
        pandoc_report, tmp_path):
    out = copied(pandoc_report, tmp_path)
    results = json.loads((out / "results.json").read_text())
    results["claims"] = ["matched, see the paper", {"claim": "an entry without an id"}, 5]
    (out / "results.json").write_text(json.dumps(results))
    done = run_on(out)     # results.json is not as published: the report is made again
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert [c["key"] for c in json.loads((out / "changes.json").read_text())] == ["claims"]
    assert "changes: 1 results.json key(s) changed: claims" in done.stderr
