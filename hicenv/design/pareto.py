"""Pareto fronts of evaluated design points: dominance, hypervolume, CSV and plot.

Objectives are the registered ones (:data:`hicenv.design.objectives.OBJECTIVES`, by
name; default accuracy at the drift horizon, model size relative to FP32, endurance
fraction). Internally everything is minimised (maximised objectives negated).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.objectives import DEFAULT_OBJECTIVES, Reading, get_objectives, objective_values, to_min

__all__ = [
    "DEFAULT_OBJECTIVES",
    "non_dominated",
    "front_probability",
    "hypervolume",
    "front",
    "front_certainty",
    "NEAR_FRONT",
    "front_summary",
    "with_p_front",
    "distinct",
    "design_columns",
    "plot_front",
    "write_csv",
    "design_row",
    "save_figure",
]


def _as_min(values: np.ndarray, objectives: Sequence[str]) -> np.ndarray:
    return to_min(values, get_objectives(list(objectives)))


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (``values`` in minimisation form)."""
    v = np.asarray(values, dtype=float)
    keep = np.ones(len(v), dtype=bool)
    for start in range(0, len(v), 256):  # blocks of rows against all rows: n^2 x m booleans a block
        block = v[start : start + 256, None, :]
        dominated = np.all(v[None] <= block, axis=2) & np.any(v[None] < block, axis=2)
        keep[start : start + 256] = ~dominated.any(axis=1)
    return keep


def front_probability(
    values: np.ndarray, sd: np.ndarray | float, draws: int = 1000, seed: int = 0, laws: dict | None = None
) -> np.ndarray:
    """How sure each row is to be non-dominated when its values are uncertain: the share of
    ``draws`` Monte Carlo draws, each value plus independent normal noise of its ``sd`` (0
    where exact; broadcast against ``values``), in which the row is on the front. ``values``
    in minimisation form. ``laws`` maps a column to the rows' predictive laws instead, as
    their quantiles at :data:`~hicenv.design.surrogate.LAW_SCORES` ((rows, scores), in
    minimisation form): a draw is the quantile at a standard normal score, interpolated
    linearly and held at the ends (beyond 3 sd: 0.27% of draws). Independence across rows
    and objectives is an approximation (designs trained with one seed share its luck)."""
    v = np.asarray(values, dtype=float)
    s = np.broadcast_to(np.asarray(sd, dtype=float), v.shape)
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(v))
    for _ in range(draws):
        score = rng.standard_normal(v.shape)
        drawn = v + s * score
        for j, q in (laws or {}).items():
            drawn[:, j] = _quantile_at(q, score[:, j])
        hits += non_dominated(drawn)
    return hits / draws


def _quantile_at(q: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Row i's law (quantiles ``q[i]`` at :data:`LAW_SCORES`) at the normal score ``score[i]``."""
    from hicenv.design.surrogate import LAW_SCORES

    z = np.clip(score, LAW_SCORES[0], LAW_SCORES[-1])
    i = np.clip(np.searchsorted(LAW_SCORES, z) - 1, 0, len(LAW_SCORES) - 2)
    f = (z - LAW_SCORES[i]) / (LAW_SCORES[i + 1] - LAW_SCORES[i])
    rows = np.arange(len(q))
    return q[rows, i] + f * (q[rows, i + 1] - q[rows, i])


def hypervolume(values: np.ndarray, ref: Sequence[float]) -> float:
    """Volume dominated by ``values`` (minimisation) and bounded by ``ref``; exact, by slicing."""
    v = np.asarray(values, dtype=float)
    ref = np.asarray(ref, dtype=float)
    v = v[np.all(v < ref, axis=1)]
    if len(v) == 0:
        return 0.0
    if v.shape[1] == 1:
        return float(ref[0] - v[:, 0].min())
    v = v[np.argsort(v[:, 0])]
    total = 0.0
    for i in range(len(v)):  # slab between this point's first coordinate and the next's
        upper = v[i + 1, 0] if i + 1 < len(v) else ref[0]
        if upper > v[i, 0]:
            total += (upper - v[i, 0]) * hypervolume(v[: i + 1, 1:], ref[1:])
    return float(total)


def design_columns(designs: pd.DataFrame) -> list[str]:
    """The columns of ``designs`` that name a design point: every field of
    :class:`~hicenv.sim.config.HICConfig` and every ``device.<field>`` the table has."""
    from dataclasses import fields

    from hicenv.rows import DEVICE_PREFIX
    from hicenv.sim.config import HICConfig

    names = {f.name for f in fields(HICConfig) if f.name != "pcm"}
    return [c for c in designs.columns if c in names or c.startswith(DEVICE_PREFIX)]


def distinct(designs: pd.DataFrame, objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> pd.DataFrame:
    """One row per distinct design point, in order of first evaluation: its first row, with
    ``objectives`` averaged over its evaluations, ``evaluations`` (how many rows it had),
    ``seeds`` (how many distinct training seeds, where there is a ``seed`` column) and
    ``<objective>_std``, the spread over those seeds (NaN for one seed). Re-evaluations of
    a point (a re-proposal, a cached repeat) are one design, not several."""
    columns = design_columns(designs)
    if designs.empty or not columns:
        return designs.assign(evaluations=1)
    key = designs[columns].astype(str).agg("|".join, axis=1)
    groups = designs.groupby(key, sort=False, dropna=False)
    out = groups.head(1).copy()
    order = key.loc[out.index]
    out["evaluations"] = groups.size().loc[order].to_numpy()
    if "seed" in designs.columns:
        # A backend without seeds (the surrogate, a table) leaves the seed empty: one "seed".
        per_seed = designs.groupby([key, designs["seed"]], sort=False, dropna=False)[list(objectives)].mean()
        by_design = per_seed.groupby(level=0, sort=False)
        out["seeds"] = by_design.size().loc[order].to_numpy()
        for c in objectives:
            out[c] = by_design[c].mean().loc[order].to_numpy()
            out[f"{c}_std"] = by_design[c].std().loc[order].to_numpy()
    return out.reset_index(drop=True)


def front(designs: pd.DataFrame, objectives: Sequence[str] = DEFAULT_OBJECTIVES) -> pd.DataFrame:
    """The distinct design points of ``designs`` (:func:`distinct`) that are Pareto-optimal in
    ``objectives`` (failed rows dropped, and rows where one is unknown), by increasing
    ``objectives[1]`` (the only one, for one objective)."""
    df = designs
    if "failed" in df.columns:
        df = df[~df["failed"].astype(bool)]
    df = df.dropna(subset=list(objectives))
    if df.empty:
        return df
    df = distinct(df, objectives)
    mask = non_dominated(_as_min(df[list(objectives)].to_numpy(), objectives))
    return df[mask].sort_values(list(objectives)[min(1, len(objectives) - 1)]).reset_index(drop=True)


NEAR_FRONT = 0.05
"""A design off the front with at least this probability of being non-dominated is
indistinguishable from the front within the noise."""


def front_certainty(
    designs: pd.DataFrame, objectives: Sequence[str] = DEFAULT_OBJECTIVES, draws: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The distinct design points of ``designs`` (failed and unknown rows dropped, as
    :func:`front`) with ``on_front`` and ``p_front``: the probability of being non-dominated
    under each objective's uncertainty (:func:`front_probability`). The uncertainty of an
    objective, per design: none for an exact one (``Objective.exact``: size, area); the sd
    of its seed mean where the design has replicates, the pooled seed sd of the replicated
    designs where it has one seed; otherwise the surrogate's predictive std where the rows
    carry it: its predictive law (``surrogate_law``, drawn from as it is: an accuracy's is
    skewed, bimodal where designs collapse), else its sd (``surrogate_std``). Where an
    objective has none of these, ``p_front`` is empty: nobody knows how sure the front is."""
    df = designs
    if "failed" in df.columns:
        df = df[~df["failed"].astype(bool)]
    df = df.dropna(subset=list(objectives))
    d = distinct(df, objectives) if len(df) else df.copy()
    if d.empty:
        return d.assign(on_front=pd.Series(dtype=bool), p_front=pd.Series(dtype=float))
    v = _as_min(d[list(objectives)].to_numpy(dtype=float), objectives)
    d["on_front"] = non_dominated(v)
    spread = _uncertainty(d, objectives)
    d["p_front"] = np.nan if spread is None else front_probability(v, spread[0], draws, seed, laws=spread[1])
    return d


def _uncertainty(d: pd.DataFrame, objectives: Sequence[str]) -> tuple[np.ndarray, dict] | None:
    """The objective values' uncertainty as :func:`front_probability` takes it: (designs,
    objectives) standard deviations, and the laws of the objectives known by theirs, by
    column, in minimisation form (None: unknown)."""
    cols, laws = [], {}
    for j, o in enumerate(get_objectives(list(objectives))):
        col = np.zeros(len(d)) if o.exact else _seed_sd(d, o.name)
        if col is None:
            law = _surrogate_answer(d, "surrogate_law", o.surrogate_law)
            if law is not None:
                laws[j], col = o.sign * law, np.zeros(len(d))
            else:
                col = _surrogate_answer(d, "surrogate_std", o.surrogate_sd)
        if col is None:
            return None
        cols.append(col)
    return np.column_stack(cols), laws


def _seed_sd(d: pd.DataFrame, name: str) -> np.ndarray | None:
    """The sd of each design's seed mean; one-seed designs get the pooled sd (None: no replicates)."""
    if "seeds" not in d.columns or f"{name}_std" not in d.columns:
        return None
    seeds = d["seeds"].to_numpy(dtype=float)
    std = d[f"{name}_std"].to_numpy(dtype=float)
    rep = (seeds >= 2) & np.isfinite(std)
    if not rep.any():
        return None
    pooled = float(np.sqrt(np.mean(std[rep] ** 2)))
    return np.where(rep, std / np.sqrt(np.where(rep, seeds, 1)), pooled)


def _surrogate_answer(d: pd.DataFrame, column: str, read) -> np.ndarray | None:
    """What ``read`` (:attr:`Objective.surrogate_sd` or :attr:`~Objective.surrogate_law`) makes
    of every row's ``column`` (a dict: each target's), as an array (None: a row lacks it)."""
    import json

    if column not in d.columns:
        return None
    out = []
    for answer, row in zip(d[column], d.to_dict("records")):
        answer = json.loads(answer) if isinstance(answer, str) else answer
        v = read(answer, row) if isinstance(answer, dict) else None
        if v is None:
            return None
        out.append(np.asarray(v, dtype=float))
    return np.asarray(out)


def with_p_front(front_rows: pd.DataFrame, certainty: pd.DataFrame) -> pd.DataFrame:
    """``front_rows`` with each design's ``p_front`` from :func:`front_certainty` (matched by
    the design-point columns; empty where a design is not there)."""
    columns = [c for c in design_columns(front_rows) if c in certainty.columns]
    if front_rows.empty or not columns or "p_front" not in certainty.columns:
        return front_rows.assign(p_front=np.nan)

    def key(df: pd.DataFrame) -> pd.Series:
        return df[columns].astype(str).agg("|".join, axis=1)

    p = dict(zip(key(certainty), certainty["p_front"]))
    return front_rows.assign(p_front=key(front_rows).map(p).astype(float).to_numpy())


def front_summary(certainty: pd.DataFrame) -> str:
    """How many designs are on the front, and how many more are within noise of it."""
    on = int(certainty["on_front"].sum()) if len(certainty) else 0
    if len(certainty) == 0 or certainty["p_front"].isna().all():
        return f"{on} on the Pareto front (how sure: unknown, no replicates or predictive std)"
    near = int(((certainty["p_front"] >= NEAR_FRONT) & ~certainty["on_front"]).sum())
    sure = int(((certainty["p_front"] >= 0.95) & certainty["on_front"]).sum())
    return (
        f"{on} on the Pareto front ({sure} of them at P >= 0.95), {near} more indistinguishable "
        f"from it within the noise (P(non-dominated) >= {NEAR_FRONT:g})"
    )


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a designs table atomically: CSV (Parquet for a .parquet path)."""
    from hicenv.output import write_table

    return write_table(df, path, any_suffix_csv=True)


def plot_front(
    designs: pd.DataFrame, path: str | os.PathLike, title: str = "", objectives: Sequence[str] = DEFAULT_OBJECTIVES
) -> Path:
    """The first maximised objective against the first minimised one (accuracy against model
    size by default), coloured by a third objective if there is one; the front as circles,
    its envelope in the two plotted objectives as a line, and the designs off it that the
    noise cannot tell from it (:func:`front_certainty`) as diamonds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objs = get_objectives(list(objectives))
    y = next((o for o in objs if o.direction == "maximize"), objs[0])
    x = next((o for o in objs if o is not y), y)
    colour = next((o for o in objs if o not in (x, y)), None)
    ok = designs[~designs["failed"].astype(bool)] if "failed" in designs.columns else designs
    fr = front(designs, [o.name for o in objs])
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    style = dict(cmap="viridis", c=ok[colour.name]) if colour is not None else dict(color="tab:blue")
    sc = ax.scatter(ok[x.name], ok[y.name], s=28, alpha=0.8, edgecolors="none", **style)
    if len(fr):
        ax.scatter(
            fr[x.name],
            fr[y.name],
            facecolors="none",
            edgecolors="crimson",
            s=60,
            label=f"Pareto front ({len(objs)} objective{'s' if len(objs) > 1 else ''})",
        )
        f2 = front(fr, [y.name, x.name] if x is not y else [y.name]).sort_values(x.name)
        ax.step(f2[x.name], f2[y.name], where="post", color="crimson", lw=1.2)
        cert = front_certainty(designs, [o.name for o in objs])
        near = cert[(cert["p_front"] >= NEAR_FRONT) & ~cert["on_front"]]
        if len(near):
            ax.scatter(
                near[x.name],
                near[y.name],
                marker="D",
                facecolors="none",
                edgecolors="darkorange",
                s=50,
                label=f"within noise of the front ({len(near)}: P(non-dominated) >= {NEAR_FRONT:g})",
            )
    fp32 = ok[ok["fp32"].astype(bool)] if "fp32" in ok.columns else ok.iloc[:0]
    if len(fp32):
        ax.scatter(fp32[x.name], fp32[y.name], marker="*", s=140, color="black", label="FP32 baseline")
    if colour is not None:
        fig.colorbar(sc, ax=ax, label=colour.label)
    ax.set_xlabel(x.label)
    ax.set_ylabel(y.label)
    ax.set_title(title or "HIC design points")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Lay out, write atomically (a crash leaves no half-written PNG) and close a figure."""
    import matplotlib.pyplot as plt

    from hicenv.output import write_atomically

    fig.tight_layout()
    path = write_atomically(path, fig.savefig)
    plt.close(fig)
    return path


def design_row(
    metrics: dict, horizon: str, compensate: bool = True, objectives: Sequence[str] = DEFAULT_OBJECTIVES, **extra
) -> dict:
    """One evaluated design as a row of a designs table: ``extra`` (trial number, study name,
    agent), a column for each of ``objectives`` and of the default ones, the horizon, then every
    metric (:func:`hicenv.rows.flatten`; a metric the backend does not know is empty, never a
    number). Studies and RL agents write the same columns."""
    from hicenv.rows import flatten

    objs = get_objectives(list(dict.fromkeys([*objectives, *DEFAULT_OBJECTIVES])))
    values = objective_values(metrics, objs, Reading(horizon, compensate))
    flat = flatten(metrics)
    return {
        **extra,
        **{o.name: v for o, v in zip(objs, values)},
        "horizon": horizon,
        **{k: v for k, v in flat.items() if k not in {o.name for o in objs}},
    }
