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
# Keys whose values may name files too (else a built-in: `theme: default`, `filters: [quarto]`):
# a value naming an existing file, relative to _quarto.yml's folder, is that file.
MAYBE_PATH_KEYS = ("template", "template-partials", "theme", "bibliography", "csl",
                   "syntax-definitions", "highlight-style", "syntax-highlighting", "logo",
                   "metadata-files", "brand", "citation-abbreviations")


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's where installed


class RenderError(SurveyError):
    """A report could not be rendered."""


def load_config(path: Path) -> dict:
    """The mapping in ``_quarto.yml`` ({} when there is none); a clear error when it is broken."""
    if not path.is_file():
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is not None and not isinstance(data, dict):
        raise RenderError(f"{path}: expected 'key: value' settings")
    return _absolute_paths(data or {}, path.parent)


def _absolute_paths(config: dict, folder: Path) -> dict:
    """The config with file-valued keys made absolute, at the top level (where Quarto takes
    them for every format) and in each format, so it works from any folder."""
    config = _absolute_keys(config, folder)
    formats = config.get("format")
    if not isinstance(formats, dict):
        return config
    return {**config, "format": {name: _absolute_keys(settings, folder) if
                                 isinstance(settings, dict) else settings
                                 for name, settings in formats.items()}}


def _absolute_keys(settings: dict, folder: Path) -> dict:
    """Settings with the values of file keys resolved against folder."""
    return {key: _resolve(value, folder, key in PATH_KEYS) if key in PATH_KEYS + MAYBE_PATH_KEYS
            else value for key, value in settings.items()}


def _resolve(value: Any, folder: Path, always: bool = True) -> Any:
    """Paths (a path, ``file:`` or ``path:`` entries, lists of them) resolved against folder
    (only those naming an existing file unless `always`); ``text:`` and other values as is."""
    if isinstance(value, list):
        return [_resolve(v, folder, always) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, folder, always) if k in ("file", "path") else v
                for k, v in value.items()}
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        return value
    path = (folder / value).resolve()
    return str(path) if always or path.is_file() else value


def named_files(config: dict) -> list[Path]:
    """Every file a (loaded) config names: the values of its file keys that are paths."""
    found: list[Path] = []

    def collect(value: Any) -> None:
        if isinstance(value, list):
            for entry in value:
                collect(entry)
        elif isinstance(value, dict):
            collect([value.get("file"), value.get("path")])
        elif isinstance(value, str) and Path(value).is_absolute():
            found.append(Path(value))

    for settings in [config, *(config.get("format") or {}).values()] if isinstance(
            config.get("format", {}), dict) else [config]:
        if isinstance(settings, dict):
            for key in PATH_KEYS + MAYBE_PATH_KEYS:
                collect(settings.get(key))
    return sorted(set(found))


def fingerprint(path: Path) -> str:
    """What the render reads of its settings: _quarto.yml's text and the SHA-256 of every file
    it names (a changed include, CSS, template or reference document changes it). The pandoc
    renderer's own assets are files of this package (in the cache's `software()`)."""
    import hashlib
    import json
    import os

    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    files = {}
    for named in named_files(load_config(path)):
        shown = os.path.relpath(named, path.parent.resolve())   # the same in a moved project
        try:
            files[shown] = hashlib.sha256(named.read_bytes()).hexdigest()
        except OSError:
            files[shown] = "missing"
    return hashlib.sha256(json.dumps([text, files], sort_keys=True).encode("utf-8")).hexdigest()


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
