"""Quarto's own way: `quarto render` at the project root gives the report `make report` gives.

The session fixture `quarto_project` copies the project and runs `quarto render` at its root, as
a Quarto user would (skipped where Quarto is not installed, failed in CI where it must be).
"""

from __future__ import annotations

import json
import re
import subprocess

from outputcheck.docx import read_docx
from helpers import ROOT, assert_same_text, reading_text, visible_text


def test_quarto_render_at_the_root_writes_the_report(quarto_project):
    project, done = quarto_project
    out = project / "_output"
    for name in ("report.html", "report.pdf", "report.docx", "results.json", "changes.json", "run.json",
                 "private/results.json", "notebooks/04_indications.html", ".jakisurvey-report.json"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["renderer"]["renderer"] == "quarto"
    assert re.fullmatch(r"1\.10\.\d+", run["renderer"]["quarto"])
    assert (project / "_build" / "report.html").is_file()          # what `quarto preview` serves
    warnings = [line for line in done.stderr.splitlines() if re.search(r"WARN|\[WARNING\]", line)]
    assert all("typst-gather" in line for line in warnings), warnings   # the one explained
    made = {p.name for p in project.iterdir()} - {p.name for p in ROOT.iterdir()}
    assert made <= {"_build", "_output", ".quarto", ".jakisurvey-cache"}, made
    for name in made:                                   # all of it ignored by git
        assert subprocess.run(["git", "check-ignore", "-q", name + "/"], cwd=ROOT).returncode == 0
    assert (project / ".gitignore").read_text() == (ROOT / ".gitignore").read_text()  # as is


def test_make_report_and_quarto_render_give_the_same_results(quarto_report, pandoc_report):
    for name in ("results.json", "private/results.json", "changes.json"):
        assert json.loads((quarto_report / name).read_text()) == \
            json.loads((pandoc_report / name).read_text()), name
    assert sorted(p.name for p in (quarto_report / "figures").iterdir()) == \
        sorted(p.name for p in (pandoc_report / "figures").iterdir())


def test_both_renderers_give_the_same_report(quarto_report, pandoc_report):
    assert_same_text(visible_text((pandoc_report / "report.html").read_text(encoding="utf-8")),
                     visible_text((quarto_report / "report.html").read_text(encoding="utf-8")),
                     "HTML")
    assert_same_text(reading_text(pandoc_report / "report.pdf"), reading_text(quarto_report / "report.pdf"),
                     "PDF")


def test_both_renderers_give_the_same_word_report(quarto_report, pandoc_report):
    pandoc_word, quarto_word = (read_docx(out / "report.docx") for out in (pandoc_report,
                                                                           quarto_report))
    assert_same_text(pandoc_word.text(), quarto_word.text(), "Word")
    assert pandoc_word.tables == [[[" ".join(c.split()) for c in row] for row in table]
                                  for table in quarto_word.tables]
    assert pandoc_word.figures == quarto_word.figures
    assert [p.style for p in pandoc_word.paragraphs if p.style.startswith(("Heading", "Title"))] \
        == [p.style for p in quarto_word.paragraphs if p.style.startswith(("Heading", "Title"))]


def test_shortcodes_in_input_text_are_shown_literally_by_quarto(quarto_command, tmp_path,
                                                                monkeypatch):
    """Quarto expands shortcodes where backslashes cannot stop it (front matter, code blocks)
    and drops the rest of a document at an unclosed one: in a study title, a table cell and a
    printed output they are text, in the HTML, the PDF and Word."""
    import nbformat

    from jakisurvey.assemble import assemble
    from jakisurvey.markdown import escape
    from jakisurvey.render import render_report

    monkeypatch.setenv("JAKISURVEY_PLANTED", "PLANTED-SECRET-VALUE")
    title = "Survey {{< env JAKISURVEY_PLANTED >}} {{< pagebreak >}} {{< meta title >}} >}}"
    claim = "Claim {{< env JAKISURVEY_PLANTED >}} {{% env JAKISURVEY_PLANTED %}} {{< unclosed"
    printed = "rule {{< env JAKISURVEY_PLANTED >}} and {{< unclosed"
    report = assemble([], title, {}, tmp_path / "report.ipynb")
    book = nbformat.read(report, as_version=4)
    shown = nbformat.v4.new_code_cell("t.show(...)", outputs=[
        nbformat.v4.new_output("display_data", data={"text/markdown": f"| {escape(claim)} |\n"
                                                     "|---|\n| 1 |"}),
        nbformat.v4.new_output("stream", name="stdout", text=printed + "\n")])
    book.cells += [shown, nbformat.v4.new_markdown_cell("The end of the report.")]
    nbformat.write(book, report)
    out = tmp_path / "out"
    render_report(report, out, "quarto", ROOT / "_quarto.yml")
    texts = {"HTML": visible_text((out / "report.html").read_text(encoding="utf-8")),
             "PDF": reading_text(out / "report.pdf"), "Word": read_docx(out / "report.docx").text()}
    for name, text in texts.items():
        text = " ".join(text.replace("\u2060", "").split())
        assert "PLANTED-SECRET-VALUE" not in text, name
        for literal in (title, claim, printed, "The end of the report."):
            assert literal in text, (name, literal, text[:600])
