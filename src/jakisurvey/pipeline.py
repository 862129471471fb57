"""One run: check the inputs and the report folder, execute the notebooks, render, publish.

Everything is built in a staging folder beside the report folder and published in one step;
results that did not change are taken from the cache; a run with nothing changed does nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import outdir, processes
from .cache import Cache, digest, software
from .errors import SurveyError
from .notebook import COLLECTED, DISCLOSURE, NOTEBOOKS, section_notebooks
from .execute import Job, NotebookError, Pool, execute_all, from_cache, plan, warm_up
from .inputs import Checked, Inputs, Snapshot, check_inputs, hand_over, study_files
from .terminal import printable

PROJECT = NOTEBOOKS.parent
QUARTO_CONFIG = PROJECT / "_quarto.yml"
DEFAULT_RECORDS = PROJECT / "data" / "synthetic" / "records.csv"
DEFAULT_DICTIONARY = PROJECT / "data" / "data_dictionary.csv"
DEFAULT_STUDY = PROJECT / "data" / "study.yml"
DEFAULT_OUT = PROJECT / "_output"
QUARTO_BUILD = "_build"   # where `quarto render` at the project root renders the report
QUARTO_WRITES = ["report.html", "report.pdf", "report.docx", "report_files/*", "*.quarto_ipynb"]
VIEW = "view.html"    # a notebook view's file in its cache entry
PRIVATE = "private"   # for the researchers only: exact values, the row-by-row listing
COLLECTED_FILE = f"{PRIVATE}/results.json"   # exact results, collected from the executed notebooks
TIMINGS_FILE = f"{PRIVATE}/timings.json"   # the run's wall-clock times (none in what is shared)
DISCLOSURE_FILE = "disclosure.json"   # the disclosure plan: every hidden cell and why

# What reading a replaced report's results laid out otherwise (older, or edited) may raise.
UNREADABLE = (SurveyError, AttributeError, KeyError, TypeError, ValueError, RuntimeError)

__all__ = ["Inputs", "NotebookError", "Options", "run", "check_inputs"]


SAYING = threading.Lock()   # the kernels' threads report side by side: one whole line at a time


def to_stderr(line: str) -> None:
    """Progress on standard error, one line per step (control characters shown, not obeyed)."""
    with SAYING:
        sys.stderr.write(printable(line) + "\n")
        sys.stderr.flush()


@dataclass
class Options:
    """How a run goes: renderer, cache, parallel kernels, progress."""

    renderer: str = "auto"
    force: bool = False
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    say: object = to_stderr
    config: Path = QUARTO_CONFIG
    notebooks: Path = NOTEBOOKS
    render: bool = True   # False: up to the report notebook (Quarto's pre-render step)
    # `verify` re-runs a shared report as it was made: its date (None: provenance.report_date),
    # its inputs as its notebooks show them (None: as seen from this report folder), and the
    # changes it recorded since the report it replaced (None: this folder's previous report).
    date: dict | None = None
    shown: dict | None = None
    replaced: list | None = None
    wait: bool = True     # False: refuse, rather than wait, when another run holds the folder


@contextmanager
def heartbeat(say, step: str, every: float = 5.0):
    """Say every few seconds that a long step is still running."""
    done = threading.Event()
    start = time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            say(f"{step}: still running ({time.perf_counter() - start:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def iso_time(seconds: float) -> str:
    """A moment as ISO 8601 in UTC, to the second."""
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(data: object, path: Path) -> None:
    """Write JSON with stable formatting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def private_folder(staging: Path) -> Path:
    """private/ of a report being built: readable by its owner only (700), made before anything
    is written into it."""
    folder = staging / PRIVATE
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)   # whatever the umask
    return folder


def seal(folder: Path) -> None:
    """private/'s files readable and writable by their owner only (600)."""
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    folder.chmod(0o700)


def write_private_listing(checked: Checked, folder: Path) -> None:
    """The row-by-row data-quality listing for the researchers (never part of the report)."""
    from .spreadsheet import write_csv

    rows = [[p.row or "", p.record_id, p.field, p.value, p.rule] for p in checked.survey.problems]
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "data_quality.csv", ["row", "record_id", "field", "value", "problem"], rows)


def parameters(files: dict[str, Path], folder: Path) -> dict[str, str]:
    """Notebook parameters as the executed notebooks show them, from folder/notebooks.

    An input beside the report folder (in the folder that holds it, or below) is shown by its
    relative path, so the notebook re-runs where it is; one elsewhere by its file name only,
    so no path leads out of the report to the researcher's other folders.
    """
    base, near = folder / "notebooks", folder.parent
    shown = {}
    for role in ("records", "dictionary", "study"):
        path = Path(files[role])   # absolute, as the run resolved it (inputs.Inputs)
        shown[role] = os.path.relpath(path, base) if near in path.parents else path.name
    return {**shown, "output": os.path.relpath(folder, base),
            COLLECTED: os.path.relpath(folder / COLLECTED_FILE, base),
            DISCLOSURE: os.path.relpath(folder / DISCLOSURE_FILE, base)}


def absolute(files: dict[str, Path], staging: Path) -> dict[str, str]:
    """The parameters this run executes with: the absolute paths the run resolved before any
    kernel started (never shown in the outputs)."""
    return {**{role: str(files[role]) for role in ("records", "dictionary", "study")},
            "output": str(staging), COLLECTED: str(staging / COLLECTED_FILE),
            DISCLOSURE: str(staging / DISCLOSURE_FILE)}


class Run:
    """The work of one run, from checked inputs to a published report folder."""

    def __init__(self, inputs: Inputs, out: str | os.PathLike, options: Options) -> None:
        from .provenance import report_date
        from .render import choose_renderer, renderer_versions
        from .render.config import fingerprint

        self.inputs, self.options, self.say = inputs, options, options.say
        self.snapshot = Snapshot.take(inputs)   # every input read once, here
        files = self.snapshot.files
        self.date = options.date or report_date(self.snapshot.study.date, inputs.study,
                                                inputs.records)
        self.out = outdir.check_out(out, files.values(), PROJECT)
        self.renderer = choose_renderer(options.renderer)
        self.versions = renderer_versions(self.renderer)
        self.hashes = self.snapshot.hashes
        self.shown = {**parameters(files, self.out), **(options.shown or {})}
        self.jobs = plan(section_notebooks(options.notebooks), self.shown, self.hashes)
        self.config_key = fingerprint(options.config)   # _quarto.yml and every file it names
        self.key = digest([job.key for job in self.jobs], self.config_key, self.versions,
                          software(), options.render, self.date)
        self.cache = Cache(outdir.cache_dir(self.out), use=not options.force, say=self.say,
                           guard=self.snapshot.check_unchanged)
        self.checked: Checked | None = None
        self.pool: Pool | None = None
        self.plan: dict[str, str] = {}
        self.previous = None
        self.timings: dict[str, dict] = {}   # notebook: wall-clock times, for private/

    def up_to_date(self) -> bool:
        """Whether the report folder already holds this run's report, every file as published
        (one missing or changed is said, and the report made again)."""
        marker = outdir.read_marker(self.out) if self.out.exists() else None
        if self.options.force or not marker or marker.get("key") != self.key:
            return False
        damaged = outdir.verify_published(self.out)
        if damaged is None:
            return False
        for name, why in damaged.items():
            what = "is missing" if why == outdir.MISSING else "was changed since it was published"
            self.say(f"{name} in {self.out} {what}; the report is made again")
        return not damaged

    def build(self, staging: Path) -> list[dict]:
        """Everything the report folder holds, written into the staging folder."""
        import nbformat

        from .assemble import figure_numbers

        numbers = figure_numbers({job.source.stem: nbformat.read(job.source, as_version=4)
                                  for job in self.jobs})
        started, start = time.time(), time.perf_counter()
        exact = self.execute(staging, numbers)
        change = self.write_results(exact, staging)
        self.render(staging, change, numbers)
        write_json({"started": iso_time(started), "seconds": round(time.perf_counter() - start, 3),
                    "notebooks": self.timings}, staging / TIMINGS_FILE)
        seal(staging / PRIVATE)
        return change

    def write_results(self, exact: dict, staging: Path) -> list[dict]:
        """results.json (shared), private/ (exact values, listing), changes.json and run.json."""
        from . import changes
        from .lockfile import environment, warning
        from .privacy import Gate
        from .provenance import run_info

        public = Gate(self.checked.study.min_cell, self.plan).publish_all(exact)
        if self.options.replaced is None:
            self.previous = self.as_published_now(changes.previous_results(self.out,
                                                                           say=self.say))
            change = changes.changes(self.previous, public)
        else:   # verify: the replaced report is not shared; its changes are taken as recorded
            self.previous, change = {}, self.options.replaced
        write_json(public, staging / "results.json")
        write_json(exact, staging / COLLECTED_FILE)
        write_private_listing(self.checked, staging / PRIVATE)
        write_json(change, staging / "changes.json")
        env = environment()
        if warning(env):
            self.say(warning(env))
        write_json(run_info(self.checked.files, self.hashes, self.versions, self.date, env),
                   staging / "run.json")
        return change

    def as_published_now(self, previous: dict | None) -> dict | None:
        """The replaced report's results as this report's rules would publish them (a higher
        min_cell hides old counts too): from its exact values when it kept them, with their
        own disclosure plan; else its published values, small counts hidden."""
        from . import changes
        from .disclosure import plan as disclosure_plan
        from .privacy import Gate

        from .claims import check

        min_cell = self.checked.study.min_cell
        if previous is None or min_cell <= 1:
            return previous
        exact = changes.previous_results(self.out, COLLECTED_FILE, say=lambda line: None)
        try:
            plan = disclosure_plan(exact, self.checked.codebook, self.regions(exact), min_cell,
                                   self.checked.study.claims)
            gate = Gate(min_cell, plan)
            return {**gate.publish_all(exact), "claims": check(
                self.checked.study.claims, exact, self.checked.codebook, gate)}
        except UNREADABLE:
            pass
        try:   # no exact values kept, or an older report's layout: what it published, small
            # counts hidden, and of its claims only whether they matched
            return {**Gate(min_cell).publish_all(previous),
                    "claims": [{"id": c["id"], "claim": c.get("claim"),
                                "status": c.get("status")}
                               for c in changes.claims_of(previous.get("claims"))]}
        except UNREADABLE as error:
            self.say(f"changes: the replaced report's results.json cannot be compared "
                     f"({type(error).__name__}: a hand-edited file?); changes.json lists no "
                     "changes")
            return None

    def targets(self, staging: Path, jobs: list[Job]) -> list[Job]:
        """Jobs, each to be written into staging/notebooks."""
        return [replace(job, target=staging / "notebooks" / job.name) for job in jobs]

    def execute(self, staging: Path, numbers: dict[str, dict]) -> dict:
        """The notebooks, from the cache or executed, into staging/notebooks, with their views;
        the exact results they recorded, collected.

        With `min_cell` above 1 the disclosure plan is made from the collected results; when it
        hides more than the small counts, the notebooks run again under it (keyed by it), so
        that everything they show passes the same gate.
        """
        from .disclosure import as_file, plan as disclosure_plan
        from .privacy import SMALL

        min_cell = self.checked.study.min_cell
        self.pool = None
        try:
            exact = self.notebooks(staging, numbers, {}, views=min_cell <= 1)
            self.plan = disclosure_plan(exact, self.checked.codebook, self.regions(exact),
                                        min_cell, self.checked.study.claims)
            write_json(as_file(self.plan, min_cell), staging / DISCLOSURE_FILE)
            if any(why != SMALL for why in self.plan.values()):
                exact = self.notebooks(staging, numbers, self.plan, views=True)
            elif min_cell > 1:   # the first pass is the published one: its views, side by side
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(self.options.jobs) as views:
                    list(views.map(lambda job: self.view(staging / "notebooks" / job.name,
                                                         numbers), self.jobs))
        finally:
            if self.pool is not None:
                self.pool.close()
                self.timings.update(self.pool.timings)
            shutil.rmtree(staging / ".runtime", ignore_errors=True)
        return exact

    def regions(self, exact: dict) -> dict[str, str]:
        """The region of each country code in the results (for the disclosure plan)."""
        return {code: self.checked.resolver.region(code) if code != "Unknown" else "Unknown"
                for code in exact.get("country_counts", {})}

    def notebooks(self, staging: Path, numbers: dict[str, dict], plan: dict[str, str],
                  views: bool) -> dict:
        """One pass over the notebooks under a disclosure plan: the section notebooks first,
        then those that read the collected results (a `collected` parameter), keyed by what
        they read; the exact results collected from all of them."""
        from .privacy import SMALL
        from .results import collect

        sections = [self.under(job, plan) for job in
                    self.targets(staging, [j for j in self.jobs if not j.dependent])]
        later = self.targets(staging, [j for j in self.jobs if j.dependent])
        plan_key = [digest(plan)] if any(why != SMALL for why in plan.values()) else []
        recorded: dict[str, list[dict]] = {}
        cached, todo = from_cache(sections, self.cache)
        self.kernels(staging, len(todo) + (len(later) if todo else 0))

        def done(job: Job) -> None:
            recorded[job.source.stem] = self.published_notebook(job.target)
            if views:
                self.view(job.target, numbers)

        failed = outdir.cache_dir(self.out) / "failed"
        run = absolute(self.checked.files, staging)
        execute_all(sections, cached, self.cache, run, self.shown, self.pool, failed, self.say,
                    done)
        values, _ = collect({job.source.stem: recorded[job.source.stem] for job in sections})
        write_json(values, staging / COLLECTED_FILE)
        later = [job.keyed(digest(values), *plan_key) for job in later]
        cached_later, todo_later = from_cache(later, self.cache)
        self.kernels(staging, len(todo_later))
        execute_all(later, cached_later, self.cache, run, self.shown, self.pool, failed,
                    self.say, done)
        executed = len(todo) + len(todo_later)
        if executed:
            self.say(f"notebooks: {executed} executed, {len(self.jobs) - executed} from the "
                     "cache" + (" (under the disclosure plan)" if plan_key else ""))
        return collect({job.source.stem: recorded[job.source.stem] for job in self.jobs})[0]

    @staticmethod
    def under(job: Job, plan: dict[str, str]) -> Job:
        """A section notebook keyed by the part of the disclosure plan that touches what it
        records, or by all of it when it reads the plan itself (`record.gate`): a notebook the
        plan does not touch is not executed again under it."""
        from .notebook import producers
        from .privacy import SMALL

        keys = [key for key, (stem, _) in producers(job.source.parent).items()
                if stem == job.source.stem]
        whole = "record.gate" in job.source.read_text(encoding="utf-8")
        touched = {path: why for path, why in plan.items() if why != SMALL and (whole or any(
            path == key or path.startswith(key + ".") for key in keys))}
        return job.keyed(digest(touched)) if touched else job

    def kernels(self, staging: Path, wanted: int) -> None:
        """Start the kernels when notebooks are to be executed and none are running yet."""
        if wanted and self.pool is None:
            self.pool = self.start_kernels(staging, wanted)

    def start_kernels(self, staging: Path, wanted: int) -> Pool | None:
        """Kernels for `wanted` notebooks (none for none), given the checked inputs."""
        if not wanted:
            return None
        runtime = staging / ".runtime"
        runtime.mkdir(exist_ok=True)
        return Pool(min(self.options.jobs, wanted), runtime, staging / "notebooks",
                    hand_over(self.checked, self.inputs, runtime / "checked.pickle"),
                    warm_up([job.source for job in self.jobs]))

    @staticmethod
    def published_notebook(path: Path) -> list[dict]:
        """The executed notebook's cells with what they recorded; the file at `path` keeps
        which keys each cell recorded but not the values (those are in results.json)."""
        import nbformat

        from .notebook import without_values

        book = json.loads(path.read_text(encoding="utf-8"))
        kept = json.loads(json.dumps(book["cells"]))
        without_values(book["cells"])
        nbformat.write(nbformat.from_dict(book), path)
        return kept

    def render(self, staging: Path, change: list[dict], numbers: dict[str, dict]) -> None:
        """The report notebook, then the report (HTML and PDF) unless Quarto renders it itself
        (`quarto render` at the project root); from the cache when unchanged."""
        from .assemble import assemble

        executed = [staging / "notebooks" / job.name for job in self.jobs]
        report = assemble(executed, self.checked.study.title, numbers, staging / "report.ipynb",
                          self.changes_cells(change), self.date["date"])
        self.revise(report, staging)
        if self.options.render:
            self.render_report(report, staging)
        else:  # `quarto render` renders this notebook itself, as the Quarto renderer would
            import nbformat

            from .render.quarto import quarto_notebook

            nbformat.write(quarto_notebook(nbformat.read(report, as_version=4)), report)

    def revise(self, report: Path, staging: Path) -> None:
        """changes.docx and changes.html, when this run replaces a report whose text, tables
        or figures differ from the new one (render.revision)."""
        from .render.revision import write_revision

        old = self.out / "report.ipynb"
        if not old.is_file():
            return
        start = time.perf_counter()
        said = write_revision(old, report, staging, self.options.config)
        for warning in said or []:
            self.say(f"revision: {warning}")
        if (staging / "changes.docx").is_file():
            self.say(f"revision: changes.docx, changes.html in {time.perf_counter() - start:.1f} s")

    def view(self, path: Path, numbers: dict) -> None:
        """A notebook's HTML view (code and outputs, an anchor per cell)."""
        import nbformat

        from .assemble import for_rendering
        from .render import render_notebook_view

        view = path.with_suffix(".html")
        numbered = for_rendering(nbformat.read(path, as_version=4), numbers)
        key = digest(nbformat.writes(numbered), self.config_key, software())
        entry = self.cache.get("views", key)
        if entry is not None:
            view.write_bytes(entry[VIEW])
            return
        work = path.with_suffix(".view.ipynb")
        nbformat.write(numbered, work)
        render_notebook_view(work, view, self.options.config)
        work.unlink()
        self.cache.put("views", key, {VIEW: view})

    def render_report(self, report: Path, staging: Path) -> None:
        """report.html, report.pdf and report.docx from the report notebook."""
        from .render import REPORT_FILES, render_report

        key = digest(report.read_text(encoding="utf-8"), self.config_key, self.versions,
                     software())
        entry = self.cache.get("render", key)
        if entry is not None:
            self.say("render: report unchanged, from the cache")
            for name in REPORT_FILES:
                (staging / name).write_bytes(entry[name])
            return
        tools = ", ".join(f"{k} {v}" for k, v in self.versions.items() if k != "renderer")
        self.say(f"render: {self.renderer} ({tools})")
        start = time.perf_counter()
        with heartbeat(self.say, "render"):
            warnings = render_report(report, staging, self.renderer, self.options.config)
        for warning in warnings:
            self.say(f"render: {warning}")
        self.say(f"render: done in {time.perf_counter() - start:.1f} s")
        self.cache.put("render", key, {name: staging / name for name in REPORT_FILES})

    def changes_cells(self, change: list[dict]) -> list:
        """The 'Changes since the previous run' section, when a report is being replaced."""
        import nbformat

        from .changes import flipped_claims
        from .render.revision import CHANGES_TAG
        from .tables import changes_section

        if self.previous is None:
            return []
        text = "# Changes since the previous run\n\n" + changes_section(change, flipped_claims(change))
        cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [CHANGES_TAG]})
        return [cell]   # (the tag keeps it out of changes.docx: what it lists changed anyway)

    def check(self) -> None:
        """Check the inputs as read (and the claims against them), saying how it went."""
        start = time.perf_counter()
        self.checked = check_inputs(self.inputs, self.snapshot)
        survey = self.checked.survey
        self.say(f"inputs: {len(survey.data)} records, {len(survey.respondents)} respondents, "
                 f"{len(survey.problems)} warnings, checked in {time.perf_counter() - start:.1f} s")

    def publish(self) -> list[dict] | None:
        """Build in staging and publish, holding the report folder's lock; None when the report
        was already up to date.

        The inputs are checked first; kernels then start for the notebooks not in the cache
        and get the checked inputs from the run (inputs.hand_over) instead of reading them again.
        """
        with outdir.locked(self.out, self.options.wait, self.say):
            outdir.check_cache(self.out, self.cache, inside=False)
            for line in outdir.recover(self.out):
                self.say(line)
            if self.up_to_date():
                self.say(f"nothing changed since the report in {self.out} was made; "
                         "it is up to date (--force rebuilds it)")
                return None
            outdir.check_cache(self.out, self.cache)   # the entries too: the run reads them
            self.check()
            return self.build_and_publish()

    def build_and_publish(self) -> list[dict]:
        """Build in a new staging folder and publish it when no input changed meanwhile; the
        staging folder goes, its tools stopped first, whatever stops the run."""
        staging = outdir.new_staging(self.out)
        try:
            (staging / "notebooks").mkdir()
            private_folder(staging)
            change = self.build(staging)
            self.snapshot.check_unchanged(rehash=True)
            expected = [] if self.options.render else QUARTO_WRITES  # Quarto renders here next
            for line in outdir.publish(staging, self.out, key=self.key, expected=expected):
                self.say(line)
        except BaseException:
            processes.stop_all()
            outdir.discard(staging)
            raise
        return change


def run(inputs: Inputs, out: str | os.PathLike = DEFAULT_OUT,
        options: Options | None = None) -> Path:
    """Check inputs and the report folder, build the report and publish it to `out`."""
    from .changes import summary_lines
    from .errors import SurveyError

    work = Run(inputs, out, options or Options())
    try:
        change = work.publish()
    except SurveyError as error:
        kept = (f"The previous report in {work.out} is unchanged." if work.out.exists()
                else f"Nothing was written to {work.out}.")
        error.args = (f"{error}\n{kept}",)
        raise
    if change is not None and work.previous is not None:
        for line in summary_lines(change):
            work.say(line)
    return work.out


def default_inputs(project: Path) -> Inputs:
    """The bundled inputs of a project folder."""
    return Inputs(*(project / path.relative_to(PROJECT)
                    for path in (DEFAULT_RECORDS, DEFAULT_DICTIONARY, DEFAULT_STUDY)))


def quarto_pre_render(project: Path, say=to_stderr) -> Path:
    """`quarto render` at the root, before Quarto renders: notebooks and report notebook in _build."""
    options = Options(renderer="quarto", render=False, say=say, config=project / "_quarto.yml",
                      notebooks=project / NOTEBOOKS.name)
    return run(default_inputs(project), project / QUARTO_BUILD, options)


def quarto_post_render(project: Path, say=to_stderr) -> Path | None:
    """After Quarto rendered _build/report.ipynb: publish _build as the report in _output.

    When Quarto rendered only some formats (`quarto preview`, `quarto render --to html`),
    _build is left for the preview and _output is not touched.
    """
    build, out = project / QUARTO_BUILD, project / DEFAULT_OUT.name
    marker = outdir.read_marker(build)
    notebook = build / "report.ipynb"
    if marker is None or not notebook.is_file():
        raise outdir.OutputError(f"{build} holds no report notebook of this tool; run "
                                 "`quarto render` at the project root")
    import nbformat

    from .render import REPORT_FILES
    from .render.dated import dated_docx, notebook_date

    made = [build / name for name in REPORT_FILES]
    if not all(p.is_file() and p.stat().st_mtime >= notebook.stat().st_mtime for p in made):
        say(f"not every format was rendered (quarto preview?): {out} is left as it is; "
            "`quarto render` renders and publishes the whole report")
        return None
    out = outdir.check_out(out, study_files(default_inputs(project))[1].values(), project)
    with outdir.locked(out, say=say):
        outdir.check_cache(out, Cache(outdir.cache_dir(out)))
        outdir.check_ours(build)       # nothing but what the run and Quarto wrote for it
        for line in outdir.recover(out):
            say(line)
        outdir.write_marker(build, **{k: v for k, v in marker.items() if k not in {"tool",
                                                                                 "files"}})
        staging = outdir.new_staging(out)
        try:
            shutil.copytree(build, staging, dirs_exist_ok=True, ignore=lambda folder, names:
                            [outdir.MARKER] if Path(folder) == build else [])
            dated_docx(staging / "report.docx",
                       notebook_date(nbformat.read(notebook, as_version=4)))
            for line in outdir.publish(staging, out, key=marker.get("key")):
                say(line)
        except BaseException:
            outdir.discard(staging)
            raise
    say(f"Report in {out}: report.html, report.pdf, report.docx, results.json")
    return out
