"""HIC-Bench's report: coverage, seed noise, the surrogate's fidelity and the fidelity ladder.

Reads only stored results (``hicenv bench run`` writes them) and writes
``studies/bench/REPORT.md``; every figure in it comes from those files, and the
report says how much of the bench they cover. ``hicenv bench report``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.errors import InputError
from hicenv.output import write_atomically
from hicenv.rows import flatten
from hicenv_agents.experiments.bench import BENCH_BUDGET, EXTRA_SEEDS, LADDER, N_POINTS, SEED_POINTS
from hicenv_agents.experiments.runner import load_results

__all__ = ["OBJECTIVE", "results_frame", "coverage", "seed_noise", "ladder", "agents_summary", "write_report"]

OBJECTIVE = "accuracy_drift_gdc_1y"
"""The searches' objective: accuracy a year after training, with drift compensation."""


def results_frame(folders: list[str | os.PathLike]) -> pd.DataFrame:
    """Every successful stored run, flattened, with its task's names and its cost."""
    rows = [
        {
            "label": r["label"],
            "set": r.get("set"),
            "kind": r.get("kind"),
            **flatten(r),
            "budget": r["budget_name"],
            "cost_s": r.get("wall_seconds", np.nan),
        }
        for d in folders
        for r in load_results(d)
        if not r.get("failed")
    ]
    if not rows:
        raise InputError(f"no bench results in {', '.join(map(str, folders))}")
    df = pd.DataFrame(rows)
    df["curve_loss_sum"] = df[[c for c in df.columns if c.startswith("curve_train_loss_")]].sum(axis=1)
    return df


def coverage(df: pd.DataFrame) -> pd.DataFrame:
    """Runs stored against runs planned, per part of the bench."""
    bench = df[df["budget"] == BENCH_BUDGET.name]
    parts = [
        ("Sobol points, seed 0", bench[(bench["set"] == "sobol") & (bench["seed"] == 0)], N_POINTS),
        ("paper panel, seed 0", bench[(bench["set"] == "panel") & (bench["seed"] == 0)], 18),
        *[
            (
                f"first {SEED_POINTS} points, seed {s}",
                bench[(bench["set"] == "sobol") & (bench["seed"] == s)],
                SEED_POINTS,
            )
            for s in EXTRA_SEEDS
        ],
        *[
            (f"ladder {name}", df[(df["set"] == "ladder") & (df["budget"] == name)], SEED_POINTS * seeds)
            for name, seeds in (("smoke", 3), ("ladder-30k", 2))
        ],
    ]
    return pd.DataFrame(
        [{"part": p, "stored": len(g), "planned": n, "median cost (s)": g["cost_s"].median()} for p, g, n in parts]
    ).set_index("part")


def _spearman(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    from scipy.stats import kendalltau, spearmanr

    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 5:
        return np.nan, np.nan, len(both)
    return (
        float(spearmanr(both.iloc[:, 0], both.iloc[:, 1])[0]),
        float(kendalltau(both.iloc[:, 0], both.iloc[:, 1])[0]),
        len(both),
    )


def seed_noise(df: pd.DataFrame) -> dict:
    """On points run at several seeds (bench budget): the objective's spread across seeds,
    and how well one seed ranks the points against another (the ceiling of any proxy)."""
    bench = df[(df["budget"] == BENCH_BUDGET.name) & (df["set"] == "sobol")]
    wide = bench.pivot_table(index="label", columns="seed", values=OBJECTIVE)
    multi = wide.dropna() if wide.shape[1] >= 2 else wide.iloc[:0]
    if len(multi) < 5:
        return {"points": len(multi)}
    pairs = [_spearman(multi[a], multi[b])[0] for i, a in enumerate(multi.columns) for b in multi.columns[i + 1 :]]
    return {
        "points": len(multi),
        "seeds": multi.shape[1],
        "sd": float(multi.std(axis=1, ddof=1).mean()),
        "spearman": float(np.mean(pairs)),
    }


def ladder(df: pd.DataFrame) -> pd.DataFrame:
    """Each rung and learning-curve signal against the highest rung measured, on the ladder's
    points (seed 0): Spearman and Kendall of the objective, and each rung's median cost."""
    points = df[(df["set"] == "sobol") & (df["budget"] == BENCH_BUDGET.name) & (df["seed"] == 0)]["label"]
    points = set(points) & {f"sobol {i}" for i in range(SEED_POINTS)}
    at = df[df["label"].isin(points) & (df["seed"] == 0)]
    rungs = {"smoke": LADDER["smoke"].name, "proxy": BENCH_BUDGET.name, "ladder-30k": LADDER["ladder-30k"].name}
    by = {name: at[at["budget"] == b].set_index("label") for name, b in rungs.items()}
    top = next((n for n in ("ladder-30k", "proxy") if len(by[n]) >= 5), None)
    if top is None:
        return pd.DataFrame()
    ref = by[top][OBJECTIVE]
    rows = []
    for name, rung in by.items():
        rho, tau, n = _spearman(rung[OBJECTIVE], ref) if name != top else (1.0, 1.0, len(rung))
        rows.append(
            {
                "signal": f"{name}: {OBJECTIVE}",
                "points": n,
                "spearman": rho,
                "kendall": tau,
                "median cost (s)": rung["cost_s"].median(),
            }
        )
    proxy = by["proxy"]
    for label, signal in (
        ("proxy: minus the sum of training losses", -proxy["curve_loss_sum"]),
        ("proxy: training accuracy at half the run", proxy["curve_train_accuracy_4"]),
    ):
        rho, tau, n = _spearman(signal, ref)
        rows.append(
            {"signal": label, "points": n, "spearman": rho, "kendall": tau, "median cost (s)": proxy["cost_s"].median()}
        )
    out = pd.DataFrame(rows).set_index("signal")
    out.attrs["top"] = top
    return out


AGENT_CHECKPOINTS = (25, 50, 100, 150)
"""Evaluations at which the agent comparison is tabulated."""


def agents_summary(curves: pd.DataFrame, at=AGENT_CHECKPOINTS) -> pd.DataFrame:
    """Per agent: median and interquartile range of the hypervolume regret over seeds at
    each checkpoint in ``at`` (those the curves reach), and at the last one the share of
    (agent seed, random seed) pairs in which the agent's regret is below random's (ties
    half: the Vargha-Delaney A; 0.5 is no better than random)."""
    col = "regret" if "regret" in curves.columns else "hypervolume"
    last = int(curves["evaluations"].max())
    rows = []
    for agent, g in curves.groupby("agent", sort=False):
        row = {"agent": agent, "seeds": g["seed"].nunique()}
        for k in [a for a in at if a <= last] or [last]:
            v = g.loc[g["evaluations"] == k, col]
            row[f"{col} @{k} median"] = v.median()
            row[f"@{k} IQR"] = f"{v.quantile(0.25):.4f}-{v.quantile(0.75):.4f}"
        rows.append(row)
    out = pd.DataFrame(rows).set_index("agent")
    final = curves[curves["evaluations"] == last]
    if "random" in set(final["agent"]) and col == "regret":
        base = final.loc[final["agent"] == "random", col].to_numpy()
        out["A vs random"] = [
            float(np.mean([(a < b) + 0.5 * (a == b) for a in g[col] for b in base]))
            for _, g in final.groupby("agent", sort=False)
        ]
    return out


def _agents_section(curves_path: Path, shipped_digest: str | None) -> list[str]:
    if not curves_path.is_file():
        return ["Not yet run: `hicenv compare --store studies/bench/compare/runs ...` writes it.\n"]
    curves = pd.read_csv(curves_path)
    summary = agents_summary(curves)
    answers = sorted(curves["answers"].astype(str).unique()) if "answers" in curves else ["unknown"]
    current = shipped_digest is not None and answers == [f"surrogate:{shipped_digest}"]
    L = [
        f"Every agent at its stated default hyperparameters (hicenv's, `hicenv_agents.search`), "
        f"{int(curves['evaluations'].max())} evaluations per seed on the surrogate (answers {', '.join(answers)}"
        f"{': the shipped snapshot' if current else ': NOT the shipped snapshot; rerun the comparison'}), "
        f"{curves['seed'].nunique()} seeds, the default space (MSB, LSB, accumulator, width, encoding; noise 1). "
        "Regret is the hypervolume of the whole space's front (every point, as the surrogate answers it) minus "
        "the agent's; hypervolume axes normalised as in `hicenv compare`. Median over seeds, interquartile "
        "range; `A vs random`: the share of seed pairs in which the agent's final regret is below random "
        "search's (0.5: no better).\n",
        *_table(summary, "{:.4f}"),
        "",
        f"![agents](compare/{Path(str(curves_path).replace('.csv', '.png')).name})\n",
    ]
    med = summary.filter(like="median").iloc[:, -1]
    L.append(
        f"At the last checkpoint the median regrets span {med.min():.4f} ({med.idxmin()}) to "
        f"{med.max():.4f} ({med.idxmax()}), a factor {med.max() / max(med.min(), 1e-12):.1f}; "
        "ArchGym's 'hyperparameter lottery' found tuned agents ending close together: these are untuned "
        "defaults, and the table says how far apart they end here. The surrogate is smooth (Gaussian "
        "processes), which favours model-based samplers (GP, TPE); on live training with seed noise the "
        "gaps can differ.\n"
    )
    return L


def _snapshot_section(stored_points: int) -> tuple[list[str], str | None]:
    from hicenv.design.surrogate import SHIPPED_BENCH, bench_digest

    if not SHIPPED_BENCH.is_file():
        return ["The package ships no bench yet.\n"], None
    shipped = pd.read_csv(SHIPPED_BENCH)
    digest = bench_digest(SHIPPED_BENCH)
    L = [
        f"`hicenv/_data/bench.csv` holds {len(shipped)} runs ({int((~shipped['fp32'].astype(bool)).sum())} HIC), "
        f"points digest {digest}; the stored results hold {stored_points} bench-budget runs"
        f"{' (the same)' if len(shipped) == stored_points else ': `hicenv bench compile` ships the newer ones'}.\n"
    ]
    return L, digest


def _cell(v, fmt: str) -> str:
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return fmt.format(v) if np.isfinite(v) else ""
    return str(v)


def _table(df: pd.DataFrame, fmt: str = "{:.3f}") -> list[str]:
    cols = list(df.columns)
    lines = [f"| {df.index.name or ''} | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    for idx in df.index:
        lines.append(f"| {idx} | " + " | ".join(_cell(df.at[idx, c], fmt) for c in cols) + " |")
    return lines


def write_report(
    folders: list[str | os.PathLike], out: str | os.PathLike = "studies/bench", command: str = "hicenv bench report"
) -> Path:
    """Write ``REPORT.md`` into ``out`` from the results in ``folders``."""
    from hicenv.design.surrogate import Surrogate

    df = results_frame(folders)
    cov = coverage(df)
    noise = seed_noise(df)
    lad = ladder(df)
    bench = df[(df["budget"] == BENCH_BUDGET.name) & df["set"].isin(["sobol", "panel"])]
    L = [
        "# HIC-Bench: coverage, seed noise, surrogate fidelity, fidelity ladder\n",
        f"Generated by `{command}` from {len(df)} stored runs (no training); simulator code "
        f"{', '.join(sorted(df['sim_fingerprint'].astype(str).unique()))}, on "
        f"{'; '.join(sorted(df['machine'].astype(str).unique()))}. The search objective is `{OBJECTIVE}` "
        "(accuracy a year after training, with global drift compensation).\n",
        "## Coverage\n",
        *_table(cov, "{:.0f}"),
        "",
    ]
    if cov["stored"].sum() < cov["planned"].sum():
        L.append(
            f"**The bench is incomplete** ({cov['stored'].sum()} of {cov['planned'].sum()} runs): every figure "
            "below is of the runs stored so far; rerun `hicenv bench run` to continue.\n"
        )
    L.append("## Seed noise\n")
    if "sd" in noise:
        L.append(
            f"On {noise['points']} points run at {noise['seeds']} seeds: the objective's standard deviation "
            f"across seeds is {100 * noise['sd']:.2f} points on average, and one seed ranks the points "
            f"against another at Spearman {noise['spearman']:.3f}: no proxy can rank better than that.\n"
        )
    else:
        L.append(f"Not yet measured: {noise['points']} points hold every seed (5 needed).\n")
    L.append("## Surrogate fidelity (k-fold, points the model was not fitted on)\n")
    hic = bench[~bench["fp32"].astype(bool)]
    try:
        fid = Surrogate(bench).kfold(k=5)
        L += [
            f"{fid['points'].iloc[0]} HIC points (seeds averaged), 5 folds; goal: Spearman >= 0.9 on the objective.\n",
            *_table(fid.drop(columns="points")),
            "",
        ]
    except InputError as e:
        L.append(f"Not yet measured: {e} ({len(hic)} HIC runs stored).\n")
    L.append("## Fidelity ladder\n")
    if lad.empty:
        L.append("Not yet measured: fewer than 5 ladder points hold the top rung or the proxy.\n")
    else:
        L += [
            f"On the first {SEED_POINTS} Sobol points at seed 0, against the highest rung measured "
            f"(`{lad.attrs['top']}`); cost: median seconds per run on the machine above.\n",
            *_table(lad),
            "",
        ]
    L.append("## The shipped snapshot\n")
    snapshot, digest = _snapshot_section(len(bench))
    L += snapshot
    L.append("## Agents on the bench\n")
    L += _agents_section(Path(out) / "compare" / "curves.csv", digest)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(L).rstrip() + "\n"
    return write_atomically(out / "REPORT.md", lambda tmp: tmp.write_text(text))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        prog="hicenv bench report", description="Write HIC-Bench's REPORT.md from stored results."
    )
    ap.add_argument(
        "--results",
        action="append",
        default=None,
        help="a folder of results (repeatable; default studies/bench/results)",
    )
    ap.add_argument("--out", default="studies/bench", help="folder of REPORT.md (default studies/bench)")
    a = ap.parse_args(argv)
    print(write_report(a.results or ["studies/bench/results"], a.out))
    return 0
