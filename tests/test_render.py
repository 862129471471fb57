"""Tests for jakisurvey.render: the pandoc renderer, notebook views, and parity with Quarto."""

from __future__ import annotations

import base64
import difflib
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from PIL import Image
from pypdf import PdfReader

from jakisurvey import notebook, render
from jakisurvey.markdown import escape
from jakisurvey.render import cells, config, pandoc, quarto

from helpers import assert_same_text, need, reading_text, visible_text

pytestmark = pytest.mark.slow   # runs the renderers

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_quarto.yml"
# The one warning the Quarto 1.10 build of ../shared/quarto prints (the README explains it).
KNOWN_QUARTO_WARNINGS = re.compile(r"^WARN: typst-gather analyze failed")

TITLE = "JAKi survey: test report"
CAPTION = "Figure 1A: Respondents per country."
ALT = "World map; most respondents are in the USA"
HOSTILE = 'Figure 9: <b>bold</b> & *star* $x$ [x](javascript:alert(1)) "q"'
HOSTILE_ALT = 'Map <img src=x onerror=alert(2)> & "quoted" [y](javascript:alert(3))'
TABLE = ("**2 of 2** claims reproduced.\n\n| Claim | Published | Reproduced |\n|---|---|---|\n"
         "| Respondents | 229 | 229 |\n| Response rate | 18% | 18% (229/1272) |")
BANNER = ("::: {.callout-warning .synthetic-banner}\n**Synthetic data.** Not the study's records."
          "\n:::")


# ------------------------------------------------------------------ helpers


def _png(size: tuple[int, int] = (1339, 300)) -> str:
    """A solid blue PNG, 170 mm wide at 200 dpi (a two-column figure as the report embeds it),
    base64-encoded as in a notebook output."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (31, 95, 153)).save(buffer, format="PNG", dpi=(200, 200))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _code(source: str, outputs: list | None = None, cell_id: str | None = None, tags=()):
    cell = new_code_cell(source, execution_count=1, outputs=outputs or [])
    if cell_id:
        cell.id = cell_id
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _result(data: dict, kind: str = "execute_result"):
    extra = {"execution_count": 1} if kind == "execute_result" else {}
    return new_output(kind, data=data, metadata={}, **extra)


def _markdown(text: str) -> dict:
    return {"text/markdown": text, "text/plain": "<IPython.core.display.Markdown object>"}


def sample_notebook(caption: str = CAPTION) -> nbformat.NotebookNode:
    """A small report with what the real one uses: front matter, banner, table, figure, text."""
    cells = [
        new_raw_cell(f"---\ntitle: {json.dumps(TITLE)}\n---"),
        new_markdown_cell("# Summary\n\nFollow @CARRA_Org. See [Figure 1A](#figure-1a) and "
                          "[the claims](#claims); code in "
                          "[the notebook](notebooks/00_summary.html)."),
        _code('records = "/home/someone/records.csv"', tags=["injected-parameters"]),
        _code("section.synthetic_banner()", [_result(_markdown(BANNER))], "banner"),
        _code("#| label: claims\nsection.claims()", [_result(_markdown(TABLE))], "claims-cell"),
        new_markdown_cell("## Geography\n\nFigure 1A maps the counts."),
        _code(f"#| label: figure-1a\n#| fig-cap: {json.dumps(caption)}\n"
              f"#| fig-alt: {json.dumps(ALT)}\nsection.figure_map()",
              [_result({"image/png": _png(), "text/plain": "<Figure>"}, "display_data")], "map"),
        _code("print('hello stdout')",
              [new_output("stream", name="stdout", text="hello stdout\n")]),
        _code("#| echo: true\nlen(respondents)", [_result({"text/plain": "229"})]),
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernel,
                                               "language_info": {"name": "python"}})


def _fonts(pdf: Path) -> set[str]:
    """Names of the fonts embedded in a PDF, without subset prefix and encoding suffix."""
    return {re.sub(r"^/([A-Z]{6}\+)?|-Identity-H$", "", str(font["/BaseFont"]))
            for page in PdfReader(pdf).pages for font in page["/Resources"]["/Font"].values()}


def _figure_width_fraction(pdf: Path) -> float:
    """Width of the widest blue run on the first page, as a fraction of the page width."""
    need("pdftoppm")
    png = subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "30", "-png", str(pdf)],
                         capture_output=True, check=True).stdout
    page = Image.open(io.BytesIO(png)).convert("RGB")
    blue = [[x for x in range(page.width)
             if max(abs(c - b) for c, b in zip(page.getpixel((x, y)), (31, 95, 153))) < 12]
            for y in range(page.height)]
    return max((row[-1] - row[0] + 1 for row in blue if row), default=0) / page.width


# ----------------------------------------------------------------- fixtures


def _render(nb: nbformat.NotebookNode, folder: Path, renderer: str) -> dict:
    """Render a notebook as report.ipynb in folder; the outputs' text and paths."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "report.ipynb")
    warnings = render.render_report(folder / "report.ipynb", folder / "out", renderer, CONFIG)
    html = (folder / "out" / "report.html").read_text(encoding="utf-8")
    return {"html": html, "pdf": folder / "out" / "report.pdf", "warnings": warnings,
            "left": sorted(p.name for p in folder.iterdir())}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """The sample rendered by the pandoc renderer."""
    return _render(sample_notebook(), tmp_path_factory.mktemp("pandoc"), "pandoc")


@pytest.fixture(scope="module")
def quarto_rendered(tmp_path_factory) -> dict:
    """The sample rendered by Quarto."""
    need("quarto")
    return _render(sample_notebook(), tmp_path_factory.mktemp("quarto"), "quarto")


# ------------------------------------------------------------ cells -> Markdown


def test_cell_options_parse_and_strip():
    source = '#| echo: false\n#| fig-cap: "A: b"\n#| label: fig-x\nx = 1\n#| not: option'
    options, code = notebook.cell_options(source)
    assert options == {"echo": False, "fig-cap": "A: b", "label": "fig-x"}
    assert code == "x = 1\n#| not: option"
    assert notebook.cell_options("x = 1") == ({}, "x = 1")


def test_invalid_cell_options_name_the_cell(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# T"),
                             _code("#| fig-cap: Map: responses by country\nplot()")])
    with pytest.raises(render.RenderError, match=r"cell 1 .*fig-cap: Map: responses"):
        cells.notebook_markdown(nb, tmp_path / "images", echo=False)
    with pytest.raises(notebook.OptionsError, match="not 'key: value' lines"):
        notebook.cell_options("#| echo false\nx = 1")
    bad_label = new_notebook(cells=[_code("#| label: figure 1a\nplot()",
                                          [_result(_markdown("x"))])])
    with pytest.raises(render.RenderError, match="cell 0 .*label 'figure 1a' must be letters"):
        cells.notebook_markdown(bad_label, tmp_path / "images", echo=False)


def test_markdown_follows_quarto_rules(tmp_path):
    md = cells.notebook_markdown(sample_notebook(), tmp_path / "images", echo=False)
    assert md.startswith(f"---\ntitle: {json.dumps(TITLE)}\n---\n\n# Summary")  # front matter
    assert "#|" not in md and "IPython.core.display" not in md
    assert "section.claims()" not in md and "/home/someone" not in md  # echo off by default
    assert f"::: {{#claims .cell-output}}\n{TABLE}\n:::" in md  # label -> id of the output
    caption = escape("Figure 1A: Respondents per country.")   # literal text, escaped
    assert (f'::: {{#figure-1a .cell-output}}\n![{caption}]'
            f'(images/1.png){{fig-alt="{ALT}"}}\n:::') in md  # full width: no width=
    assert "```{.cell-output .cell-output-stdout}\nhello stdout\n```" in md
    assert "```{.python .cell-code}\nlen(respondents)\n```\n\n```{.cell-output " \
           ".cell-output-display}\n229\n```" in md  # echo: true shows code
    assert (tmp_path / "images" / "1.png").read_bytes().startswith(b"\x89PNG")
    echoed = cells.notebook_markdown(sample_notebook(), tmp_path / "more", echo=True)
    assert "```{.python .cell-code}\nsection.claims()\n```" in echoed


def test_captions_and_alt_text_are_literal_text(tmp_path):
    nb = sample_notebook(caption=HOSTILE)
    nb.cells[6].source = nb.cells[6].source.replace(json.dumps(ALT), json.dumps(HOSTILE_ALT))
    nbformat.write(nb, tmp_path / "report.ipynb")
    render.render_report(tmp_path / "report.ipynb", tmp_path, "pandoc", CONFIG)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    shown = ("Figure 9: &lt;b&gt;bold&lt;/b&gt; &amp; *star* $x$ [x](javascript:alert(1)) "
             "&quot;q&quot;")
    assert f"<figcaption>{shown}</figcaption>" in page
    assert ('alt="Map &lt;img src=x onerror=alert(2)&gt; &amp; &quot;quoted&quot; '
            '[y](javascript:alert(3))"') in page
    assert "javascript:" not in re.sub(r"<figcaption>.*?</figcaption>|(alt|aria-label)=\"[^\"]*\"",
                                       "", page)
    assert "<b>bold" not in page and "<em>star" not in page and "<img src=x" not in page
    source, _ = pandoc.markdown_to_typst(cells.notebook_markdown(nb, tmp_path / "i", echo=False),
                                         tmp_path, {})
    caption = re.search(r"caption: \[\s*(.*?)\s*\]\s*\)", source, re.S)[1]
    assert "#link" not in caption and "#emph" not in caption and "$x$" not in caption
    text = reading_text(tmp_path / "report.pdf")
    assert 'Figure 9: <b>bold</b> & *star* $x$ [x](javascript:alert(1)) "q"' in text


def test_quarto_sees_literal_captions_and_typst_anchors():
    nb = sample_notebook(caption=HOSTILE)
    nb.cells.append(_code("#| label: fig-x\n#| fig-cap: Crossref\nplot()"))
    staged = quarto.quarto_notebook(nb)
    figure = next(c for c in staged.cells if "figure_map" in c.source)
    options, code = notebook.cell_options(figure.source)
    assert options == {"label": "figure-1a", "fig-cap": escape(HOSTILE),
                       "fig-alt": ALT}
    assert code == "section.figure_map()"
    anchors = [c.source for c in staged.cells if c.cell_type == "markdown" and "=typst" in c.source]
    assert anchors == ['```{=typst}\n#metadata("claims") <claims>\n```',
                       '```{=typst}\n#metadata("figure-1a") <figure-1a>\n```']  # not fig-x
    assert len({c.id for c in staged.cells}) == len(staged.cells)
    assert nb.cells[6].source.startswith("#| label: figure-1a")  # the original is untouched


# --------------------------------------------------------- the pandoc renderer


def test_html_report(rendered):
    html = rendered["html"]
    assert rendered["left"] == ["out", "report.ipynb"]  # nothing left beside the notebook
    assert sorted(p.name for p in rendered["pdf"].parent.iterdir()) == ["report.docx", "report.html",
                                                                        "report.pdf"]
    assert re.search(r'<div id="claims" class="cell-output">\s*<p><strong>2 of 2</strong>', html)
    assert re.search(r'<div id="figure-1a" class="cell-output">\s*<figure>\s*<img [^>]*'
                     rf'src="data:image/png;base64,[^"]+" alt="{ALT}" />\s*'
                     rf'<figcaption>{CAPTION}</figcaption>', html)
    assert "Figure 1:" not in html  # no number of its own before the caption
    assert '<a href="#figure-1a">Figure 1A</a>' in html and "Follow @CARRA_Org." in html
    assert re.search(r'<div class="callout-warning synthetic-banner callout">\s*'
                     r'<div class="callout-title">\s*<strong>Warning</strong>', html)  # as Quarto's
    assert f"<title>{TITLE}</title>" in html and f'<h1 class="title">{TITLE}</h1>' in html
    assert 'lang="en-GB"' in html and '<h2 id="toc-title">Table of contents</h2>' in html
    assert "--font-body: system-ui," in html and "document-css" not in html
    assert "section.claims()" not in visible_text(html) and "len(respondents)" in visible_text(html)


def test_html_is_self_contained(rendered):
    html = rendered["html"]
    assert "<script" not in html and "mathjax" not in html.lower()
    assert quarto.remote_resources(html) == []
    assert '<a href="notebooks/00_summary.html">the notebook</a>' in html  # links are fine


def test_remote_resources_are_refused_before_pandoc_fetches_them(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# T\n\n![x](https://example.org/a.png) and "
                          "[a link](https://example.org)"),
        _code("show()", [_result({"text/markdown": '<p><img src="//example.org/b.png"></p>'})]),
    ])
    nbformat.write(nb, tmp_path / "report.ipynb")
    with pytest.raises(render.RenderError, match=r"remote resources.*: "
                       r"https://example\.org/a\.png, //example\.org/b\.png$"):
        render.render_report(tmp_path / "report.ipynb", tmp_path / "out", "pandoc", CONFIG)
    assert not (tmp_path / "out" / "report.html").exists()


def test_remote_resources_are_found_in_embedded_stylesheets():
    theme = ('<link href="data:text/css,%40import%20%22https%3A%2F%2Ffonts%2Egoogleapis%2Ecom%2F'
             'css2%3Ffamily%3DSource%22%3Aroot%7B%7D" rel="stylesheet">')
    assert quarto.remote_resources(theme) == ["https://fonts.googleapis.com/css2?family=Source"]
    assert quarto.remote_resources('<img src="//x.org/a.png"><a href="https://x.org">') == [
        "//x.org/a.png"]


def test_pdf(rendered):
    text = reading_text(rendered["pdf"])
    assert f"{TITLE} Table of contents Summary Geography Summary Follow @CARRA_Org." in text
    assert "Warning Synthetic data. Not the study's records." in text.replace("’", "'")
    assert "Claim Published Reproduced Respondents 229 229 Response rate 18% 18% (229/1272)" in text
    assert f"{CAPTION} hello stdout len(respondents) 229" in text  # no "Figure 1:"
    assert {"LibertinusSerif-Regular", "DejaVuSansMono"} <= _fonts(rendered["pdf"])  # _quarto.yml
    assert _figure_width_fraction(rendered["pdf"]) == pytest.approx(170 / 210, abs=0.015)  # own size


def test_typst_follows_quarto_yml(tmp_path):
    (tmp_path / "style").mkdir()
    (tmp_path / "style" / "extra.typ").write_text("// EXTRA-HEADER\n")
    (tmp_path / "_quarto.yml").write_text(
        "project: {type: default, pre-render: make-notebooks}\nlang: en-GB\nexecute: {echo: true}\n"
        "format:\n  html: {toc: true, toc-depth: 1}\n  typst: {papersize: a4, margin: {x: 2cm}, "
        "toc: true, toc-depth: 1, mainfont: Libertinus Serif,\n"
        "          include-in-header: style/extra.typ}\n")
    settings = config.load_config(tmp_path / "_quarto.yml")
    assert config.format_options(settings, "typst") == {
        "papersize": "a4", "margin": {"x": "2cm"}, "toc": True, "toc-depth": 1, "lang": "en-GB",
        "mainfont": "Libertinus Serif", "include-in-header": str(tmp_path / "style" / "extra.typ")}
    assert config.format_options(settings, "html") == {"lang": "en-GB", "toc": True, "toc-depth": 1}
    assert config.echo_default(settings) is True and config.echo_default({}) is True
    typst_options = config.format_options(settings, "typst")
    source, _ = pandoc.markdown_to_typst("# Part\n", tmp_path, typst_options)
    assert "// EXTRA-HEADER" in source and 'paper: "a4"' in source and 'region: "GB"' in source
    assert "#outline(title: [Table of contents], depth: 1)" in source
    staged = config.staged_config(settings, "report.ipynb")
    assert staged["project"] == {"type": "default", "render": ["report.ipynb"]}
    assert staged["execute"] == {"echo": True, "enabled": False}
    assert staged["format"]["typst"]["include-in-header"] == str(tmp_path / "style" / "extra.typ")


def test_project_config_is_read(tmp_path):
    settings = config.load_config(CONFIG)
    assert config.echo_default(settings) is False
    typst_options = config.format_options(settings, "typst")
    assert Path(typst_options["include-in-header"]).is_file()
    assert typst_options["mainfont"] == "Libertinus Serif"
    (tmp_path / "bad.yml").write_text("format: [html\n")
    with pytest.raises(render.RenderError, match="bad.yml: not valid YAML"):
        config.load_config(tmp_path / "bad.yml")


def test_long_words_in_tables_stay_on_the_page(tmp_path):
    import typst

    name = "jakisurvey_respondent_level_export_from_redcap_2025_03_01_final_v2.csv"
    digest = "3f" * 32
    table = (f"| file | sha256 | n |\n|:--|:--|--:|\n| `{name}` | `{digest}` | 1 |\n"
             f"| {name} | x | 2 |\n")
    options = config.format_options(config.load_config(CONFIG), "typst")
    markdown = f"Prose `{name}` and `{digest}`.\n\n{table}"
    source, _ = pandoc.markdown_to_typst(markdown, tmp_path, options)
    page = Image.open(io.BytesIO(typst.compile(source.encode(), format="png", ppi=40))).convert("L")
    right = float(options["margin"]["x"].removesuffix("cm")) - 0.2   # less 2 mm of tolerance
    margin = page.crop((page.width - int(page.width * right / 21), 0, page.width, page.height))
    assert margin.getextrema() == (255, 255)  # nothing in the right margin


# ------------------------------------------------------------- notebook views


def test_notebook_view_anchors_every_cell(tmp_path):
    nb = sample_notebook()
    nb.cells = nb.cells[1:]  # a section notebook: no front matter
    for index, cell in enumerate(nb.cells):
        cell.id = "improvement" if index == 3 else f"c{index}"
    nbformat.write(nb, tmp_path / "02_experience.ipynb")
    render.render_notebook_view(tmp_path / "02_experience.ipynb", tmp_path / "02_experience.html",
                                CONFIG)
    view = (tmp_path / "02_experience.html").read_text(encoding="utf-8")
    starts = [m.start() for c in nb.cells
              for m in re.finditer(f'<div id="cell-{c.id}" class="cell">', view)]
    assert len(starts) == len(nb.cells) and starts == sorted(starts)  # each once, in order
    improvement = view[starts[3]:starts[4]]
    assert "section.claims()" in visible_text(improvement) and "2 of 2" in improvement
    for code in ("records = ", "section.synthetic_banner()", "section.figure_map()",
                 "print('hello stdout')"):
        assert code in visible_text(view)
    assert "#|" not in view and "<script" not in view and quarto.remote_resources(view) == []
    assert "<title>Summary</title>" in view and 'id="TOC"' not in view


# ---------------------------------------------------------- renderer choice


def test_choose_renderer(monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.RenderError, match="quarto not on PATH"):
        render.choose_renderer("quarto")
    with pytest.raises(render.RenderError, match="unknown renderer"):
        render.choose_renderer("latex")
    assert render.choose_renderer("auto") == render.choose_renderer("pandoc") == "pandoc"
    monkeypatch.setattr(render.shutil, "which", lambda name: "/usr/bin/quarto")
    assert render.choose_renderer("auto") == "quarto"


def test_renderer_versions_come_from_the_tools():
    import pypandoc
    import typst

    versions = render.renderer_versions("pandoc")
    assert versions == {"renderer": "pandoc", "pandoc": pypandoc.get_pandoc_version(),
                        "typst": typst.__version__}
    assert render.renderer_versions("pandoc") is versions  # asked once per process


def test_quarto_version(quarto_command):
    assert re.fullmatch(r"\{'renderer': 'quarto', 'quarto': '\d+\.\d+\.\d+'\}",
                        str(render.renderer_versions("quarto")))


# ------------------------------------------------------------------- Quarto


def test_quarto_report(quarto_rendered):
    html = quarto_rendered["html"]
    assert quarto_rendered["left"] == ["out", "report.ipynb"]  # no _quarto.yml, .quarto, ...
    assert [w for w in quarto_rendered["warnings"] if not KNOWN_QUARTO_WARNINGS.match(w)] == []
    assert re.search(r'<div id="claims" class="cell-output[^"]*"', html)
    assert re.search(r'<div id="figure-1a" class="quarto-figure[^"]*">\s*<figure[^>]*>\s*'
                     rf'<p><img [^>]*src="data:image/png;base64,[^"]+" class="[^"]*" alt="{ALT}"',
                     html)
    assert re.search(rf"<figcaption>\s*{CAPTION}\s*</figcaption>", html)
    assert quarto.remote_resources(html) == [] and "fonts.googleapis" not in html
    mainfont = yaml.safe_load(CONFIG.read_text())["format"]["html"]["mainfont"]
    assert f"--bs-body-font-family: {mainfont}" in unquote(html)  # in a data: stylesheet
    assert {"LibertinusSerif-Regular", "DejaVuSansMono"} <= _fonts(quarto_rendered["pdf"])
    assert _figure_width_fraction(quarto_rendered["pdf"]) == pytest.approx(170 / 210, abs=0.015)


def test_both_renderers_give_the_same_report(rendered, quarto_rendered):
    assert_same_text(visible_text(rendered["html"]), visible_text(quarto_rendered["html"]), "HTML")
    assert_same_text(reading_text(rendered["pdf"]), reading_text(quarto_rendered["pdf"]), "PDF")


def test_parity_check_catches_a_dropped_caption(quarto_rendered, tmp_path):
    broken = _render(sample_notebook(caption=""), tmp_path, "pandoc")
    for kind, text in (("HTML", visible_text), ("PDF", reading_text)):
        with pytest.raises(pytest.fail.Exception, match=f"{kind} differ: pandoc .*\n.*quarto .*"
                           "Figure1A:Respondentspercountry"):
            assert_same_text(text(broken[kind.lower()]), text(quarto_rendered[kind.lower()]), kind)
