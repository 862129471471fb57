"""The report folder: what --out may replace, crash-safe publishing, recovery after a kill."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jakisurvey import outdir
from jakisurvey.outdir import OutputError

from helpers import ROOT



def sha256(data: bytes) -> str:
    """SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def inputs_in(folder: Path) -> list[Path]:
    """Two input files in a folder of their own."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "records.csv", folder / "study.yml"]
    for path in files:
        path.write_text("x\n")
    return files


def report(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A report folder as the tool writes it (marker listing every file)."""
    folder.mkdir(parents=True)
    for name, text in (files or {"report.html": "<p>old</p>", "notebooks/a.ipynb": "{}"}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    outdir.write_marker(folder, state="published")
    return folder


def refused(given, inputs, project=ROOT) -> str:
    """The refusal message for an --out value."""
    with pytest.raises(OutputError) as error:
        outdir.check_out(given, inputs, project)
    return str(error.value)


def test_a_new_folder_and_an_earlier_report_are_accepted(tmp_path):
    files = inputs_in(tmp_path / "data")
    assert outdir.check_out(str(tmp_path / "new"), files, ROOT) == tmp_path / "new"
    assert outdir.check_out(report(tmp_path / "old"), files, ROOT) == tmp_path / "old"
    (tmp_path / "empty").mkdir()
    assert outdir.check_out(tmp_path / "empty", files, ROOT) == tmp_path / "empty"


def test_refusals_name_the_folder_and_the_reason(tmp_path, monkeypatch):
    files = inputs_in(tmp_path / "data")
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.docx").write_text("years of work")
    assert "did not make" in refused(thesis, files)
    assert "holds the input records.csv" in refused(tmp_path / "data", files)
    assert "holds the input" in refused(tmp_path, files)           # an ancestor of an input
    assert "is a file" in refused(files[0], [])
    assert "empty" in refused("", files)
    assert "empty" in refused("  ", files)
    monkeypatch.chdir(thesis)
    assert "current folder" in refused(".", files)
    assert "current folder" in refused(tmp_path / "thesis", [])
    assert "project folder" in refused(ROOT, [], project=ROOT)     # from another folder
    assert "does not exist" in refused(tmp_path / "missing" / "nested" / "out", files)
    link = tmp_path / "link"
    link.symlink_to(report(tmp_path / "target"))
    assert "symbolic link" in refused(link, files)
    assert (thesis / "chapter1.docx").read_text() == "years of work"


def test_a_report_with_files_added_by_someone_else_is_refused(tmp_path):
    old = report(tmp_path / "out")
    (old / "notes.txt").write_text("mine")
    assert "did not write (notes.txt)" in refused(old, [])
    (old / "notes.txt").unlink()
    assert outdir.check_out(old, [], ROOT) == old


def test_a_forged_or_broken_marker_is_not_ours(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "data.csv").write_text("1")
    (folder / outdir.MARKER).write_text('{"tool": "other", "files": ["data.csv"]}')
    assert "did not make" in refused(folder, [])
    (folder / outdir.MARKER).write_text("not json")
    assert "did not make" in refused(folder, [])


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")
def test_a_report_owned_by_another_user_is_refused(tmp_path):
    old = report(tmp_path / "out")
    os.chown(old, 12345, 12345)
    assert "owned by another user" in refused(old, [])


def test_publish_replaces_only_a_report_and_leaves_nothing_behind(tmp_path):
    out = report(tmp_path / "out")
    staging = outdir.new_staging(out)
    (staging / "report.html").write_text("<p>new</p>")
    outdir.publish(staging, out, key="k")
    assert (out / "report.html").read_text() == "<p>new</p>"
    assert outdir.read_marker(out)["files"] == {"report.html": sha256(b"<p>new</p>")}
    assert outdir.read_marker(out)["key"] == "k"
    assert list(outdir.staging_area(out).iterdir()) == []


def test_publish_refuses_files_added_while_the_run_was_building(tmp_path):
    out = report(tmp_path / "out")
    staging = outdir.new_staging(out)
    (out / "added.txt").write_text("someone's")
    with pytest.raises(OutputError, match="added.txt"):
        outdir.publish(staging, out)
    assert (out / "added.txt").read_text() == "someone's"


def test_stale_staging_of_a_dead_run_is_removed_and_a_live_one_kept(tmp_path):
    out = report(tmp_path / "out")
    area = outdir.staging_area(out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = area / f"out.{dead}.0123abcd"
    stale.mkdir(parents=True)
    outdir.write_marker(stale, state="staging")
    (stale / "private").mkdir()
    live = area / f"out.{os.getppid()}.89abcdef"
    live.mkdir()
    outdir.write_marker(live, state="staging")
    other = area / f"elsewhere.{dead}.fedcba98"
    other.mkdir()                                # another report folder's: not this run's
    said = outdir.recover(out)
    assert not stale.exists() and live.exists() and other.exists()
    assert said and "interrupted run" in said[0]


PAUSED_PUBLISH = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from jakisurvey import outdir
    out = Path(sys.argv[1])
    staging = outdir.new_staging(out)
    (staging / "report.html").write_text("<p>new</p>")
    outdir.exchange = lambda a, b: False        # a file system without RENAME_EXCHANGE
    real = os.rename
    def slow(a, b):
        real(a, b)
        print("renamed", flush=True)
        time.sleep(60)
    os.rename = slow
    outdir.publish(staging, out)
""")


def test_a_kill_between_the_two_renames_is_recovered_by_the_next_run(tmp_path):
    out = report(tmp_path / "out")
    child = subprocess.Popen([sys.executable, "-c", PAUSED_PUBLISH, str(out)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "renamed"   # the old report is aside, out is gone
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not out.exists()
    said = outdir.recover(out)
    assert (out / "report.html").read_text() == "<p>new</p>"
    assert any("restored" in line for line in said)
    assert list(outdir.staging_area(out).iterdir()) == []


def test_exchange_swaps_two_folders(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    (first / "x").write_text("a")
    if not outdir.exchange(first, second):
        pytest.skip("this file system cannot exchange folders")
    assert (second / "x").read_text() == "a" and not (first / "x").exists()


def test_the_cache_and_staging_are_ignored_by_git(tmp_path):
    ignored = subprocess.run(["git", "check-ignore", "-q", ".jakisurvey-cache/staging/x"],
                             cwd=ROOT)
    assert ignored.returncode == 0


def test_files_a_renderer_writes_for_the_tool_are_expected(tmp_path):
    build = tmp_path / "_build"
    build.mkdir()
    (build / "report.ipynb").write_text("{}")
    outdir.write_marker(build, expected=["report.html", "report_files/*"])
    (build / "report.html").write_text("<p>by Quarto</p>")
    (build / "report_files").mkdir()
    (build / "report_files" / "x.png").write_bytes(b"png")
    assert outdir.check_out(build, [], ROOT) == build
    (build / "notes.txt").write_text("mine")
    assert "notes.txt" in refused(build, [])


def test_anything_the_tool_did_not_write_is_not_ours(tmp_path):
    """Hidden files, Jupyter's checkpoints and empty folders are someone's: a folder holding
    only a checkpoint is not empty, and a report holding any of them is not replaced."""
    lone = tmp_path / "analysis"
    (lone / ".ipynb_checkpoints").mkdir(parents=True)
    (lone / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}")
    assert "did not make" in refused(lone, [])
    (tmp_path / "empty-but-a-folder" / "photos").mkdir(parents=True)
    assert "did not make" in refused(tmp_path / "empty-but-a-folder", [])
    for extra in (".DS_Store", ".ipynb_checkpoints/a-checkpoint.ipynb",
                  "notebooks/.ipynb_checkpoints/a-checkpoint.ipynb", "notes/"):
        old = report(tmp_path / extra.replace("/", "_").strip("._"))
        (old / extra).parent.mkdir(parents=True, exist_ok=True)
        if extra.endswith("/"):
            (old / extra).mkdir()
        else:
            (old / extra).write_text("someone's")
        assert f"did not write ({extra})" in refused(old, []), extra
    linked = report(tmp_path / "linked")
    (linked / "report.html").unlink()
    (linked / "report.html").symlink_to(tmp_path / "analysis")   # a listed name, now a link
    assert "did not write (report.html)" in refused(linked, [])


def test_the_marker_lists_each_published_file_with_its_sha256(tmp_path):
    out = report(tmp_path / "out", {"report.html": "<p>old</p>", "notebooks/a.ipynb": "{}"})
    assert outdir.published_hashes(out) == {"report.html": sha256(b"<p>old</p>"),
                                           "notebooks/a.ipynb": sha256(b"{}")}
    assert outdir.verify_published(out) == {}
    (out / "report.html").write_text("<p>edited</p>")
    (out / "notebooks" / "a.ipynb").unlink()
    assert outdir.verify_published(out) == {"report.html": "changed",
                                            "notebooks/a.ipynb": "missing"}
    assert outdir.published_hashes(tmp_path) is None and outdir.verify_published(tmp_path) is None


def test_the_cache_folder_is_refused_when_it_holds_what_is_not_ours(tmp_path):
    from jakisurvey.cache import Cache, CacheError

    out = report(tmp_path / "out")
    folder = outdir.cache_dir(out)
    store = Cache(folder)
    made = tmp_path / "view.html"
    made.write_text("<p>view</p>")
    store.put("views", "0" * 64, {"view.html": made})
    outdir.check_cache(out, store)
    for planted in ("holiday.jpg", "views/holiday.jpg", f"views/{'0' * 64}/holiday.jpg",
                    "staging/my-draft"):
        (folder / planted).parent.mkdir(parents=True, exist_ok=True)
        (folder / planted).write_text("mine")
        with pytest.raises(CacheError, match=f"did not write \\({planted}\\)"):
            outdir.check_cache(out, store)
        (folder / planted).unlink()
    (folder / "notebooks").symlink_to(tmp_path)
    with pytest.raises(CacheError, match="notebooks is a symbolic link"):
        outdir.check_cache(out, store)
