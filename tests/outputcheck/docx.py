"""Read a Word file as a reader (and Word) sees it, with python-docx and its XML.

    doc = read_docx(Path("report.docx"))
    doc.blocks            # paragraphs (style, text) and tables (rows of cell texts), in order
    doc.figures           # every picture: its alt text and the caption below it
    doc.broken()          # relationships used but missing, or pointing at missing parts
    doc.marks             # tracked changes: ("ins" | "del", text), in order

`text(view)` is the document's text with tracked changes as they are (`"marked"`: both), all
accepted (`"accepted"`: insertions kept, deletions dropped, deleted table rows gone) or all
rejected (`"rejected"`), as Word's Accept All and Reject All leave it.
The table of contents (a field Word fills in when the file is opened) is left out.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W, "r": R, "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
      "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture"}


def q(name: str) -> str:
    """A namespaced tag or attribute name: 'w:p' -> '{...}p'."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


@dataclass
class Paragraph:
    """A paragraph: its style's name, its text (per view), and its pictures' alt texts."""

    style: str
    texts: dict[str, str]
    pictures: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text as it stands (insertions and deletions both)."""
        return self.texts["marked"]


@dataclass
class Table:
    """A table: its rows, each a list of cell texts (per view)."""

    rows: dict[str, list[list[str]]]


@dataclass
class WordFile:
    """What a .docx holds."""

    path: Path
    blocks: list
    marks: list[tuple[str, str]]
    relationship_problems: list[str]
    styles: dict[str, str]

    def text(self, view: str = "marked") -> str:
        """All paragraphs and table cells, one line each, in document order."""
        lines = []
        for block in self.blocks:
            if isinstance(block, Paragraph):
                lines.append(block.texts[view])
            else:
                lines += [" | ".join(row) for row in block.rows[view]]
        return "\n".join(line for line in lines if line.strip())

    @property
    def paragraphs(self) -> list[Paragraph]:
        """Every paragraph outside tables."""
        return [b for b in self.blocks if isinstance(b, Paragraph)]

    @property
    def tables(self) -> list[list[list[str]]]:
        """Every table's rows of cell texts."""
        return [b.rows["marked"] for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[tuple[str, str]]:
        """Each picture's alt text and the text of the caption paragraph after it."""
        found = []
        paragraphs = self.paragraphs
        for index, paragraph in enumerate(paragraphs):
            for alt in paragraph.pictures:
                after = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
                caption = after.text if after and "Caption" in after.style else ""
                found.append((alt, caption))
        return found

    def style_of(self, text: str) -> list[str]:
        """The styles of the paragraphs whose text is `text`."""
        return [p.style for p in self.paragraphs if p.text == text]

    def broken(self) -> list[str]:
        """Relationship ids used in the document but not defined, or defined but pointing at a
        part that is not in the file."""
        return self.relationship_problems


def read_docx(path: Path) -> WordFile:
    """Read a .docx: body blocks, tracked changes, relationship problems."""
    import docx

    document = docx.Document(str(path))
    styles = {s.style_id: s.name for s in document.styles}
    body = document.element.body
    marks: list[tuple[str, str]] = []
    blocks = []
    for child in body.iterchildren():
        if child.tag == q("w:p"):
            blocks.append(_paragraph(child, styles, marks))
        elif child.tag == q("w:tbl"):
            blocks.append(_table(child, styles, marks))
    return WordFile(path, blocks, marks, _relationship_problems(path, document), styles)


VIEWS = ("marked", "accepted", "rejected")


def _paragraph(p, styles: dict[str, str], marks: list) -> Paragraph:
    """A w:p element as a Paragraph (its runs read per view)."""
    style = p.find("w:pPr/w:pStyle", NS)
    name = styles.get(style.get(q("w:val")), style.get(q("w:val"))) if style is not None else "Normal"
    texts = {view: [] for view in VIEWS}
    for element in p.iter(q("w:t"), q("w:delText"), q("w:tab"), q("w:br")):
        inserted = _inside(element, "w:ins")
        deleted = element.tag == q("w:delText") or _inside(element, "w:del")
        piece = element.text or "" if element.tag in (q("w:t"), q("w:delText")) else " "
        texts["marked"].append(piece)
        if not deleted:
            texts["accepted"].append(piece)
        if not inserted:
            texts["rejected"].append(piece)
    for change in p.iter(q("w:ins"), q("w:del")):
        text = "".join(t.text or "" for t in change.iter(q("w:t"), q("w:delText")))
        marks.append(("ins" if change.tag == q("w:ins") else "del", text))
    pictures = [d.get("descr", "") for d in p.iter(q("wp:docPr"))]
    return Paragraph(name, {view: "".join(parts) for view, parts in texts.items()}, pictures)


def _inside(element, tag: str) -> bool:
    """Whether an element has an ancestor with this tag."""
    parent = element.getparent()
    while parent is not None:
        if parent.tag == q(tag):
            return True
        parent = parent.getparent()
    return False


def _table(tbl, styles: dict[str, str], marks: list) -> Table:
    """A w:tbl element as rows of cell texts, per view."""
    rows = {view: [] for view in VIEWS}
    for tr in tbl.findall("w:tr", NS):
        cells = [[_paragraph(p, styles, marks) for p in tc.iter(q("w:p"))]
                 for tc in tr.findall("w:tc", NS)]
        row_deleted = tr.find("w:trPr/w:del", NS) is not None     # a whole row tracked
        row_inserted = tr.find("w:trPr/w:ins", NS) is not None
        for view in VIEWS:
            if (view == "accepted" and row_deleted) or (view == "rejected" and row_inserted):
                continue
            rows[view].append([" ".join(p.texts[view] for p in cell if p.texts[view])
                               for cell in cells])
    return Table(rows)


def _relationship_problems(path: Path, document) -> list[str]:
    """r:id / r:embed / r:link values without a relationship, and internal targets missing."""
    part = document.part
    used = set(re.findall(r'r:(?:id|embed|link)="([^"]+)"', document.element.xml))
    problems = [f"{rid}: no such relationship" for rid in sorted(used - set(part.rels))]
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    for rid, rel in part.rels.items():
        target = posixpath.normpath(posixpath.join("word", rel.target_ref))
        if not rel.is_external and target not in names:
            problems.append(f"{rid}: {rel.target_ref} is not in the file")
    return problems
