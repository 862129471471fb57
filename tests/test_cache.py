"""The run cache and parallel execution: what re-executes, and that kernels share nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jakisurvey import cache, execute
from jakisurvey.cache import Cache
from jakisurvey.notebook import parameters_of

from helpers import ROOT, bundled_inputs, tool_path


NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = {"records": "../../data/synthetic/records.csv", "output": ".."}
HASHES = {"records": "r1", "dictionary": "d1", "study": "s1"}


def keys(sources=NOTEBOOKS, parameters=PARAMETERS, hashes=HASHES) -> dict[str, str]:
    """Cache key of each notebook."""
    return {job.name: job.key for job in execute.plan(sources, parameters, hashes)}


def test_keys_change_with_everything_a_notebook_is_made_from(tmp_path, monkeypatch):
    base = keys()
    assert keys() == base                                         # deterministic
    for role in HASHES:                                           # a record, the dictionary, ...
        assert set(keys(hashes={**HASHES, role: "changed"}).values()).isdisjoint(base.values())
    assert keys(parameters={**PARAMETERS, "output": "../x"}).keys() == base.keys()
    assert set(keys(parameters={**PARAMETERS, "output": "../x"}).values()).isdisjoint(
        base.values())
    edited = tmp_path / NOTEBOOKS[3].name                         # one notebook's prose
    book = nbformat.read(NOTEBOOKS[3], as_version=4)
    book.cells[0].source += " Reworded."
    nbformat.write(book, edited)
    changed = keys([*NOTEBOOKS[:3], edited, *NOTEBOOKS[4:]])
    assert [name for name in base if changed[name] != base[name]] == [NOTEBOOKS[3].name]
    real = cache.software()                                       # a package version
    monkeypatch.setattr(cache, "software", lambda: {**real, "distributions": ["pandas==0.0"]})
    monkeypatch.setattr(execute, "software", cache.software)
    assert set(keys().values()).isdisjoint(base.values())


def test_the_package_itself_is_part_of_the_software(tmp_path):
    env = cache.software()
    import pandas

    assert env["python"] and f"pandas-{pandas.__version__}.dist-info" in env["distributions"]
    assert re.fullmatch(r"[0-9a-f]{64}", env["package"])


def test_cache_entries_are_whole_or_absent(tmp_path):
    store = Cache(tmp_path / "cache")
    made = tmp_path / "made.ipynb"
    made.write_text("{}")
    key = "a" * 64
    assert store.get("notebooks", key) is None
    store.put("notebooks", key, {"notebook.ipynb": made})
    assert store.get("notebooks", key) == {"notebook.ipynb": b"{}"}
    assert Cache(tmp_path / "cache", use=False).get("notebooks", key) is None  # --force
    assert [p.name for p in (tmp_path / "cache" / "notebooks").iterdir()] == [key]
    assert sorted(p.name for p in (tmp_path / "cache" / "notebooks" / key).iterdir()) == \
        ["MANIFEST.json", "notebook.ipynb"]


def test_cached_notebooks_bring_back_their_figures(pandoc_report, tmp_path):
    executed = pandoc_report / "notebooks" / "01_respondents.ipynb"
    job = execute.Job(executed, tmp_path / "notebooks" / executed.name, "k")
    job.target.parent.mkdir()
    execute.restore(executed.read_bytes(), job, tmp_path)
    for fmt in ("pdf", "svg", "png"):
        assert (tmp_path / "figures" / f"figure_1a_map.{fmt}").read_bytes() == \
            (pandoc_report / "figures" / f"figure_1a_map.{fmt}").read_bytes()


def test_one_changed_notebook_is_the_only_one_executed(pandoc_report, tmp_path):
    subprocess.run(["cp", "-a", str(pandoc_report.parent), str(tmp_path / "p")], check=True)
    project = tmp_path / "p"
    notebook = project / "notebooks" / "05_medications.ipynb"
    book = nbformat.read(notebook, as_version=4)
    book.cells[0].source += " Reworded for this test."
    nbformat.write(book, notebook)
    done = subprocess.run(
        [sys.executable, "-m", "jakisurvey.cli", "run", *bundled_inputs(project), "--out",
         str(project / "_output"), "--renderer", "pandoc", "--jobs", "4"], capture_output=True,
        text=True, cwd=project,
        env={**os.environ, "PATH": tool_path(), "PYTHONPATH": str(project / "src")})
    assert done.returncode == 0, done.stderr
    assert re.findall(r"notebook (\S+): running", done.stderr) == ["05_medications.ipynb"]
    assert "Reworded for this test." in (project / "_output" / "report.html").read_text()
    assert "ERROR" not in done.stderr and "Traceback" not in done.stderr
    out = project / "_output"
    assert (out / "results.json").read_text() == (pandoc_report / "results.json").read_text()
    assert json.loads((out / "changes.json").read_text()) == []   # the same export again


def markdown_outputs(folder: Path) -> dict[str, list]:
    """What each executed notebook shows, cell by cell."""
    return {path.name: [[o.get("data", {}).get("text/markdown") for o in cell.get("outputs", [])]
                        for cell in nbformat.read(path, as_version=4).cells]
            for path in sorted(folder.glob("*.ipynb"))}


def test_a_shared_kernel_gives_what_separate_kernels_give(pandoc_report, tmp_path):
    """Notebooks run one after another in one kernel (--jobs 1) show exactly what the report
    (two kernels, --jobs 2) shows: no notebook sees another's state."""
    sources = [ROOT / "notebooks" / n for n in ("02_experience.ipynb", "05_medications.ipynb",
                                                 "08_methods.ipynb")]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    data = pandoc_report.parent / "data"
    ran_with = {"records": str(data / "synthetic" / "records.csv"),
                "dictionary": str(data / "data_dictionary.csv"), "study": str(data / "study.yml"),
                "output": str(tmp_path)}
    shown = json.loads(json.dumps(nbformat.read(pandoc_report / "notebooks" / sources[0].name,
                                                as_version=4).metadata["papermill"]["parameters"]))
    jobs = [execute.Job(s, folder / s.name, f"k{i}", tuple(parameters_of(s)))
            for i, s in enumerate(sources)]
    pool = execute.Pool(1, tmp_path / "runtime", folder, {})
    try:
        execute.execute_all(jobs, {}, Cache(tmp_path / "cache"), ran_with, shown, pool,
                            tmp_path / "failed", lambda line: None, lambda job: None)
    finally:
        pool.close()
    reference = markdown_outputs(pandoc_report / "notebooks")
    assert {k: reference[k] for k in markdown_outputs(folder)} == markdown_outputs(folder)
    assert not list((tmp_path / "runtime").glob("*.json"))   # connection files removed


def test_a_run_with_nothing_changed_loads_no_analysis_library(pandoc_report):
    """Nothing changed: the report is known to be up to date before pandas, SciPy, statsmodels or
    nbformat would load (the run is then at Python's start-up and import floor)."""
    args = ["run", *bundled_inputs(pandoc_report.parent), "--out", str(pandoc_report),
            "--renderer", "pandoc"]
    code = ("import sys\nfrom jakisurvey import cli\nassert cli.main(%r) == 0\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'statsmodels', 'nbformat', "
            "'matplotlib', 'lark') if m in sys.modules))" % args)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PATH": tool_path()})
    assert "up to date" in done.stderr, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_every_file_quarto_yml_names_is_in_the_run_key(tmp_path):
    """Editing a file _quarto.yml names (an include, CSS, a template partial, the Word reference
    document, a filter) changes the run's key, so the next run renders again."""
    from jakisurvey import pipeline

    project = tmp_path / "project"
    project.mkdir()
    named = {"header.typ": "#set text(red)", "style.css": "p { color: red }",
             "partial.typ": "// partial", "reference.docx": "docx", "filter.lua": "-- lua",
             "top.css": "body {}"}
    for name, text in named.items():
        (project / name).write_text(text)
    config = project / "_quarto.yml"
    config.write_text("css: top.css\nformat:\n  html:\n    css: style.css\n  typst:\n"
                      "    include-in-header: header.typ\n    template-partials: [partial.typ]\n"
                      "  docx:\n    reference-doc: reference.docx\n    filters: [filter.lua]\n")
    given = pipeline.Inputs(ROOT / "data" / "synthetic" / "records.csv",
                            ROOT / "data" / "data_dictionary.csv", ROOT / "data" / "study.yml")

    def key() -> str:
        return pipeline.Run(given, tmp_path / "out", pipeline.Options(
            renderer="pandoc", config=config, say=lambda line: None)).key

    base = key()
    for name, text in named.items():
        (project / name).write_text(text + " edited")
        assert key() != base, name
        (project / name).write_text(text)
    assert key() == base


def test_a_damaged_entry_is_discarded_with_a_line_and_never_read(tmp_path):
    said: list[str] = []
    store = Cache(tmp_path / "cache", say=said.append)
    made = tmp_path / "report.pdf"
    made.write_bytes(b"%PDF-" + bytes(range(256)) * 40)
    damages = {"truncated": lambda p: p.write_bytes(p.read_bytes()[:5000]),
               "emptied": lambda p: p.write_bytes(b""), "removed": lambda p: p.unlink(),
               "altered": lambda p: p.write_bytes(p.read_bytes().replace(b"PDF", b"PDX"))}
    for number, (how, damage) in enumerate(damages.items()):
        key = f"{number:064x}"
        store.put("render", key, {"report.pdf": made})
        damage(tmp_path / "cache" / "render" / key / "report.pdf")
        assert store.get("render", key) is None, how
        assert not (tmp_path / "cache" / "render" / key).exists(), how
    assert len(said) == 4 and all(line.startswith("cache: a damaged render entry (report.pdf: ")
                                  for line in said), said


def test_the_cache_never_writes_or_prunes_through_a_link(tmp_path, monkeypatch):
    from jakisurvey.cache import CacheError

    monkeypatch.setattr(cache, "KEEP", 1)
    mine = tmp_path / "mine"
    (mine / "photos").mkdir(parents=True)
    (mine / "photos" / "beach.jpg").write_text("jpg")
    for name in ("a.txt", "b.txt"):
        (mine / name).write_text("dear ...")
    before = sorted(p.relative_to(mine) for p in mine.rglob("*"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "views").symlink_to(mine)
    made = tmp_path / "view.html"
    made.write_text("<p>view</p>")
    with pytest.raises(CacheError, match="never writes through it"):
        Cache(tmp_path / "cache").put("views", "0" * 64, {"view.html": made})
    assert sorted(p.relative_to(mine) for p in mine.rglob("*")) == before


def test_storing_leaves_the_run_s_other_entries_being_stored_alone(tmp_path):
    """The run's worker threads store entries side by side: pruning removes only what other
    (dead: one run at a time) processes left unfinished."""
    store = Cache(tmp_path / "cache")
    made = tmp_path / "view.html"
    made.write_text("<p>view</p>")
    area = tmp_path / "cache" / "views"
    area.mkdir(parents=True)
    mine = area / f".{'1' * 64}.{os.getpid()}.0123abcd.partial"      # another thread's
    dead = area / f".{'2' * 64}.{2 ** 22 + 1}.0123abcd.partial"      # a killed run's
    for folder in (mine, dead):
        folder.mkdir()
        (folder / "view.html").write_text("half")
    store.put("views", "3" * 64, {"view.html": made})
    assert mine.is_dir() and not dead.exists()
    assert store.get("views", "3" * 64) == {"view.html": b"<p>view</p>"}
