"""Figures to journal specifications: sizes, widths, formats, one palette, legible text.

The figures are drawn here from the bundled records as the notebooks draw them (fewer bootstrap
resamples: the layout does not depend on them), and read back from the files the bundled
report wrote (`pandoc_report`): the SVG for the text sizes, the PNG and PDF for sizes and dpi.
"""

from __future__ import annotations

import html
import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from jakisurvey import figures
from matplotlib.text import Text

from helpers import DICTIONARY, RECORDS, STUDY

MM_PER_IN = 25.4
WIDTHS_MM = (85.0, 170.0)
# The names the notebooks save figures under (notebooks/*.ipynb, figures.show).
NAMES = ["figure_1a_map", "figure_1b_indications", "figure_1b_indications_stability",
         "figure_1c_jaki_considered", "figure_1d_concomitant", "barriers", "barriers_stability",
         "subgroups_region", "subgroups_society"]
# matplotlib's SVG writes each text as glyph outlines in a group scaled by size / 100.
SVG_TEXT = re.compile(r"<!-- (.*?) -->\s*<g (?:style=\"[^\"]*\" )?transform=\"translate\([^)]*\)(?: rotate\([^)]*\))?"
                      r" scale\(([\d.]+) -[\d.]+\)\"", re.S)
SVG_COLOUR = re.compile(r"(?:fill|stroke): ?(#[0-9a-f]{6})")


def draw_all() -> dict[str, figures.plt.Figure]:
    """Every figure of the report, drawn from the bundled records as the notebooks draw them
    (each from the published view of what the notebook records)."""
    from jakisurvey import stats
    from jakisurvey.claims import leading_places
    from jakisurvey.countries import world_boundaries
    from jakisurvey.inputs import load
    from jakisurvey.privacy import Gate, Published
    from jakisurvey.results import values_of
    from jakisurvey.stability import ranking_stability
    from jakisurvey.subgroups import subgroup_results

    checked = load(RECORDS, DICTIONARY, STUDY)
    survey, codebook, settings = checked.survey, checked.codebook, checked.study
    gate = Gate(settings.min_cell)

    def shown(key: str, value) -> Published:
        return Published(key, gate.publish(key, values_of(key, value)[key]), gate.min_cell)

    figures.use_style()
    made = {"figure_1a_map": figures.world_map(shown("country_counts", stats.country_counts(survey)),
                                               world_boundaries())}
    for ranking, name in (("indication", "figure_1b_indications"), ("barrier", "barriers")):
        table = shown(f"{ranking}_ranking", stats.ranking_table(survey, ranking))
        made[name] = figures.ranking_chart(table, codebook.rankings[ranking].k, "")
        top = leading_places(settings.claims, f"{ranking}_ranking", codebook.rankings[ranking].k)
        made[f"{name}_stability"] = figures.stability_plot(shown(
            f"ranking_stability.{ranking}", ranking_stability(survey, ranking, top, 50, settings.seed)))
    for field, name in (("jaki_consider", "figure_1c_jaki_considered"),
                        ("concomitant", "figure_1d_concomitant")):
        made[name] = figures.share_chart(shown(field, stats.checkbox_table(survey, field)), "")
    groups = shown("subgroups", subgroup_results(survey, settings.seed))
    for grouping in ("region", "society"):
        made[f"subgroups_{grouping}"] = figures.subgroup_plot(groups, grouping)
    assert sorted(made) == sorted(NAMES)
    return made


@pytest.fixture(scope="module")
def drawn() -> dict[str, figures.plt.Figure]:
    """The figures of `draw_all`, closed after the module."""
    yield draw_all()
    figures.plt.close("all")


def texts(fig) -> list:
    """Every text a drawn figure shows (visible, not empty, not on an axis that is off)."""
    fig.canvas.draw()
    off = {id(t) for ax in fig.axes if not ax.axison for axis in (ax.xaxis, ax.yaxis)
           for t in axis.findobj(Text)}
    for ax in fig.axes:             # tick labels beyond the axis limits are not drawn
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            off |= {id(t) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                    if not low - 1e-9 <= tick.get_loc() <= high + 1e-9
                    for t in (tick.label1, tick.label2)}
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in off]


def extent(text, renderer):
    """Where a text's letters are (an annotation's leader line left out)."""
    return Text.get_window_extent(text, renderer)


def test_one_scale_and_nothing_under_7_pt(drawn):
    for name, fig in drawn.items():
        sizes = {t.get_fontsize() for t in texts(fig)}
        assert sizes <= set(figures.SIZES.values()), (name, sorted(sizes))
        assert min(sizes) >= 7, name


def test_no_text_covers_another(drawn):
    """Titles, labels, counts, legends: no two texts of a figure overlap (Figure 6's panel
    titles did), and no text leaves the figure."""
    for name, fig in drawn.items():
        renderer = fig.canvas.get_renderer()
        boxes = [(t.get_text(), extent(t, renderer)) for t in texts(fig)]
        frame = fig.bbox
        for text, where in boxes:
            assert (where.x0 >= frame.x0 - 1 and where.x1 <= frame.x1 + 1
                    and where.y0 >= frame.y0 - 1 and where.y1 <= frame.y1 + 1), (name, text)
        clashes = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
                   if box_a.overlaps(box_b)]
        assert not clashes, (name, clashes[:5])


def test_map_counts_stay_apart_at_column_width(drawn):
    fig = drawn["figure_1a_map"]
    assert fig.get_figwidth() * MM_PER_IN == pytest.approx(85)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        counts = [t for t in ax.texts if t.get_text().isdigit()]
        assert counts
        boxes = [extent(t, renderer) for t in counts]
        gap = min(b.height for b in boxes) * 0.3   # a '1' beside a '2' must not read '12'
        for a, b in itertools.combinations(boxes, 2):
            assert not a.padded(gap).overlaps(b)


def test_widths_are_one_or_two_journal_columns(drawn):
    for name, fig in drawn.items():
        assert min(abs(fig.get_figwidth() * MM_PER_IN - w) for w in WIDTHS_MM) < 0.01, name


def test_every_figure_is_written_as_pdf_svg_and_600_dpi_png(pandoc_report):
    folder = pandoc_report / "figures"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}.{fmt}" for name in NAMES for fmt in ("pdf", "png", "svg"))
    for name in NAMES:
        with Image.open(folder / f"{name}.png") as png:
            dpi = png.info["dpi"]
            width_mm = png.width / dpi[0] * MM_PER_IN
        assert dpi == pytest.approx((600, 600), abs=0.01), name
        assert min(abs(width_mm - w) for w in WIDTHS_MM) < 0.2, (name, width_mm)
        page = PdfReader(folder / f"{name}.pdf").pages[0]
        assert float(page.mediabox.width) / 72 * MM_PER_IN == pytest.approx(width_mm, abs=0.2)
        fonts = page["/Resources"]["/Font"].values()
        assert all(f.get_object()["/Subtype"] == "/Type0" for f in fonts), name  # TrueType (42)
        svg = (folder / f"{name}.svg").read_text(encoding="utf-8")
        width_pt = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg)[1])
        assert width_pt / 72 * MM_PER_IN == pytest.approx(width_mm, abs=0.2), name


def svg_text_sizes(svg: str) -> dict[str, float]:
    """Each text of a matplotlib SVG and its size in points (from its glyphs' scale)."""
    return {html.unescape(text): round(float(scale) * 100, 2)
            for text, scale in SVG_TEXT.findall(svg)}


def test_text_sizes_read_back_from_the_svg(pandoc_report):
    for name in NAMES:
        sizes = svg_text_sizes((pandoc_report / "figures" / f"{name}.svg").read_text())
        assert len(sizes) >= 8, name
        assert set(sizes.values()) <= set(figures.SIZES.values()), (name, sizes)
    bars = svg_text_sizes((pandoc_report / "figures" / "figure_1b_indications.svg").read_text())
    assert bars["Borda 747"] == 7 and bars["Refractory skin disease"] == 8
    assert bars["Position"] == 8 and bars["1st"] == 7


def test_svg_text_sizes_are_read_as_drawn(tmp_path):
    figures.use_style()
    fig, ax = figures.plt.subplots(figsize=(figures.COLUMN, 1))
    ax.set_title("A title")
    ax.text(0.1, 0.5, "six point", fontsize=6)
    ax.set_ylabel("turned", fontsize=7)
    figures.save(fig, tmp_path, "x")
    sizes = svg_text_sizes((tmp_path / "x.svg").read_text())
    assert {k: sizes[k] for k in ("A title", "six point", "turned")} == {
        "A title": 9, "six point": 6, "turned": 7}


def test_figure_files_have_deterministic_bytes(tmp_path):
    figures.use_style()
    for run in ("a", "b"):
        fig, ax = figures.plt.subplots(figsize=(figures.COLUMN, 1))
        ax.plot([0, 1], [1, 0], clip_on=True)
        figures.save(fig, tmp_path / run, "x")
    for fmt in ("pdf", "svg", "png"):
        assert (tmp_path / "a" / f"x.{fmt}").read_bytes() == (tmp_path / "b" / f"x.{fmt}").read_bytes()


def cvd_lab(colours: list[str], deficiency: str):
    """CIELAB of colours as a viewer with the deficiency sees them (Machado et al. 2009)."""
    import colour

    rgb = colour.cctf_decoding(np.array([colour.notation.HEX_to_RGB(c) for c in colours]))
    seen = np.clip(np.einsum("ij,nj->ni", colour.matrix_cvd_Machado2009(deficiency, 1.0), rgb), 0, 1)
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(colour.cctf_encoding(seen)))


def neighbour_distances(colours: list[str], deficiency: str) -> list[float]:
    """CIEDE2000 between neighbouring colours, as seen with the deficiency."""
    import colour

    lab = cvd_lab(colours, deficiency)
    return [float(colour.delta_E(a, b, method="CIE 2000")) for a, b in zip(lab, lab[1:])]


@pytest.mark.parametrize("deficiency", ["Deuteranomaly", "Protanomaly"])
def test_palette_neighbours_stay_apart_for_colour_blind_readers(deficiency):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(2, 7):      # the most classes a figure draws: the map's six bins
            assert min(neighbour_distances(figures.palette(n), deficiency)) >= 10, n
        for n in (7, 8):            # longer rankings: still clearly different neighbours
            assert min(neighbour_distances(figures.palette(n), deficiency)) >= 7, n
        lightest = figures.palette(len(figures.MAP_BINS))[-1]
        assert neighbour_distances([figures.NO_DATA, lightest], deficiency)[0] >= 10
        # a pair that fails: brown beside olive, apart for most readers, not for these
        assert min(neighbour_distances(["#9a6b4a", "#6f7a3a"], deficiency)) < 10


def test_figures_use_only_the_palette(pandoc_report):
    allowed = {c for n in range(1, 11) for c in figures.palette(n)}
    for name in NAMES:
        svg = (pandoc_report / "figures" / f"{name}.svg").read_text()
        colours = set(SVG_COLOUR.findall(svg))
        chromatic = {c for c in colours if len({c[1:3], c[3:5], c[5:7]}) > 1}
        assert chromatic and chromatic <= allowed, (name, chromatic - allowed)


def test_inputs_text_stays_literal_in_every_format(tmp_path):
    figures.use_style()
    label = "Cost $500 and $1,000 <b>x</b> & _y_^2"
    fig, ax = figures.plt.subplots(figsize=(figures.DOUBLE, 1))
    ax.set_title(label)
    figures.save(fig, tmp_path, "x")
    assert label in svg_text_sizes((tmp_path / "x.svg").read_text())
    svg = (tmp_path / "x.svg").read_text()
    drawn_title = svg[svg.index(f"<!-- {html.escape(label, quote=False)} -->"):]
    drawn_title = drawn_title[:drawn_title.index("</g>")]
    assert drawn_title.count("<use ") == len(label)  # every $ drawn as a $
    assert "Oblique" not in svg      # no mathematics italics
    text = PdfReader(tmp_path / "x.pdf").pages[0].extract_text()
    assert "Cost $500 and $1,000" in text and "<b>x</b> & _y_^2" in text


def panel_title(ax) -> Text:
    """The title an axes shows (the report's titles stand on the left)."""
    wanted = ax.get_title("left") or ax.get_title()
    return next(t for t in ax.findobj(Text) if t.get_text() == wanted and t is not ax.xaxis.label)


def test_figure_6_titles_fit_their_panels(drawn):
    fig = drawn["subgroups_society"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [panel_title(ax) for ax in fig.axes]
    assert [t.get_text().replace("\n", " ") for t in titles] == [
        "Have used a systemic JAKi", "Improvement in most or all patients",
        "Side effects observed"]
    boxes = [extent(t, renderer) for t in titles]
    for box, ax in zip(boxes, fig.axes):
        assert box.x1 <= ax.get_window_extent(renderer).x1 + 30   # n/N labels stand right of it
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_cached_figures_travel_in_the_notebook(pandoc_report, tmp_path):
    import nbformat

    from jakisurvey import execute

    book = nbformat.read(pandoc_report / "notebooks" / "01_respondents.ipynb", as_version=4)
    found = execute.figures_of(book)
    assert sorted(found) == [f"figures/figure_1a_map.{f}" for f in ("pdf", "png", "svg")]
    for name, data in found.items():
        assert data == (pandoc_report / name).read_bytes()
    displayed = [o for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(displayed) == 1
    with Image.open(Path(pandoc_report / "figures" / "figure_1a_map.png")) as png:
        assert png.info["dpi"][0] == pytest.approx(600, abs=0.01)
    assert figures.FIGURE_KEY == execute.FIGURE_KEY
