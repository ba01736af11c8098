"""The paper's four claims and the proxy's fidelity, as numbers from stored results.

:mod:`hicenv_agents.experiments.paper_report` renders them (Markdown and plots); this module
computes them and names every threshold a verdict uses, so a verdict's rule is read here,
not inside a sentence. A claim whose figure cannot be computed raises :class:`ReportError`
naming it, rather than leaving a hole in the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hicenv.rows import flatten
from hicenv_agents.experiments.paper import CHOSEN_ON

__all__ = [
    "ReportError",
    "Claims",
    "results_frame",
    "claims",
    "fidelity",
    "encodings",
    "COMPARABLE",
    "HALF_SIZE_AGREES",
    "NEGLIGIBLE_LOSS",
    "FIDELITY_TARGET",
    "MIN_FIDELITY_POINTS",
]

MIN_FIDELITY_POINTS = 12
COMPARABLE = 0.10
"""Sizes within 10% of the FP32 baseline's count as comparable (claim 1)."""
HALF_SIZE_AGREES = 0.6
"""Claim 2 ("about 50% smaller"): agreed when the smallest model within the seed spread is at
most this share of the FP32 model's size."""
NEGLIGIBLE_LOSS = 0.01
"""Claim 3 ("negligible drift loss"): a one-year accuracy loss of at most one point."""
FIDELITY_TARGET = 0.8
"""The proxy's rank fidelity (Spearman against the long budget) it is held to."""


class ReportError(ValueError):
    """A claim's figure is missing from the results."""


RAW, GDC = "accuracy_drift_", "accuracy_drift_gdc_"
"""Prefixes of the per-run accuracy columns at each horizon (:func:`hicenv.rows.flatten`)."""
CYCLE_COLUMNS = {
    "max_write_cycles": "max_write_cycles",
    "endurance_fraction": "endurance_fraction",
    "binary_max": "write_cycles_binary_max",
    "multilevel_max": "write_cycles_multilevel_max",
    "binary_p99_9": "write_cycles_binary_p99_9",
    "multilevel_p99_9": "write_cycles_multilevel_p99_9",
}
"""Claim 4's summary columns and the per-run columns they summarise."""


def results_frame(rows: list[dict]) -> pd.DataFrame:
    """One row per successful run: :func:`hicenv.rows.flatten`'s columns (the raw CSV holds
    them), the task's names (``label``, ``set``, ``kind``; ``budget`` is the task's budget
    name) and each write-cycle histogram as text."""
    out = []
    for r in rows:
        if r.get("failed"):
            continue
        row = {
            "label": r["label"],
            "set": r.get("set", "panel"),
            "kind": r.get("kind", "long"),
            **flatten(r),
            "budget": r["budget_name"],
        }
        row["sim_fingerprint"] = r.get("sim_fingerprint") or "none"
        wc = r.get("write_cycles") or {}
        for kind in ("binary", "multilevel"):
            hist = (wc.get(f"{kind}_distribution") or {}).get("hist_log2")
            row[f"{kind}_hist_log2"] = " ".join(map(str, hist)) if hist else ""
        out.append(row)
    if not out:
        raise ReportError("no successful runs in the results")
    return pd.DataFrame(out)


def _ms(x: pd.Series) -> tuple[float, float, int]:
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else float("nan"), int(len(x))


@dataclass
class Claims:
    points: pd.DataFrame  # per design point, long budget: accuracy mean/sd, size
    baseline: pd.Series
    comparable: dict
    smallest: dict
    drift: pd.DataFrame
    cycles: pd.DataFrame
    long_budget: str
    worst_run: dict
    paper_scale: float


def _points(long: pd.DataFrame) -> pd.DataFrame:
    g = long.groupby("label", sort=False)
    pts = g.agg(
        fp32=("fp32", "first"),
        width=("width", "first"),
        msb_bits=("msb_bits", "first"),
        lsb_bits=("lsb_bits", "first"),
        acc_bits=("acc_bits", "first"),
        size_bits=("model_size_bits", "first"),
        acc_mean=("accuracy", "mean"),
        acc_sd=("accuracy", "std"),
        seeds=("seed", "nunique"),
    )
    return pts


def claims(df: pd.DataFrame) -> Claims:
    """The figures behind the four claims, from the long-budget runs."""
    long = df[df["kind"] == "long"]
    if long.empty:
        raise ReportError("claims 1-4: no long-budget runs in the results")
    budgets = long["budget"].unique()
    if len(budgets) > 1:
        raise ReportError(f"claims: several long budgets in the results ({', '.join(budgets)}); report one at a time")
    pts = _points(long)
    base = pts[pts["fp32"] & (pts["width"] == 1.0)]
    if base.empty:
        raise ReportError("claims 1-2: the FP32 baseline at width 1 is missing")
    base = base.iloc[0]
    pts["size_vs_baseline"] = pts["size_bits"] / base["size_bits"]
    hic = pts[~pts["fp32"]]
    if hic.empty:
        raise ReportError("claims 1-4: no HIC runs")

    comparable = _claim1_figures(hic, base)
    smallest = _claim2_figures(hic, base)
    hl = long[~long["fp32"]]
    drift = _claim3_figures(hl)
    cycles, w, worst_run = _claim4_figures(hl)
    # The paper's recipe, 160 epochs, on this dataset's training set at this batch size.
    paper_steps = 160 * (int(w["train_images"]) // int(w["budget.batch_size"]))
    return Claims(
        pts, base, comparable, smallest, drift, cycles, budgets[0], worst_run, paper_steps / worst_run["steps"]
    )


def _claim1_figures(hic: pd.DataFrame, base: pd.Series) -> dict:
    """Claim 1: the best HIC model within +-10% of the baseline's size."""
    near = hic[(hic["size_vs_baseline"] - 1).abs() <= COMPARABLE]
    if near.empty:
        raise ReportError("claim 1: no HIC model within 10% of the FP32 baseline's size (add widths)")
    best = near.sort_values("acc_mean", ascending=False).iloc[0]
    diff = best["acc_mean"] - base["acc_mean"]
    se = float(np.sqrt(best["acc_sd"] ** 2 / best["seeds"] + base["acc_sd"] ** 2 / base["seeds"]))
    comparable = {
        "label": best.name,
        "size_vs_baseline": best["size_vs_baseline"],
        "acc_mean": best["acc_mean"],
        "acc_sd": best["acc_sd"],
        "diff": diff,
        "diff_se": se,
        "seeds": int(best["seeds"]),
        "verdict": (
            "HIC is better"
            if diff > 2 * se
            else "HIC is worse"
            if diff < -2 * se
            else "no difference beyond the seed spread (|diff| < 2 standard errors)"
        ),
    }
    return comparable


def _claim2_figures(hic: pd.DataFrame, base: pd.Series) -> dict:
    """Claim 2: the smallest HIC model whose mean accuracy reaches the baseline's."""
    reach = hic[hic["acc_mean"] >= base["acc_mean"]].sort_values(["size_bits", "acc_mean"], ascending=[True, False])
    # the same rule as claim 1: no worse than the baseline by two standard errors of the difference
    se2 = 2 * np.sqrt(hic["acc_sd"] ** 2 / hic["seeds"] + base["acc_sd"] ** 2 / base["seeds"])
    within = hic[hic["acc_mean"] >= base["acc_mean"] - se2].sort_values(
        ["size_bits", "acc_mean"], ascending=[True, False]
    )
    smallest = {
        "reached": not reach.empty,
        "label": reach.index[0] if not reach.empty else None,
        "size_vs_baseline": reach["size_vs_baseline"].iloc[0] if not reach.empty else None,
        "acc_mean": reach["acc_mean"].iloc[0] if not reach.empty else None,
        "acc_sd": reach["acc_sd"].iloc[0] if not reach.empty else None,
        "within_label": within.index[0] if not within.empty else None,
        "within_size": within["size_vs_baseline"].iloc[0] if not within.empty else None,
        "within_acc": within["acc_mean"].iloc[0] if not within.empty else None,
        "within_sd": within["acc_sd"].iloc[0] if not within.empty else None,
        "sizes": sorted(hic["size_vs_baseline"].round(3).unique()),
    }
    return smallest


def _claim3_figures(hl: pd.DataFrame) -> pd.DataFrame:
    """Claim 3: accuracy after drift, relative to the same images right after training."""
    horizons = [c[len(GDC) :] for c in hl.columns if c.startswith(GDC)]
    if "1y" not in horizons or "0s" not in horizons or hl[[f"{GDC}1y", f"{RAW}1y"]].isna().any().any():
        raise ReportError("claim 3: accuracy after one year of drift is missing")
    rows = []
    for label, g in hl.groupby("label", sort=False):
        row = {"label": label}
        for h in horizons:
            row[f"drift_{h}"], row[f"drift_{h}_sd"], _ = _ms(g[f"{RAW}{h}"])
            row[f"gdc_{h}"], row[f"gdc_{h}_sd"], _ = _ms(g[f"{GDC}{h}"])
        row["loss_1y_gdc"], row["loss_1y_gdc_sd"], _ = _ms(g[f"{GDC}0s"] - g[f"{GDC}1y"])
        row["loss_1y_raw"], row["loss_1y_raw_sd"], _ = _ms(g[f"{RAW}0s"] - g[f"{RAW}1y"])
        rows.append(row)
    drift = pd.DataFrame(rows).set_index("label")
    return drift


def _claim4_figures(hl: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, dict]:
    """Claim 4: write-erase cycles of the most-written device, as a fraction of endurance."""
    if hl["max_write_cycles"].isna().any() or (hl["binary_hist_log2"] == "").all():
        raise ReportError("claim 4: write-cycle counts or their distribution are missing")
    rows = []
    for label, g in hl.groupby("label", sort=False):
        row = {"label": label, "steps": int(g["steps"].iloc[0])}
        for col, run_col in CYCLE_COLUMNS.items():
            row[col], row[f"{col}_sd"], _ = _ms(g[run_col].astype(float))
        rows.append(row)
    cycles = pd.DataFrame(rows).set_index("label")
    w = hl.loc[hl["max_write_cycles"].astype(float).idxmax()]
    worst_run = {
        "label": w["label"],
        "seed": int(w["seed"]),
        "cycles": int(w["max_write_cycles"]),
        "fraction": float(w["endurance_fraction"]),
        "steps": int(w["steps"]),
    }
    return cycles, w, worst_run


def _rank(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    from scipy.stats import kendalltau, spearmanr

    return float(spearmanr(a, b)[0]), float(kendalltau(a, b)[0])


def fidelity(df: pd.DataFrame) -> pd.DataFrame:
    """Rank correlation of each proxy budget's accuracy with the long budget's, per seed.

    Per seed s: Spearman and Kendall over the design points run at both budgets
    with seed s; then their mean and standard deviation over seeds, and the
    correlation of the seed-mean accuracies; ``objective`` columns: the same Spearman on
    the search's objective, accuracy after a year with drift compensation. The row
    ``long (seed vs seed)`` is the long budget against itself across seeds: the best
    any proxy can do."""
    long = df[df["kind"] == "long"].pivot_table(index="label", columns="seed", values="accuracy")
    long_obj = df[df["kind"] == "long"].pivot_table(index="label", columns="seed", values=f"{GDC}1y")
    proxies = [b for b in df.loc[df["kind"] == "proxy", "budget"].unique()]
    if not proxies:
        raise ReportError("proxy fidelity: no proxy-budget runs in the results")
    rows = []
    for b in proxies:
        p = df[(df["kind"] == "proxy") & (df["budget"] == b)].pivot_table(
            index="label", columns="seed", values="accuracy"
        )
        labels = long.index.intersection(p.index)
        seeds = [
            s
            for s in long.columns
            if s in p.columns and long.loc[labels, s].notna().all() and p.loc[labels, s].notna().all()
        ]
        if len(labels) < MIN_FIDELITY_POINTS or not seeds:
            raise ReportError(
                f"proxy fidelity: budget {b} shares {len(labels)} design points and {len(seeds)} "
                f"seeds with the long budget; at least {MIN_FIDELITY_POINTS} points and one seed needed"
            )
        per = np.array([_rank(long.loc[labels, s], p.loc[labels, s]) for s in seeds])
        p_obj = df[(df["kind"] == "proxy") & (df["budget"] == b)].pivot_table(
            index="label", columns="seed", values=f"{GDC}1y"
        )
        obj = np.array([_rank(long_obj.loc[labels, s], p_obj.loc[labels, s])[0] for s in seeds])
        mean_rank = _rank(long.loc[labels, seeds].mean(axis=1), p.loc[labels, seeds].mean(axis=1))
        chosen = CHOSEN_ON.get(b, ())
        held = [i for i, s in enumerate(seeds) if chosen and s not in chosen]
        rows.append(
            {
                "proxy": b,
                "points": len(labels),
                "seeds": len(seeds),
                "spearman": per[:, 0].mean(),
                "spearman_sd": per[:, 0].std(ddof=1) if len(seeds) > 1 else np.nan,
                "kendall": per[:, 1].mean(),
                "kendall_sd": per[:, 1].std(ddof=1) if len(seeds) > 1 else np.nan,
                "spearman_of_means": mean_rank[0],
                "kendall_of_means": mean_rank[1],
                "per_seed": {int(s): float(v) for s, v in zip(seeds, per[:, 0])},
                "held_out": [int(seeds[i]) for i in held],
                "spearman_held_out": float(per[held, 0].mean()) if held else np.nan,
                "objective": obj.mean(),
                "objective_sd": obj.std(ddof=1) if len(seeds) > 1 else np.nan,
                "train_images": int(df.loc[df["budget"] == b, "train_images"].iloc[0]),
                "steps": int(df.loc[df["budget"] == b, "steps"].iloc[0]),
            }
        )
    seeds = list(long.columns)
    if len(seeds) > 1:
        pairs = [(a, c) for i, a in enumerate(seeds) for c in seeds[i + 1 :]]
        per = np.array([_rank(long[a], long[c]) for a, c in pairs])
        obj = np.array([_rank(long_obj[a], long_obj[c])[0] for a, c in pairs])
        rows.append(
            {
                "proxy": "long (seed vs seed)",
                "points": len(long),
                "seeds": len(seeds),
                "objective": obj.mean(),
                "objective_sd": obj.std(ddof=1) if len(pairs) > 1 else np.nan,
                "spearman": per[:, 0].mean(),
                "spearman_sd": per[:, 0].std(ddof=1) if len(pairs) > 1 else np.nan,
                "kendall": per[:, 1].mean(),
                "kendall_sd": per[:, 1].std(ddof=1) if len(pairs) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("proxy")


# -- plots -----------------------------------------------------------------------------


def encodings(df: pd.DataFrame) -> pd.DataFrame | None:
    """Claim 3 per bit split under each LSB encoding: one-year loss with and without
    compensation (mean, sd over seeds), from the ``encodings`` point set; None if not run."""
    if df.empty:
        return None
    if df[[f"{GDC}1y", f"{RAW}1y", f"{GDC}0s", f"{RAW}0s"]].isna().any().any():
        raise ReportError("claim 3 (encodings): accuracy after one year of drift is missing")
    rows = []
    for (split, enc), g in df.groupby(
        [df["msb_bits"].astype(int).astype(str) + "/" + df["lsb_bits"].astype(int).astype(str), "lsb_encoding"],
        sort=True,
    ):
        row = {
            "split": split,
            "encoding": enc,
            "seeds": int(g["seed"].nunique()),
            "budget": g["budget"].iloc[0],
            "dataset": g["dataset"].iloc[0],
        }
        row["acc_0s"], row["acc_0s_sd"], _ = _ms(g[f"{RAW}0s"])
        for h in ("1h", "1d", "1mo", "1y"):
            row[f"raw_{h}"], row[f"raw_{h}_sd"], _ = _ms(g[f"{RAW}{h}"])
            row[f"gdc_{h}"], row[f"gdc_{h}_sd"], _ = _ms(g[f"{GDC}{h}"])
        row["loss_raw"], row["loss_raw_sd"], _ = _ms(g[f"{RAW}0s"] - g[f"{RAW}1y"])
        row["loss_gdc"], row["loss_gdc_sd"], _ = _ms(g[f"{GDC}0s"] - g[f"{GDC}1y"])
        row["max_write_cycles"] = float(g["max_write_cycles"].max())
        rows.append(row)
    return pd.DataFrame(rows)
