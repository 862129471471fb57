"""Figures: one colour-blind-safe seaborn style, Figure 1 panels A to D."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from shapely.geometry import box  # noqa: E402

from .countries import UNKNOWN  # noqa: E402

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
                         "path.simplify": True})


def save(fig: plt.Figure, path: Path) -> Path:
    """Write a figure as PNG (deterministic bytes) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def map_counts(counts: pd.Series, min_cell: int) -> pd.Series:
    """Counts per ISO3 code that the map may show: known countries at or above min_cell."""
    return counts[(counts >= min_cell) & (counts.index != UNKNOWN)]


def map_bins(min_cell: int) -> list[int]:
    """Class boundaries for respondents per country, starting at min_cell."""
    return [min_cell] + [b for b in MAP_BINS if b > min_cell]


def bin_labels(bins: list[int]) -> list[str]:
    """Legend labels such as '2-5' and '51+' for class boundaries."""
    upper = [b - 1 for b in bins[1:]]
    labels = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in zip(bins, upper)]
    return labels + [f"{bins[-1]}+"]


def world_map(counts: pd.Series, world, min_cell: int = 1) -> plt.Figure:
    """Figure 1A: respondents per country on an equal-area map, with a Europe close-up."""
    frame = world.assign(n=world["iso3"].map(map_counts(counts, min_cell))).to_crs(EQUAL_EARTH)
    bins = map_bins(min_cell)
    colours = sns.color_palette("viridis_r", len(bins))
    style = {"cmap": ListedColormap(colours), "edgecolor": "white", "linewidth": 0.3,
             "norm": BoundaryNorm(bins + [bins[-1] * 100], len(colours))}
    fig, (world_ax, europe_ax) = plt.subplots(1, 2, figsize=(WIDTH, 3.0),
                                              gridspec_kw={"width_ratios": [2.2, 1]})
    europe = europe_bounds()
    for ax in (world_ax, europe_ax):
        frame.plot(ax=ax, color="#e6e6e6", edgecolor="white", linewidth=0.3)
        frame.dropna(subset=["n"]).plot(ax=ax, column="n", **style)
        ax.set_axis_off()
    europe_ax.set_xlim(europe[0], europe[2])
    europe_ax.set_ylim(europe[1], europe[3])
    europe_ax.set_title("Europe", fontsize=8)
    with_counts = frame.dropna(subset=["n"])
    points = with_counts.geometry.representative_point()
    in_europe = points.within(box(*europe))
    label_counts(world_ax, with_counts[~in_europe], points[~in_europe])
    label_counts(europe_ax, with_counts[in_europe], points[in_europe])
    world_ax.add_patch(matplotlib.patches.Rectangle(
        europe[:2], europe[2] - europe[0], europe[3] - europe[1], fill=False, linewidth=0.6,
        edgecolor="#555555"))
    handles = [matplotlib.patches.Patch(color=c, label=label)
               for c, label in zip(colours, bin_labels(bins))]
    world_ax.legend(handles=handles, title="Respondents per country", loc="upper center",
                    bbox_to_anchor=(0.5, 0.02), ncols=len(handles), fontsize=6,
                    title_fontsize=7, frameon=False, handlelength=1.2, columnspacing=0.8)
    return fig


def europe_bounds() -> tuple[float, float, float, float]:
    """The Europe close-up window (11 W to 33 E, 35 N to 64 N) in map coordinates."""
    window = geopandas.GeoSeries([box(-11, 35, 33, 64)], crs="EPSG:4326").to_crs(EQUAL_EARTH)
    return tuple(window.total_bounds)


def label_counts(ax, frame, points) -> None:
    """Write each country's count at a point inside it, with a halo for legibility."""
    halo = [patheffects.withStroke(linewidth=1.5, foreground="white")]
    for point, n in zip(points, frame["n"]):
        ax.annotate(f"{int(n)}", (point.x, point.y), ha="center", va="center", fontsize=5.5,
                    fontweight="bold", path_effects=halo)


def ranking_chart(table: pd.DataFrame, k: int, title: str) -> plt.Figure:
    """Figure 1B-style stacked bars: times ranked in each position, items in Borda order."""
    positions = table[[f"position_{p}" for p in range(1, k + 1)]]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(table) + 1.0))
    left = np.zeros(len(table))
    colours = sns.color_palette("viridis", k)
    for p, colour in zip(range(1, k + 1), colours):
        values = positions[f"position_{p}"].to_numpy()
        ax.barh(table["label"], values, left=left, color=colour, label=ordinal(p))
        left += values
    for y, (total, borda) in enumerate(zip(left, table["borda"])):
        ax.text(total + 1, y, f"Borda {borda}", va="center", fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.2 + 1)
    ax.set(xlabel="Respondents ranking the item", ylabel="", title=title)
    ax.legend(title="Position", ncols=k, fontsize=7, title_fontsize=7, loc="lower right",
              frameon=False)
    return fig


def ordinal(p: int) -> str:
    """1 -> '1st', 2 -> '2nd', ..."""
    return f"{p}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(p if p < 20 else p % 10, 'th') }"


def share_chart(table: pd.DataFrame, title: str) -> plt.Figure:
    """Figure 1C/1D-style bars: percentage choosing each option, n/N written beside."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(table) + 1.0))
    pct = table["pct"].fillna(0) * 100
    sns.barplot(x=pct, y=table["label"], ax=ax, color=sns.color_palette(PALETTE)[0])
    for y, (value, text) in enumerate(zip(pct, table["text"])):
        ax.text(value + 1, y, text, va="center", fontsize=7)
    ax.set_xlim(0, max(100, pct.max() * 1.25))
    ax.set(xlabel="Respondents (%)", ylabel="", title=title)
    return fig
