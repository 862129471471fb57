"""The notebook format as this project uses it: the section notebooks, cell ids and anchors,
`#|` cell options, parameters, and the results a cell records.

Cells that compute a results.json entry carry that entry's key as their cell id (for example
`improvement`), so a number in the report can link to the cell that made it:
`02_experience.html#cell-improvement` in the notebook views. Such a cell records what it
computed as a display output of type RESULTS_MIME ({key: value}), with the keys in the
output's metadata; the pipeline collects results.json from these outputs. Used by execution,
assembly and both renderers; it imports neither pandas nor nbformat.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

from .errors import SurveyError
from .measures import DERIVED

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATTERN = "[0-9][0-9]_*.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RESULTS_MIME = "application/vnd.jakisurvey.results+json"   # what a cell recorded, by key
METADATA_KEY = "jakisurvey"   # output metadata: {"results": keys}, {"files": a figure's files}
FIGURE_KEY = METADATA_KEY
COLLECTED = "collected"   # the parameter through which a notebook reads the collected results
DISCLOSURE = "disclosure"   # the parameter naming the run's disclosure plan
_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class OptionsError(SurveyError):
    """A cell's `#|` options or id cannot be read."""


def section_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The section notebooks of a folder, in report order."""
    return sorted(folder.glob(PATTERN))


def anchor(cell_id: str) -> str:
    """The id of a cell's element in a notebook view."""
    return f"cell-{cell_id}"


def cells_of(path: Path) -> list[dict]:
    """A notebook file's cells, as JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


RECORD_CALL = re.compile(r"""\brecord\(\s*["']([A-Za-z0-9_.]+)["']""")


@cache
def producers(folder: Path = NOTEBOOKS) -> dict[str, tuple[str, str]]:
    """results.json key (or `key.part`) -> (notebook stem, cell id) of the cell that records it,
    read from the notebooks' `record("key", ...)` calls."""
    found: dict[str, tuple[str, str]] = {}
    for path in section_notebooks(folder):
        for cell in cells_of(path):
            if cell.get("cell_type") == "code":
                for key in RECORD_CALL.findall(source_of(cell)):
                    found.setdefault(key, (path.stem, cell.get("id", "")))
    return found


def where(path: str) -> str | None:
    """The link, relative to the notebook views' folder, to the cell that computes the
    results.json entry at a (dotted) path, if any (a derived key: the cell of its measure)."""
    keys = path.split(".")
    known = producers()
    for end in range(len(keys), 0, -1):
        key = ".".join(keys[:end])
        key = DERIVED[key][0].key if key in DERIVED else key
        if key in known:
            stem, cell_id = known[key]
            return f"{stem}.html#{anchor(cell_id)}"
    return None


def source_of(cell: dict) -> str:
    """A cell's source as one text (the format allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parameters_of(path: Path) -> list[str]:
    """The names a notebook's `parameters` cell assigns, in order."""
    for cell in cells_of(path):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return [target.id for node in ast.parse(source_of(cell)).body
                    if isinstance(node, ast.Assign) for target in node.targets
                    if isinstance(target, ast.Name)]
    return []


def imported_modules(path: Path) -> set[str]:
    """The modules a notebook's code cells import (what a kernel may import before it runs)."""
    found: set[str] = set()
    for cell in cells_of(path):
        if cell.get("cell_type") != "code":
            continue
        code = "\n".join(line for line in source_of(cell).splitlines()
                         if not line.startswith(("#|", "%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                if "." not in node.module:   # `from jakisurvey import stats`: a submodule
                    found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def cell_options(source: str) -> tuple[dict, str]:
    """Split leading ``#| key: value`` lines off a code cell: (options, remaining source)."""
    import yaml

    lines = source.splitlines()
    count = 0
    while count < len(lines) and _OPTION_LINE.match(lines[count]):
        count += 1
    text = "\n".join(_OPTION_LINE.match(line).group(1) for line in lines[:count])
    try:
        options = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OptionsError(f"invalid '#|' options {text!r}: {getattr(exc, 'problem', exc)}") from exc
    if options is not None and not isinstance(options, dict):
        raise OptionsError(f"'#|' options {text!r} are not 'key: value' lines")
    return options or {}, "\n".join(lines[count:])


def with_options(options: dict, code: str) -> str:
    """A code cell's source: ``#| key: value`` lines (values as JSON, valid YAML), then code."""
    lines = [f"#| {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in options.items()]
    return "\n".join([*lines, code])


def checked_id(value: object, what: str) -> str:
    """A cell label or id usable as an HTML id and a Typst label."""
    if not isinstance(value, str) or not _ID.match(value):
        raise OptionsError(f"{what} {value!r} must be letters, digits, '-' or '_'")
    return value


def recorded_keys(output: dict) -> list[str]:
    """The results.json keys a cell output records (none for other outputs)."""
    keys = output.get("metadata", {}).get(METADATA_KEY, {}).get("results", [])
    return [str(k) for k in keys] if isinstance(keys, list) else []


def recorded(cells: list[dict]) -> list[tuple[str, str, object]]:
    """(cell id, key, value) for every value the cells recorded, in order."""
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            values = output.get("data", {}).get(RESULTS_MIME)
            if recorded_keys(output) and isinstance(values, dict):
                found += [(cell.get("id", ""), key, values[key]) for key in recorded_keys(output)
                          if key in values]
    return found


def without_values(cells: list[dict]) -> None:
    """Drop the recorded values from the cells' outputs, keeping which keys each recorded
    (published notebooks name their results; the values are in results.json)."""
    for cell in cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(RESULTS_MIME, None)
