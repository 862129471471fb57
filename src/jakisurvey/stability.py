"""How stable the published rankings are: bootstrap over respondents, and other scorings.

A ranking is scored exactly as stats.ranking_table scores it: Borda points over valid rankings
(K + 1 - p for position p), ties broken by first places, then by code. A bootstrap resample
draws the respondents with replacement, so the number of valid rankings in it varies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .stats import code_order, ranking_table
from .study import DEFAULT_RESAMPLES, DEFAULT_SEED
from .survey import Survey

CHUNK_BYTES = 100_000_000  # working memory per chunk of resamples
BYTES_PER_COUNT = 16       # a drawn count (int64) and its float
MIN_SHARE_RANKED = 0.10    # mean position: items ranked by fewer valid rankings are excluded


def scores(survey: Survey, name: str) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Item codes (in code order), and per valid ranking the Borda points and first places per item."""
    ranking = survey.codebook.rankings[name]
    people = survey.respondents
    codes = sorted(ranking.choices, key=code_order)
    index = {code: i for i, code in enumerate(codes)}
    positions = people.loc[people[f"{name}_valid"], list(ranking.fields)]
    items = positions.apply(lambda column: column.map(index)).to_numpy(dtype="float64",
                                                                       na_value=np.nan)
    placed = items[:, :, None] == np.arange(len(codes), dtype="float64")[None, None, :]
    # placed: ranking x position x item
    weights = np.arange(ranking.k, 0, -1, dtype="float64")        # K, K-1, ..., 1
    return codes, np.einsum("rpi,p->ri", placed, weights), placed[:, 0, :].astype("float64")


def borda_order(borda: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Item indices best first along the last axis: Borda, then first places, then code order."""
    by_code = np.broadcast_to(np.arange(borda.shape[-1]), borda.shape)
    return np.lexsort((by_code, -firsts, -borda), axis=-1)


def rank_order(survey: Survey, name: str) -> list[int]:
    """Item codes of a ranking, best first, from the unresampled records."""
    codes, points, firsts = scores(survey, name)
    return [codes[i] for i in borda_order(points.sum(axis=0), firsts.sum(axis=0))]


def chunk_size(n_patterns: int, resamples: int) -> int:
    """Resamples per chunk so that one chunk's counts stay within CHUNK_BYTES."""
    return max(1, min(resamples, CHUNK_BYTES // (BYTES_PER_COUNT * max(n_patterns, 1))))


def patterns(points: np.ndarray, firsts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (points, first places) rows among n respondents, and how many have each.

    Respondents without a valid ranking are one row of zeros; they are drawn but add nothing.
    """
    rows = np.vstack([np.hstack([points, firsts]), np.zeros((1, 2 * points.shape[1]))])
    unique, inverse = np.unique(rows[:-1], axis=0, return_inverse=True) if len(points) else \
        (rows[:0], np.zeros(0, dtype=int))
    counts = np.bincount(inverse.ravel(), minlength=len(unique)).astype("float64")
    return np.vstack([unique, rows[-1:]]), np.append(counts, n - len(points))


def bootstrap_orders(points: np.ndarray, firsts: np.ndarray, n: int, resamples: int,
                     seed: int) -> np.ndarray:
    """Item order (indices, best first) in each of `resamples` bootstrap resamples of n people.

    Drawing n respondents with replacement draws each distinct answer pattern a multinomial
    number of times (n draws, probabilities = the pattern's share of respondents), so the
    resamples are drawn over patterns: the same distribution, at a cost that grows with the
    number of distinct patterns, not of respondents. points and firsts hold one row per valid
    ranking.
    """
    rng = np.random.default_rng(seed)
    n_items = points.shape[1]
    rows, counts = patterns(points, firsts, n)
    step = chunk_size(len(rows), resamples)
    orders = []
    for start in range(0, resamples, step):
        drawn = rng.multinomial(n, counts / n, size=min(step, resamples - start))
        totals = drawn.astype("float64") @ rows
        orders.append(borda_order(totals[:, :n_items], totals[:, n_items:]))
    return np.vstack(orders)


def ranking_stability(survey: Survey, name: str, top_k: int,
                      resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict:
    """Share of bootstrap resamples in which each item ranks first and among the top k.

    Items are listed in the published (unresampled) order; p_first sums to 1 over the items.
    """
    ranking = survey.codebook.rankings[name]
    codes, points, firsts = scores(survey, name)
    n = len(survey.respondents)
    items = [{"code": code, "label": ranking.choices[code]} for code in rank_order(survey, name)]
    if not n or resamples < 1:
        return {"resamples": resamples, "seed": seed, "top_k": top_k,
                "items": [{**item, "p_first": None, "p_top": None} for item in items]}
    orders = bootstrap_orders(points, firsts, n, resamples, seed)
    first = np.bincount(orders[:, 0], minlength=len(codes)) / resamples
    top = np.bincount(orders[:, :top_k].ravel(), minlength=len(codes)) / resamples
    index = {code: i for i, code in enumerate(codes)}
    return {"resamples": resamples, "seed": seed, "top_k": top_k,
            "items": [{**item, "p_first": float(first[index[item["code"]]]),
                       "p_top": float(top[index[item["code"]]])} for item in items]}


def alternative_scorings(survey: Survey, name: str, top_k: int) -> dict:
    """The top k under Borda (as published), under times ranked first and under mean position.

    Mean position (lower is better) leaves out items ranked by fewer than 10% of valid rankings;
    ties: first places by Borda then code, mean position by times ranked (more first) then code.
    """
    table = ranking_table(survey, name)
    min_ranked = MIN_SHARE_RANKED * int(survey.respondents[f"{name}_valid"].sum())
    by_first = table.sort_values(["n_first", "borda", "code"], ascending=[False, False, True],
                                 kind="stable")
    eligible = table[(table["n_ranked"] > 0) & (table["n_ranked"] >= min_ranked)]
    by_mean = eligible.sort_values(["mean_position", "n_ranked", "code"],
                                   ascending=[True, False, True], kind="stable")
    return {"top_k": top_k,
            "borda": top_codes(table, top_k),
            "first_places": top_codes(by_first, top_k),
            "mean_position": top_codes(by_mean, top_k),
            "excluded_from_mean_position": sorted(int(c) for c in
                                                  set(table["code"]) - set(eligible["code"]))}


def top_codes(table: pd.DataFrame, k: int) -> list[int]:
    """The first k codes of an ordered ranking table."""
    return [int(code) for code in table["code"].head(k)]
