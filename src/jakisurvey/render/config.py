"""The report's format settings in _quarto.yml, as both renderers read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SurveyError

# Keys of ``format: <html|typst>:`` (or the top level) that the pandoc renderer honours too.
PANDOC_KEYS = {
    "html": ("lang", "toc", "toc-depth", "toc-title", "mainfont", "monofont", "fontsize"),
    "typst": ("lang", "papersize", "margin", "mainfont", "codefont", "fontsize", "toc",
              "toc-depth", "toc-title", "section-numbering", "include-in-header"),
    "docx": ("lang", "toc", "toc-depth", "toc-title", "reference-doc", "filters"),
}
REPORT_FILES = ("report.html", "report.pdf", "report.docx")   # what rendering the report writes
# Format keys naming files, relative to _quarto.yml's folder.
PATH_KEYS = ("include-in-header", "include-before-body", "include-after-body", "css",
             "reference-doc", "filters")


class RenderError(SurveyError):
    """A report could not be rendered."""


def load_config(path: Path) -> dict:
    """The mapping in ``_quarto.yml`` ({} when there is none); a clear error when it is broken."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is not None and not isinstance(data, dict):
        raise RenderError(f"{path}: expected 'key: value' settings")
    return _absolute_paths(data or {}, path.parent)


def _absolute_paths(config: dict, folder: Path) -> dict:
    """The config with file-valued format keys made absolute, so it works from any folder."""
    formats = config.get("format")
    if not isinstance(formats, dict):
        return config
    fixed = {}
    for name, settings in formats.items():
        if isinstance(settings, dict):
            settings = {k: _resolve(v, folder) if k in PATH_KEYS else v
                        for k, v in settings.items()}
        fixed[name] = settings
    return {**config, "format": fixed}


def _resolve(value: Any, folder: Path) -> Any:
    """Paths (a path, ``file:`` entries, lists of them) resolved against folder; ``text:`` as is."""
    if isinstance(value, list):
        return [_resolve(v, folder) for v in value]
    if isinstance(value, dict) and isinstance(value.get("file"), str):
        return {**value, "file": _resolve(value["file"], folder)}
    return str((folder / value).resolve()) if isinstance(value, str) else value


def format_options(config: dict, fmt: str) -> dict:
    """Settings for format ``fmt`` (html, typst, docx) that the pandoc renderer honours."""
    formats = config.get("format") if isinstance(config.get("format"), dict) else {}
    settings = formats.get(fmt) if isinstance(formats.get(fmt), dict) else {}
    return {k: v for k, v in {**config, **settings}.items() if k in PANDOC_KEYS[fmt]}


def echo_default(config: dict) -> bool:
    """Whether code is shown by default: ``execute: echo`` (Quarto's default is to show it)."""
    execute = config.get("execute") if isinstance(config.get("execute"), dict) else {}
    return bool(execute.get("echo", True))


def staged_config(config: dict, notebook: str) -> dict:
    """The config for rendering one notebook in a staging folder: no project hooks, no execution."""
    execute = config.get("execute") if isinstance(config.get("execute"), dict) else {}
    return {**config, "project": {"type": "default", "render": [notebook]},
            "execute": {**execute, "enabled": False}}
