"""The rendered report as a reader gets it: HTML in headless Chromium, the PDF as printed pages.

The first half checks a real report from each renderer (`report_dirs`: pandoc always, Quarto when
it is installed); the second half shows that every check fails on a small, deliberately broken
page or PDF. Without Chromium or poppler-utils the tests are skipped with the reason, and fail
instead when JAKISURVEY_REQUIRE_TOOLS=1 (CI) say they must run.
"""

from __future__ import annotations

import html
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from PIL import Image as PILImage

from outputcheck import browser as browsercheck
from outputcheck import pdf as pdfcheck
from outputcheck import require
from outputcheck.docx import read_docx
from helpers import ROOT, need

# The four panels of the paper's Figure 1: each must be one figure whose caption starts so.
PANEL_CAPTIONS = ["Figure 1A:", "Figure 1B:", "Figure 1C:", "Figure 1D:"]
RENDERERS = ["pandoc", "quarto"]
MARGINS = pdfcheck.Margins.from_quarto(ROOT / "_quarto.yml")


# --- the real report ------------------------------------------------------------------------

@pytest.fixture(scope="module", params=RENDERERS)
def report_dir(request, report_dirs) -> Path:
    """One renderer's output folder; a renderer not installed here is a skip, not a pass."""
    if request.param not in report_dirs:
        need(request.param)
    return report_dirs[request.param]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (auditing every page with axe-core where it is
    installed)."""
    require(browsercheck.missing_browser(), browsercheck.REQUIRE_ENV)
    with browsercheck.Browser(axe=browsercheck.find_axe(), timeout=60) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def pages(report_dir, browser, tmp_path_factory) -> dict[str, browsercheck.PageCheck]:
    """report.html (with a full-page screenshot) and every notebook view, checked in the browser."""
    shot = tmp_path_factory.mktemp(f"screenshots-{report_dir.parent.name}") / "report.png"
    views = sorted(report_dir.glob("notebooks/*.html"))
    names = ["report.html"] + [f"notebooks/{view.name}" for view in views]
    # The notebook views are the pandoc renderer's with either renderer: audited once.
    renderer = json.loads((report_dir / "run.json").read_text())["renderer"]["renderer"]
    audit = None if renderer == "pandoc" else {report_dir / "report.html"}
    checks = browser.check_all([report_dir / name for name in names],
                               {report_dir / "report.html": shot}, audit)
    return dict(zip(names, checks))


@pytest.fixture(scope="module")
def printed(report_dir) -> pdfcheck.PdfCheck:
    """report.pdf rasterised and read."""
    require(pdfcheck.missing_tools(), pdfcheck.REQUIRE_ENV)
    return pdfcheck.check_pdf(report_dir / "report.pdf", MARGINS)


def claims(report_dir: Path) -> list[dict]:
    """The published claims and their checks, as this run wrote them to results.json."""
    return json.loads((report_dir / "results.json").read_text(encoding="utf-8"))["claims"]


def figure_captions(report_dir: Path, option: str = "fig-cap") -> list[str]:
    """Every `fig-cap` (or `fig-alt`) of the assembled report notebook (as text: Quarto's copy
    escapes captions)."""
    notebook = json.loads((report_dir / "report.ipynb").read_text(encoding="utf-8"))
    return [re.sub(r"\\(.)", r"\1", yaml.safe_load(line.split(":", 1)[1]))
            for cell in notebook["cells"] if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if line.startswith(f"#| {option}:")]


def test_every_page_loads_cleanly_offline(pages):
    assert len(pages) > 1, "no notebook views found"
    problems = [f"{name}: {problem}" for name, page in pages.items() for problem in page.problems()]
    assert not problems, "\n".join(problems)
    assert all(page.text.strip() for page in pages.values())


@pytest.fixture(scope="module")
def axe():
    """Skip (or fail, under JAKISURVEY_REQUIRE_TOOLS=1) without axe-core."""
    require(browsercheck.missing_axe(), browsercheck.REQUIRE_ENV)


def test_every_page_is_accessible(axe, pages):
    """axe-core (WCAG 2 A/AA rules and best practices) finds nothing on the report and on
    every notebook view: landmarks, contrast of links and highlighted code, alt texts ..."""
    audited = [name for name, page in pages.items() if page.violations is not None]
    assert "report.html" in audited and len(pages) == 11
    found = [f"{name}: {violation}" for name, page in pages.items()
             for violation in page.violations or []]
    assert not found, "\n".join(found)


def test_report_images_are_decoded(pages):
    sizes = [(image.width, image.height) for image in pages["report.html"].images]
    assert len(sizes) >= len(PANEL_CAPTIONS)
    assert all(width > 100 and height > 100 for width, height in sizes), sizes


def test_report_shows_the_reproduction_table(pages, report_dir):
    tables = [t for t in pages["report.html"].tables
              if t and {"Published", "Reproduced", "Match"} <= set(t[0])]
    assert len(tables) == 1, "expected one table with Published / Reproduced / Match columns"
    rows = tables[0][1:]
    expected = claims(report_dir)
    assert [row[:3] for row in rows] == [
        [c["claim"], c["published_text"], c["reproduced_text"]] for c in expected]
    assert [("yes" in row[3]) for row in rows] == [c["matches"] for c in expected]


def test_report_shows_the_four_panels_and_every_caption(pages, report_dir):
    figures = pages["report.html"].figures
    shown = [" ".join(figure.caption.split()) for figure in figures]   # Quarto writes "Figure&nbsp;1A"
    for panel in PANEL_CAPTIONS:
        panels = [f for f, caption in zip(figures, shown) if caption.startswith(panel)]
        assert len(panels) == 1, f"{panel}: {shown}"
        decoded = [image.decoded for image in panels[0].images]
        assert decoded and all(decoded), f"{panel}: images decoded {decoded}"
    captions = figure_captions(report_dir)
    assert len(captions) >= len(PANEL_CAPTIONS)
    for caption in captions:
        assert any(caption in text for text in shown), caption


def test_full_page_screenshot_is_kept(pages):
    shot = pages["report.html"].screenshot
    print(f"screenshot: {shot}")
    with PILImage.open(shot) as image:
        assert image.format == "PNG"
        assert image.width == 1280 and image.height > 900   # the whole page, not the window


def test_pdf_pages_are_inked_inside_the_margins(printed):
    assert printed.pages > 1
    assert not printed.problems(), "\n".join(printed.problems())


def test_pdf_text_has_the_table_rows_and_captions(printed, report_dir):
    for claim in claims(report_dir):
        row = f"{claim['claim']} {claim['published_text']} {claim['reproduced_text']}"
        assert printed.contains(row), f"row not in the PDF: {row}"
    for caption in figure_captions(report_dir) + PANEL_CAPTIONS:
        assert printed.contains(caption), f"caption not in the PDF: {caption}"


@pytest.fixture(scope="module")
def word(report_dir):
    """report.docx, read."""
    return read_docx(report_dir / "report.docx")


def test_word_report_has_every_claim_row(word, report_dir):
    assert word.broken() == []
    rows = [row for table in word.tables for row in table]
    for claim in claims(report_dir):
        found = [row for row in rows if row and row[0].startswith(claim["claim"])
                 and row[1:3] == [claim["published_text"], claim["reproduced_text"]]]
        assert len(found) == 1, claim["claim"]
        # the link to the cell became the cell reference in words
        assert re.fullmatch(rf"{re.escape(claim['claim'])} \(notebooks/\d\d_[a-z_]+\.ipynb, "
                            rf"cell {claim['result'].split('.')[0]}\)", found[0][0]), found[0][0]


def test_word_report_has_every_table_as_a_word_table(word, pages):
    html_tables = pages["report.html"].tables
    callouts = [t for t in word.tables if len(t[0]) == 1 and t[0][0].strip() in ("Warning", "Note")]
    tables = [t for t in word.tables if t not in callouts]
    assert len(callouts) == 1 and "Synthetic data." in callouts[0][1][0]
    assert [len(t) for t in tables] == [len(t) for t in html_tables]
    assert [t[0] for t in tables] == [t[0] for t in html_tables]     # the same header rows
    assert [row[1:] for t in tables for row in t] == [row[1:] for t in html_tables for row in t]


def test_word_report_has_every_figure_caption_and_alt_text(word, report_dir):
    assert word.figures == list(zip(figure_captions(report_dir, "fig-alt"),
                                    figure_captions(report_dir)))
    assert len(word.figures) >= len(PANEL_CAPTIONS)
    import zipfile
    with zipfile.ZipFile(report_dir / "report.docx") as archive:
        document = archive.read("word/document.xml").decode()
    widths = [int(cx) / 36000 for cx in re.findall(r'<wp:extent cx="(\d+)"', document)]
    assert len(widths) == len(word.figures)
    assert all(min(abs(w - 85), abs(w - 170)) < 1 for w in widths), widths  # at their own size


def test_word_report_headings_warning_and_cell_references(word, report_dir):
    headings = [p.text for p in word.paragraphs if p.style == "Heading 1"]
    assert headings[:2] == ["Summary", "Respondents and geography"] and len(headings) >= 10
    assert word.paragraphs[0].style == "Title"
    assert "Synthetic data. These records were generated" in word.text()
    text = word.text()
    assert "Notebook cell" not in text and ".html" not in re.sub(r"https?://\S+", "", text)
    report = (report_dir / "report.html").read_text(encoding="utf-8")
    cell_links = len(re.findall(r'class="cell-link"', report))
    assert cell_links and text.count("Computed in notebooks/") == cell_links
    import zipfile
    with zipfile.ZipFile(report_dir / "report.docx") as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    assert "notebooks/" not in rels                     # no link to a notebook view


def pdf_alt_texts(path: Path) -> list[str]:
    """The text alternative of every figure in a tagged PDF's structure tree, in order."""
    from pypdf import PdfReader

    root = PdfReader(path).trailer["/Root"]
    assert "/StructTreeRoot" in root, "the PDF is not tagged"
    found = []

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, dict):
            if node.get("/S") == "/Figure":
                found.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(root["/StructTreeRoot"])
    return found


def test_every_figure_keeps_its_text_alternative_in_html_pdf_and_word(report_dir, word):
    alts = figure_captions(report_dir, "fig-alt")
    assert len(alts) >= len(PANEL_CAPTIONS) and all(alts)
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    shown = [html.unescape(alt) for figure in re.findall(r"<figure.*?</figure>", page, re.S)
             for alt in re.findall(r'<img [^>]*alt="([^"]*)"', figure)]
    assert shown == alts
    assert pdf_alt_texts(report_dir / "report.pdf") == alts
    assert [alt for alt, _ in word.figures] == alts


# --- the checks catch what they are for ----------------------------------------------------

GOOD_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>
<h1 id="top-heading">Hello</h1><p><a href="#top-heading">up</a> <a href="other.html#here">there</a>
<a href="https://doi.org/10.1093/rheumatology/keaf086">doi</a></p>
<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>
<figure><img src="pixel.png" alt="x"><figcaption>Figure 1A: a panel</figcaption></figure>
<script>console.log("fine")</script></body></html>"""

BROKEN_PAGES = {
    "undecodable image": ('<img src="data:image/png;base64,iVBORw0KGgoAAAA=">',
                          ["image not decoded: data:image/png;base64,iVBORw0KGgoAAAA="]),
    "missing image file": ('<img src="gone.png">', ["console error", "image not decoded: file://"]),
    "link to a missing anchor": ('<a href="#nowhere">x</a>', ["link to a missing anchor: #nowhere"]),
    "console error": ('<script>console.error("boom")</script>', ["console error: boom"]),
    "uncaught exception": ('<script>throw new Error("kaput")</script>',
                           ["uncaught exception: Error: kaput"]),
    "remote image": ('<img src="https://example.org/a.png">',
                     ["non-local request: https://example.org/a.png", "image not decoded"]),
    "missing id in another page": ('<a href="other.html#there">x</a>',
                                   ["broken link: other.html#there (no id 'there' in other.html)"]),
    "missing page": ('<a href="notebooks/gone.html#x">x</a>',
                     ["broken link: notebooks/gone.html#x (no file"]),
}


def write_site(folder: Path, body: str) -> Path:
    """An HTML page in `folder` with a decodable 2 x 3 image and a second page beside it."""
    PILImage.new("RGB", (2, 3), "red").save(folder / "pixel.png")
    (folder / "other.html").write_text('<html><body><p id="here">here</p></body></html>')
    page = folder / "page.html"
    page.write_text(body, encoding="utf-8")
    return page


def test_browser_finds_nothing_wrong_with_a_sound_page(browser, tmp_path):
    page = browser.check(write_site(tmp_path, GOOD_PAGE), tmp_path / "shot.png")
    assert page.problems() == []
    assert page.images[0].width == 2 and page.images[0].height == 3
    assert [link.href for link in page.internal_links] == ["#top-heading"]
    assert [(link.href, link.resolves) for link in page.file_links] == [("other.html#here", True)]
    assert page.tables == [[["A", "B"], ["1", "2"]]]
    assert page.captions == ["Figure 1A: a panel"]
    assert "Hello" in page.text and "console" not in page.text
    assert page.screenshot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("case", BROKEN_PAGES)
def test_browser_reports_a_broken_page(browser, tmp_path, case):
    body, expected = BROKEN_PAGES[case]
    problems = browser.check(write_site(tmp_path, f"<html><body>{body}</body></html>")).problems()
    for fragment in expected:
        assert any(fragment in problem for problem in problems), (fragment, problems)


def test_axe_finds_what_a_reader_cannot_use(axe, browser, tmp_path):
    body = ('<main><h1>T</h1><p style="color:#aaa">faint text</p><img src="pixel.png">'
            '<a href="#x"></a></main><p>outside any landmark</p>')
    page = browser.check(write_site(tmp_path, f'<html lang="en"><head><title>t</title></head>'
                                              f"<body>{body}</body></html>"))
    rules = {violation.rule for violation in page.violations}
    assert {"color-contrast", "image-alt", "link-name", "region"} <= rules, rules
    good = browser.check(write_site(tmp_path, GOOD_PAGE.replace("<body>", '<body><main>')
                                    .replace("</body>", "</main></body>")
                                    .replace("<html>", '<html lang="en">')))
    assert good.violations == [], [str(v) for v in good.violations]


def test_browser_blocks_requests_before_they_leave(browser, tmp_path):
    hits = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        body = f'<img src="{url}/img.png"><script>fetch("{url}/fetch")</script>'
        page = browser.check(write_site(tmp_path, f"<html><body>{body}</body></html>"))
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert f"{url}/img.png" in page.remote_requests and f"{url}/fetch" in page.remote_requests


def typst_pdf(folder: Path, body: str, page: str = 'numbering: "1"') -> Path:
    """A PDF compiled by Typst, with the report's paper size and margins."""
    import typst

    source = folder / "doc.typ"
    source.write_text(f'#set page(paper: "a4", margin: (x: {MARGINS.left}cm, y: {MARGINS.top}cm), '
                      f"{page})\n{body}\n", encoding="utf-8")
    path = folder / "doc.pdf"
    path.write_bytes(typst.compile(str(source)))
    return path


@pytest.fixture
def poppler():
    """Skip (or fail, under JAKISURVEY_REQUIRE_TOOLS=1) without poppler-utils."""
    require(pdfcheck.missing_tools(), pdfcheck.REQUIRE_ENV)


def test_pdf_sound_pages_pass_and_page_numbers_are_allowed(poppler, tmp_path):
    check = pdfcheck.check_pdf(typst_pdf(tmp_path, "#lorem(900)"), MARGINS)
    assert check.pages == 2
    assert check.footer_text == {1: "1", 2: "2"}
    assert check.problems() == []
    assert check.contains(" ".join(check.flat.split()[:40]))


@pytest.mark.parametrize("body, page, expected", [
    (f"Text.\n#place(top + left, dx: {0.5 - MARGINS.left}cm, dy: {0.5 - MARGINS.top}cm, "
     "rect(width: 1cm, height: 1cm, fill: black))",
     'numbering: "1"', ["page 1: ink in the top/left margin (x 0.5-1.5 cm, y 0.5-1.5 cm)"]),
    ("SHA-256: `" + "8528f67556935e7c" * 8 + "`",   # an unbreakable word, as a hash in a table
     'numbering: "1"', ["page 1: ink in the right margin"]),
    ("Before.\n#pagebreak()\n#pagebreak()\nAfter.", 'numbering: "1"', ["page 2: blank"]),
    ("Text.", "footer: [Confidential]", ["page 1: 'Confidential' in the bottom margin",
                                          "page 1: ink in the bottom margin"]),
    ("#counter(page).update(5)\nText.", 'numbering: "1"', ["page 1: '5' in the bottom margin",
                                                           "page 1: ink in the bottom margin"]),
], ids=["margin box", "off the page", "blank page", "footer text", "wrong page number"])
def test_pdf_reports_a_broken_page(poppler, tmp_path, body, page, expected):
    problems = pdfcheck.check_pdf(typst_pdf(tmp_path, body, page), MARGINS).problems()
    for fragment in expected:
        assert any(problem.startswith(fragment) for problem in problems), (fragment, problems)


def test_pdf_text_is_read_across_line_breaks():
    assert pdfcheck.flatten("improve\u00ad\nment of steroid-\nsparing\n\nagents\u2060") == \
        "improvement of steroid-sparing agents"


def test_missing_tools_skip_or_fail(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.delenv("JAKISURVEY_CHROMIUM", raising=False)
    assert "no Chromium found" in browsercheck.missing_browser()
    assert "pdftoppm and pdftotext not found" in pdfcheck.missing_tools()
    monkeypatch.setenv("JAKISURVEY_AXE", "/nonexistent/axe.min.js")
    assert "axe-core not found" in browsercheck.missing_axe()
    monkeypatch.delenv(browsercheck.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        require(browsercheck.missing_browser(), browsercheck.REQUIRE_ENV)
    monkeypatch.setenv(browsercheck.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="JAKISURVEY_REQUIRE_TOOLS=1 requires it"):
        require(browsercheck.missing_browser(), browsercheck.REQUIRE_ENV)
