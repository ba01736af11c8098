"""Pareto fronts of evaluated design points: dominance, hypervolume, CSV and plot.

Objectives follow :func:`hicenv.design.reward.objectives`: maximise accuracy at the drift
horizon, minimise model size relative to FP32, minimise the endurance fraction.
Internally everything is minimised (accuracy negated).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "OBJECTIVES",
    "non_dominated",
    "hypervolume",
    "front",
    "distinct",
    "design_columns",
    "plot_front",
    "write_csv",
    "design_row",
    "save_figure",
]

OBJECTIVES = ("horizon_accuracy", "size_ratio", "endurance_fraction")
"""Objective columns of a designs table: maximise, minimise, minimise."""
_SIGN = np.array([-1.0, 1.0, 1.0])  # to minimisation


def _as_min(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v * _SIGN[: v.shape[1]]


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (``values`` in minimisation form)."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):  # O(n^2) over points, vectorised over the others; fronts are small
        others = v[np.arange(n) != i]
        dominated = np.any(np.all(others <= v[i], axis=1) & np.any(others < v[i], axis=1))
        keep[i] = not dominated
    return keep


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


def distinct(designs: pd.DataFrame, objectives: Sequence[str] = OBJECTIVES) -> pd.DataFrame:
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


def front(designs: pd.DataFrame, objectives: Sequence[str] = OBJECTIVES) -> pd.DataFrame:
    """The distinct design points of ``designs`` (:func:`distinct`) that are Pareto-optimal in
    ``objectives`` (failed rows dropped), by increasing ``objectives[1]``."""
    df = designs
    if "failed" in df.columns:
        df = df[~df["failed"].astype(bool)]
    df = df.dropna(subset=list(objectives))
    if df.empty:
        return df
    df = distinct(df, objectives)
    mask = non_dominated(_as_min(df[list(objectives)].to_numpy()))
    return df[mask].sort_values(list(objectives)[1]).reset_index(drop=True)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a designs table atomically: CSV (Parquet for a .parquet path)."""
    from hicenv.output import write_table

    return write_table(df, path, any_suffix_csv=True)


def plot_front(designs: pd.DataFrame, path: str | os.PathLike, title: str = "") -> Path:
    """Accuracy against model size, coloured by endurance fraction; the front as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = designs[~designs["failed"].astype(bool)] if "failed" in designs.columns else designs
    fr = front(designs)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    sc = ax.scatter(
        ok["size_ratio"],
        ok["horizon_accuracy"],
        c=ok["endurance_fraction"],
        cmap="viridis",
        s=28,
        alpha=0.8,
        edgecolors="none",
    )
    if len(fr):  # circles: the three-objective front; line: its accuracy-size envelope
        ax.scatter(
            fr["size_ratio"],
            fr["horizon_accuracy"],
            facecolors="none",
            edgecolors="crimson",
            s=60,
            label="Pareto front (3 objectives)",
        )
        f2 = front(fr, OBJECTIVES[:2]).sort_values("size_ratio")
        ax.step(f2["size_ratio"], f2["horizon_accuracy"], where="post", color="crimson", lw=1.2)
    fp32 = ok[ok["fp32"].astype(bool)] if "fp32" in ok.columns else ok.iloc[:0]
    if len(fp32):
        ax.scatter(
            fp32["size_ratio"], fp32["horizon_accuracy"], marker="*", s=140, color="black", label="FP32 baseline"
        )
    fig.colorbar(sc, ax=ax, label="endurance fraction (most-cycled device)")
    ax.set_xlabel("inference model size / FP32 size")
    ax.set_ylabel("accuracy at the drift horizon")
    ax.set_title(title or "HIC design points")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save_figure(fig, path)


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Lay out, write atomically (a crash leaves no half-written PNG) and close a figure."""
    import matplotlib.pyplot as plt

    from hicenv.output import write_atomically

    fig.tight_layout()
    path = write_atomically(path, fig.savefig)
    plt.close(fig)
    return path


def design_row(metrics: dict, horizon: str, compensate: bool = True, **extra) -> dict:
    """One evaluated design as a row of a designs table: knobs, objectives, every metric, ``extra``
    (trial number, study name, agent). Studies and RL agents write the same columns."""
    from hicenv.design.reward import objectives
    from hicenv.rows import flatten

    acc, size, frac = objectives(metrics, horizon, compensate)
    return {
        **extra,
        "horizon_accuracy": acc,
        "size_ratio": size,
        "endurance_fraction": frac,
        "horizon": horizon,
        **{k: v for k, v in flatten(metrics).items() if k not in ("size_ratio", "endurance_fraction")},
    }
