"""The section notebooks and their cells: where each result is computed, for links to it.

Cells that compute a results.json entry carry that entry's key as their cell id (for
example `improvement`), so a number in the report can link to the cell that made it:
`02_experience.html#cell-improvement` in the notebook views.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATTERN = "[0-9][0-9]_*.ipynb"


def section_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The section notebooks of a folder, in report order."""
    return sorted(folder.glob(PATTERN))


def anchor(cell_id: str) -> str:
    """The id of a cell's element in a notebook view."""
    return f"cell-{cell_id}"


@cache
def index() -> dict[str, str]:
    """Cell id -> the notebook (file stem) whose cell has it."""
    found: dict[str, str] = {}
    for path in section_notebooks():
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            found.setdefault(cell.get("id", ""), path.stem)
    return found


def where(cell_id: str) -> str | None:
    """The link, relative to the notebook views' folder, to the cell with this id (if any)."""
    stem = index().get(cell_id)
    return f"{stem}.html#{anchor(cell_id)}" if stem else None
