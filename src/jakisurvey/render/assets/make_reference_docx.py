"""Make reference.docx, the Word styles of report.docx and changes.docx (both renderers).

Run by hand after changing a style (needs the dev extra: python-docx):

    .venv/bin/python src/jakisurvey/render/assets/make_reference_docx.py

It starts from pandoc's own reference document (the style names pandoc's docx writer uses:
Title, Heading 1-9, Body Text, First Paragraph, Compact, Table, Image Caption, Table Caption,
Captioned Figure, Hyperlink ...) and sets: A4 with 2 cm side margins (17 cm of text, the width
of a two-column journal figure, so figures keep their own size), serif body text, sans-serif
headings, captions and tables in a smaller size.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY, HEADINGS = "Times New Roman", "Arial"


def pandoc_default(target: Path) -> Path:
    """pandoc's default reference.docx."""
    import pypandoc

    subprocess.run([pypandoc.get_pandoc_path(), "-o", str(target), "--print-default-data-file",
                    "reference.docx"], check=True)
    return target


def make(target: Path) -> Path:
    """Write the project's reference document to target."""
    import docx
    from docx.shared import Mm, Pt, RGBColor

    with tempfile.TemporaryDirectory() as tmp:
        document = docx.Document(str(pandoc_default(Path(tmp) / "default.docx")))
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(25)
    styles = document.styles
    for name, font, size in (("Normal", BODY, 11), ("Body Text", BODY, 11),
                             ("First Paragraph", BODY, 11), ("Compact", BODY, 10),
                             ("Image Caption", BODY, 9.5), ("Table Caption", BODY, 9.5),
                             ("Title", HEADINGS, 20), ("Heading 1", HEADINGS, 15),
                             ("Heading 2", HEADINGS, 13), ("Heading 3", HEADINGS, 11.5),
                             ("TOC Heading", HEADINGS, 13)):
        style = styles[name]
        style.font.name, style.font.size = font, Pt(size)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.get_or_add_rFonts()
        for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(docx.oxml.ns.qn(attribute), font)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(docx.oxml.ns.qn(theme), None)
        if name.startswith(("Heading", "Title", "TOC")):
            style.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
    styles["Hyperlink"].font.color.rgb = RGBColor(0x1F, 0x5F, 0x99)
    document.save(str(target))
    return target


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "reference.docx"))
