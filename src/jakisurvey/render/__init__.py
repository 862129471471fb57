"""Render executed notebooks to HTML and PDF, with Quarto or with pandoc + Typst.

- ``render_report``: the report (report.html, report.pdf, report.docx) with the chosen renderer;
- ``render_notebook_view``: a code-included HTML view of one notebook (always pandoc);
- ``choose_renderer`` / ``renderer_versions``: which renderer a run uses, and its versions;
- ``quarto_notebook``: a notebook as Quarto must see it (for a ``quarto render`` outside
  ``render_report``).

Modules: ``config`` (_quarto.yml), ``cells`` (notebook -> pandoc Markdown as Quarto would),
``pandoc`` (HTML, Typst/PDF, Word), ``quarto`` (staged ``quarto render``), ``views``,
``revision`` (changes.docx and changes.html: the tracked changes between two reports).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from ..notebook import ANSI
from .config import REPORT_FILES, RenderError, echo_default, format_options, load_config

__all__ = ["ANSI", "REPORT_FILES", "RenderError", "choose_renderer", "quarto_notebook",
           "render_notebook_view", "render_report", "renderer_versions", "side_by_side",
           "work_folder"]

QUARTO_HINT = (
    "quarto not on PATH; install it (pip install -e '.[quarto]', or conda install -c "
    "conda-forge quarto) or use --renderer pandoc"
)


def __getattr__(name: str):
    """The renderers' modules load when first used (a run with nothing to render needs none)."""
    if name == "quarto_notebook":
        from .quarto import quarto_notebook
        return quarto_notebook
    if name == "render_notebook_view":
        from .views import render_notebook_view
        return render_notebook_view
    raise AttributeError(name)


def choose_renderer(name: str = "auto") -> str:
    """The renderer a run will use: "auto" means Quarto when it is on PATH, else pandoc."""
    if name not in {"auto", "quarto", "pandoc"}:
        raise RenderError(f"unknown renderer {name!r}; use auto, quarto or pandoc")
    if name == "pandoc":
        return name
    if shutil.which("quarto") is None:
        if name == "quarto":
            raise RenderError(QUARTO_HINT)
        return "pandoc"
    return "quarto"


@functools.cache
def renderer_versions(renderer: str) -> dict:
    """The renderer and the versions of the tools it runs, as the tools report them."""
    if renderer == "quarto":
        from .quarto import quarto_version

        return {"renderer": "quarto", "quarto": quarto_version()}
    import pypandoc
    import typst

    return {"renderer": "pandoc", "pandoc": pypandoc.get_pandoc_version(),
            "typst": typst.__version__}


def render_report(report_ipynb: Path, out_dir: Path, renderer: str, config: Path) -> list[str]:
    """Write ``out_dir``/report.html, report.pdf and report.docx from an executed notebook;
    return the warnings the tools printed, for the caller to show.

    ``config`` is the project's _quarto.yml (its ``format:``, ``execute: echo`` and ``lang``
    apply; its ``project:`` section does not). The PDF and the Word file carry the report
    notebook's date (render.dated), never the clock.
    """
    import nbformat

    from .dated import dated_docx, notebook_date

    settings = load_config(config)
    if choose_renderer(renderer) == "quarto":
        from .quarto import render_with_quarto

        warnings = render_with_quarto(report_ipynb, out_dir, settings)
    else:
        warnings = render_with_pandoc(report_ipynb, out_dir, settings)
    dated_docx(out_dir / "report.docx", notebook_date(nbformat.read(report_ipynb, as_version=4)))
    return warnings


def render_with_pandoc(report_ipynb: Path, out_dir: Path, settings: dict) -> list[str]:
    """The report: pandoc's HTML and Word and pandoc + typst's PDF, from the same Markdown."""
    import nbformat

    from .cells import notebook_markdown
    from .pandoc import render_docx, render_html, render_pdf

    nb = nbformat.read(report_ipynb, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    with work_folder(out_dir) as tmp:
        work = Path(tmp)
        markdown = notebook_markdown(nb, work / "images", echo=echo_default(settings))
        return side_by_side(
            lambda: render_html(markdown, out_dir / "report.html", work,
                                format_options(settings, "html")),
            lambda: render_pdf(markdown, out_dir / "report.pdf", work,
                               format_options(settings, "typst")),
            lambda: render_docx(markdown, out_dir / "report.docx", work,
                                format_options(settings, "docx")))


def work_folder(beside: Path) -> tempfile.TemporaryDirectory:
    """A temporary folder for a renderer's intermediate files, in the folder it writes to (a
    run's staging folder): it goes with that folder whatever stops the run, never left in /tmp."""
    return tempfile.TemporaryDirectory(prefix=".render-", dir=beside, ignore_cleanup_errors=True)


def side_by_side(*steps) -> list[str]:
    """Run rendering steps (each a pandoc or typst process) in threads; their warnings in
    order, or the first error. Interrupted, it stops the tools before it waits for the steps."""
    from concurrent.futures import ThreadPoolExecutor

    from .. import processes

    with ThreadPoolExecutor(len(steps)) as pool:
        running = [pool.submit(step) for step in steps]
        try:
            return [warning for future in running for warning in future.result()]
        except BaseException:
            processes.stop_all()
            raise
