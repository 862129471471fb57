"""Tests for jakisurvey.render: notebook -> Markdown -> HTML / Typst PDF without Quarto."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import (  # noqa: E402
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

from jakisurvey import render  # noqa: E402

CAPTION = "Respondents per country, world map"
ALT = "Choropleth world map; most respondents are in Europe"
TABLE_MD = "| Country | n |\n|:--|--:|\n| Italy | 12 |\n| Ukraine | 7 |\n"


def _png(figsize: tuple[float, float] = (4, 2.5)) -> str:
    """A small real PNG, base64-encoded as in a notebook output."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.bar(["Italy", "Ukraine", "Chile"], [12, 7, 3])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _code(source: str, outputs: list | None = None, tags: list[str] | None = None, count: int = 1):
    cell = new_code_cell(source, execution_count=count, outputs=outputs or [])
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _display(data: dict, kind: str = "display_data"):
    extra = {"execution_count": 1} if kind == "execute_result" else {}
    return new_output(kind, data=data, metadata={}, **extra)


def _text(html: str) -> str:
    """Visible text of an HTML page (syntax highlighting splits code into spans)."""
    return re.sub(r"<[^>]+>", "", html)


def _stream(text: str, name: str = "stdout"):
    return new_output("stream", name=name, text=text)


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Survey of JAK inhibitor use\n\nSee @fig-map and @tbl-countries, "
                          "and [CARRA](https://carragroup.org/)."),
        _code("seed = 1", tags=["parameters"]),
        _code("# Parameters\nseed = 20250301\n", tags=["injected-parameters"]),
        new_markdown_cell("::: {.synthetic-banner}\n**Synthetic data**: not real responses.\n:::"),
        _code(
            "#| echo: false\n#| label: tbl-countries\n#| tbl-cap: Respondents by country\n"
            "from IPython.display import Markdown\nMarkdown(table_md)",
            [_display({"text/markdown": TABLE_MD,
                       "text/plain": "<IPython.core.display.Markdown object>"}, "execute_result")],
        ),
        _code(
            f'#| label: fig-map\n#| fig-cap: "{CAPTION}"\n#| fig-alt: "{ALT}"\nplot_map(df)',
            [_display({"image/png": _png(), "text/plain": "<Figure size 400x250 with 1 Axes>"})],
        ),
        _code("plot_unlabelled()", [_display({"image/png": _png(), "text/plain": "<Figure>"})]),
        _code("print('hello stdout')", [_stream("hello stdout\n"), _stream("warn me\n", "stderr")]),
        _code("#| echo: true\nlen(df)", [_display({"text/plain": "229"}, "execute_result")]),
        _code("#| include: false\nsecret_setup = 1", [_stream("SETUP-NOISE\n")]),
        _code("removed_cell_code = 2", [_stream("REMOVED-OUTPUT\n")], tags=["remove-cell"]),
        _code("#| output: false\nquiet = 3", [_stream("QUIET-OUTPUT\n")]),
        _code("Markdown('x')", [_display({"text/plain": "<IPython.core.display.Markdown object>"})]),
        _code("1/0", [new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                 traceback=["\x1b[31mTraceback\x1b[0m"])]),
        new_raw_cell("Raw *markdown* cell text"),
        new_raw_cell("\\LaTeX only", metadata={"format": "text/latex"}),
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernel})


@pytest.fixture(scope="module")
def rendered(notebook, tmp_path_factory) -> dict:
    """Render the sample once: Markdown, HTML, Typst and PDF, plus the notebook view."""
    tmp = tmp_path_factory.mktemp("render")
    ipynb = tmp / "report.ipynb"
    nbformat.write(notebook, ipynb)
    html, pdf = render.render_with_pandoc(ipynb, tmp / "out")
    view = tmp / "view" / "report.view.html"
    render.render_notebook_view(ipynb, view)
    markdown = render.notebook_to_markdown(notebook, tmp / "md" / "images")
    return {
        "dir": tmp,
        "markdown": markdown,
        "html": html.read_text(encoding="utf-8"),
        "pdf": pdf.read_bytes(),
        "typ": render.markdown_to_typst(markdown, "Survey"),
        "view": view.read_text(encoding="utf-8"),
        "out_files": sorted(p.name for p in (tmp / "out").iterdir()),
    }


def test_cell_options_parse_and_strip():
    source = '#| echo: false\n#| fig-cap: "A: b"\n#| label: fig-x\nx = 1\n#| not: option'
    options, code = render.cell_options(source)
    assert options == {"echo": False, "fig-cap": "A: b", "label": "fig-x"}
    assert code == "x = 1\n#| not: option"


def test_invalid_cell_options_name_the_cell(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# T"),
                             _code("#| fig-cap: Map: responses by country\nplot()")])
    with pytest.raises(render.RenderError, match=r"cell 1 .*fig-cap: Map: responses"):
        render.notebook_to_markdown(nb, tmp_path / "images")
    with pytest.raises(render.RenderError, match="not 'key: value' lines"):
        render.cell_options("#| echo false\nx = 1")


def test_cell_options_none():
    assert render.cell_options("x = 1") == ({}, "x = 1")


def test_markdown_follows_quarto_rules(rendered):
    md = rendered["markdown"]
    assert "#|" not in md
    assert "IPython.core.display" not in md and "<Figure" not in md
    assert TABLE_MD.strip() in md and ": Respondents by country {#tbl-countries}" in md
    assert f'![{CAPTION}](images/fig-map-1.png){{#fig-map fig-alt="{ALT}" width=100%}}' in md
    assert "](images/cell-6-1.png){width=100%}" in md  # image without caption still emitted
    assert "hello stdout" in md and "warn me" not in md
    assert "```{.python .cell-code}\nlen(df)\n```" in md  # echo: true overrides the default
    assert "plot_map(df)" not in md and "seed = 20250301" not in md  # echo defaults to off
    for hidden in ("secret_setup", "SETUP-NOISE", "removed_cell_code", "REMOVED-OUTPUT", "QUIET-OUTPUT"):
        assert hidden not in md
    assert "ZeroDivisionError: division by zero" in md and "\x1b" not in md
    assert "Raw *markdown* cell text" in md and "LaTeX only" not in md
    assert (rendered["dir"] / "md" / "images" / "fig-map-1.png").read_bytes().startswith(b"\x89PNG")


def test_echo_shows_code(notebook, tmp_path):
    md = render.notebook_to_markdown(notebook, tmp_path / "img", echo=True)
    assert "```{.python .cell-code}\nplot_map(df)\n```" in md
    assert "secret_setup" not in md  # include: false wins over echo


def test_empty_markdown_output_with_table_caption(tmp_path):
    cell = _code("#| tbl-cap: Nothing\nMarkdown('')", [_display({"text/markdown": ""})])
    md = render.notebook_to_markdown(new_notebook(cells=[cell]), tmp_path / "images")
    assert "Nothing" not in md


def test_html_report(rendered):
    html = rendered["html"]
    assert rendered["out_files"] == ["report.html", "report.pdf"]  # no intermediates
    assert "#|" not in html and "IPython.core.display" not in html
    assert re.search(r"<table[^>]*>.*Italy.*</table>", html, re.S)
    assert "<caption>Table 1: Respondents by country</caption>" in html
    assert f"Figure 1: {CAPTION}" in html and f'alt="{ALT}"' in html
    assert 'href="#fig-map">Figure 1</a>' in html and 'href="#tbl-countries">Table 1</a>' in html
    assert '<div class="synthetic-banner">' in html
    assert "<title>Survey of JAK inhibitor use</title>" in html
    assert html.count("Survey of JAK inhibitor use") == 2  # <title> and title block, no duplicate h1
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">' in html
    assert "plot_map" not in _text(html) and "seed = 20250301" not in _text(html)


def test_html_is_self_contained(rendered):
    html = rendered["html"]
    assert "<script" not in html
    assert not re.search(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)=["']?https?://""", html)
    assert not re.search(r"""<img[^>]+src=["'](?!data:)""", html)
    assert "mathjax" not in html.lower()
    assert '<a href="https://carragroup.org/">CARRA</a>' in html  # hyperlinks are fine


def test_remote_resources_are_refused_before_pandoc_fetches_them(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# T\n\n![x](https://example.org/a.png) and [a link](https://example.org)"),
        _code("show()", [_display({"text/html": '<p><img src="//example.org/b.png"></p>'})]),
    ])
    nbformat.write(nb, tmp_path / "report.ipynb")
    with pytest.raises(render.RenderError, match=r"remote resources.*: "
                       r"https://example\.org/a\.png, //example\.org/b\.png$"):
        render.render_with_pandoc(tmp_path / "report.ipynb", tmp_path / "out")
    assert not (tmp_path / "out" / "report.html").exists()


def test_notebook_view_shows_every_cell(rendered):
    view = rendered["view"]
    text = _text(view)
    for code in ("plot_map(df)", "seed = 20250301", "secret_setup", "removed_cell_code", "quiet = 3"):
        assert code in text
    assert "#|" not in view and "IPython.core.display" not in view
    assert "<script" not in view and re.search(r'<img[^>]+src="data:image/png;base64,', view)
    assert "<title>Survey of JAK inhibitor use</title>" in view
    assert view.count("Survey of JAK inhibitor use") == 2  # <title> and title block, no duplicate h1


def test_typst_and_pdf(rendered):
    typ, pdf = rendered["typ"], rendered["pdf"]
    assert CAPTION in typ and '"images/fig-map-1.png"' in typ and "<fig-map>" in typ
    assert "#ref(<fig-map>);" in typ and 'paper: "a4"' in typ
    assert "#|" not in typ and "IPython" not in typ
    assert "#show raw.where(block: false): break-long" in typ
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_pdf_text(rendered):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(rendered["pdf"]))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert CAPTION in text and "Table 1: Respondents by country" in text
    assert "Ukraine 7" in text


def test_long_words_in_tables_stay_on_the_page():
    image = pytest.importorskip("PIL.Image")
    typst = pytest.importorskip("typst")
    name, digest = "jakisurvey_respondent_level_export_from_redcap_2025_03_01_final_v2.csv", "3f" * 32
    table = f"| file | sha256 | n |\n|:--|:--|--:|\n| `{name}` | `{digest}` | 1 |\n| {name} | x | 2 |\n"
    source = render.markdown_to_typst(f"Prose `{name}` and `{digest}`.\n\n{table}", "T")
    page = image.open(io.BytesIO(typst.compile(source.encode(), format="png", ppi=40))).convert("L")
    margin = page.crop((page.width - page.width // 10, 0, page.width, page.height))
    assert margin.getextrema() == (255, 255)  # nothing in the right margin


def test_render_report_dispatch(monkeypatch, tmp_path, notebook):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.RenderError, match="quarto not on PATH"):
        render.render_report(tmp_path / "report.ipynb", tmp_path / "out", renderer="quarto")
    with pytest.raises(render.RenderError, match="unknown renderer"):
        render.render_report(tmp_path / "report.ipynb", tmp_path / "out", renderer="latex")
    calls = []
    monkeypatch.setattr(render, "render_with_pandoc", lambda nb, out: calls.append((nb, out)))
    assert render.render_report(tmp_path / "report.ipynb", tmp_path / "out") == "pandoc"
    assert calls == [(tmp_path / "report.ipynb", tmp_path / "out")]
    monkeypatch.setattr(render.shutil, "which", lambda name: pytest.fail("looked up quarto"))
    assert render.render_report(tmp_path / "report.ipynb", tmp_path / "out", "pandoc") == "pandoc"


def test_render_report_prefers_quarto(monkeypatch, tmp_path):
    monkeypatch.setattr(render.shutil, "which", lambda name: "/usr/bin/quarto")
    projects = []
    monkeypatch.setattr(render, "render_with_quarto", lambda project: projects.append(project))
    (tmp_path / "report.html").write_text("<html></html>")
    assert render.render_report(tmp_path / "report.ipynb", tmp_path / "out") == "quarto"
    assert projects == [tmp_path]
    assert (tmp_path / "out" / "report.html").is_file()


def test_tall_figure_is_narrowed_to_fit_the_page(tmp_path):
    nb = new_notebook(cells=[_code("#| fig-cap: Tall\nplot()", [_display({"image/png": _png((2, 5))})])])
    md = render.notebook_to_markdown(nb, tmp_path / "images")
    width = int(re.search(r"width=(\d+)%", md).group(1))
    assert 45 <= width <= 60  # 1.3 / 2.5 of the text width


def test_stray_at_words_do_not_break_the_pdf(tmp_path, caplog):
    markdown = "Follow @CARRA_Org; see @fig-missing and [@smith2020].\n"
    render.render_pdf(markdown, tmp_path / "x.pdf", "At words", tmp_path)
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")
    assert "unresolved cross-reference @fig-missing" in caplog.text


def test_pandoc_path_follows_quarto_yml(tmp_path, notebook):
    (tmp_path / "_quarto.yml").write_text(
        "lang: en-GB\nexecute:\n  echo: true\nformat:\n  html: {toc: true, toc-depth: 1}\n"
        "  typst: {papersize: a4, margin: {x: 2.5cm, y: 2.5cm}, toc: true, fig-align: left}\n")
    assert render._quarto_options(tmp_path, "typst") == {
        "papersize": "a4", "margin": {"x": "2.5cm", "y": "2.5cm"}, "toc": True, "lang": "en-GB"}
    assert render._quarto_options(tmp_path, "html") == {"lang": "en-GB", "toc-depth": 1}
    typ = render.markdown_to_typst("## Section\n", "T", render._quarto_options(tmp_path, "typst"))
    assert "#outline(" in typ and "x: 2.5cm" in typ and 'region: "GB"' in typ
    nbformat.write(notebook, tmp_path / "report.ipynb")
    html, pdf = render.render_with_pandoc(tmp_path / "report.ipynb", tmp_path)
    page = html.read_text(encoding="utf-8")
    assert "plot_map(df)" in _text(page)  # echo: true from _quarto.yml
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en-GB" xml:lang="en-GB">' in page
    render.render_html("# Part\n\n## Detail\n", tmp_path / "toc.html", "T", tmp_path,
                       render._quarto_options(tmp_path, "html"))
    toc = re.search(r'<nav id="TOC".*?</nav>', (tmp_path / "toc.html").read_text(), re.S)[0]
    assert "Part" in toc and "Detail" not in toc  # toc-depth: 1
    (tmp_path / "toc.html").unlink()
    assert pdf.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "_quarto.yml", "report.html", "report.ipynb", "report.pdf"]
