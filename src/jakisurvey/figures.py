"""Figures to journal specifications: Figure 1 panels A to D and the figures beyond the paper.

- One typographic scale (`SIZES`, in points at the printed size, nothing under 7 pt) and one
  colour-blind-safe palette (viridis: `palette`, `ACCENT`, `NO_DATA`) for every figure.
- Widths of one journal column (`COLUMN`, 85 mm) or two (`DOUBLE`, 170 mm, also the report's
  text width on A4), never rescaled: the PDF and Word reports show each figure at that size.
- `show` writes each figure as figures/<name>.pdf (vector, fonts embedded as TrueType),
  figures/<name>.svg (vector, text as outlines) and figures/<name>.png (600 dpi), all with
  deterministic bytes, and displays one PNG at `SCREEN_DPI` for the report; the three files
  travel inside the notebook's display (see execute.figures_of), so a cached notebook restores
  them.

Text drawn in figures often comes from input files (labels, country names); matplotlib would
read "$...$" in it as mathematics, so mathematics is switched off for every text, in every
output format.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["text.parse_math"] = False

import geopandas  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, to_hex  # noqa: E402
from shapely.geometry import box  # noqa: E402

from .countries import UNKNOWN  # noqa: E402
from .notebook import FIGURE_KEY  # noqa: E402
from .privacy import Published, is_count, share_text  # noqa: E402
from .stats import LEVEL  # noqa: E402
from .subgroups import MEASURE_TITLES  # noqa: E402

MM = 1 / 25.4           # inches per millimetre
COLUMN = 85 * MM        # one journal column
DOUBLE = 170 * MM       # two journal columns: the report's text width (A4, 2 cm margins)
SIZES = {"small": 7.0, "text": 8.0, "title": 9.0}   # the one typographic scale, in points
ROW = 5.5 * MM          # height per bar or group row
DPI = 600               # figures/<name>.png, as journals ask for line art with text
SCREEN_DPI = 200        # the PNG the report embeds (HTML, PDF and Word)
FORMATS = ("pdf", "svg", "png")
MAP_BINS = (1, 2, 6, 11, 21, 51)
EQUAL_EARTH = "EPSG:8857"
NO_DATA = "#e6e6e6"     # countries without (publishable) respondents
INK = "#333333"         # error bars, frames, leader lines
# Deterministic bytes: no dates, no software versions, fixed SVG ids.
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None,
                                               "Creator": None},
            "svg": {"Date": None, "Creator": None}}


def palette(n: int) -> list[str]:
    """n colours of the one palette, dark to light: viridis, stopping short of its pale yellow
    (too faint on white), so that neighbours stay apart for colour-blind readers too."""
    cmap = matplotlib.colormaps["viridis"]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 0.88, n)] if n > 1 else [ACCENT]


ACCENT = to_hex(matplotlib.colormaps["viridis"](0.3))   # the one colour of single-series charts


def use_style() -> None:
    """Apply the report's single figure style (sizes from `SIZES`, no mathematics anywhere)."""
    sns.set_theme(style="whitegrid", context="paper")
    plt.rcParams.update({
        "font.family": "DejaVu Sans", "font.size": SIZES["text"],
        "axes.titlesize": SIZES["title"], "axes.labelsize": SIZES["text"],
        "xtick.labelsize": SIZES["text"], "ytick.labelsize": SIZES["text"],
        "legend.fontsize": SIZES["small"], "legend.title_fontsize": SIZES["text"],
        "figure.titlesize": SIZES["title"], "axes.titleweight": "bold",
        "axes.titlelocation": "left", "figure.dpi": 100, "savefig.dpi": DPI,
        "savefig.bbox": "standard", "path.simplify": True, "text.parse_math": False,
        "text.usetex": False, "pdf.fonttype": 42, "svg.fonttype": "path",
        "svg.hashsalt": "jakisurvey", "axes.prop_cycle": matplotlib.cycler(color=palette(6))})


def save(fig: plt.Figure, folder: Path, name: str) -> dict[str, Path]:
    """Write a figure as folder/<name>.pdf, .svg and .png (600 dpi), at its own size; close it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt in FORMATS:
        paths[fmt] = folder / f"{name}.{fmt}"
        fig.savefig(paths[fmt], format=fmt, dpi=DPI, metadata=METADATA[fmt])
    plt.close(fig)
    return paths


def screen_png(fig: plt.Figure) -> bytes:
    """The figure as the PNG the report embeds (`SCREEN_DPI`, deterministic bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SCREEN_DPI, metadata=METADATA["png"])
    return buffer.getvalue()


class Shown:
    """A saved figure as a notebook displays it: the report's PNG, and the files it went to."""

    def __init__(self, png: bytes, files: dict[str, bytes]) -> None:
        self.png, self.files = png, files

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        """image/png for every renderer; the figure files (base64) in the metadata."""
        names = ", ".join(self.files)
        data = {"image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": f"<figure saved to {names}>"}
        files = {name: base64.b64encode(content).decode("ascii")
                 for name, content in self.files.items()}
        return data, {FIGURE_KEY: {"files": files}}


def show(fig: plt.Figure, output: Path, name: str) -> Shown:
    """Save a figure as output/figures/<name>.pdf, .svg and .png and display it, the files
    travelling with the display."""
    png = screen_png(fig)
    paths = save(fig, Path(output) / "figures", name)
    return Shown(png, {f"figures/{path.name}": path.read_bytes() for path in paths.values()})


def fitted(text: str, width_in: float, size: float, bold: bool = False) -> str:
    """Text wrapped at word boundaries so that no line is wider than width_in at `size` pt."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=plt.rcParams["font.family"], size=size,
                          weight="bold" if bold else "normal")
    measure = TextToPath()
    wide = lambda line: measure.get_text_width_height_descent(line, prop, False)[0] / 72  # noqa: E731
    lines = []
    for paragraph in str(text).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and wide(candidate) > width_in:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def map_counts(counts: Published) -> pd.Series:
    """Counts per ISO3 code that the map may show: known countries whose count is published."""
    shown = {code: n for code, n in counts.value.items() if is_count(n) and n > 0}
    return pd.Series(shown, dtype="int64").drop(UNKNOWN, errors="ignore")


def map_bins(min_cell: int) -> list[int]:
    """Class boundaries for respondents per country, starting at min_cell."""
    return [min_cell] + [b for b in MAP_BINS if b > min_cell]


def bin_labels(bins: list[int]) -> list[str]:
    """Legend labels such as '2-5' and '51+' for class boundaries."""
    upper = [b - 1 for b in bins[1:]]
    labels = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in zip(bins, upper)]
    return labels + [f"{bins[-1]}+"]


def world_map(counts: Published, world, width: float = COLUMN) -> plt.Figure:
    """Figure 1A: respondents per country on an equal-area map, with a Europe close-up below.

    One column wide; every count is written in the country at `SIZES["small"]` or larger, moved
    aside with a leader line where it would cover another count.
    """
    frame = world.assign(n=world["iso3"].map(map_counts(counts))).to_crs(EQUAL_EARTH)
    bins = map_bins(counts.min_cell)
    colours = palette(len(bins))[::-1]   # darker for more respondents
    style = {"cmap": ListedColormap(colours), "edgecolor": "white", "linewidth": 0.25,
             "norm": BoundaryNorm(bins + [bins[-1] * 100], len(colours))}
    europe = europe_bounds()
    left, bottom, right, top = frame.total_bounds
    world_h = width * (top - bottom) / (right - left)
    europe_h = width * (europe[3] - europe[1]) / (europe[2] - europe[0])
    title_h, legend_h, gap = 5 * MM, 11 * MM, 1 * MM
    height = world_h + gap + title_h + europe_h + legend_h
    fig = plt.figure(figsize=(width, height))
    axes_at = lambda y, h: fig.add_axes((0, y / height, 1, h / height))  # noqa: E731
    world_ax = axes_at(height - world_h, world_h)
    europe_ax = axes_at(legend_h, europe_h)
    for ax in (world_ax, europe_ax):
        frame.plot(ax=ax, color=NO_DATA, edgecolor="white", linewidth=0.25)
        frame.dropna(subset=["n"]).plot(ax=ax, column="n", **style)
        ax.set(xlabel="", ylabel="")   # geopandas' 'Easting [metre]': never shown
        ax.set_axis_off()
    world_ax.set_xlim(left, right)
    world_ax.set_ylim(bottom, top)
    europe_ax.set_xlim(europe[0], europe[2])
    europe_ax.set_ylim(europe[1], europe[3])
    fig.text(0.0, (legend_h + europe_h + title_h / 2) / height,
             "Europe (close-up of the framed area)", fontsize=SIZES["text"], fontweight="bold",
             va="center")
    with_counts = frame.dropna(subset=["n"])
    window = box(*europe)
    in_europe = with_counts.geometry.intersects(window)
    label_counts(world_ax, with_counts[~in_europe],
                 with_counts.geometry[~in_europe].map(label_point))
    label_counts(europe_ax, with_counts[in_europe],
                 with_counts.geometry[in_europe].intersection(window).map(label_point))
    world_ax.add_patch(matplotlib.patches.Rectangle(
        europe[:2], europe[2] - europe[0], europe[3] - europe[1], fill=False, linewidth=0.5,
        edgecolor=INK))
    handles = [matplotlib.patches.Patch(facecolor=c, label=label)
               for c, label in zip(colours, bin_labels(bins))]
    fig.legend(handles=handles, title="Respondents per country", loc="lower center",
               bbox_to_anchor=(0.5, 0.0), ncols=len(handles), frameon=False,
               handlelength=1.2, handletextpad=0.4, columnspacing=0.8)
    return fig


def europe_bounds() -> tuple[float, float, float, float]:
    """The Europe close-up window (11 W to 33 E, 35 N to 64 N) in map coordinates."""
    window = geopandas.GeoSeries([box(-11, 35, 33, 64)], crs="EPSG:4326").to_crs(EQUAL_EARTH)
    return tuple(window.total_bounds)


def label_point(shape):
    """A point inside the largest part of a country (not in an overseas territory)."""
    parts = getattr(shape, "geoms", [shape])
    return max(parts, key=lambda part: part.area).representative_point()


# Where a label may go, in label heights from its country's point: on it, then further out.
_OFFSETS = [(0, 0)] + [(r * dx, r * dy) for r in (1.1, 2.0, 3.0)
                       for dx, dy in ((0, 1), (0, -1), (1.4, 0), (-1.4, 0),
                                      (1.2, 1), (-1.2, 1), (1.2, -1), (-1.2, -1))]


def label_counts(ax, frame, points) -> None:
    """Write each country's count at a point inside it, with a white halo; a count that would
    cover another (or leave the map) is moved to the nearest free place, with a leader line.
    Larger counts are placed first."""
    halo = [patheffects.withStroke(linewidth=1.6, foreground="white")]
    renderer = ax.figure.canvas.get_renderer()
    frame_box = ax.get_window_extent(renderer)
    placed = []
    order = sorted(zip(points, frame["n"]), key=lambda item: (-item[1], item[0].x, item[0].y))
    for point, n in order:
        label = ax.annotate(f"{int(n)}", (point.x, point.y), ha="center", va="center",
                            fontsize=SIZES["small"], fontweight="bold", path_effects=halo,
                            annotation_clip=False)
        size = label.get_window_extent(renderer)
        gap = size.height * 0.4   # so that '1' beside '2' never reads as '12'
        anchor = ax.transData.transform((point.x, point.y))
        for dx, dy in _OFFSETS:
            shift = np.array([dx * size.height, dy * size.height])
            spot = size.translated(*(anchor + shift - [size.x0 + size.width / 2,
                                                       size.y0 + size.height / 2]))
            inside = (spot.x0 >= frame_box.x0 and spot.x1 <= frame_box.x1
                      and spot.y0 >= frame_box.y0 and spot.y1 <= frame_box.y1)
            if inside and not any(spot.padded(gap).overlaps(other) for other in placed):
                break
        placed.append(spot)
        if (dx, dy) != (0, 0):
            label.remove()
            ax.annotate(f"{int(n)}", (point.x, point.y), xytext=shift, textcoords="offset pixels",
                        ha="center", va="center", fontsize=SIZES["small"], fontweight="bold",
                        path_effects=halo, annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "linewidth": 0.4, "color": INK,
                                    "shrinkA": 0, "shrinkB": 3})


def bar_height(rows: float) -> float:
    """A bar chart's height for `rows` bars, axis label and title included."""
    return ROW * rows + 17 * MM


def ranking_chart(ranking: Published, k: int, title: str, width: float = DOUBLE) -> plt.Figure:
    """Figure 1B-style stacked bars: times ranked in each position, items in Borda order.

    A position count the gate hides is not drawn, nor is an item whose number of rankings it
    hides. Two columns wide (the item names are long).
    """
    table = pd.DataFrame(ranking.value)
    positions = table[[f"position_{p}" for p in range(1, k + 1)]].map(
        lambda n: n if is_count(n) else 0)
    few = (~table["n_ranked"].map(is_count)).to_numpy()
    fig, ax = plt.subplots(figsize=(width, bar_height(len(table)) + 6 * MM), layout="constrained")
    left = np.zeros(len(table))
    for p, colour in zip(range(1, k + 1), palette(k)):
        values = positions[f"position_{p}"].to_numpy()
        values = np.where(few, 0, values)
        ax.barh(table["label"], values, left=left, color=colour, label=ordinal(p))
        left += values
    for y, (total, borda, small, n) in enumerate(zip(left, table["borda"], few, table["n_ranked"])):
        text = f"{n} ranked it" if small else "Borda withheld" if borda is None else f"Borda {borda}"
        ax.text(total + left.max() * 0.01 + 0.5, y, text, va="center", fontsize=SIZES["small"])
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.15 + 1)
    ax.set(xlabel="Respondents ranking the item", ylabel="", title=title)
    fig.legend(title="Position", ncols=k, loc="outside lower center", frameon=False)
    return fig


def ordinal(p: int) -> str:
    """1 -> '1st', 2 -> '2nd', ..."""
    return f"{p}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(p if p < 20 else p % 10, 'th') }"


def share_chart(shares: Published, title: str, width: float = DOUBLE) -> plt.Figure:
    """Figure 1C/1D-style bars: percentage choosing each option with its 95% interval, n/N beside.

    An option whose count the gate hides gets no bar, and the hidden mark for its count.
    """
    table = pd.DataFrame([{"label": label, **share, "text": share_text(share)}
                          for label, share in shares.value.items()])
    fig, ax = plt.subplots(figsize=(width, bar_height(len(table))), layout="constrained")
    small = table["pct"].isna() & table["N"].map(lambda N: N != 0)
    pct = table["pct"].astype(float).fillna(0).where(~small, 0) * 100
    low = (table["ci_low"].astype(float).fillna(0) * 100).where(~small, 0)
    high = (table["ci_high"].astype(float).fillna(0) * 100).where(~small, 0)
    rows = np.arange(len(table))
    ax.barh(rows, pct, color=ACCENT, height=0.75)
    ax.errorbar(pct, rows, xerr=[pct - low, high - pct], fmt="none", ecolor=INK,
                elinewidth=0.7, capsize=1.5)
    for y, (right, text, is_small, N) in enumerate(zip(high, table["text"], small, table["N"])):
        ax.text(right + 1, y, text, va="center", fontsize=SIZES["small"])
    ax.set_yticks(rows, table["label"])
    ax.invert_yaxis()
    ax.set_xlim(0, max(100, high.max() * 1.3))
    ax.set(xlabel=f"Respondents (%), with {LEVEL} Wilson interval", ylabel="", title=title)
    return fig


def subgroup_plot(subgroups: Published, grouping: str, width: float = DOUBLE) -> plt.Figure:
    """Dot plot of each measure by group with its 95% Wilson interval and n/N.

    `subgroups` is the published subgroups.subgroup_results(); a hidden share is not drawn.
    Panel titles and test lines are wrapped to the width of their panel, so none overlaps
    its neighbour.
    """
    part = subgroups.value[grouping]
    groups, tests = part["groups"], {t["measure"]: t for t in part["tests"]}
    panels = len(part["measures"])
    fig, axes = plt.subplots(1, panels, sharey=True, squeeze=False, layout="constrained",
                             figsize=(width, ROW * 1.6 * len(groups) + 30 * MM))
    panel_width = (width - 30 * MM) / panels
    for ax, (measure, by_group) in zip(axes[0], part["measures"].items()):
        for y, group in enumerate(groups):
            share = by_group[group]
            if share["N"] and share.get("pct") is not None:
                low, high = share["ci_low"] * 100, share["ci_high"] * 100
                ax.plot([low, high], [y, y], color=ACCENT, linewidth=1.2)
                ax.plot(share["pct"] * 100, y, "o", color=ACCENT, markersize=4)
            ax.text(103, y, share_label(share), va="center", fontsize=SIZES["small"],
                    clip_on=False)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 50, 100], ["0%", "50%", "100%"])
        ax.set_title(fitted(MEASURE_TITLES.get(measure, measure), panel_width, SIZES["title"],
                            bold=True))
        ax.set_xlabel(fitted(test_label(tests.get(measure)), panel_width, SIZES["small"]),
                      fontsize=SIZES["small"])
    axes[0][0].set_yticks(range(len(groups)), groups)
    axes[0][0].set_ylim(len(groups) - 0.5, -0.5)
    fig.get_layout_engine().set(wspace=0.08)
    fig.draw_without_rendering()        # the layout gives each panel its width: wrap to it
    for ax, measure in zip(axes[0], part["measures"]):
        room = ax.get_position().width * width + 4 * MM
        ax.set_title(fitted(MEASURE_TITLES.get(measure, measure), room, SIZES["title"], bold=True))
    return fig


def share_label(share: dict) -> str:
    """n/N beside a dot, with the gate's marks for hidden counts."""
    return f"{share['n']}/{share['N']}"


def test_label(test: dict | None) -> str:
    """The chi-square p (Holm-adjusted) under a panel, or why there is no test."""
    if test and test.get("withheld"):
        return "test withheld (a small count could be worked out)"
    if not test or test["p"] is None:
        return "no test (one group or one outcome)"
    nb = "\u00a0"   # no line break inside "p = 0.56" when the line is wrapped to the panel
    text = f"χ² p{nb}{p_text(test['p'], nb)}, Holm{nb}{p_text(test['p_holm'], nb)}"
    if test.get("p_fisher_mc") is not None:
        text += f"\nexpected count < 5; Fisher MC p{nb}{p_text(test['p_fisher_mc'], nb)}"
    return text


def p_text(p: float, space: str = " ") -> str:
    """A p-value as journals print it: '= 0.56', '= 0.004', '< 0.001'."""
    if p < 0.001:
        return f"<{space}0.001"
    return f"={space}{p:.3f}" if p < 0.01 else f"={space}{p:.2f}"


def stability_plot(published: Published, title: str = "", width: float = DOUBLE) -> plt.Figure:
    """Bootstrap share of resamples in which each item ranks first and in the top k.

    `published` is the published stability.ranking_stability(); items keep its (published)
    order, so the figure reads beside Figure 1B; a withheld item gets no bars.
    """
    stability = published.value
    items = stability["items"]
    labels = [item["label"] for item in items]
    fig, ax = plt.subplots(figsize=(width, bar_height(1.5 * len(items)) + 6 * MM),
                           layout="constrained")
    y = np.arange(len(items))
    colours = palette(2)
    bars = (("p_first", "Ranked first", -0.2, colours[0]),
            ("p_top", f"In the top {stability['top_k']}", 0.2, colours[1]))
    for key, name, shift, colour in bars:
        values = np.array([item[key] or 0 for item in items]) * 100
        ax.barh(y + shift, values, height=0.4, color=colour, label=name)
        for yy, value in zip(y + shift, values):
            if value > 0:
                text = f"{value:.0f}%" if value >= 0.5 else "<1%"
                ax.text(value + 1, yy, text, va="center", fontsize=SIZES["small"])
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xlabel(fitted(f"Share of {stability['resamples']} bootstrap resamples of the "
                         f"respondents (%; seed {stability['seed']})", width / 2, SIZES["text"]))
    ax.set_title(title)
    fig.legend(ncols=2, loc="outside lower center", frameon=False)
    return fig

