"""The report notebook: the executed sections in order, figures numbered as in the paper, and a
link from every table and figure to the notebook cell that computed it.

Section notebooks label the paper's panels `fig-1a` .. `fig-1d` and other figures `fig-<name>`,
and refer to them as `@fig-1a`. For rendering, the panels become Figure 1A to 1D and the other
figures Figure 2, 3, ... in report order; captions and references carry those numbers, so both
renderers print the same text and neither numbers figures itself.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

from .markdown import escape
from .notebook import FIGURE_KEY, anchor, cell_options, recorded_keys, with_options

HIDDEN_TAGS = {"parameters", "injected-parameters"}
PANEL = re.compile(r"^fig-1([a-d])$")
REFERENCE = re.compile(r"@(fig-[A-Za-z0-9_-]+)")
VIEW_LINK = re.compile(r"\]\((\d\d_[A-Za-z0-9_-]+\.html#[A-Za-z0-9_-]+)\)")


def label_of(cell: nbformat.NotebookNode) -> str:
    """A code cell's `#| label:` ('' for none, and for markdown cells)."""
    return str(cell_options(cell.source)[0].get("label", "")) if cell.cell_type == "code" else ""


def figure_numbers(books: dict[str, nbformat.NotebookNode]) -> dict[str, dict]:
    """Each figure label -> its number ('1A' .. '1D' for the paper's panels, then 2, 3, ...)."""
    numbers, next_number = {}, 2
    for stem, book in books.items():
        for cell in book.cells:
            label = label_of(cell)
            if not label.startswith("fig-"):
                continue
            panel = PANEL.match(label)
            number = f"1{panel.group(1).upper()}" if panel else str(next_number)
            next_number += 0 if panel else 1
            numbers[label] = {"number": number, "stem": stem, "cell": cell.get("id", "")}
    return numbers


def figure_id(label: str) -> str:
    """The id a numbered figure gets in the rendered report (no renderer numbers it again)."""
    return "figure-" + label.removeprefix("fig-")


def numbered_cell(cell: nbformat.NotebookNode, numbers: dict[str, dict]) -> None:
    """Give a figure cell its number: label without the fig- prefix, caption 'Figure N: ...'."""
    label = label_of(cell)
    if label not in numbers:
        return
    options, code = cell_options(cell.source)
    options["label"] = figure_id(label)
    if "fig-cap" in options:
        options["fig-cap"] = f"Figure {numbers[label]['number']}: {options['fig-cap']}"
    cell.source = with_options(options, code)


def references(text: str, numbers: dict[str, dict], in_report: bool) -> str:
    """Turn @fig-x into a link 'Figure N' to the figure (report) or to its cell (views)."""
    def link(match: re.Match) -> str:
        found = numbers.get(match.group(1))
        if found is None:
            return match.group(0)
        target = (f"#{figure_id(match.group(1))}" if in_report
                  else f"{found['stem']}.html#{anchor(found['cell'])}")
        return f"[Figure {found['number']}]({target})"
    return REFERENCE.sub(link, text)


def for_rendering(book: nbformat.NotebookNode, numbers: dict[str, dict],
                  in_report: bool = False) -> nbformat.NotebookNode:
    """A copy of an executed notebook with figures numbered and references resolved."""
    book = copy.deepcopy(book)
    for cell in book.cells:
        if cell.cell_type == "markdown":
            cell.source = references(cell.source, numbers, in_report)
        elif cell.cell_type == "code":
            numbered_cell(cell, numbers)
    return book


def in_report_folder(cell: nbformat.NotebookNode) -> None:
    """Links between notebook views, made relative to the report (one folder up); the figure
    files a display carries stay in the section notebooks (the report embeds its PNG)."""
    for output in cell.get("outputs", []):
        output.get("metadata", {}).pop(FIGURE_KEY, None)
        data = output.get("data", {})
        if "text/markdown" in data:
            text = "".join(data["text/markdown"])
            data["text/markdown"] = VIEW_LINK.sub(r"](notebooks/\1)", text)


def cell_link(stem: str, cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A small link from an output in the report to the notebook cell that computed it."""
    return nbformat.v4.new_markdown_cell(
        f"[Notebook cell ↗](notebooks/{stem}.html#{anchor(cell.id)})"
        "{.cell-link}")


def shows_result(cell: nbformat.NotebookNode) -> bool:
    """Whether a code cell displays a table or a figure in the report."""
    for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
        data = output.get("data", {})
        text = "".join(data.get("text/markdown", ""))
        if "image/png" in data or re.search(r"^\|", text, re.M):
            return True
    return False


def section_cells(stem: str, book: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """A section's cells for the report, each output followed by a link to its cell."""
    cells = []
    for cell in book.cells:
        if HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        in_report_folder(cell)
        if cell.cell_type == "code":   # which results.json keys a cell recorded: for the views
            cell.outputs = [o for o in cell.outputs if not recorded_keys(o)]
        cells.append(cell)
        if shows_result(cell):
            cells.append(cell_link(stem, cell))
    return cells


def dated(cells: list[nbformat.NotebookNode], date: str | None) -> dict:
    """The report's date (YYYY-MM-DD) where the renderers take it, never the clock: a Typst
    `set document(date: ...)` after the front matter (the PDF's date, with either renderer;
    the cell's `typst-` id keeps it out of the revision's comparison) and the notebook's
    metadata (render.dated: the Word file's)."""
    if not date:
        return {}
    year, month, day = (int(part) for part in date.split("-"))
    typst = f"#set document(date: datetime(year: {year}, month: {month}, day: {day}))"
    cells.insert(1, nbformat.v4.new_markdown_cell(f"```{{=typst}}\n{typst}\n```",
                                                  id="typst-date"))
    return {"jakisurvey": {"date": date}}


def assemble(executed: list[Path], title: str, numbers: dict[str, dict], target: Path,
             after_summary: list[nbformat.NotebookNode] = (), date: str | None = None) -> Path:
    """Write the report notebook: title, then each section (after the first: `after_summary`);
    `date`: the report's (dated)."""
    front = nbformat.v4.new_raw_cell(f"---\ntitle: {json.dumps(escape(title))}\n---")
    cells = [front]
    metadata = {}
    for index, path in enumerate(executed):
        book = for_rendering(nbformat.read(path, as_version=4), numbers, in_report=True)
        metadata = {k: v for k, v in book.metadata.items() if k != "papermill"}
        cells += section_cells(path.stem, book)
        if index == 0:
            cells += list(after_summary)
    for index, cell in enumerate(cells):
        cell.id = f"report-{index}"
        cell.metadata.pop("papermill", None)
    metadata = {**metadata, "title": title, **dated(cells, date)}
    report = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nbformat.write(report, target)
    return target
