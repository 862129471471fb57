"""Executed notebook -> pandoc Markdown, the way Quarto renders it.

What the project's notebooks use, and nothing more: markdown cells, a raw front-matter
cell, code cells with ``#|`` options (``label``, ``fig-cap``, ``fig-alt``, ``echo``), and
outputs that are text/markdown, image/png, plain text or printed text.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import nbformat

from ..markdown import escape
from ..notebook import ANSI, OptionsError, cell_options, checked_id
from .config import RenderError

_H1 = re.compile(r"^# +(.+?)\s*(\{[^}]*\})?\s*$", re.MULTILINE)


def notebook_markdown(nb: nbformat.NotebookNode, images_dir: Path, echo: bool,
                      view: bool = False) -> str:
    """pandoc Markdown for an executed notebook; images are written to ``images_dir``.

    Images are linked as ``<images_dir.name>/<file>``: render with ``images_dir.parent`` as
    resource folder. ``view=True`` shows every cell's code and wraps each cell in a
    ``#cell-<cell id>`` block, so that a link can land on any cell.
    """
    images_dir.mkdir(parents=True, exist_ok=True)
    blocks = []
    for index, cell in enumerate(nb.cells):
        try:
            block = _cell(cell, images_dir, echo, view)
        except (RenderError, OptionsError) as exc:
            raise RenderError(f"cell {index} (id {cell.get('id', '-')}): {exc}") from None
        if view:
            blocks.append(_wrap(block, f"cell-{checked_id(cell.get('id'), 'cell id')}", "cell"))
        elif block.strip():
            blocks.append(block)
    return "\n\n".join(blocks) + "\n"


def first_heading(nb: nbformat.NotebookNode) -> str | None:
    """The text of the first ``# `` heading in the markdown cells."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (m := _H1.search(cell.source)):
            return m.group(1)
    return None


def _cell(cell: nbformat.NotebookNode, images_dir: Path, echo: bool, view: bool) -> str:
    """The Markdown of one cell (raw cells are front matter or Markdown, as Quarto reads them)."""
    if cell.cell_type != "code":
        return cell.source.strip("\n")
    options, code = cell_options(cell.source)
    blocks = [_fence(code, "{.python .cell-code}")] if view or options.get("echo", echo) else []
    outputs = [_output(out, options, images_dir) for out in cell.get("outputs", [])]
    outputs = [o for o in outputs if o.strip()]
    label = options.get("label")
    if outputs and label:
        blocks.append(_wrap("\n\n".join(outputs), checked_id(label, "label"), "cell-output"))
    else:
        blocks.extend(outputs)
    return "\n\n".join(blocks)


def _output(out: nbformat.NotebookNode, options: dict, images_dir: Path) -> str:
    """Markdown for one output: a figure, trusted Markdown, or text in a code block."""
    if out.get("output_type") == "stream":
        stream = out.get("name", "stdout")
        return _fence(_clean(out.get("text", "")), f"{{.cell-output .cell-output-{stream}}}")
    data = out.get("data", {})
    if "image/png" in data:
        return _figure(data["image/png"], options, images_dir / f"{_count(images_dir)}.png")
    if "text/markdown" in data:
        return _text(data["text/markdown"]).strip("\n")
    return _fence(_clean(data.get("text/plain", "")), "{.cell-output .cell-output-display}")


def _figure(payload: Any, options: dict, path: Path) -> str:
    """A PNG output as a pandoc figure; caption and alt text are literal text, never markup."""
    path.write_bytes(base64.b64decode(_text(payload)))
    alt = options.get("fig-alt")
    attrs = f'{{fig-alt="{_attribute(alt)}"}}' if alt else ""
    caption = escape(options.get("fig-cap") or "")
    return f"![{caption}]({path.parent.name}/{path.name}){attrs}"


def _count(folder: Path) -> int:
    """A number for the next image file written to folder."""
    return sum(1 for _ in folder.iterdir()) + 1


def _wrap(markdown: str, ident: str, cls: str) -> str:
    """Markdown in a fenced div with an id, its fence longer than any fence inside."""
    longest = max((len(run) for run in re.findall(r"^:{3,}", markdown, re.M)), default=2)
    fence = ":" * (longest + 1)
    return f"{fence} {{#{ident} .{cls}}}\n{markdown}\n{fence}"


def _text(value: Any) -> str:
    """Notebook text fields may be a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _clean(text: Any) -> str:
    """Output text without ANSI colour codes or carriage-return progress redraws."""
    return re.sub(r"[^\n]*\r(?!\n)", "", ANSI.sub("", _text(text)))


def _attribute(text: Any) -> str:
    """Text for a double-quoted pandoc attribute value (taken literally, never as Markdown)."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')


def _fence(text: str, info: str) -> str:
    """A fenced code block longer than any backtick run inside the text."""
    if not text.strip():
        return ""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
