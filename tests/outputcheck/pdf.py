"""Check a PDF as printed pages with poppler-utils: blank pages, ink outside the margins, text.

    check = check_pdf(Path("report.pdf"), Margins.from_quarto(Path("_quarto.yml")))
    assert check.problems() == []
    assert check.contains("Respondents 229 229")

- Every page is rasterised in grey with `pdftoppm` (30 dpi by default: about 8 px per 2 mm,
  enough to see any mark, and fast). A page is blank when nothing inside its text area (the page
  less the margins) is darker than near-white.
- Nothing may be drawn in the margins: the strips between the page edge and the margins, less
  a small tolerance (`tolerance_cm`, 2 mm: glyph ascenders of a first line stand about 1 mm above
  Typst's top margin), must be white. One thing is allowed there on purpose: Typst's page number
  (`numbering: "1"`, as both renderers set it) is set centred in the bottom margin, about 0.8 cm
  above the page edge. The word boxes of `pdftotext -bbox` show where it is; the bottom margin
  may hold one word equal to the page's own number, and its box (plus 1 mm) is left out of the
  margin check. Any other text there, or a number that is not the page's, is reported.
- `text` is `pdftotext -raw` (content-stream order). Typst writes each table cell whole and in
  row order, so a table row reads as one line of text; the default and -layout modes interleave
  wrapped cells of neighbouring columns. `flat` and `contains` undo line breaks and hyphenation.

Needs `pdftoppm` and `pdftotext` (Debian's poppler-utils). `missing_tools()` says which are
absent; pass it to `outputcheck.require(..., REQUIRE_ENV)`, which skips the test, or fails it
when JAKISURVEY_REQUIRE_TOOLS=1 (CI).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

REQUIRE_ENV = "JAKISURVEY_REQUIRE_TOOLS"
TOOLS = ("pdftoppm", "pdftotext")
PT_PER_CM = 72 / 2.54
WHITE = 245          # grey levels at or above this count as paper
UNITS_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54, "pt": 1 / PT_PER_CM}
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


def missing_tools() -> str | None:
    """Why the PDF checks cannot run here, or None when they can."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found (Debian package poppler-utils)" if missing else None


@dataclass(frozen=True)
class Margins:
    """Page margins in centimetres."""

    top: float
    right: float
    bottom: float
    left: float

    @classmethod
    def from_quarto(cls, quarto_yml: Path, fmt: str = "typst") -> Margins:
        """The margins `_quarto.yml` sets for `fmt` (format.<fmt>.margin: a length, or x/y/sides)."""
        margin = yaml.safe_load(quarto_yml.read_text(encoding="utf-8"))["format"][fmt]["margin"]
        if not isinstance(margin, dict):
            margin = {"x": margin, "y": margin}
        side = lambda name, axis: _cm(margin.get(name, margin.get(axis)))  # noqa: E731
        return cls(side("top", "y"), side("right", "x"), side("bottom", "y"), side("left", "x"))


class Word(NamedTuple):
    """A word of the text layer and its box, in points from the page's top-left corner."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass(frozen=True)
class Ink:
    """Marks found outside the margins of one page: which strips, and their box in cm."""

    page: int
    sides: tuple[str, ...]
    box_cm: tuple[float, float, float, float]   # left, top, right, bottom from the top-left corner

    def __str__(self) -> str:
        left, top, right, bottom = self.box_cm
        return (f"page {self.page}: ink in the {'/'.join(self.sides)} margin "
                f"(x {left:.1f}-{right:.1f} cm, y {top:.1f}-{bottom:.1f} cm)")


@dataclass
class PdfCheck:
    """What the pages of one PDF look like and say."""

    path: Path
    pages: int
    blank_pages: list[int] = field(default_factory=list)
    outside_margins: list[Ink] = field(default_factory=list)
    footer_text: dict[int, str] = field(default_factory=dict)   # page -> words in the bottom margin
    text: str = ""

    @property
    def flat(self) -> str:
        """The text on one line: hyphenation undone, runs of white space made one space."""
        return flatten(self.text)

    def contains(self, phrase: str) -> bool:
        """True when `phrase` (white space normalised) is in the text."""
        return flatten(phrase) in self.flat

    def problems(self) -> list[str]:
        """One line per defect of the printed pages; empty when the PDF is sound."""
        return ([f"page {page}: blank" for page in self.blank_pages]
                + [str(ink) for ink in self.outside_margins]
                + [f"page {page}: {text!r} in the bottom margin, where only the page number belongs"
                   for page, text in self.footer_text.items() if text not in ("", str(page))])


def check_pdf(path: Path, margins: Margins, dpi: int = 30, tolerance_cm: float = 0.2) -> PdfCheck:
    """Rasterise and read `path`; report blank pages, ink outside `margins`, and the text."""
    words, images = _words(path), _pages(path, dpi)
    if len(words) != len(images):
        raise RuntimeError(f"{path}: pdftotext read {len(words)} pages, pdftoppm {len(images)}")
    check = PdfCheck(path, len(words), text=_run("pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"))
    for page, (gray, (width_pt, height_pt, page_words)) in enumerate(zip(images, words), 1):
        px_per_cm = gray.shape[1] / (width_pt / PT_PER_CM)
        footer = [w for w in page_words if w.y0 >= height_pt - margins.bottom * PT_PER_CM]
        check.footer_text[page] = " ".join(w.text for w in footer)
        allowed = footer if [w.text for w in footer] == [str(page)] else []
        ink = gray < WHITE
        if not ink[_area(ink.shape, margins, px_per_cm, 0)].any():
            check.blank_pages.append(page)
        outside = _outside(ink, margins, px_per_cm, tolerance_cm, allowed)
        if outside.any():
            check.outside_margins.append(_ink(page, outside, margins, px_per_cm))
    return check


def flatten(text: str) -> str:
    """`text` with soft hyphens and breaks after hyphens undone and white space collapsed."""
    text = re.sub("\u00ad\\s*\n\\s*", "", text).replace("\u00ad", "").replace("\u2060", "")
    text = re.sub(r"(?<=\w[-\u2010])\s*\n\s*", "", text)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _cm(length: object) -> float:
    """A length such as `2.5cm`, `25mm`, `1in` or `72pt`, in centimetres."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(cm|mm|in|pt)\s*", str(length))
    if match is None:
        raise ValueError(f"margin {length!r} is not a length in cm, mm, in or pt")
    return float(match[1]) * UNITS_CM[match[2]]


def _run(*command: str) -> str:
    """The standard output of a poppler command (its stderr chatter is dropped)."""
    return subprocess.run(command, check=True, capture_output=True, text=True, encoding="utf-8").stdout


def _words(path: Path) -> list[tuple[float, float, list[Word]]]:
    """Per page: width and height in points and every word with its box (pdftotext -bbox)."""
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>',
                       _run("pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"), re.S)
    return [(float(width), float(height),
             [Word(*map(float, found[:4]), html.unescape(found[4])) for found in WORD.findall(body)])
            for width, height, body in pages]


def _pages(path: Path, dpi: int) -> list[np.ndarray]:
    """Every page as a grey image (0 black .. 255 white), via pdftoppm."""
    with tempfile.TemporaryDirectory(prefix="outputcheck-pdf-") as folder:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(path), f"{folder}/page"],
                       check=True, capture_output=True)
        return [_read_pgm(file) for file in sorted(Path(folder).glob("page-*.pgm"))]


def _read_pgm(path: Path) -> np.ndarray:
    """A binary 8-bit PGM file as an array."""
    data = path.read_bytes()
    magic, width, height, maxval, pixels = data.split(maxsplit=4)
    if magic != b"P5" or maxval != b"255":
        raise ValueError(f"{path}: not an 8-bit binary PGM")
    shape = (int(height), int(width))
    return np.frombuffer(pixels, dtype=np.uint8, count=shape[0] * shape[1]).reshape(shape)


def _area(shape: tuple[int, ...], margins: Margins, px_per_cm: float,
          slack_cm: float) -> tuple[slice, slice]:
    """Rows and columns inside the margins, each margin narrowed by `slack_cm`."""
    px = lambda cm: max(int((cm - slack_cm) * px_per_cm), 0)  # noqa: E731
    return (slice(px(margins.top), shape[0] - px(margins.bottom)),
            slice(px(margins.left), shape[1] - px(margins.right)))


def _outside(ink: np.ndarray, margins: Margins, px_per_cm: float, tolerance_cm: float,
             allowed: list[Word]) -> np.ndarray:
    """The ink in the margins (narrowed by the tolerance), less the allowed word boxes."""
    outside = ink.copy()
    outside[_area(ink.shape, margins, px_per_cm, tolerance_cm)] = False
    scale, pad = px_per_cm / PT_PER_CM, int(0.1 * px_per_cm) + 1
    for word in allowed:
        outside[max(int(word.y0 * scale) - pad, 0):int(word.y1 * scale) + pad + 1,
                max(int(word.x0 * scale) - pad, 0):int(word.x1 * scale) + pad + 1] = False
    return outside


def _ink(page: int, outside: np.ndarray, margins: Margins, px_per_cm: float) -> Ink:
    """Describe ink found in the margins: the strips it is in and its bounding box."""
    rows, cols = _area(outside.shape, margins, px_per_cm, 0)
    strips = {"top": outside[:rows.start], "right": outside[:, cols.stop:],
              "bottom": outside[rows.stop:], "left": outside[:, :cols.start]}
    found_rows, found_cols = np.nonzero(outside)
    box = (found_cols.min(), found_rows.min(), found_cols.max() + 1, found_rows.max() + 1)
    return Ink(page, tuple(side for side, strip in strips.items() if strip.any()),
               tuple(round(v / px_per_cm, 2) for v in box))
