"""Figures: one colour-blind-safe seaborn style, Figure 1 panels A to D.

Text drawn in figures often comes from input files (labels, country names); matplotlib would
read "$...$" in it as mathematics, so mathematics is switched off for every text.
"""

from __future__ import annotations

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
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from IPython.display import Image  # noqa: E402
from shapely.geometry import box  # noqa: E402

from .countries import UNKNOWN  # noqa: E402
from .privacy import Published, is_count, share_text  # noqa: E402
from .stats import LEVEL  # noqa: E402
from .subgroups import MEASURE_TITLES  # noqa: E402

WIDTH = 6.5  # inches: fits an A4 page with 2.5 cm margins, so nothing is cut off
DPI = 200
PALETTE = "colorblind"
MAP_BINS = (1, 2, 6, 11, 21, 51)
EQUAL_EARTH = "EPSG:8857"


def use_style() -> None:
    """Apply the report's single figure style."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="paper", font_scale=1.05)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight",
                         "axes.titleweight": "bold", "axes.titlelocation": "left",
                         "path.simplify": True, "text.parse_math": False})


def save(fig: plt.Figure, path: Path) -> Path:
    """Write a figure as PNG (deterministic bytes) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def show(fig: plt.Figure, output: Path, name: str) -> Image:
    """Save a figure as output/figures/<name>.png and display it, naming the file it went to."""
    relative = f"figures/{name}.png"
    path = save(fig, Path(output) / relative)
    return Image(filename=str(path), metadata={"jakisurvey": {"file": relative}})


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


def world_map(counts: Published, world) -> plt.Figure:
    """Figure 1A: respondents per country on an equal-area map, with a Europe close-up below.

    Both maps use the full text width, so the counts written on the countries stay legible
    in the PDF at 100 % zoom.
    """
    frame = world.assign(n=world["iso3"].map(map_counts(counts))).to_crs(EQUAL_EARTH)
    bins = map_bins(counts.min_cell)
    colours = sns.color_palette("viridis_r", len(bins))
    style = {"cmap": ListedColormap(colours), "edgecolor": "white", "linewidth": 0.3,
             "norm": BoundaryNorm(bins + [bins[-1] * 100], len(colours))}
    fig, (world_ax, europe_ax) = plt.subplots(2, 1, figsize=(WIDTH, 7.3),
                                              gridspec_kw={"height_ratios": [2.85, 3.7]})
    europe = europe_bounds()
    for ax in (world_ax, europe_ax):
        frame.plot(ax=ax, color="#e6e6e6", edgecolor="white", linewidth=0.3)
        frame.dropna(subset=["n"]).plot(ax=ax, column="n", **style)
        ax.set_axis_off()
    europe_ax.set_xlim(europe[0], europe[2])
    europe_ax.set_ylim(europe[1], europe[3])
    europe_ax.set_title("Europe (close-up of the framed area)", fontsize=9)
    with_counts = frame.dropna(subset=["n"])
    window = box(*europe)
    in_europe = with_counts.geometry.intersects(window)
    label_counts(world_ax, with_counts[~in_europe],
                 with_counts.geometry[~in_europe].map(label_point))
    label_counts(europe_ax, with_counts[in_europe],
                 with_counts.geometry[in_europe].intersection(window).map(label_point))
    world_ax.add_patch(matplotlib.patches.Rectangle(
        europe[:2], europe[2] - europe[0], europe[3] - europe[1], fill=False, linewidth=0.6,
        edgecolor="#555555"))
    handles = [matplotlib.patches.Patch(color=c, label=label)
               for c, label in zip(colours, bin_labels(bins))]
    fig.legend(handles=handles, title="Respondents per country", loc="lower center",
               ncols=len(handles), fontsize=8, title_fontsize=8.5, frameon=False,
               handlelength=1.4, columnspacing=1.0)
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0.08, hspace=0.07)
    return fig


def europe_bounds() -> tuple[float, float, float, float]:
    """The Europe close-up window (11 W to 33 E, 35 N to 64 N) in map coordinates."""
    window = geopandas.GeoSeries([box(-11, 35, 33, 64)], crs="EPSG:4326").to_crs(EQUAL_EARTH)
    return tuple(window.total_bounds)


def label_point(shape):
    """A point inside the largest part of a country (not in an overseas territory)."""
    parts = getattr(shape, "geoms", [shape])
    return max(parts, key=lambda part: part.area).representative_point()


def label_counts(ax, frame, points) -> None:
    """Write each country's count at a point inside it, with a halo for legibility."""
    halo = [patheffects.withStroke(linewidth=1.5, foreground="white")]
    for point, n in zip(points, frame["n"]):
        ax.annotate(f"{int(n)}", (point.x, point.y), ha="center", va="center", fontsize=7.5,
                    fontweight="bold", path_effects=halo)


def ranking_chart(ranking: Published, k: int, title: str) -> plt.Figure:
    """Figure 1B-style stacked bars: times ranked in each position, items in Borda order.

    A position count the gate hides is not drawn, nor is an item whose number of rankings it
    hides.
    """
    table = pd.DataFrame(ranking.value)
    positions = table[[f"position_{p}" for p in range(1, k + 1)]].map(
        lambda n: n if is_count(n) else 0)
    few = (~table["n_ranked"].map(is_count)).to_numpy()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(table) + 1.0))
    left = np.zeros(len(table))
    colours = sns.color_palette("viridis", k)
    for p, colour in zip(range(1, k + 1), colours):
        values = positions[f"position_{p}"].to_numpy()
        values = np.where(few, 0, values)
        ax.barh(table["label"], values, left=left, color=colour, label=ordinal(p))
        left += values
    for y, (total, borda, small, n) in enumerate(zip(left, table["borda"], few, table["n_ranked"])):
        text = f"{n} ranked it" if small else "Borda withheld" if borda is None else f"Borda {borda}"
        ax.text(total + 1, y, text, va="center", fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.2 + 1)
    ax.set(xlabel="Respondents ranking the item", ylabel="", title=title)
    ax.legend(title="Position", ncols=k, fontsize=7, title_fontsize=7, loc="lower right",
              frameon=False)
    return fig


def ordinal(p: int) -> str:
    """1 -> '1st', 2 -> '2nd', ..."""
    return f"{p}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(p if p < 20 else p % 10, 'th') }"


def share_chart(shares: Published, title: str) -> plt.Figure:
    """Figure 1C/1D-style bars: percentage choosing each option with its 95% interval, n/N beside.

    An option whose count the gate hides gets no bar, and the hidden mark for its count.
    """
    table = pd.DataFrame([{"label": label, **share, "text": share_text(share)}
                          for label, share in shares.value.items()])
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(table) + 1.0))
    small = table["pct"].isna() & table["N"].map(lambda N: N != 0)
    pct = table["pct"].astype(float).fillna(0).where(~small, 0) * 100
    low = (table["ci_low"].fillna(0).astype(float) * 100).where(~small, 0)
    high = (table["ci_high"].fillna(0).astype(float) * 100).where(~small, 0)
    sns.barplot(x=pct, y=table["label"], ax=ax, color=sns.color_palette(PALETTE)[0])
    ax.errorbar(pct, range(len(table)), xerr=[pct - low, high - pct], fmt="none",
                ecolor="#333333", elinewidth=0.8, capsize=2)
    for y, (right, text, is_small, N) in enumerate(zip(high, table["text"], small, table["N"])):
        ax.text(right + 1, y, text, va="center", fontsize=7)
    ax.set_xlim(0, max(100, high.max() * 1.3))
    ax.set(xlabel=f"Respondents (%), with {LEVEL} Wilson interval", ylabel="", title=title)
    return fig




def subgroup_plot(subgroups: Published, grouping: str) -> plt.Figure:
    """Dot plot of each measure by group with its 95% Wilson interval and n/N.

    `subgroups` is the published subgroups.subgroup_results(); a hidden share is not drawn.
    """
    part = subgroups.value[grouping]
    groups, tests = part["groups"], {t["measure"]: t for t in part["tests"]}
    fig, axes = plt.subplots(1, len(part["measures"]), sharey=True, squeeze=False,
                             figsize=(WIDTH, 0.35 * len(groups) + 1.3))
    colour = sns.color_palette(PALETTE)[0]
    for ax, (measure, by_group) in zip(axes[0], part["measures"].items()):
        for y, group in enumerate(groups):
            share = by_group[group]
            if share["N"] and share.get("pct") is not None:
                low, high = share["ci_low"] * 100, share["ci_high"] * 100
                ax.plot([low, high], [y, y], color=colour, linewidth=1.5)
                ax.plot(share["pct"] * 100, y, "o", color=colour, markersize=4.5)
            ax.text(102, y, share_label(share), va="center", fontsize=6.5,
                    parse_math=False)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 50, 100], ["0%", "50%", "100%"])
        ax.set_title(MEASURE_TITLES.get(measure, measure), fontsize=8, parse_math=False)
        ax.set_xlabel(test_label(tests.get(measure)), fontsize=6.5, parse_math=False)
        ax.tick_params(labelsize=7)
    axes[0][0].set_yticks(range(len(groups)), groups, parse_math=False)
    axes[0][0].set_ylim(len(groups) - 0.5, -0.5)
    fig.subplots_adjust(wspace=0.45)
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
    text = f"χ² p {p_text(test['p'])}, Holm {p_text(test['p_holm'])}"
    if test.get("p_fisher_mc") is not None:
        text += f"\nexpected count < 5; Fisher MC p {p_text(test['p_fisher_mc'])}"
    return text


def p_text(p: float) -> str:
    """A p-value as journals print it: '= 0.56', '= 0.004', '< 0.001'."""
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def stability_plot(published: Published, title: str = "") -> plt.Figure:
    """Bootstrap share of resamples in which each item ranks first and in the top k.

    `published` is the published stability.ranking_stability(); items keep its (published)
    order, so the figure reads beside Figure 1B; a withheld item gets no bars.
    """
    stability = published.value
    items = stability["items"]
    labels = [item["label"] for item in items]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(items) + 1.0))
    y = np.arange(len(items))
    colours = sns.color_palette(PALETTE, 2)
    bars = (("p_first", "Ranked first", -0.2, colours[0]),
            ("p_top", f"In the top {stability['top_k']}", 0.2, colours[1]))
    for key, name, shift, colour in bars:
        values = np.array([item[key] or 0 for item in items]) * 100
        ax.barh(y + shift, values, height=0.38, color=colour, label=name)
        for yy, value in zip(y + shift, values):
            if value > 0:
                text = f"{value:.0f}%" if value >= 0.5 else "<1%"
                ax.text(value + 1, yy, text, va="center", fontsize=6)
    ax.set_yticks(y, labels, parse_math=False)
    ax.tick_params(labelsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xlabel(f"Share of {stability['resamples']} bootstrap resamples of the respondents "
                  f"(%; seed {stability['seed']})", fontsize=7)
    ax.set_title(title, parse_math=False)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return fig
