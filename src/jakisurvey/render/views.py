"""Notebook views: every cell's code and outputs, each cell an anchor (``#cell-<cell id>``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from .cells import first_heading, notebook_markdown
from .config import format_options, load_config
from .pandoc import render_html


def render_notebook_view(ipynb: Path, out_html: Path, config: Path) -> list[str]:
    """Write a self-contained HTML view of an executed notebook; return pandoc's warnings.

    Every cell is wrapped in an element with id ``cell-<cell id>``, so that
    ``notebooks/02_experience.html#cell-improvement`` lands on the cell with id ``improvement``.
    """
    nb = nbformat.read(ipynb, as_version=4)
    options = {**format_options(load_config(config), "html"), "toc": False}
    with tempfile.TemporaryDirectory(prefix=".view-", dir=out_html.parent,
                                     ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        markdown = notebook_markdown(nb, work / "images", echo=True, view=True)
        return render_html(markdown, out_html, work, options, first_heading(nb) or ipynb.stem)
