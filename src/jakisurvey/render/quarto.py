"""Render an executed notebook with ``quarto render`` in a throwaway staged project."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote

import nbformat
import yaml

from .. import processes
from ..markdown import escape
from ..notebook import ANSI, OptionsError, cell_options, checked_id, with_options
from .config import REPORT_FILES, RenderError, staged_config

NOTEBOOK = "report.ipynb"
CROSSREF_PREFIXES = ("fig-", "tbl-")  # labels Quarto keeps in Typst itself
ESCAPED_CAPTIONS = "quarto-escaped-captions"   # notebook metadata: fig-cap escaped for Quarto
# What a browser would fetch: src/href of resource tags, CSS @import and url() (also inside
# URL-encoded data: stylesheets, which is how an embedded theme's @import survives).
_REMOTE = re.compile(
    r"""<(?:img|script|link|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?"""
    r"""((?:https?:)?//[^"'\s>]+)|@import\s+(?:url\()?\s*["']?((?:https?:)?//[^"')\s;]+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"')\s]+)""", re.I)


def render_with_quarto(report_ipynb: Path, out_dir: Path, config: dict) -> list[str]:
    """Write ``out_dir``/report.html, report.pdf and report.docx with Quarto; return Quarto's
    warnings.

    The notebook is rendered from a temporary project next to it (removed afterwards) whose
    ``_quarto.yml`` is ``config`` without its project hooks, so nothing is executed.
    """
    stage = Path(tempfile.mkdtemp(prefix=".quarto-render-", dir=report_ipynb.parent))
    try:
        (stage / "_quarto.yml").write_text(yaml.safe_dump(staged_config(config, NOTEBOOK),
                                                          sort_keys=False), encoding="utf-8")
        nb = nbformat.read(report_ipynb, as_version=4)
        nbformat.write(quarto_notebook(nb), stage / NOTEBOOK)
        done = processes.run(["quarto", "render"], cwd=stage)
        if done.returncode:
            raise RenderError(f"quarto render failed (exit {done.returncode}):\n"
                              f"{ANSI.sub('', done.stderr)[-3000:]}")
        if remote := remote_resources((stage / "report.html").read_text(encoding="utf-8")):
            raise RenderError("Quarto's HTML loads remote resources (it must open offline): "
                              + ", ".join(sorted(set(remote))))
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in REPORT_FILES:
            shutil.move(stage / name, out_dir / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return quarto_warnings(done.stderr)


def quarto_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as Quarto must see it to render as the pandoc renderer does.

    - ``fig-cap`` is literal text (Quarto reads it as Markdown, so ``[x](javascript:...)``
      would become a link): it is backslash-escaped.
    - Quarto's Typst output drops the labels of cells (but fig-/tbl- ones): a Typst-only anchor
      before each labelled cell keeps links to ``#<label>`` working in the PDF.
    - Quarto expands shortcodes (``{{< env HOME >}}``) where backslashes cannot stop it: in the
      front matter (the study's title) and in code blocks (outputs): see `inert_metadata` and
      `inert_code`.

    Its metadata says so (``jakisurvey: quarto-escaped-captions``), for the revision to read
    the captions back.
    """
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "raw" and cell.source.startswith("---\n"):
            cell = nbformat.from_dict({**cell, "source": inert_front_matter(cell.source)})
        if cell.cell_type == "code":
            cell = nbformat.from_dict({**cell, "outputs": [inert_output(o) for o in
                                                           cell.get("outputs", [])]})
            try:
                options, code = cell_options(cell.source)
            except OptionsError as exc:
                raise RenderError(f"cell {index} (id {cell.get('id', '-')}): {exc}") from None
            if "fig-cap" in options:
                options["fig-cap"] = escape(options["fig-cap"])
                cell = nbformat.from_dict({**cell, "source": with_options(options, code)})
            label = checked_id(options["label"], "label") if "label" in options else ""
            if label and not label.startswith(CROSSREF_PREFIXES):
                anchor = f'```{{=typst}}\n#metadata("{label}") <{label}>\n```'
                cells.append(nbformat.v4.new_markdown_cell(anchor, id=f"typst-{cell.id}"))
        cells.append(cell)
    metadata = {**nb.metadata, "jakisurvey": {**nb.metadata.get("jakisurvey", {}),
                                              ESCAPED_CAPTIONS: True}}
    return nbformat.from_dict({**nb, "cells": cells, "metadata": metadata})


def inert_metadata(escaped: str) -> str:
    """Escaped Markdown (markdown.escape) for a front-matter field, as Quarto must see it.

    Quarto looks for shortcodes in metadata after reading its Markdown (the backslashes are
    gone by then), in the words that end with ``{{<`` or start with ``>}}``; an empty span
    inside each breaks that word and shows nothing, in every format.
    """
    return escaped.replace("\\{\\{\\<", "\\{\\{[]{}\\<").replace("\\>\\}\\}", "\\>[]{}\\}\\}")


def inert_front_matter(source: str) -> str:
    """A front-matter cell (the report's title, assemble.py) with its texts inert for Quarto."""
    settings = yaml.safe_load(source.strip().strip("-"))
    if not isinstance(settings, dict):
        return source
    lines = [f"{key}: {json.dumps(inert_metadata(value) if isinstance(value, str) else value)}"
             for key, value in settings.items()]
    return "\n".join(["---", *lines, "---"])


def inert_code(text: str) -> str:
    """Text of a code block (an output) as Quarto must see it: Quarto expands a shortcode in
    a code block, and at an unclosed ``{{<`` drops the rest of the document; an invisible word
    joiner (U+2060) between the braces and ``<`` keeps both from happening."""
    return text.replace("{{<", "{{\u2060<")


def inert_output(output: dict) -> dict:
    """A cell output with the text Quarto shows in a code block made inert (inert_code)."""
    output = copy.deepcopy(output)
    if "text" in output:
        output["text"] = inert_code("".join(output["text"]))
    data = output.get("data", {})
    if "text/plain" in data:
        data["text/plain"] = inert_code("".join(data["text/plain"]))
    return output


def remote_resources(html: str) -> list[str]:
    """URLs an HTML page would load from the network (links to other pages are fine)."""
    return [url for groups in _REMOTE.findall(unquote(html)) for url in groups if url]


def quarto_warnings(stderr: str) -> list[str]:
    """The first line of each warning Quarto (or the pandoc it runs) printed."""
    lines = ANSI.sub("", stderr).splitlines()
    return [line.strip() for line in lines if line.startswith(("WARN", "[WARNING]"))]


def quarto_version() -> str:
    """``quarto --version``."""
    try:
        done = subprocess.run(["quarto", "--version"], capture_output=True, text=True)
    except OSError as exc:
        raise RenderError(f"quarto --version failed: {exc}") from None
    if done.returncode:
        raise RenderError(f"quarto --version failed: {done.stderr.strip()}")
    return done.stdout.strip()
