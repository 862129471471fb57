"""What the notebooks display: input text escaped for Markdown, small cells hidden, figures."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from jakisurvey import figures, tables
from jakisurvey.countries import world_boundaries
from jakisurvey.stats import Proportion

HOSTILE = ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "<script>alert(1)</script>",
           "Cost between $500 and $1,000", "see @fig-1a", "{{< include /etc/passwd >}}",
           "**bold** _it_ `code` | bar", "&amp; &#60;", "H~2~O ^2^", "# heading", "a\\b",
           "\"quoted\" -- it's ... done"]


def pandoc_html(markdown: str) -> str:
    """pandoc's HTML for a Markdown text (pandoc ships with pypandoc-binary)."""
    import pypandoc

    return subprocess.run([pypandoc.get_pandoc_path(), "--from", "markdown", "--to", "html"],
                          input=markdown, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_input_text_is_literal_in_pandoc(text):
    html = pandoc_html(tables.escape(text))
    assert "<img" not in html and "<script" not in html and "href" not in html
    assert "<strong>" not in html and "<em>" not in html and "<code>" not in html
    assert "<sub>" not in html and "<sup>" not in html and "<h1" not in html
    assert "math" not in html and "cite" not in html
    import html as htmllib
    assert htmllib.unescape(pd.Series([html]).str.replace(r"<[^>]+>", "", regex=True)[0]).strip() \
        == " ".join(text.split())


def test_table_cells_are_escaped_but_markup_is_kept():
    frame = pd.DataFrame({"Item": ["<b>x</b>", tables.link("Improvement", "02_x.html#cell-a")],
                          "n": [3, 4]})
    table = tables.markdown_table(frame)
    assert table.splitlines()[:2] == ["| Item | n |", "|---|--:|"]
    assert "\\<b\\>x\\</b\\>" in table and "[Improvement](02_x.html#cell-a)" in table


def test_links_only_point_inside_the_report():
    with pytest.raises(ValueError):
        tables.link("x", "javascript:alert(1)")
    with pytest.raises(ValueError):
        tables.link("x", "https://example.org/#a")
    assert tables.link("[x]", "#cell-a") == "[\\[x\\]](#cell-a)"


def test_suppression_of_small_cells():
    assert tables.count(2, 3) == "<3" and tables.count(3, 3) == "3" and tables.count(0, 3) == "0"
    assert tables.share(Proportion(2, 40), 3) == "<3 (of 40)"
    assert tables.share(Proportion(3, 40), 3) == "8% (3/40)"
    assert tables.share(Proportion(2, 40), 1) == "5% (2/40)"
    assert tables.interval(Proportion(2, 40), 3) == ""


def test_country_table_suppresses_below_min_cell(survey_of, resolver):
    from jakisurvey import stats

    survey = survey_of([{"country": "USA", "role": 1}] * 3 + [{"country": "Chile", "role": 1}])
    counts = stats.country_counts(survey)
    assert "| United States | USA | 3 |" in tables.country_table(counts, resolver, 2)
    assert "| Chile | CHL | \\<2 |" in tables.country_table(counts, resolver, 2)
    assert "| Chile | CHL | 1 |" in tables.country_table(counts, resolver, 1)


def test_map_leaves_out_small_and_unknown_cells():
    counts = pd.Series({"USA": 5, "CHL": 1, "Unknown": 4})
    assert figures.map_counts(counts, 2).to_dict() == {"USA": 5}
    assert figures.map_bins(2) == [2, 6, 11, 21, 51]
    assert figures.bin_labels([1, 2, 6]) == ["1", "2-5", "6+"]


def test_world_map_draws(tmp_path):
    figures.use_style()
    fig = figures.world_map(pd.Series({"USA": 115, "FRA": 4, "NOR": 1}), world_boundaries(), 1)
    paths = figures.save(fig, tmp_path, "map")
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    assert paths["pdf"].read_bytes().startswith(b"%PDF") and b"<svg" in paths["svg"].read_bytes()


def test_figure_text_from_inputs_is_never_mathematics(tmp_path):
    figures.use_style()
    table = pd.DataFrame({"label": ["Cost between $500 and $1,000"], "n": [3], "N": [4],
                          "pct": [0.75], "ci_low": [0.3], "ci_high": [0.95], "text": ["75% (3/4)"]})
    fig = figures.share_chart(table, "", 1)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Cost between $500 and $1,000"]
    assert all(not t._parse_math for t in fig.axes[0].get_yticklabels())
