"""The tracked-changes revision (render.revision) on small hand-made report notebooks."""

from __future__ import annotations

import base64
import io
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from PIL import Image

from jakisurvey.render import quarto
from jakisurvey.render.revision import CHANGES_TAG, write_revision
from outputcheck.docx import read_docx
from helpers import ROOT

pytestmark = pytest.mark.slow   # runs pandoc

CONFIG = ROOT / "_quarto.yml"


def png(colour: tuple[int, int, int]) -> str:
    """A small PNG of one colour, base64 as in a notebook output."""
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), colour).save(buffer, format="PNG", dpi=(200, 200))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def markdown_output(text: str):
    return new_output("display_data", data={"text/markdown": text, "text/plain": "<md>"},
                      metadata={})


def report(n: int = 229, share: str = "77% (114/148)", rows: tuple = ("France | 4", "Spain | 4"),
           sentence: str = "Users were asked once.", colour=(31, 95, 153),
           changes: str | None = None) -> nbformat.NotebookNode:
    """A report notebook: title, a paragraph with numbers, a table, a figure, prose."""
    table = "| Country | n |\n|---|---|\n" + "".join(f"| {row} |\n" for row in rows)
    cells = [new_raw_cell('---\ntitle: "Test report"\n---'),
             new_markdown_cell(f"# Summary\n\nRespondents: **{n}** of 1272 invited. {sentence}")]
    if changes is not None:
        cells.append(new_markdown_cell(f"# Changes since the previous run\n\n{changes}",
                                       metadata={"tags": [CHANGES_TAG]}))
    cells += [
        new_code_cell("#| label: claims\nshow()", outputs=[markdown_output(
            f"Improvement: {share}.\n\n{table}")]),
        new_code_cell('#| label: figure-1a\n#| fig-cap: "Figure 1A: Respondents per country."\n'
                      '#| fig-alt: "A map."\nmap()', outputs=[new_output(
                          "display_data", data={"image/png": png(colour), "text/plain": "<F>"},
                          metadata={})]),
        new_markdown_cell("## Methods\n\nShares are of those who answered."),
    ]
    return new_notebook(cells=cells, metadata={"title": "Test report"})


def revise(tmp_path, old, new):
    """write_revision on two notebooks; what it returned and the folder it wrote to."""
    nbformat.write(old, tmp_path / "old.ipynb")
    nbformat.write(new, tmp_path / "new.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    return write_revision(tmp_path / "old.ipynb", tmp_path / "new.ipynb", out, CONFIG), out


def test_nothing_changed_writes_no_revision(tmp_path):
    said, out = revise(tmp_path, report(changes="No result changed."),
                       report(changes="Everything is as it was."))
    assert said is None and list(out.iterdir()) == []      # the changes section does not count


def test_the_quarto_copy_of_a_report_is_the_same_report(tmp_path):
    said, out = revise(tmp_path, quarto.quarto_notebook(report()), report())
    assert said is None and list(out.iterdir()) == []


@pytest.fixture(scope="module")
def revision(tmp_path_factory):
    """One revision: a number, a share, a table cell, a row added and one removed, a sentence
    reworded, a figure redrawn."""
    folder = tmp_path_factory.mktemp("revision")
    old = report()
    new = report(n=230, share="78% (115/148)", rows=("France | 5", "Italy | 1"),
                 sentence="Users were asked twice.", colour=(200, 120, 20))
    said, out = revise(folder, old, new)
    return {"said": said, "docx": read_docx(out / "changes.docx"), "out": out,
            "html": (out / "changes.html").read_text(encoding="utf-8")}


def test_exactly_the_changed_words_are_tracked_changes(revision):
    assert revision["said"] == []
    assert revision["docx"].broken() == []
    assert revision["docx"].marks == [
        ("del", "229"), ("ins", "230"),                      # in bold, inside the emphasis
        ("del", "once."), ("ins", "twice."),                 # a sentence reworded
        ("del", "77%"), ("ins", "78%"),                      # word by word: the share ...
        ("del", "(114/148)."), ("ins", "(115/148)."),        # ... and its n/N
        ("del", "4"), ("ins", "5"),                          # a table cell
        ("del", "Spain"), ("del", "4"),                      # a row removed
        ("ins", "Italy"), ("ins", "1"),                      # a row added
        ("del", ""), ("ins", ""),                            # the figure: old image, new image
    ]


def test_accepting_gives_the_new_text_rejecting_the_old(revision):
    accepted, rejected = (revision["docx"].text(view) for view in ("accepted", "rejected"))
    assert "Respondents: 230 of 1272 invited. Users were asked twice." in accepted
    assert "Respondents: 229 of 1272 invited. Users were asked once." in rejected
    assert "France | 5\nItaly | 1" in accepted and "Spain" not in accepted
    assert "France | 4\nSpain | 4" in rejected and "Italy" not in rejected
    assert "Shares are of those who answered." in accepted and "Shares are" in rejected


def test_a_changed_figure_is_shown_old_beside_new(revision):
    figure = [p for p in revision["docx"].paragraphs if p.pictures]
    assert len(figure) == 1 and figure[0].pictures == ["A map.", "A map."]
    html = revision["html"]
    assert html.count("<del><img") == 1 and html.count("<ins><img") == 1
    assert html.count('aria-label="A map."') == 2 and html.count("width:48") == 2
    assert "Figure 1A: Respondents per country." in html


def test_the_html_view_marks_the_same_changes(revision):
    html = revision["html"]
    assert "<del>229</del><ins>230</ins>" in html
    assert "<del>once.</del><ins>twice.</ins>" in html
    assert "Tracked changes" in html and "<main>" in html


def test_an_unreadable_old_report_writes_nothing(tmp_path):
    (tmp_path / "old.ipynb").write_text("{ not json")
    nbformat.write(report(), tmp_path / "new.ipynb")
    said = write_revision(tmp_path / "old.ipynb", tmp_path / "new.ipynb", tmp_path, CONFIG)
    assert said and "cannot be read" in said[0]
    assert not (tmp_path / "changes.docx").exists()
    assert json.loads((tmp_path / "new.ipynb").read_text())["cells"]


def test_the_revision_page_is_accessible(revision):
    from outputcheck import browser as browsercheck
    from outputcheck import require

    require(browsercheck.missing_browser(), browsercheck.REQUIRE_ENV)
    require(browsercheck.missing_axe(), browsercheck.REQUIRE_ENV)
    with browsercheck.Browser(axe=browsercheck.find_axe(), timeout=60) as browser:
        page = browser.check(revision["out"] / "changes.html")
    assert page.problems() == [] and page.violations == [], [str(v) for v in page.violations]
