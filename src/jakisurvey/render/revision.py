"""The tracked-changes revision: the new report with what changed since the report it replaced.

`write_revision(old, new, out_dir, config)` reads the two report notebooks (report.ipynb of
the folder being replaced, and the new one), turns each into pandoc's document tree (the same
Markdown both renderers render), and marks on the new one every difference:

- in text (paragraphs, headings, list items, captions, table cells) word by word: the old
  words as a deletion, the new as an insertion (`[old]{.deletion}[new]{.insertion}`), which
  pandoc's Word writer makes real tracked changes (w:del, w:ins) that co-authors accept or
  reject in Word;
- a table row added or removed as a row of insertions or deletions;
- a figure whose image changed as the old image (deleted) beside the new (inserted).

It writes changes.docx (the report's Word styles) and changes.html (the same, with <del> and
<ins>), and nothing when nothing changed. The report's "Changes since the previous run"
section (what changes.json lists) is left out of both sides.

Blocks are matched by kind and by their text with the numbers blanked out, so a paragraph
whose numbers changed is matched with its old self and only the numbers are marked.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import nbformat

from .. import processes
from ..notebook import cell_options, with_options
from .cells import notebook_markdown
from .config import echo_default, format_options, load_config
from .pandoc import READER, render_docx, render_html
from .dated import dated_docx, notebook_date
from .quarto import ESCAPED_CAPTIONS

AUTHOR = "jakisurvey"
CHANGES_TAG = "changes-section"     # the report's own "Changes since the previous run" cells
CHANGES_HEADING = re.compile(r"^#\s+Changes since the previous run\b")
NOTE = ("Tracked changes from the report this run replaced: every changed number, table cell "
        "and sentence is marked as a deletion of the old and an insertion of the new, and each "
        "changed figure shows the old image beside the new. In Word: Review, Accept or Reject.")
FIGURE_WIDTH = "48%"
Node = Any


def write_revision(old: Path, new: Path, out_dir: Path, config: Path) -> list[str] | None:
    """Write out_dir/changes.docx and changes.html; None (and no file) when nothing changed.

    `old` and `new` are report notebooks (report.ipynb); `config` is _quarto.yml (its docx and
    html settings apply). Returns pandoc's warnings, or why no revision could be made (an old
    notebook that cannot be read: no file).
    """
    try:
        before = comparable(nbformat.read(old, as_version=4))
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as error:
        return [f"the previous report's {old.name} cannot be read ({type(error).__name__}): "
                "no changes.docx"]
    latest = nbformat.read(new, as_version=4)
    after = comparable(latest)
    if fingerprint(before) == fingerprint(after):
        return None
    settings = load_config(config)
    echo = echo_default(settings)
    with tempfile.TemporaryDirectory(prefix=".revision-", dir=out_dir,
                                     ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        from . import side_by_side

        old_doc, new_doc = side_by_side(
            *[lambda nb=nb, name=name: [document(notebook_markdown(nb, work / name, echo))]
              for nb, name in ((before, "old"), (after, "new"))])
        marked, changed = revised(old_doc, new_doc, work)
        if not changed:
            return None
        marked["blocks"].insert(0, note_block())
        tree = json.dumps(marked)
        title = after.metadata.get("title") or "Report"
        warnings = side_by_side(
            lambda: render_docx(tree, out_dir / "changes.docx", work,
                                format_options(settings, "docx"), reader="json"),
            lambda: render_html(tree, out_dir / "changes.html", work,
                                format_options(settings, "html"), f"Changes: {title}",
                                reader="json"))
        track_rows(out_dir / "changes.docx")
        dated_docx(out_dir / "changes.docx", notebook_date(latest))
        return warnings


def comparable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A report notebook as both sides are compared: without its changes section and without
    what only the Quarto renderer's copy carries (Typst anchors, escaped captions)."""
    nb = copy.deepcopy(nb)
    escaped = nb.metadata.get("jakisurvey", {}).get(ESCAPED_CAPTIONS, False)
    cells = []
    for cell in nb.cells:
        if CHANGES_TAG in cell.metadata.get("tags", []) or (
                cell.cell_type == "markdown" and CHANGES_HEADING.match(cell.source)):
            continue
        if str(cell.get("id", "")).startswith("typst-"):
            continue
        if escaped and cell.cell_type == "code":
            options, code = cell_options(cell.source)
            if "fig-cap" in options:
                options["fig-cap"] = re.sub(r"\\(.)", r"\1", str(options["fig-cap"]))
                cell.source = with_options(options, code)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("jakisurvey", None)
    return nb


def fingerprint(nb: nbformat.NotebookNode) -> str:
    """What the report shows of a notebook: its cells' kinds, sources and outputs."""
    return json.dumps([[c.cell_type, c.source, c.get("outputs", [])] for c in nb.cells],
                      sort_keys=True, default=str)


def pandoc_json(markdown: str, args: list[str]) -> str:
    """pandoc (the one pypandoc ships) on stdin, no filters; its output."""
    import pypandoc

    done = processes.run([pypandoc.get_pandoc_path(), *args], input=markdown)
    if done.returncode:
        from .config import RenderError

        raise RenderError(f"pandoc failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def document(markdown: str) -> dict:
    """pandoc's document tree of report Markdown."""
    return json.loads(pandoc_json(markdown, ["--from", READER, "--to", "json"]))


def note_block() -> Node:
    """The explanation at the top of the revision."""
    return {"t": "Div", "c": [["", ["callout-note"], [["title", "Tracked changes"]]],
                              [{"t": "Para", "c": words(NOTE)}]]}


def words(text: str) -> list[Node]:
    """Inlines for plain text."""
    out: list[Node] = []
    for index, word in enumerate(text.split()):
        if index:
            out.append({"t": "Space"})
        out.append({"t": "Str", "c": word})
    return out


_ROW = re.compile(r"<w:tr>(.*?)</w:tr>", re.S)
_TEXT = re.compile(r"<w:t(?: [^>]*)?>[^<]*\S")
_DELETED_TEXT = re.compile(r"<w:delText(?: [^>]*)?>[^<]*\S")
_CHANGE = {"ins": re.compile(r"<w:ins [^>]*>.*?</w:ins>", re.S)}


def track_rows(path: Path) -> None:
    """Mark table rows that are all deletion or all insertion as a deleted or inserted row
    (w:trPr), so that accepting or rejecting in Word removes the row, not only its text.
    pandoc's Word writer marks text only."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    count = iter(range(90000, 10 ** 9))

    def row(match: re.Match) -> str:
        body = match.group(1)
        if _DELETED_TEXT.search(body) and not _TEXT.search(body) and "<w:ins " not in body:
            kind = "del"
        elif "<w:ins " in body and not _TEXT.search(_CHANGE["ins"].sub("", body)) \
                and "<w:del " not in body:
            kind = "ins"
        else:
            return match.group(0)
        mark = f'<w:{kind} w:id="{next(count)}" w:author="{AUTHOR}" />'
        if body.startswith("<w:trPr>"):
            body = body.replace("<w:trPr>", f"<w:trPr>{mark}", 1)
        else:
            body = f"<w:trPr>{mark}</w:trPr>{body}"
        return f"<w:tr>{body}</w:tr>"

    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            if info.filename == "word/document.xml":
                data = _ROW.sub(row, data.decode("utf-8")).encode("utf-8")
            archive.writestr(info, data)


# ----------------------------------------------------------------------- the comparison

class Revision:
    """Marks differences between two document trees; `changed` says whether any was found."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.changed = False

    # -- blocks

    def blocks(self, old: list[Node], new: list[Node]) -> list[Node]:
        """The new blocks with every difference from the old marked."""
        matcher = difflib.SequenceMatcher(None, [key(b) for b in old], [key(b) for b in new],
                                          autojunk=False)
        out: list[Node] = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                out += [self.block(a, b) for a, b in zip(old[i1:i2], new[j1:j2])]
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for a, b in zip(old[i1:i1 + pairs], new[j1:j1 + pairs]):
                same_kind = a.get("t") == b.get("t")
                out += [self.block(a, b)] if same_kind else [self.mark(a, "deletion"),
                                                            self.mark(b, "insertion")]
            out += [self.mark(a, "deletion") for a in old[i1 + pairs:i2]]
            out += [self.mark(b, "insertion") for b in new[j1 + pairs:j2]]
        return out

    def block(self, old: Node, new: Node) -> Node:
        """One new block compared with the old block it was matched with."""
        if old == new and not images(new):
            return new
        kind = new.get("t")
        if kind in ("Para", "Plain"):
            return {"t": kind, "c": self.inlines(old["c"], new["c"])}
        if kind == "Header":
            level, attr, content = new["c"]
            return {"t": kind, "c": [level, attr, self.inlines(old["c"][2], content)]}
        if kind == "Div":
            return {"t": kind, "c": [new["c"][0], self.blocks(old["c"][1], new["c"][1])]}
        if kind == "BlockQuote":
            return {"t": kind, "c": self.blocks(old["c"], new["c"])}
        if kind == "BulletList":
            return {"t": kind, "c": self.items(old["c"], new["c"])}
        if kind == "OrderedList":
            return {"t": kind, "c": [new["c"][0], self.items(old["c"][1], new["c"][1])]}
        if kind == "Table":
            return self.table(old, new)
        if kind == "Figure":
            return self.figure(old, new)
        if kind == "CodeBlock":
            return self.code(old, new)
        if old != new:           # anything else that changed: the old out, the new in
            self.changed = True
            return {"t": "Div", "c": [["", [], []], [self.mark(old, "deletion"),
                                                      self.mark(new, "insertion")]]}
        return new

    def items(self, old: list[list[Node]], new: list[list[Node]]) -> list[list[Node]]:
        """List items, compared as one block list each (items added or removed marked)."""
        wrapped = self.blocks([{"t": "Div", "c": [["", ["item"], []], item]} for item in old],
                              [{"t": "Div", "c": [["", ["item"], []], item]} for item in new])
        return [b["c"][1] if b.get("t") == "Div" and b["c"][0][1] == ["item"] else [b]
                for b in wrapped]

    def table(self, old: Node, new: Node) -> Node:
        """A table with its rows matched by their first cell and its cells compared."""
        new = copy.deepcopy(new)
        old_rows, new_rows = table_rows(old), table_rows(new)
        merged: list[Node] = []
        matcher = difflib.SequenceMatcher(None, [row_key(r) for r in old_rows],
                                          [row_key(r) for r in new_rows], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            pairs = i2 - i1 if op == "equal" else 0   # a row with another label: out, in
            for a, b in zip(old_rows[i1:i1 + pairs], new_rows[j1:j1 + pairs]):
                merged.append(self.row(a, b))
            merged += [self.mark_row(a, "deletion") for a in old_rows[i1 + pairs:i2]]
            merged += [self.mark_row(b, "insertion") for b in new_rows[j1 + pairs:j2]]
        set_table_rows(new, merged)
        caption = new["c"][1]
        caption[1] = self.blocks(old["c"][1][1], caption[1])
        return new

    def row(self, old: Node, new: Node) -> Node:
        """A table row with each cell compared with the cell in the same column."""
        cells = []
        for index, cell in enumerate(new[1]):
            before = old[1][index][4] if index < len(old[1]) else []
            cells.append([*cell[:4], self.blocks(before, cell[4])])
        return [new[0], cells]

    def mark_row(self, row: Node, kind: str) -> Node:
        """A whole row as added or removed."""
        return [row[0], [[*cell[:4], [self.mark(b, kind) for b in cell[4]]] for cell in row[1]]]

    def figure(self, old: Node, new: Node) -> Node:
        """A figure: its caption compared; a changed image shown old (deleted) beside new, in
        a paragraph with the caption below it (Word makes a figure of one picture only)."""
        attr, caption, body = new["c"]
        caption = [caption[0], self.blocks(old["c"][1][1], caption[1])]
        before, after = images(old), images(new)
        if [self.image_bytes(i) for i in before] == [self.image_bytes(i) for i in after]:
            return {"t": "Figure", "c": [attr, caption, body]}
        self.changed = True
        side = [span([sized(i) for i in before], "deletion"), {"t": "Space"},
                span([sized(i) for i in after], "insertion")]
        below = {"t": "Div", "c": [["", ["figure-caption"], [["custom-style", "Image Caption"]]],
                                   caption[1]]}
        return {"t": "Div", "c": [attr, [{"t": "Para", "c": side}, below]]}

    def code(self, old: Node, new: Node) -> Node:
        """A code block or printed output that changed, compared line by line."""
        attr, text = new["c"]
        lines_old, lines_new = old["c"][1].split("\n"), text.split("\n")
        if lines_old == lines_new:
            return new
        self.changed = True
        inlines: list[Node] = []
        matcher = difflib.SequenceMatcher(None, lines_old, lines_new, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            for kind, lines in (("deletion", lines_old[i1:i2]), ("insertion", lines_new[j1:j2])):
                if op == "equal" and kind == "deletion":
                    continue
                for line in lines:
                    code = [{"t": "Code", "c": [["", [], []], line]}]
                    inlines += (code if op == "equal" else [span(code, kind)]) + [
                        {"t": "LineBreak"}]
        return {"t": "Div", "c": [attr, [{"t": "Plain", "c": inlines[:-1]}]]}

    # -- inlines

    def inlines(self, old: list[Node], new: list[Node]) -> list[Node]:
        """The new inlines with the words that differ from the old marked."""
        a, b = [token(i) for i in old], [token(i) for i in new]
        out: list[Node] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                out += new[j1:j2]
                continue
            if op == "replace" and i2 - i1 == j2 - j1 and all(
                    nested(x, y) for x, y in zip(old[i1:i2], new[j1:j2])):
                out += [self.inside(x, y) for x, y in zip(old[i1:i2], new[j1:j2])]
                continue
            self.changed = True
            if i2 > i1:
                out.append(span(old[i1:i2], "deletion"))
            if j2 > j1:
                out.append(span(new[j1:j2], "insertion"))
        return out

    def inside(self, old: Node, new: Node) -> Node:
        """Emphasis, a link or a span whose words changed: marked inside it."""
        if new["t"] in ("Span", "Link"):
            content = self.inlines(old["c"][1], new["c"][1])
            return {"t": new["t"], "c": [new["c"][0], content, *new["c"][2:]]}
        return {"t": new["t"], "c": self.inlines(old["c"], new["c"])}

    # -- marking whole blocks

    def mark(self, block: Node, kind: str) -> Node:
        """A block added (`insertion`) or removed (`deletion`): all its text marked."""
        self.changed = True
        block = copy.deepcopy(block)
        t = block.get("t")
        if t in ("Para", "Plain"):
            block["c"] = [span(block["c"], kind)] if block["c"] else []
        elif t == "Header":
            block["c"][2] = [span(block["c"][2], kind)]
        elif t in ("Div",):
            block["c"][1] = [self.mark(b, kind) for b in block["c"][1]]
        elif t == "BlockQuote":
            block["c"] = [self.mark(b, kind) for b in block["c"]]
        elif t == "BulletList":
            block["c"] = [[self.mark(b, kind) for b in item] for item in block["c"]]
        elif t == "OrderedList":
            block["c"][1] = [[self.mark(b, kind) for b in item] for item in block["c"][1]]
        elif t == "Table":
            set_table_rows(block, [self.mark_row(r, kind) for r in table_rows(block)])
            block["c"][1][1] = [self.mark(b, kind) for b in block["c"][1][1]]
        elif t == "Figure":
            block["c"][1][1] = [self.mark(b, kind) for b in block["c"][1][1]]
            block["c"][2] = [self.mark(b, kind) for b in block["c"][2]]
        elif t == "CodeBlock":
            lines = block["c"][1].split("\n")
            code = [x for line in lines for x in ({"t": "Code", "c": [["", [], []], line]},
                                                  {"t": "LineBreak"})][:-1]
            return {"t": "Div", "c": [block["c"][0], [{"t": "Plain", "c": [span(code, kind)]}]]}
        return block

    def image_bytes(self, image: Node) -> bytes:
        """The bytes of an image the Markdown links to (in the work folder)."""
        path = self.work / image["c"][2][0]
        return path.read_bytes() if path.is_file() else image["c"][2][0].encode()


def revised(old: dict, new: dict, work: Path) -> tuple[dict, bool]:
    """The new document with every difference from the old marked, and whether there was one."""
    revision = Revision(work)
    blocks = revision.blocks(old["blocks"], new["blocks"])
    if old.get("meta") != new.get("meta"):
        revision.changed = True
    return {**new, "blocks": blocks}, revision.changed


def span(content: list[Node], kind: str) -> Node:
    """A tracked change: an insertion or a deletion of `content`."""
    return {"t": "Span", "c": [["", [kind], [["author", AUTHOR]]], content]}


def sized(image: Node) -> Node:
    """An image at half the text width (old and new side by side)."""
    image = copy.deepcopy(image)
    attr = image["c"][0]
    attr[2] = [kv for kv in attr[2] if kv[0] not in ("width", "height")] + [["width", FIGURE_WIDTH]]
    return image


def images(block: Node) -> list[Node]:
    """Every image inside a block, in order."""
    found: list[Node] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("t") == "Image":
                found.append(node)
            walk(node.get("c"))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(block)
    return found


def plain(node: Any) -> str:
    """The text of a subtree (words and spaces, code, maths), for matching."""
    if isinstance(node, dict):
        t, c = node.get("t"), node.get("c")
        if t == "Str":
            return c
        if t in ("Space", "SoftBreak", "LineBreak"):
            return " "
        if t in ("Code", "Math", "RawInline", "CodeBlock", "RawBlock"):
            return c[-1] if isinstance(c, list) else ""
        if t == "Image":
            return ""
        return plain(c)
    if isinstance(node, list):
        return " ".join(filter(None, (plain(child) for child in node)))
    return ""


def skeleton(text: str) -> str:
    """Text with every number blanked out and white space collapsed."""
    return " ".join(re.sub(r"\d+(?:[.,]\d+)*", "#", text).split())


def key(block: Node) -> tuple:
    """What matches a block with its old self: its kind, and its id or its numberless text."""
    t = block.get("t")
    if t == "Div" and block["c"][0][0]:
        return ("Div", block["c"][0][0])
    if t == "Table":
        rows = table_rows(block)
        return ("Table", skeleton(plain(rows[0][1])) if rows else "")
    if t == "Figure":
        return ("Figure", block["c"][0][0] or skeleton(plain(block["c"][1])))
    if t == "Header":
        return ("Header", block["c"][0], skeleton(plain(block["c"][2])))
    return (t, skeleton(plain(block.get("c"))))


def row_key(row: Node) -> str:
    """What matches a table row with its old self: its first cell, numbers blanked out."""
    return skeleton(plain(row[1][0][4])) if row[1] else ""


def table_rows(table: Node) -> list[Node]:
    """A table's head rows, then each body's head and body rows, then the foot's."""
    _, _, _, head, bodies, foot = table["c"]
    rows = list(head[1])
    for body in bodies:
        rows += body[2] + body[3]
    return rows + list(foot[1])


def set_table_rows(table: Node, rows: list[Node]) -> None:
    """Put rows back where table_rows found them (row counts of head and foot kept)."""
    _, _, _, head, bodies, foot = table["c"]
    at = len(head[1])
    head[1] = rows[:at]
    tail = len(foot[1])
    body_rows = rows[at:len(rows) - tail if tail else len(rows)]
    if bodies:
        bodies[0][2] = []
        bodies[0][3] = body_rows
        for body in bodies[1:]:
            body[2], body[3] = [], []
    foot[1] = rows[len(rows) - tail:] if tail else []


def token(inline: Node) -> str:
    """An inline as the unit words are compared in (a soft break is a space)."""
    if inline.get("t") in ("SoftBreak", "LineBreak"):
        return '{"t": "Space"}'
    return json.dumps(inline, sort_keys=True)


def nested(old: Node, new: Node) -> bool:
    """Whether two inlines are the same emphasis, link or span around different words."""
    containers = {"Strong", "Emph", "Underline", "Strikeout", "SmallCaps", "Superscript",
                  "Subscript"}
    if old.get("t") != new.get("t") or old == new:
        return False
    if new["t"] in containers:
        return True
    if new["t"] in ("Span", "Link"):
        return old["c"][0] == new["c"][0] and old["c"][2:] == new["c"][2:]
    return False
