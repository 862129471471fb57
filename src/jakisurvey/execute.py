"""Executing the section notebooks with papermill: cached, in parallel, with portable paths.

Each worker starts one kernel of this Python and runs several notebooks in it, clearing the
kernel's namespace, figures and settings before each one, so imports are paid once per
worker while every notebook starts from a clean state. An executed notebook is stored in
the cache under a key of everything it was made from; the figures it wrote travel inside it
(each saved figure is displayed with its files), so a cached notebook restores them.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from .cache import Cache, digest, software, write_file
from .errors import SurveyError
from .notebook import ANSI, COLLECTED, FIGURE_KEY, imported_modules, parameters_of

KERNEL = "python3"
RESET = """\
import os as _os, sys as _sys
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
    _sys.modules["matplotlib"].rcdefaults()
_os.chdir({cwd!r})
get_ipython().reset(new_session=True, aggressive=False)
"""

Say = Callable[[str], None]


class NotebookError(SurveyError):
    """A notebook failed; the partially executed copy is kept for inspection."""


@dataclass(frozen=True)
class Job:
    """One section notebook to make: its source, where it goes, its cache key and the names of
    its parameters (a notebook with the `collected` parameter reads the collected results)."""

    source: Path
    target: Path
    key: str
    names: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The notebook's file name."""
        return self.source.name

    @property
    def dependent(self) -> bool:
        """Whether the notebook reads the results the other notebooks recorded."""
        return COLLECTED in self.names

    def keyed(self, *parts: object) -> "Job":
        """The job with its key extended by what it also depends on (the collected results)."""
        return replace(self, key=digest(self.key, *parts))


def plan(sources: list[Path], parameters: dict, input_hashes: dict) -> list[Job]:
    """A job per notebook (target: its file name), keyed by source, parameters, inputs, software."""
    env = software()
    jobs = []
    for source in sources:
        names = tuple(parameters_of(source))
        given = {k: v for k, v in parameters.items() if k in names}
        jobs.append(Job(source, Path(source.name),
                        digest(source.read_bytes().decode("utf-8"), given, input_hashes, env),
                        names))
    return jobs


def warm_up(sources: list[Path]) -> str:
    """Code importing what the notebooks import, run while a kernel waits for its first one."""
    modules = sorted(set().union(*map(imported_modules, sources))) if sources else []
    return "\n".join(f"import {module}" for module in modules)


def failing_line(source: str, traceback: list[str]) -> str:
    """The cell's line that raised, from IPython's '---->' traceback marker (else its first line)."""
    lines = source.splitlines()
    for entry in traceback:
        marker = re.search(r"^-+> ?(\d+)", ANSI.sub("", entry), re.M)
        if marker and 0 < int(marker.group(1)) <= len(lines):
            return lines[int(marker.group(1)) - 1]
    return next((s for s in lines if s.strip() and not s.startswith("#|")), "")


INJECTED = "injected-parameters"   # papermill's tag (and, here, the id) of the parameters it adds
TIMINGS = ("start_time", "end_time", "duration")   # papermill's wall-clock metadata


def portable(nb, job: Job, parameters: dict, ran_with: dict) -> dict:
    """Make an executed notebook what is published, the same bytes from the same inputs:

    - the parameters a reader re-runs it with (relative paths), not this run's, and no folder
      of this machine in any output (a warning may print a file's path);
    - no wall-clock time: papermill's start, end and duration of the notebook and of each
      cell are taken out and returned ({"seconds": ..., "cells": {cell id: seconds}}), for the
      run's private timings;
    - a fixed id for the cell papermill injects (it draws a random one), and the text a cell
      printed as one output per stream (how the kernel split it depends on timing).
    """
    from papermill.translators import translate_parameters

    cells = {}
    for cell in nb.cells:
        if INJECTED in cell.metadata.get("tags", []):
            cell.source = translate_parameters(KERNEL, "python", parameters, "Parameters").strip()
            cell.id = INJECTED
        cell.metadata.pop("execution", None)
        ran = cell.metadata.get("papermill", {})
        if ran.get("duration") is not None:
            cells[cell.id] = ran["duration"]
        for key in TIMINGS:
            ran.pop(key, None)
        if "outputs" in cell:
            cell.outputs = joined_streams(cell.outputs)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = relative_paths(output["text"], parameters, ran_with)
            for mime in ("text/plain", "text/markdown") if "data" in output else ():
                if mime in output["data"]:
                    output["data"][mime] = relative_paths(output["data"][mime], parameters,
                                                          ran_with)
    info = nb.metadata.get("papermill", {})
    seconds = info.get("duration")
    for key in TIMINGS:
        info.pop(key, None)
    info.update(parameters=parameters, input_path=f"notebooks/{job.name}", output_path=job.name)
    return {"seconds": seconds, "cells": cells}


def joined_streams(outputs: list) -> list:
    """Outputs with each run of printed text on one stream as one output."""
    joined: list = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == output.get("name")):
            last["text"] = "".join(last["text"]) + "".join(output["text"])
        else:
            joined.append(output)
    return joined


def relative_paths(text: str | list, parameters: dict, ran_with: dict) -> str:
    """Text with the run's absolute folders replaced by what the reader sees."""
    text = "".join(text) if isinstance(text, list) else text
    swaps = {str(ran_with[k]): str(parameters[k]) for k in parameters if k in ran_with}
    swaps.update({str(Path(__file__).resolve().parents[2]): "<project folder>",
                  str(Path.home()): "~"})
    for absolute in sorted(swaps, key=len, reverse=True):
        if len(absolute) > 1:
            text = text.replace(absolute, swaps[absolute])
    return text


def figures_of(nb: dict) -> dict[str, bytes]:
    """The figure files a notebook wrote, from its displays: {relative path: bytes}.

    Each saved figure is displayed with its files (PDF, SVG, PNG) base64-encoded in the
    display's metadata (figures.Shown).
    """
    found = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            files = output.get("metadata", {}).get(FIGURE_KEY, {}).get("files", {})
            for name, data in files.items():
                path = PurePosixPath(name)
                if path.is_absolute() or ".." in path.parts or not path.parts:
                    raise SurveyError(f"notebook figure path {name!r} leaves the output folder")
                found[name] = base64.b64decode(data)
    return found


def restore(notebook: bytes, job: Job, output: Path) -> None:
    """Put a cached notebook (its bytes as verified by the cache) and its figures in place."""
    job.target.write_bytes(notebook)
    for name, data in figures_of(json.loads(notebook.decode("utf-8"))).items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_bytes(data)


@contextmanager
def kernel_of_this_python(folder: Path):
    """Make the 'python3' kernel run this interpreter, whatever other kernels are installed."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  "--IPKernelApp.log_level=CRITICAL"],
         "display_name": "Python 3 (jakisurvey)", "language": "python"}), encoding="utf-8")
    before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), before]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = before


class Kernel:
    """One kernel, reused for several notebooks; its connection file and log stay in `runtime`."""

    def __init__(self, runtime: Path, cwd: Path, index: int, env: dict[str, str]) -> None:
        from jupyter_client.manager import KernelManager

        self.cwd = cwd
        self.log = open(runtime / f"kernel-{index}.log", "w", encoding="utf-8")
        self.km = KernelManager(kernel_name=KERNEL)
        self.km.connection_file = str(runtime / f"kernel-{index}.json")
        self.km.start_kernel(cwd=str(cwd), stdout=self.log, stderr=self.log,
                             env={**os.environ, **env})
        self.used = False

    def run(self, code: str) -> None:
        """Execute code in the kernel, outside any notebook."""
        client = self.km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive(code, timeout=120, output_hook=lambda m: None)
            if reply["content"]["status"] != "ok":
                raise SurveyError(f"the notebook kernel failed: {reply['content'].get('evalue')}")
        finally:
            client.stop_channels()
        self.used = True

    def fresh(self) -> None:
        """Clear what an earlier notebook left: namespace, figures, settings, working folder."""
        if self.used:
            self.run(RESET.format(cwd=str(self.cwd)))
        self.used = True

    def close(self) -> None:
        """Stop the kernel and remove its connection file."""
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
            self.km.cleanup_resources()
        finally:
            self.log.close()


class Pool:
    """Kernels started, and the package imported in them, while the run does other work."""

    def __init__(self, size: int, runtime: Path, cwd: Path, env: dict[str, str],
                 warm: str = "") -> None:
        runtime.mkdir(parents=True, exist_ok=True)
        self.warm = warm   # code importing what the notebooks import (warm_up)
        self._spec = kernel_of_this_python(runtime)
        self._spec.__enter__()
        self.kernels: list[Kernel | None] = [None] * size
        self.errors: list[BaseException | None] = [None] * size
        self.timings: dict[str, dict] = {}   # by notebook: wall-clock times (kept private)
        self.closing = False
        self.threads = [threading.Thread(target=self.start, args=(i, runtime, cwd, env),
                                         daemon=True) for i in range(size)]
        for thread in self.threads:
            thread.start()

    def start(self, index: int, runtime: Path, cwd: Path, env: dict[str, str]) -> None:
        """Start one kernel and import what the notebooks import."""
        try:
            self.kernels[index] = Kernel(runtime, cwd, index, env)
            if self.closing:            # the run stopped while this kernel was starting
                self.kernels[index].close()
                return
            if self.warm:
                self.kernels[index].run(self.warm)
        except BaseException as error:  # noqa: BLE001 - raised where the kernel is wanted
            self.errors[index] = error

    def get(self, index: int) -> Kernel:
        """Kernel number `index`, once it is ready."""
        while self.threads[index].is_alive():
            self.threads[index].join(0.2)
        if self.errors[index] is not None:
            raise self.errors[index]
        return self.kernels[index]

    def close(self) -> None:
        """Stop every kernel, also one still starting or importing (its thread then ends)."""
        self.closing = True
        for kernel in self.kernels:
            if kernel is not None:
                kernel.close()
        for thread in self.threads:
            thread.join(0.5)  # a thread still waiting on a stopped kernel ends with the process
        self._spec.__exit__(None, None, None)


def execute_one(job: Job, kernel: Kernel, parameters: dict, shown: dict, failed: Path) -> dict:
    """Run one notebook in a kernel; on failure keep the partial copy and say where it failed.
    Returns the wall-clock timings taken out of it (portable)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    parameters = {k: v for k, v in parameters.items() if k in job.names}
    shown = {k: v for k, v in shown.items() if k in job.names}
    kernel.fresh()
    try:
        nb = papermill.execute_notebook(
            str(job.source), str(job.target), parameters=parameters, kernel_name=KERNEL,
            km=kernel.km, progress_bar=False, log_output=False, request_save_on_cell_execute=False)
    except PapermillExecutionError as error:
        failed.mkdir(parents=True, exist_ok=True)
        kept = failed / job.name
        write_file(kept, job.target.read_bytes())
        line = failing_line(error.source, error.traceback)
        raise NotebookError(f"notebook {job.name} failed in cell {error.exec_count} "
                            f"('{line.strip()}'): {error.ename}: {error.evalue}\n"
                            f"The partially executed notebook is kept at {kept}") from None
    import nbformat

    timings = portable(nb, job, shown, parameters)
    nbformat.write(nb, job.target)
    return timings


NOTEBOOK = "notebook.ipynb"   # an executed notebook's file in its cache entry


def from_cache(jobs: list[Job], cache: Cache) -> tuple[dict[str, bytes], list[Job]]:
    """The executed notebooks the cache holds (by key, verified), and the jobs to execute."""
    cached = {}
    for job in jobs:
        entry = cache.get("notebooks", job.key)
        if entry is not None:
            cached[job.key] = entry[NOTEBOOK]
    return cached, [job for job in jobs if job.key not in cached]


def execute_all(jobs: list[Job], cached: dict[str, bytes], cache: Cache, parameters: dict,
                shown: dict, pool: Pool | None, failed: Path, say: Say,
                then: Callable[[Job], None]) -> None:
    """Restore the cached notebooks, execute the others on the pool's kernels.

    `then(job)` runs for each notebook as soon as it is in place (in the worker's thread).
    """
    output = Path(parameters["output"])
    for job in jobs:
        if job.key in cached:
            restore(cached[job.key], job, output)
            say(f"notebook {job.name}: cached")
            then(job)
    todo = [job for job in jobs if job.key not in cached]
    if todo:
        run_pool(todo, pool, parameters, shown, failed, say,
                 lambda job: (cache.put("notebooks", job.key, {NOTEBOOK: job.target}), then(job)))


def run_pool(todo: list[Job], pool: Pool, parameters: dict, shown: dict, failed: Path, say: Say,
             then: Callable[[Job], object]) -> None:
    """Worker threads, each with one kernel of the pool, take notebooks from a queue."""
    waiting: queue.Queue[Job] = queue.Queue()
    for job in todo:
        waiting.put(job)
    stop, errors = threading.Event(), []

    def work(index: int) -> None:
        try:
            kernel = None
            while not stop.is_set():
                try:
                    job = waiting.get_nowait()
                except queue.Empty:
                    return
                kernel = kernel or pool.get(index)
                say(f"notebook {job.name}: running")
                start = time.perf_counter()
                pool.timings[job.name] = execute_one(job, kernel, parameters, shown, failed)
                say(f"notebook {job.name}: done in {time.perf_counter() - start:.1f} s")
                then(job)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True)
               for i in range(len(pool.threads))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except BaseException:   # interrupted: stop the kernels and tools, then wait for the workers
        stop.set()
        stop_workers(pool, threads)
        raise
    if errors:
        raise errors[0]


def stop_workers(pool: Pool, threads: list[threading.Thread], patience: float = 30) -> None:
    """Stop every kernel and tool the workers wait on, and wait for the workers to end, so that
    none writes on into the staging folder the run removes next."""
    from . import processes

    for kernel in pool.kernels:
        if kernel is not None:
            kernel.close()
    processes.stop_all()
    end = time.monotonic() + patience
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
