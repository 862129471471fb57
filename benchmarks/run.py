"""How long a report takes, run after run, as ratios measured in one process on one machine.

Run with `make benchmark` (about 10 minutes; `--repeats`, `--renderers` to shorten). Every
scenario works on a throwaway copy of the project (its own data, notebooks, report folder and
cache), so the project's own _output/ and cache are never touched:

  a  the naive way: `papermill` run on each section notebook in turn, with the same parameters,
     then the same render (report notebook, report HTML and PDF, notebook views)
  b  a cold `jakisurvey run --force`
  c  a second `jakisurvey run` with nothing changed
  d  a run after one answer in the export changed
  e  a run after one notebook's prose changed
  f  a cold run on 100,000 synthetic respondents (and the largest process's peak memory)

It prints the median of each over the repeats, and b/a, c/a, d/a, e/a and f/b. Targets (issue 16):
b/a <= 0.35, c <= 0.3 s and c/a <= 0.01, e/a <= 0.3, f/b <= 1.3 with peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"b/a": 0.35, "c/a": 0.01, "e/a": 0.3, "f/b": 1.3}
NO_CHANGE_SECONDS = 0.3
NAIVE_RENDER = """
import sys
from pathlib import Path
import nbformat
from jakisurvey.assemble import assemble, figure_numbers, for_rendering
from jakisurvey.render import render_notebook_view, render_report
from jakisurvey.study import load_study
folder, renderer, config, study = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
executed = sorted((folder / "notebooks").glob("*.ipynb"))
numbers = figure_numbers({p.stem: nbformat.read(p, as_version=4) for p in executed})
for path in executed:
    work = path.with_suffix(".view.ipynb")
    nbformat.write(for_rendering(nbformat.read(path, as_version=4), numbers), work)
    render_notebook_view(work, path.with_suffix(".html"), config)
    work.unlink()
report = assemble(executed, load_study(study).title, numbers, folder / "report.ipynb")
render_report(report, folder, renderer, config)
"""


class Project:
    """A throwaway copy of the project, run with its own copy of the package."""

    def __init__(self, folder: Path) -> None:
        self.root = folder
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
        for name in filter(None, listed):
            if (ROOT / name).is_file():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, folder / name)
        self.env = {**os.environ, "PYTHONPATH": str(folder / "src")}
        self.records = folder / "data" / "synthetic" / "records.csv"
        self.dictionary = folder / "data" / "data_dictionary.csv"
        self.study = folder / "data" / "study.yml"

    def run(self, *args: str, check: bool = True) -> float:
        """Seconds a command of this project took."""
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True)
        if check and done.returncode:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return time.perf_counter() - start

    def tool(self, *args: str, records: Path | None = None, study: Path | None = None) -> float:
        """Seconds a `jakisurvey run` took."""
        return self.run("-m", "jakisurvey.cli", "run", "--quiet", "--records",
                        str(records or self.records), "--dictionary", str(self.dictionary),
                        "--study", str(study or self.study), *args)


def naive(project: Project, renderer: str, out: Path) -> float:
    """The papermill command on each notebook in turn, then the same render."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "notebooks").mkdir(parents=True)
    start = time.perf_counter()
    for notebook in sorted((project.root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        project.run("-m", "papermill", "--no-progress-bar", str(notebook),
                    str(out / "notebooks" / notebook.name), "--cwd", str(out / "notebooks"),
                    "-p", "records", str(project.records), "-p", "dictionary",
                    str(project.dictionary), "-p", "study", str(project.study),
                    "-p", "output", str(out))
    project.run("-c", NAIVE_RENDER, str(out), renderer, str(project.root / "_quarto.yml"),
                str(project.study))
    return time.perf_counter() - start


def change_answer(records: Path, k: int) -> None:
    """Correct the k-th JAKi user's side-effects answer (a new state of the export each time)."""
    with records.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    user = [r for r in rows if r["jaki_used"] == "1" and r["jaki_side_effects"] in {"0", "1"}][k]
    user["jaki_side_effects"] = "0" if user["jaki_side_effects"] == "1" else "1"
    with records.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def change_prose(notebook: Path, k: int) -> None:
    """Reword one markdown cell of a notebook (a new wording each time)."""
    book = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(c for c in book["cells"] if c["cell_type"] == "markdown" and c["id"] != "title")
    cell["source"] = "".join(cell["source"]) + f" Reworded ({k})."
    notebook.write_text(json.dumps(book, indent=1) + "\n", encoding="utf-8")


def big_export(project: Project, folder: Path, n: int) -> tuple[Path, Path]:
    """A synthetic export of n respondents and a study file inviting enough providers."""
    records, study = folder / f"synthetic-{n}.csv", folder / f"study-{n}.yml"
    project.run("-m", "jakisurvey.cli", "synth", "--n", str(n), "--seed", "1", "--out",
                str(records), "--force")
    text = project.study.read_text(encoding="utf-8")
    data = project.root / "data"
    text = text.replace("n_invited: 1272", f"n_invited: {5 * n}")
    text = text.replace("country_aliases: country_aliases.csv",
                        f"country_aliases: {data / 'country_aliases.csv'}")
    text = text.replace("regions: regions.csv", f"regions: {data / 'regions.csv'}")
    study.write_text(text, encoding="utf-8")
    return records, study


def scenarios(project: Project, renderer: str, repeats: int, big: tuple[Path, Path],
              changes: itertools.count) -> dict:
    """The median seconds of each scenario for one renderer (every change a new one)."""
    out = project.root / f"_output_{renderer}"
    times: dict[str, list[float]] = {k: [] for k in "abcdef"}
    notebook = project.root / "notebooks" / "05_medications.ipynb"
    for i in range(repeats):
        times["a"].append(naive(project, renderer, project.root / f"_naive_{renderer}"))
        times["b"].append(project.tool("--out", str(out), "--renderer", renderer, "--force"))
        times["c"].append(project.tool("--out", str(out), "--renderer", renderer))
        change_answer(project.records, next(changes))
        times["d"].append(project.tool("--out", str(out), "--renderer", renderer))
        change_prose(notebook, next(changes))
        times["e"].append(project.tool("--out", str(out), "--renderer", renderer))
        times["f"].append(project.tool("--out", str(project.root / f"_big_{renderer}"),
                                       "--renderer", renderer, "--force",
                                       records=big[0], study=big[1]))
        print(f"  {renderer} repeat {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s"
                                                         for k, v in times.items()), flush=True)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    """Time every scenario and print the ratios."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--renderers", nargs="+", default=["pandoc", "quarto"])
    options.add_argument("--n", type=int, default=100_000, help="respondents of scenario f")
    args = options.parse_args()
    renderers = [r for r in args.renderers if r != "quarto" or shutil.which("quarto")]
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.repeats} repeats, renderers {', '.join(renderers)}")
    with tempfile.TemporaryDirectory(prefix="jakisurvey-benchmark-") as folder:
        project = Project(Path(folder) / "project")
        big = big_export(project, Path(folder), args.n)
        changes = itertools.count()
        for renderer in renderers:
            median = scenarios(project, renderer, args.repeats, big, changes)
            a, b = median["a"], median["b"]
            ratios = {"b/a": b / a, "c/a": median["c"] / a, "d/a": median["d"] / a,
                      "e/a": median["e"] / a, "f/b": median["f"] / b}
            print(f"{renderer}: medians " + ", ".join(f"{k} {v:.2f} s" for k, v in median.items()))
            verdict = "ok" if median["c"] <= NO_CHANGE_SECONDS else "MISSED"
            print(f"  c = {median['c']:.2f} s  (target <= {NO_CHANGE_SECONDS} s: {verdict})")
            for name, ratio in ratios.items():
                target = TARGETS.get(name)
                verdict = "" if target is None else (
                    f"  (target <= {target}: {'ok' if ratio <= target else 'MISSED'})")
                print(f"  {name} = {ratio:.3f}{verdict}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"largest process's peak memory over all runs: {peak:.0f} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
