"""One run: check the inputs, compute results.json, execute the notebooks, render the report."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat

from . import __version__
from .codebook import Codebook
from .countries import CountryResolver
from .errors import SurveyError
from .render import ANSI, choose_renderer, render_notebook_view, render_report
from .results import compute_results
from .study import Study, load_study
from .survey import Survey, load_survey

PROJECT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT / "notebooks"
QUARTO_CONFIG = PROJECT / "_quarto.yml"
DEFAULT_RECORDS = PROJECT / "data" / "synthetic" / "records.csv"
DEFAULT_DICTIONARY = PROJECT / "data" / "data_dictionary.csv"
DEFAULT_STUDY = PROJECT / "data" / "study.yml"
DEFAULT_OUT = PROJECT / "_output"
HIDDEN_TAGS = {"parameters", "injected-parameters"}


class NotebookError(SurveyError):
    """A notebook failed; the partially executed copy is kept for inspection."""


@dataclass(frozen=True)
class Inputs:
    """The three input files of a run."""

    records: Path
    dictionary: Path
    study: Path

    def hashes(self) -> dict[str, str]:
        """SHA-256 of each input by role."""
        return {name: sha256(path) for name, path in self.paths().items()}

    def paths(self) -> dict[str, Path]:
        """The inputs by role."""
        return {"records": self.records, "dictionary": self.dictionary, "study": self.study}


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_inputs(inputs: Inputs) -> tuple[Study, CountryResolver, Survey]:
    """Read and check every input; raises SurveyError before anything is executed."""
    for name, path in inputs.paths().items():
        if not Path(path).is_file():
            raise SurveyError(f"{path}: {name} file not found")
    study = load_study(inputs.study)
    codebook = Codebook.from_csv(inputs.dictionary)
    resolver = CountryResolver.from_files(study.country_aliases, study.regions)
    return study, resolver, load_survey(inputs.records, codebook, resolver)


def write_json(data: dict, path: Path) -> None:
    """Write JSON with sorted-free, stable formatting."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_private_listing(survey: Survey, folder: Path) -> Path:
    """The row-by-row data-quality listing for the researchers (never part of the report)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data_quality.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "record_id", "field", "value", "problem"])
        for p in survey.problems:
            writer.writerow([p.row or "", p.record_id, p.field, p.value, p.rule])
    return path


def run_info(inputs: Inputs, hashes: dict[str, str], renderer: str) -> dict:
    """Provenance of the run: date, software versions and input hashes."""
    requirements = metadata.requires("jakisurvey") or []
    names = sorted({re.match(r"[\w.-]+", r).group() for r in requirements if "extra ==" not in r})
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(), "jakisurvey": __version__,
            "renderer": renderer,
            "packages": {name: metadata.version(name) for name in names},
            "inputs": {role: {"path": str(path), "sha256": hashes[role]}
                       for role, path in inputs.paths().items()}}


@contextmanager
def kernel_of_this_python(folder: Path):
    """Make the 'python3' kernel run this interpreter, whatever other kernels are installed."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    write_json({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                         "--IPKernelApp.log_level=ERROR"],
                "display_name": "Python 3 (jakisurvey)", "language": "python"},
               spec / "kernel.json")
    before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), before]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = before


def failing_line(source: str, traceback: list[str]) -> str:
    """The cell's line that raised, from IPython's '---->' traceback marker (else its first line)."""
    lines = source.splitlines()
    for entry in traceback:
        marker = re.search(r"^-+> ?(\d+)", ANSI.sub("", entry), re.M)
        if marker and 0 < int(marker.group(1)) <= len(lines):
            return lines[int(marker.group(1)) - 1]
    return next((s for s in lines if s.strip() and not s.startswith("#|")), "")


def execute_notebook(source: Path, target: Path, parameters: dict, failed_dir: Path) -> None:
    """Execute one notebook with papermill; on failure keep it and say where it failed."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(str(source), str(target), parameters=parameters,
                                   kernel_name="python3", cwd=str(target.parent),
                                   progress_bar=False, log_output=False)
    except PapermillExecutionError as error:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / source.name
        shutil.copyfile(target, kept)
        line = failing_line(error.source, error.traceback)
        raise NotebookError(f"notebook {source.name} failed in cell {error.exec_count} "
                            f"('{line.strip()}'): {error.ename}: {error.evalue}\n"
                            f"The partially executed notebook is kept at {kept}") from None


def execute_notebooks(parameters: dict, folder: Path, failed_dir: Path) -> list[Path]:
    """Execute every section notebook in order into folder/notebooks."""
    target_dir = folder / "notebooks"
    target_dir.mkdir(parents=True, exist_ok=True)
    executed = []
    with tempfile.TemporaryDirectory() as jupyter, kernel_of_this_python(Path(jupyter)):
        for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
            target = target_dir / source.name
            execute_notebook(source, target, parameters, failed_dir)
            executed.append(target)
    return executed


def notebook_links(path: Path) -> nbformat.NotebookNode:
    """A short line linking a section to its full notebook (code included)."""
    stem = path.stem
    return nbformat.v4.new_markdown_cell(
        f"*Code and outputs of this section: [notebook view](notebooks/{stem}.html), "
        f"[executed notebook](notebooks/{stem}.ipynb).*")


def assemble_report(executed: list[Path], title: str, target: Path) -> Path:
    """One report notebook: front matter, then each section's cells (code hidden by the renderer)."""
    front = nbformat.v4.new_raw_cell(f"---\ntitle: {json.dumps(title)}\n---")
    cells = [front]
    for path in executed:
        book = nbformat.read(path, as_version=4)
        kept = [c for c in book.cells if not HIDDEN_TAGS & set(c.metadata.get("tags", []))]
        cells += kept[:1] + [notebook_links(path)] + kept[1:]
    report = nbformat.v4.new_notebook(cells=cells, metadata={**book.metadata, "title": title})
    for index, cell in enumerate(report.cells):
        cell.id = f"cell-{index}"
    nbformat.write(report, target)
    return target


def publish(staging: Path, out: Path) -> None:
    """Replace the output folder with the finished run in one step."""
    old = out.with_name(out.name + ".previous")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build(inputs: Inputs, study: Study, survey: Survey, staging: Path, renderer: str,
          failed_dir: Path) -> None:
    """Everything a run writes, into the staging folder."""
    hashes = inputs.hashes()
    contract_names = {f"{role}_sha256": digest for role, digest in hashes.items()}
    write_json(compute_results(survey, study, contract_names), staging / "results.json")
    write_private_listing(survey, staging / "private")
    write_json(run_info(inputs, hashes, renderer), staging / "run.json")
    parameters = {"records": str(inputs.records.resolve()),
                  "dictionary": str(inputs.dictionary.resolve()),
                  "study": str(inputs.study.resolve()), "output": str(staging.resolve())}
    executed = execute_notebooks(parameters, staging, failed_dir)
    report = assemble_report(executed, study.title, staging / "report.ipynb")
    if QUARTO_CONFIG.exists():
        shutil.copyfile(QUARTO_CONFIG, staging / "_quarto.yml")
    render_report(report, staging, renderer)
    for leftover in ("_quarto.yml", ".quarto", "report_files"):
        target = staging / leftover
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    for path in executed:
        render_notebook_view(path, path.with_suffix(".html"))


def run(inputs: Inputs, out: Path = DEFAULT_OUT, renderer: str = "auto") -> Path:
    """Check inputs, then build the report in a staging folder and publish it to `out`."""
    study, _, survey = check_inputs(inputs)
    renderer = choose_renderer(renderer)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the report folder is an ordinary one
    failed_dir = out.with_name(out.name + ".failed")
    try:
        build(inputs, study, survey, staging, renderer, failed_dir)
    except SurveyError as error:
        shutil.rmtree(staging, ignore_errors=True)
        kept = f"The previous report in {out} is unchanged." if out.exists() else \
            f"Nothing was written to {out}."
        error.args = (f"{error}\n{kept}",)
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(failed_dir, ignore_errors=True)
    publish(staging, out)
    return out
