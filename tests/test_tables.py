"""What the notebooks display: input text escaped for Markdown, small cells hidden, figures."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from jakisurvey import figures, tables
from jakisurvey.countries import world_boundaries
from jakisurvey.privacy import Gate, Published
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
                          "n": [Published("n", 3), Published("n", "<5")]})
    table = tables.markdown_table(frame)
    assert table.splitlines()[:2] == ["| Item | n |", "|---|--:|"]
    assert "\\<b\\>x\\</b\\>" in table and "[Improvement](02_x.html#cell-a)" in table
    assert "| \\<5 |" in table


def test_a_number_that_did_not_pass_the_gate_is_refused():
    with pytest.raises(tables.Ungated, match="without passing the gate"):
        tables.markdown_table(pd.DataFrame({"Item": ["x"], "n": [2]}))
    with pytest.raises(tables.Ungated):
        tables.sentence("Respondents: ", 229)
    with pytest.raises(tables.Ungated):
        tables.show(Proportion(2, 40))
    assert "| 2 |" in tables.markdown_table(pd.DataFrame({"Code": [2]}), safe=("Code",))


def test_links_only_point_inside_the_report():
    with pytest.raises(ValueError):
        tables.link("x", "javascript:alert(1)")
    with pytest.raises(ValueError):
        tables.link("x", "https://example.org/#a")
    assert tables.link("[x]", "#cell-a") == "[\\[x\\]](#cell-a)"


def shown(key: str, value, min_cell: int, plan: dict | None = None) -> Published:
    """A value as a notebook shows it after recording it under key."""
    return Published(key, Gate(min_cell, plan or {}).publish(key, value), min_cell)


def test_suppression_of_small_cells():
    assert str(shown("n_respondents", 2, 3)) == "<3" and str(shown("n_respondents", 3, 3)) == "3"
    assert str(shown("n_respondents", 0, 3)) == "0"
    assert tables.share(shown("usa", Proportion(2, 40).as_dict(), 3)) == "<3 (of 40)"
    assert tables.share(shown("usa", Proportion(3, 40).as_dict(), 3)) == "8% (3/40)"
    assert tables.share(shown("usa", Proportion(2, 40).as_dict(), 1)) == "5% (2/40)"
    assert tables.interval(shown("usa", Proportion(2, 40).as_dict(), 3)) == ""
    suppressed = shown("usa", Proportion(8, 40).as_dict(), 3, {"usa.n": "complementary"})
    assert tables.share(suppressed) == "x (of 40)"


def test_country_table_suppresses_below_min_cell(survey_of, resolver):
    from jakisurvey import stats

    survey = survey_of([{"country": "USA", "role": 1}] * 3 + [{"country": "Chile", "role": 1}])
    counts = {k: int(v) for k, v in stats.country_counts(survey).items()}
    assert "| United States | USA | 3 |" in tables.country_table(shown("country_counts", counts, 2), resolver)
    assert "| Chile | CHL | \\<2 |" in tables.country_table(shown("country_counts", counts, 2), resolver)
    assert "| Chile | CHL | 1 |" in tables.country_table(shown("country_counts", counts, 1), resolver)


def test_map_leaves_out_small_and_unknown_cells():
    counts = {"USA": 5, "CHL": 1, "Unknown": 4}
    assert figures.map_counts(shown("country_counts", counts, 2)).to_dict() == {"USA": 5}
    assert figures.map_bins(2) == [2, 6, 11, 21, 51]
    assert figures.bin_labels([1, 2, 6]) == ["1", "2-5", "6+"]


def test_world_map_draws(tmp_path):
    figures.use_style()
    fig = figures.world_map(shown("country_counts", {"USA": 115, "FRA": 4, "NOR": 1}, 1),
                            world_boundaries())
    paths = figures.save(fig, tmp_path, "map")
    assert paths["png"].read_bytes().startswith(b"\x89PNG")
    assert paths["pdf"].read_bytes().startswith(b"%PDF") and b"<svg" in paths["svg"].read_bytes()


def test_figure_text_from_inputs_is_never_mathematics(tmp_path):
    figures.use_style()
    shares = {"Cost between $500 and $1,000": {"n": 3, "N": 4, "pct": 0.75, "ci_low": 0.3,
                                               "ci_high": 0.95}}
    fig = figures.share_chart(shown("jaki_consider", shares, 1), "")
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Cost between $500 and $1,000"]
    assert all(not t._parse_math for t in fig.axes[0].get_yticklabels())


def test_the_provenance_section_says_environment_as_locked_or_lists_each_difference():
    differs = [{"package": "pandas", "locked": "3.1.1", "installed": "3.0.6"},
               {"package": "pyproj", "locked": "3.8.0", "installed": None}]
    env = {"lock": "uv.lock", "sha256": "ab" * 32, "as_locked": False, "differs": differs}
    shown = tables.environment_text(env)
    assert shown.startswith("**The environment differs from the lock** (`uv.lock`, SHA-256 ")
    assert "2 package(s) at another version than locked" in shown
    assert "| pandas | 3.1.1 | 3.0.6 |" in shown and "| pyproj | 3.8.0 | not installed |" in shown
    same = tables.environment_text({**env, "as_locked": True, "differs": []})
    assert same.startswith("**Environment as locked**") and "ab" * 32 in same
    assert "not checked" in tables.environment_text({"lock": None, "as_locked": False,
                                                     "differs": []})
