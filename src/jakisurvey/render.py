"""Render executed report notebooks to HTML and PDF, with Quarto or with pandoc + Typst.

Without Quarto, an executed notebook is first turned into pandoc Markdown the way
Quarto would (``#|`` cell options, echo, figures with captions, text/markdown
outputs), then pandoc writes a self-contained HTML file and Typst markup that the
``typst`` package compiles to PDF.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from .errors import SurveyError

log = logging.getLogger(__name__)

IMAGE_MIMES = {"image/png": "png", "image/svg+xml": "svg", "image/jpeg": "jpg"}
MAX_FIGURE_RATIO = 1.3  # height / width of a full-width figure that still fits an A4 page
DROP_CELL_TAGS = {"remove-cell", "hide-cell"}
HIDE_CODE_TAGS = {"hide-code", "remove-input", "hide-input"}
HIDE_OUTPUT_TAGS = {"remove-output", "hide-output"}
QUARTO_HINT = (
    "quarto not on PATH; install it (conda install -c conda-forge quarto, "
    "or pip install quarto-cli) or use --renderer pandoc"
)

_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_OBJECT_REPR = re.compile(r"^<[\w.]+ object( at 0x[0-9a-fA-F]+)?>$|^<Figure size [^>]*>$")
_H1 = re.compile(r"^# +(.+?)\s*(\{[^}]*\})?\s*$", re.MULTILINE)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class RenderError(SurveyError):
    """A report could not be rendered."""


# ---------------------------------------------------------------- cell options


def cell_options(source: str) -> tuple[dict, str]:
    """Split leading ``#| key: value`` lines off a code cell: (options, remaining source)."""
    lines = source.splitlines()
    option_lines: list[str] = []
    while len(option_lines) < len(lines) and (m := _OPTION_LINE.match(lines[len(option_lines)])):
        option_lines.append(m.group(1))
    return _parse_options(option_lines), "\n".join(lines[len(option_lines):])


def _parse_options(lines: list[str]) -> dict:
    """Parse option lines as one YAML mapping, as Quarto does; anything else is a RenderError."""
    text = "\n".join(lines)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid '#|' options {text!r}: {getattr(exc, 'problem', exc)}") from exc
    if parsed is not None and not isinstance(parsed, dict):
        raise RenderError(f"'#|' options {text!r} are not 'key: value' lines")
    return parsed or {}


# ------------------------------------------------------- notebook -> markdown


@dataclass
class _Cell:
    """What one code cell contributes to the document."""

    index: int
    options: dict
    code: str
    echo: bool
    output: bool | str
    images_dir: Path
    images: int = field(default=0)


def notebook_to_markdown(
    nb: nbformat.NotebookNode,
    images_dir: Path,
    echo: bool = False,
    review: bool = False,
) -> str:
    """Convert an executed notebook to pandoc Markdown the way Quarto would render it.

    Images are written to ``images_dir`` and linked as ``<images_dir.name>/<file>``, so
    the Markdown must be rendered with ``images_dir.parent`` as resource directory.
    ``review=True`` shows every cell with its code, ignoring hiding options and tags.
    """
    images_dir.mkdir(parents=True, exist_ok=True)
    language = _language(nb)
    blocks = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            blocks.append(_markdown_cell(cell, index, images_dir))
        elif cell.cell_type == "raw":
            blocks.append(_raw_cell(cell))
        elif cell.cell_type == "code":
            blocks.extend(_code_cell(cell, index, images_dir, echo, review, language))
    return "\n\n".join(b.strip("\n") for b in blocks if b and b.strip()) + "\n"


def _language(nb: nbformat.NotebookNode) -> str:
    """The notebook's programming language, for code highlighting."""
    info = nb.metadata.get("language_info", {}).get("name")
    return str(info or nb.metadata.get("kernelspec", {}).get("language") or "python").lower()


def _markdown_cell(cell: nbformat.NotebookNode, index: int, images_dir: Path) -> str:
    """A markdown cell as is, with its attachments written next to the images."""
    source = cell.source
    for name, bundle in (cell.get("attachments") or {}).items():
        mime = next((m for m in IMAGE_MIMES if m in bundle), None)
        if mime:
            target = _save_image(bundle[mime], mime, images_dir, f"cell-{index}-{name}")
            source = source.replace(f"attachment:{name}", target)
    return source


def _raw_cell(cell: nbformat.NotebookNode) -> str:
    """A raw cell if it has no format or a Markdown format, else nothing."""
    fmt = cell.metadata.get("format") or cell.metadata.get("raw_mimetype") or ""
    return cell.source if fmt.lower() in {"", "markdown", "text/markdown", "md"} else ""


def _code_cell(
    cell: nbformat.NotebookNode,
    index: int,
    images_dir: Path,
    echo: bool,
    review: bool,
    language: str,
) -> list[str]:
    """The code (if echoed) and outputs (if shown) of one code cell."""
    c = _cell_settings(cell, index, images_dir, echo, review)
    if c is None:
        return []
    blocks = [_fence(c.code, f"{{.{language} .cell-code}}")] if c.echo and c.code.strip() else []
    if c.output is not False:
        blocks.extend(_outputs(cell.get("outputs", []), c))
    return blocks


def _cell_settings(
    cell: nbformat.NotebookNode, index: int, images_dir: Path, echo: bool, review: bool
) -> _Cell | None:
    """Resolve options and tags of a code cell; None when the cell is dropped."""
    try:
        options, code = cell_options(cell.source)
    except RenderError as exc:
        raise RenderError(f"cell {index} (id {cell.get('id', '-')}): {exc}") from exc
    tags = set(cell.metadata.get("tags", []))
    if review:
        return _Cell(index, options, code, True, True, images_dir)
    if options.get("include") is False or tags & DROP_CELL_TAGS:
        return None
    show_code = bool(options.get("echo", echo)) and not tags & HIDE_CODE_TAGS
    output = False if tags & HIDE_OUTPUT_TAGS else options.get("output", True)
    return _Cell(index, options, code, show_code, output, images_dir)


def _outputs(outputs: list, c: _Cell) -> list[str]:
    """Markdown blocks for a cell's outputs, merging consecutive stdout streams."""
    blocks: list[str] = []
    stdout: list[str] = []
    for out in outputs:
        if out.get("output_type") == "stream":
            if out.get("name") == "stdout":
                stdout.append(_clean_text(out.get("text", "")))
            continue
        blocks.extend(_stream_block("".join(stdout), c))
        stdout = []
        blocks.append(_output_block(out, c))
    blocks.extend(_stream_block("".join(stdout), c))
    return [b for b in blocks if b]


def _stream_block(text: str, c: _Cell) -> list[str]:
    """Printed text: a plain code block, or Markdown itself for ``output: asis``."""
    if not text.strip():
        return []
    return [text] if c.output == "asis" else [_fence(text, "{.cell-output .cell-output-stdout}")]


def _output_block(out: nbformat.NotebookNode, c: _Cell) -> str:
    """Markdown for one display_data / execute_result / error output."""
    if out.get("output_type") == "error":
        text = _clean_text(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
        return _fence(text, "{.cell-output .cell-output-error}")
    data = out.get("data", {})
    mime = next((m for m in IMAGE_MIMES if m in data), None)
    if mime:
        return _figure(data[mime], mime, c)
    if "text/markdown" in data:
        return _with_table_caption(_text(data["text/markdown"]), c.options)
    if "text/html" in data and "text/plain" not in data and "<script" not in _text(data["text/html"]):
        return _fence(_text(data["text/html"]), "{=html}")
    return _plain_block(_text(data.get("text/plain", "")), c)


def _plain_block(text: str, c: _Cell) -> str:
    """A text/plain result as a code block, skipping bare ``<... object>`` reprs."""
    text = _clean_text(text)
    if not text.strip() or _OBJECT_REPR.match(text.strip()):
        return ""
    return text if c.output == "asis" else _fence(text, "{.cell-output .cell-output-display}")


def _with_table_caption(markdown: str, options: dict) -> str:
    """Attach ``tbl-cap`` (and a ``tbl-`` label) to a Markdown table that ends the output."""
    caption = options.get("tbl-cap")
    last = markdown.rstrip().rpartition("\n")[2]
    if not caption or not last.lstrip().startswith("|"):
        return markdown
    label = str(options.get("label", ""))
    ident = f" {{#{label}}}" if label.startswith("tbl-") else ""
    return f"{markdown.rstrip()}\n\n: {_one_line(caption)}{ident}"


def _figure(payload: Any, mime: str, c: _Cell) -> str:
    """Save an image output and return it as a pandoc figure with caption, alt text and id."""
    c.images += 1
    label = str(c.options.get("label") or "")
    stem = f"{label or f'cell-{c.index}'}-{c.images}"
    target = _save_image(payload, mime, c.images_dir, stem)
    caption = _pick(c.options.get("fig-cap"), c.images)
    alt = _pick(c.options.get("fig-alt"), c.images)
    attrs = []
    if label.startswith("fig-"):
        attrs.append(f"#{label}" if c.images == 1 else f"#{label}-{c.images}")
    if alt:
        attrs.append(f'fig-alt="{_attr(alt)}"')
    attrs.append(f"width={_width_percent(payload, mime)}%")
    return f"![{_one_line(caption)}]({target}){{{' '.join(attrs)}}}"


def _width_percent(payload: Any, mime: str) -> int:
    """100, or less for tall PNGs so a figure is never taller than 1.3 text widths (fits A4)."""
    if mime != "image/png":
        return 100
    head = base64.b64decode(_text(payload))[:24]
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    ratio = height / width if width else 0
    return 100 if ratio <= MAX_FIGURE_RATIO else max(10, int(100 * MAX_FIGURE_RATIO / ratio))


def _pick(value: Any, n: int) -> str:
    """The n-th (1-based) entry of a list-valued option, or the option itself."""
    if isinstance(value, list):
        return str(value[n - 1]) if n <= len(value) else ""
    return "" if value is None else str(value)


def _save_image(payload: Any, mime: str, images_dir: Path, stem: str) -> str:
    """Write an image output to ``images_dir``; return its link target."""
    raw = _text(payload)
    data = raw.encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(raw)
    name = f"{_UNSAFE_NAME.sub('-', stem)}.{IMAGE_MIMES[mime]}"
    (images_dir / name).write_bytes(data)
    return f"{images_dir.name}/{name}"


def _text(value: Any) -> str:
    """Notebook text fields may be a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _clean_text(text: Any) -> str:
    """Drop ANSI colour codes and carriage-return progress redraws from output text."""
    text = ANSI.sub("", _text(text))
    return re.sub(r"[^\n]*\r(?!\n)", "", text)


def _one_line(text: Any) -> str:
    """Collapse whitespace so a caption fits on one Markdown line."""
    return " ".join(str(text).split())


def _attr(text: str) -> str:
    """Escape text for a double-quoted pandoc attribute value."""
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def _fence(text: str, info: str) -> str:
    """A fenced block longer than any backtick run inside the text."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


# ------------------------------------------------------------------- pandoc

_CSS = """
:root { --fg: #1d2125; --muted: #5b6670; --accent: #1f5f99; --line: #c9d1d9; --zebra: #f3f5f7; }
html { font-size: 17px; color: var(--fg); background: #fff; }
body { max-width: 50rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; line-height: 1.6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.8em 0 0.6em; }
h1.title { margin-top: 0.5em; font-size: 2rem; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.2em; }
a { color: var(--accent); }
nav#TOC { background: var(--zebra); border: 1px solid var(--line); border-radius: 6px;
  padding: 0.6rem 1.2rem; margin: 1rem 0 2rem; font-size: 0.92rem; }
nav#TOC ul { padding-left: 1.2em; margin: 0.2em 0; }
table { border-collapse: collapse; margin: 1.2em auto; font-size: 0.9rem; max-width: 100%;
  display: block; overflow-x: auto; width: fit-content; }
th, td { border: 1px solid var(--line); padding: 0.35em 0.7em; vertical-align: top; }
thead th { background: #e6ebf0; }
tbody tr:nth-child(even) { background: var(--zebra); }
caption { caption-side: top; font-style: italic; padding: 0.3em; color: var(--muted); }
figure { margin: 1.5em 0; text-align: center; }
img, svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.92rem; color: var(--muted); margin-top: 0.4em; }
pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 4px;
  padding: 0.7em 0.9em; overflow-x: auto; font-size: 0.85rem; line-height: 1.4; }
pre.cell-output, div.sourceCode.cell-output, pre.cell-output-stdout { background: #fff; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.synthetic-banner, .callout-warning, .callout-important, .callout-caution {
  border: 1px solid #e0a84f; border-left: 6px solid #d9822b; background: #fff6e8;
  border-radius: 4px; padding: 0.6em 1em; margin: 1.2em 0; }
.callout-note, .callout-tip { border: 1px solid #9cc3e6; border-left: 6px solid #2f7ec1;
  background: #eef6fd; border-radius: 4px; padding: 0.6em 1em; margin: 1.2em 0; }
@media print { body { max-width: none; padding: 0; } nav#TOC { display: none; } }
"""

# Typst settings _quarto.yml does not make: fonts typst embeds itself (same PDF on every
# machine), and A4 (pandoc's default is US letter) should _quarto.yml be missing.
_TYPST_DEFAULTS = {
    "papersize": "a4", "fontsize": "10.5pt", "mainfont": "Libertinus Serif",
    "codefont": "DejaVu Sans Mono", "page-numbering": "1",
}
_HTML_DEFAULTS = {"lang": "en", "toc-depth": 3}  # Quarto's own defaults
# Keys of ``format: <html|typst>:`` in _quarto.yml that the pandoc path honours too.
QUARTO_KEYS = {
    "html": ("lang", "toc-depth"),
    "typst": ("lang", "papersize", "margin", "fontsize", "toc", "toc-depth", "section-numbering"),
}

# Long unbroken words (file names, SHA-256 digests) in inline code and table cells may break
# anywhere rather than run off the page; boxes, unlike zero-width spaces, keep the PDF text intact.
_TYPST_HEADER = r"""
#set table(
  stroke: 0.5pt + luma(185),
  fill: (x, y) => if y == 0 { luma(228) } else if calc.even(y) { luma(245) },
)
#show table: set text(size: 9pt)
#set table.cell(breakable: false)
#show table: set par(justify: false)
#show raw.where(block: true): set text(size: 8.5pt)
#show raw.where(block: true): block.with(fill: luma(246), inset: 6pt, radius: 2pt, width: 100%)
#show link: set text(fill: rgb("#1f5f99"))
#show figure.where(kind: table): set block(breakable: true)
#show figure.where(kind: table, caption: none): set figure(numbering: none)
#let break-long(it) = { show regex("\S{24,}"): w => w.text.clusters().map(box).join(); it }
#show raw.where(block: false): break-long
#show table.cell: break-long
"""

# Pandoc Lua filter: no remote resources, figure/table numbering and @fig-/@tbl- cross
# references, fig-alt as image alt text, and boxed banners/callouts in Typst.
_LUA_FILTER = r"""
local typst = FORMAT:match("typst") ~= nil
local refs = {}

-- Remote images and raw-HTML resources, found before pandoc would try to download them.
local resource_tags = {
  img = 1, script = 1, link = 1, iframe = 1, source = 1, video = 1, audio = 1, embed = 1}
local function remote_urls(blocks)
  local urls = pandoc.List{}
  local function add(url)
    if url:match("^https?://") or url:match("^//") then urls:insert(url) end
  end
  local function raw(r)
    if not r.format:match("html") then return end
    for tag, attrs in r.text:gmatch("<(%a+)(%s[^>]*)>") do
      if resource_tags[tag:lower()] then
        for _, name in ipairs({"src", "href"}) do
          for url in attrs:gmatch("%s" .. name .. "%s*=%s*[\"']?([^\"'%s>]+)") do add(url) end
        end
      end
    end
  end
  blocks:walk({Image = function(img) add(img.src) end, RawInline = raw, RawBlock = raw})
  return urls
end

local function number(blocks)
  local fig, tbl = 0, 0
  blocks:walk({
    Figure = function(f)
      fig = fig + 1
      if f.identifier ~= "" then refs[f.identifier] = "Figure " .. fig end
    end,
    Table = function(t)
      if #t.caption.long == 0 then return nil end
      tbl = tbl + 1
      if t.identifier ~= "" then refs[t.identifier] = "Table " .. tbl end
    end,
  })
end

local function prefix(caption, label)
  local first = caption.long[1]
  if first and first.content then
    first.content:insert(1, pandoc.Space())
    first.content:insert(1, pandoc.Str(label .. ":"))
  end
  return caption
end

-- Without a bibliography any other @word is plain text (typst would fail on it).
local function cite(c)
  local out = pandoc.Inlines{}
  for i, citation in ipairs(c.citations) do
    local label = refs[citation.id]
    if not label then
      if citation.id:match("^fig%-") or citation.id:match("^tbl%-") then
        io.stderr:write("unresolved cross-reference @" .. citation.id .. "\n")
      end
      return c.content
    end
    if i > 1 then out:extend{pandoc.Str(","), pandoc.Space()} end
    if typst then
      out:insert(pandoc.RawInline("typst", "#ref(<" .. citation.id .. ">);"))
    else
      out:insert(pandoc.Link(label, "#" .. citation.id))
    end
  end
  return out
end

local warn = 'fill: rgb("#fff6e8"), stroke: (left: 4pt + rgb("#d9822b"), rest: 0.5pt + rgb("#e0a84f"))'
local note = 'fill: rgb("#eef6fd"), stroke: (left: 4pt + rgb("#2f7ec1"), rest: 0.5pt + rgb("#9cc3e6"))'
local styles = {
  ["synthetic-banner"] = warn, ["callout-warning"] = warn, ["callout-important"] = warn,
  ["callout-caution"] = warn, ["callout-note"] = note, ["callout-tip"] = note,
}

local function boxed(d)
  for _, class in ipairs(d.classes) do
    local style = styles[class]
    if style then
      local out = pandoc.Blocks{pandoc.RawBlock("typst",
        "#block(width: 100%, inset: 8pt, radius: 2pt, breakable: false, " .. style .. ")[")}
      out:extend(d.content)
      out:insert(pandoc.RawBlock("typst", "]"))
      return out
    end
  end
end

local function alt_text(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    img.attributes["alt"] = alt
  end
  return img
end

function Pandoc(doc)
  local remote = remote_urls(doc.blocks)
  if #remote > 0 then error("remote resources: " .. table.concat(remote, ", "), 0) end
  number(doc.blocks)
  local filter = {Cite = cite, Image = alt_text}
  if typst then
    filter.Div = boxed
  else  -- number captions as typst does: figures, and tables that have a caption
    local fig, tbl = 0, 0
    filter.Figure = function(f)
      fig = fig + 1
      f.caption = prefix(f.caption, "Figure " .. fig)
      return f
    end
    filter.Table = function(t)
      if #t.caption.long == 0 then return nil end
      tbl = tbl + 1
      t.caption = prefix(t.caption, "Table " .. tbl)
      return t
    end
  end
  doc.blocks = doc.blocks:walk(filter)
  return doc
end
"""


def _pandoc(markdown: str, args: list[str], workdir: Path) -> None:
    """Run the pandoc binary shipped with pypandoc on Markdown read from stdin."""
    import pypandoc

    lua = workdir / "jakisurvey-render.lua"
    lua.write_text(_LUA_FILTER, encoding="utf-8")
    # A wide --columns keeps pipe tables auto-sized instead of widths from their dashes.
    cmd = [pypandoc.get_pandoc_path(), "--from", "markdown", "--columns=10000",
           "--lua-filter", str(lua), *args]
    proc = subprocess.run(cmd, input=markdown, text=True, capture_output=True, cwd=workdir)
    if remote := re.search(r"^remote resources: (.*)$", proc.stderr, re.M):
        raise RenderError(f"remote resources cannot be embedded (the HTML must open offline): "
                          f"{remote[1]}")
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed ({proc.returncode}): {proc.stderr.strip()}")
    if proc.stderr.strip():
        log.warning("pandoc: %s", proc.stderr.strip())


def render_html(
    markdown: str, out: Path, title: str, resource_dir: Path, options: dict | None = None
) -> None:
    """Write a self-contained HTML5 page (no scripts, no remote resources); options override."""
    options = {**_HTML_DEFAULTS, **(options or {})}
    with tempfile.TemporaryDirectory(prefix="jakisurvey-html-") as tmp:
        style = Path(tmp) / "style.html"
        style.write_text(f"<style>{_CSS}</style>\n", encoding="utf-8")
        args = ["--to", "html5", "--standalone", "--embed-resources", "--toc",
                f"--toc-depth={options['toc-depth']}", f"--resource-path={resource_dir.resolve()}",
                "--include-in-header", str(style), "--metadata", f"title={title}",
                "--metadata", f"lang={options['lang']}", "--output", str(out.resolve())]
        out.parent.mkdir(parents=True, exist_ok=True)
        _pandoc(markdown, args, Path(tmp))


def markdown_to_typst(markdown: str, title: str, options: dict | None = None) -> str:
    """Convert Markdown to standalone Typst markup (A4, fonts that typst embeds); options override."""
    with tempfile.TemporaryDirectory(prefix="jakisurvey-typst-") as tmp:
        work = Path(tmp)
        meta = {**_TYPST_DEFAULTS, **(options or {})}
        (work / "meta.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
        (work / "header.typ").write_text(_TYPST_HEADER, encoding="utf-8")
        _pandoc(markdown, ["--to", "typst", "--standalone", "--metadata-file", "meta.yaml",
                           "--include-in-header", "header.typ", "--metadata", f"title={title}",
                           "--output", "out.typ"], work)
        return _tidy_captions((work / "out.typ").read_text(encoding="utf-8"))


def _tidy_captions(source: str) -> str:
    """Drop the line breaks pandoc puts inside ``caption: [...]`` (typst shows them as spaces)."""
    return re.sub(r"caption: \[\n\s*(.*?)\n\s*\]", r"caption: [\1]", source, flags=re.S)


def render_pdf(
    markdown: str, out: Path, title: str, resource_dir: Path, options: dict | None = None
) -> None:
    """Write a PDF via pandoc's Typst writer and the typst compiler; images resolve in resource_dir."""
    import typst

    source = markdown_to_typst(markdown, title, options)
    try:
        pdf, warnings = typst.compile_with_warnings(
            source.encode("utf-8"), root=str(resource_dir.resolve()), format="pdf"
        )
    except typst.TypstError as exc:
        raise RenderError(f"typst failed: {exc}") from exc
    for warning in warnings:
        log.warning("typst: %s", getattr(warning, "message", warning))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)


# -------------------------------------------------------------- entry points


def _front_matter(nb: nbformat.NotebookNode) -> dict:
    """The YAML front matter of a Quarto notebook (first raw cell between ``---`` lines)."""
    raw = next((c for c in nb.cells if c.cell_type == "raw"), None)
    match = re.match(r"\s*---\s*\n(.*?)\n---\s*$", raw.source, re.S) if raw else None
    try:
        data = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError:
        data = None
    return data if isinstance(data, dict) else {}


def _first_heading(nb: nbformat.NotebookNode) -> tuple[str, str] | None:
    """The first ``# `` heading of the markdown cells: (heading text, whole line)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (m := _H1.search(cell.source)):
            return m.group(1), m.group(0)
    return None


def _default_echo(nb: nbformat.NotebookNode, project_dir: Path) -> bool:
    """Echo default: front matter ``execute.echo``, else the project's ``_quarto.yml``, else off."""
    for source in (_front_matter(nb), _quarto_yml(project_dir)):
        execute = source.get("execute") or {}
        if isinstance(execute, dict) and "echo" in execute:
            return bool(execute["echo"])
    return False


def _quarto_yml(project_dir: Path) -> dict:
    """The project's ``_quarto.yml`` if there is one."""
    path = project_dir / "_quarto.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def _quarto_options(project_dir: Path, fmt: str) -> dict:
    """Settings of ``_quarto.yml`` for format ``fmt`` (html, typst) that the pandoc path honours."""
    config = _quarto_yml(project_dir)
    formats = config.get("format") if isinstance(config.get("format"), dict) else {}
    settings = formats.get(fmt) if isinstance(formats.get(fmt), dict) else {}
    return {k: v for k, v in {**config, **settings}.items() if k in QUARTO_KEYS[fmt]}


def _title_and_markdown(nb: nbformat.NotebookNode, markdown: str, fallback: str) -> tuple[str, str]:
    """The document title; a title taken from the first heading is removed from the body."""
    title = nb.metadata.get("title") or _front_matter(nb).get("title")
    if title:
        return str(title), markdown
    heading = _first_heading(nb)
    if heading is None:
        return fallback, markdown
    return heading[0], markdown.replace(heading[1], "", 1)


def render_with_pandoc(report_ipynb: Path, out_dir: Path) -> tuple[Path, Path]:
    """Render an executed notebook to ``out_dir/report.html`` and ``out_dir/report.pdf``."""
    nb = nbformat.read(report_ipynb, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    html, pdf = out_dir / "report.html", out_dir / "report.pdf"
    with tempfile.TemporaryDirectory(prefix="jakisurvey-render-") as tmp:
        work = Path(tmp)
        body = notebook_to_markdown(nb, work / "images", echo=_default_echo(nb, report_ipynb.parent))
        title, body = _title_and_markdown(nb, body, report_ipynb.stem)
        render_html(body, html, title, work, _quarto_options(report_ipynb.parent, "html"))
        render_pdf(body, pdf, title, work, _quarto_options(report_ipynb.parent, "typst"))
    return html, pdf


def render_with_quarto(project_dir: Path) -> None:
    """Run ``quarto render`` on a project; its ``_quarto.yml`` decides the formats."""
    done = subprocess.run(["quarto", "render", str(project_dir)], capture_output=True, text=True)
    if done.returncode:
        raise RenderError(f"quarto render failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def choose_renderer(renderer: str = "auto") -> str:
    """The renderer a run will use: "auto" means Quarto when it is on PATH, else pandoc."""
    if renderer not in {"auto", "quarto", "pandoc"}:
        raise RenderError(f"unknown renderer {renderer!r}; use auto, quarto or pandoc")
    if renderer == "pandoc":
        return renderer
    if shutil.which("quarto") is None:
        if renderer == "quarto":
            raise RenderError(QUARTO_HINT)
        return "pandoc"
    return "quarto"


def render_report(report_ipynb: Path, out_dir: Path, renderer: str = "auto") -> str:
    """Render the report with a renderer ``choose_renderer`` accepts; return the one used."""
    used = choose_renderer(renderer)
    if used == "pandoc":
        render_with_pandoc(report_ipynb, out_dir)
    else:
        render_with_quarto(report_ipynb.parent)
        _collect_quarto_outputs(report_ipynb, out_dir)
    return used


def _collect_quarto_outputs(report_ipynb: Path, out_dir: Path) -> None:
    """Copy report.html/report.pdf written next to the notebook into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for suffix in (".html", ".pdf"):
        made = report_ipynb.with_suffix(suffix)
        target = out_dir / made.name
        if made.is_file() and made.resolve() != target.resolve():
            shutil.copy2(made, target)


def render_notebook_view(ipynb: Path, out_html: Path) -> None:
    """Write a self-contained HTML view of an executed notebook showing every cell's code."""
    nb = nbformat.read(ipynb, as_version=4)
    with tempfile.TemporaryDirectory(prefix="jakisurvey-view-") as tmp:
        work = Path(tmp)
        body = notebook_to_markdown(nb, work / "images", echo=True, review=True)
        title, body = _title_and_markdown(nb, body, ipynb.stem)
        render_html(body, out_html, title, work, _quarto_options(ipynb.parent, "html"))
