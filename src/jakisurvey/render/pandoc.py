"""pandoc Markdown -> self-contained HTML, -> Typst markup compiled to PDF by ``typst``, and
-> Word (docx)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .. import processes
from .config import RenderError

ASSETS = Path(__file__).parent / "assets"
# pandoc's citation syntax is off: without a bibliography, '@name' is plain text, as in the
# report's Quarto settings (a stray @word would otherwise stop Typst).
READER = "markdown-citations"
TOC_TITLE = "Table of contents"  # Quarto's default
TOC_DEPTH = 3  # Quarto's default
_CSS_VALUE = re.compile(r"^[^;{}<>\\]+$")
_TYPST_META = ("lang", "papersize", "margin", "mainfont", "codefont", "fontsize",
               "section-numbering")


def pandoc(markdown: str, args: list[str], workdir: Path, reader: str = READER) -> list[str]:
    """Run the pandoc shipped with pypandoc on Markdown (or `reader`'s format) from stdin, with
    the renderer's Lua filter; return its warnings."""
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), "--from", reader, "--columns=10000",
           "--lua-filter", str(ASSETS / "pandoc.lua"), *args]
    proc = processes.run(cmd, input=markdown, cwd=workdir)
    if remote := re.search(r"^remote resources: (.*)$", proc.stderr, re.M):
        raise RenderError("remote resources cannot be embedded (the HTML must open offline): "
                          f"{remote[1]}")
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed ({proc.returncode}): {proc.stderr.strip()}")
    return [f"pandoc: {line}" for line in proc.stderr.splitlines() if line.strip()]


def render_html(markdown: str, out: Path, resource_dir: Path, options: dict,
                pagetitle: str | None = None, reader: str = READER) -> list[str]:
    """Write a self-contained HTML page (no scripts, no remote resources); return warnings.

    Code is highlighted in colours that meet WCAG's contrast ratio (assets/highlight.theme:
    pandoc's pygments style, darkened where it did not)."""
    style = resource_dir / "style.html"
    css = (ASSETS / "pandoc.css").read_text(encoding="utf-8")
    style.write_text(f"<style>\n{_font_css(options)}{css}</style>\n", encoding="utf-8")
    args = ["--to", "html5", "--standalone", "--embed-resources",
            "--syntax-highlighting", str(ASSETS / "highlight.theme"),
            "--metadata", "document-css=false", f"--resource-path={resource_dir.resolve()}",
            "--include-in-header", str(style),
            *_meta("lang", options.get("lang")), *_meta("pagetitle", pagetitle),
            *_toc_args(options), "--output", str(out.resolve())]
    out.parent.mkdir(parents=True, exist_ok=True)
    return pandoc(markdown, args, resource_dir, reader)


def render_pdf(markdown: str, out: Path, resource_dir: Path, options: dict) -> list[str]:
    """Write a PDF through pandoc's Typst writer and the typst compiler; return warnings."""
    import typst

    source, warnings = markdown_to_typst(markdown, resource_dir, options)
    try:
        pdf, compiled = typst.compile_with_warnings(
            source.encode("utf-8"), root=str(resource_dir.resolve()), format="pdf")
    except typst.TypstError as exc:
        raise RenderError(f"typst failed: {exc}") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    return warnings + [f"typst: {getattr(w, 'message', w)}" for w in compiled]


def render_docx(markdown: str, out: Path, resource_dir: Path, options: dict,
                reader: str = READER) -> list[str]:
    """Write a Word document with _quarto.yml's docx settings (reference document, Lua filters,
    table of contents); return pandoc's warnings."""
    files = {"reference-doc": options.get("reference-doc"), "filters": options.get("filters")}
    for key, value in files.items():
        for path in value if isinstance(value, list) else [value] if value else []:
            if not Path(str(path)).is_file():
                raise RenderError(f"_quarto.yml: format: docx: {key}: {path} not found")
    filters = files["filters"] if isinstance(files["filters"], list) else [files["filters"]]
    args = ["--to", "docx", f"--resource-path={resource_dir.resolve()}",
            *(["--reference-doc", str(files["reference-doc"])] if files["reference-doc"] else []),
            *[a for path in filters if path for a in ("--lua-filter", str(path))],
            *_meta("lang", options.get("lang")), *_toc_args(options),
            "--output", str(out.resolve())]
    out.parent.mkdir(parents=True, exist_ok=True)
    return pandoc(markdown, args, resource_dir, reader)


def markdown_to_typst(markdown: str, workdir: Path, options: dict) -> tuple[str, list[str]]:
    """Standalone Typst markup for Markdown, with _quarto.yml's Typst settings; and warnings."""
    with tempfile.TemporaryDirectory(prefix="typst-", dir=workdir) as tmp:
        work = Path(tmp)
        meta = {"page-numbering": "1", **{k: options[k] for k in _TYPST_META if k in options}}
        (work / "meta.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
        headers = [ASSETS / "pandoc.typ", *_includes(options.get("include-in-header"), work)]
        args = ["--to", "typst", "--standalone", "--metadata-file", "meta.yaml",
                *[a for h in headers for a in ("--include-in-header", str(h))],
                *_typst_toc(options, work), "--output", "out.typ"]
        warnings = pandoc(markdown, args, work)
        return (work / "out.typ").read_text(encoding="utf-8"), warnings


def _meta(key: str, value: Any) -> list[str]:
    """A ``--metadata key=value`` pair, or nothing when value is empty."""
    return ["--metadata", f"{key}={value}"] if value else []


def _toc_args(options: dict) -> list[str]:
    """pandoc's HTML table of contents, as Quarto's: titled, ``toc-depth`` levels."""
    if not options.get("toc"):
        return []
    return ["--toc", f"--toc-depth={options.get('toc-depth', TOC_DEPTH)}",
            *_meta("toc-title", options.get("toc-title", TOC_TITLE))]


def _typst_toc(options: dict, work: Path) -> list[str]:
    """The Typst outline, titled as Quarto's (pandoc's own outline says "Contents")."""
    if not options.get("toc"):
        return []
    title = str(options.get("toc-title", TOC_TITLE)).replace("\\", "\\\\").replace("]", "\\]")
    outline = work / "outline.typ"
    depth = int(options.get("toc-depth", TOC_DEPTH))
    outline.write_text(f"#outline(title: [{title}], depth: {depth})\n", encoding="utf-8")
    return ["--include-before-body", str(outline)]


def _includes(value: Any, work: Path) -> list[Path]:
    """Files named by Quarto's ``include-in-header`` (a path, ``file:`` or ``text:`` entries)."""
    paths = []
    for index, entry in enumerate(value if isinstance(value, list) else [value] if value else []):
        if isinstance(entry, dict) and "text" in entry:
            path = work / f"header-{index}.typ"
            path.write_text(str(entry["text"]), encoding="utf-8")
        else:
            path = Path(entry["file"] if isinstance(entry, dict) else entry)
        if not path.is_file():
            raise RenderError(f"_quarto.yml: include-in-header file {path} not found")
        paths.append(path)
    return paths


def _font_css(options: dict) -> str:
    """CSS variables for _quarto.yml's HTML fonts (mainfont, monofont, fontsize)."""
    names = {"mainfont": "--font-body", "monofont": "--font-code", "fontsize": "--font-size"}
    rules = []
    for key, var in names.items():
        if key in options:
            value = str(options[key])
            if not _CSS_VALUE.match(value):
                raise RenderError(f"_quarto.yml: format: html: {key}: {value!r} is not a CSS value")
            rules.append(f"{var}: {value};")
    return f":root {{ {' '.join(rules)} }}\n" if rules else ""
