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
from hicenv_agents.experiments.bench import (
    BENCH_BUDGET,
    EXTRA_SEEDS,
    GPU_RUNG,
    LADDER,
    LADDER_SEEDS,
    N_POINTS,
    SEED_POINTS,
)
from hicenv_agents.experiments.runner import load_results, unique_results

__all__ = [
    "OBJECTIVE",
    "results_frame",
    "coverage",
    "seed_noise",
    "ladder",
    "recommend",
    "agents_summary",
    "write_report",
]

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
        for r in unique_results([r for d in folders for r in load_results(d)])[0]
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
            (f"ladder {name}", df[(df["set"] == "ladder") & (df["budget"] == name)], SEED_POINTS * len(seeds))
            for name, seeds in LADDER_SEEDS.items()
            if name != GPU_RUNG.name or (df["budget"] == name).any()  # the GPU's rung: planned once begun
        ],
    ]
    return pd.DataFrame(
        [{"part": p, "stored": len(g), "planned": n, "median cost (s)": g["cost_s"].median()} for p, g, n in parts]
    ).set_index("part")


def _coverage_notes(cov: pd.DataFrame) -> list[str]:
    """Whether any part of the bench lacks runs (a part with runs beyond its plan does not
    make up for another's missing ones), and which parts hold more than planned."""
    missing = (cov["planned"] - cov["stored"]).clip(lower=0)
    extra = cov[cov["stored"] > cov["planned"]]
    notes = [
        f"{part}: {row['stored'] - row['planned']:.0f} run(s) beyond the plan, kept (a worker that finished "
        "as the runner stopped, or a larger plan)"
        for part, row in extra.iterrows()
    ]
    out = [f"Also: {'; '.join(notes)}.\n"] if notes else []
    if missing.sum() > 0:
        out.append(
            f"**The bench is incomplete** ({missing.sum():.0f} planned runs missing): every figure below is of "
            "the runs stored so far; rerun `hicenv bench run` to continue.\n"
        )
    return out


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


def surrogate_on_seed_points(bench: pd.DataFrame) -> dict:
    """The surrogate fitted on every point but the multi-seed ones (seeds 0, 1 and 2),
    ranking those against the mean of their seeds 1 and 2, beside their seed-0 run against
    the same mean. K-fold scores against single runs and cannot tell the model's error from
    the runs' noise; this truth is two runs averaged that the model never saw, and a
    single run is the yardstick."""
    from hicenv.design.surrogate import TARGETS, Surrogate

    sobol = bench[bench["set"] == "sobol"]
    wide = sobol.pivot_table(index="label", columns="seed", values=OBJECTIVE)
    if not {0, 1, 2} <= set(wide.columns):
        return {"points": 0}
    wide = wide[[0, 1, 2]].dropna()
    if len(wide) < 5:
        return {"points": len(wide)}
    truth = wide[[1, 2]].mean(axis=1)
    model = Surrogate(bench[~bench["label"].isin(wide.index)])
    seed0 = sobol[(sobol["seed"] == 0) & sobol["label"].isin(wide.index)].set_index("label")
    predicted = pd.Series(model.predict(seed0)[0][:, TARGETS.index(OBJECTIVE)], index=seed0.index)
    return {
        "points": len(wide),
        "fitted": len(model.points),
        "surrogate": _spearman(predicted, truth)[0],
        "one run": _spearman(wide[0], truth)[0],
    }


LADDER_SIGNALS: tuple[tuple[str, str, str, float | None], ...] = (
    ("smoke", OBJECTIVE, OBJECTIVE, None),
    ("smoke", "minus the sum of training losses", "-curve_loss_sum", 1.0),
    ("proxy", OBJECTIVE, OBJECTIVE, None),
    ("proxy", "minus the sum of training losses", "-curve_loss_sum", 1.0),
    ("proxy", "training accuracy at half the run", "curve_train_accuracy_4", 0.5),
    ("ladder-30k", OBJECTIVE, OBJECTIVE, None),
    ("ladder-30k", "minus the sum of training losses", "-curve_loss_sum", 1.0),
    ("full-2ep", OBJECTIVE, OBJECTIVE, None),
)
"""The ladder's signals: (rung, name, column, a leading ``-`` negates it; the share of the
run's training the signal needs, None: the whole run, evaluation included). A learning-curve
signal's cost is that share of the training seconds (training time assumed even over the
run); a rung's objective costs the run's wall seconds."""
RUNG_BUDGETS = {
    "smoke": LADDER["smoke"].name,
    "proxy": BENCH_BUDGET.name,
    "ladder-30k": LADDER["ladder-30k"].name,
    "full-2ep": GPU_RUNG.name,
}
RECOMMEND_MARGIN = 0.05
"""A signal is as good as the top rung when its Spearman against the top rung's seed 0 is
within this of the top rung's own seed-to-seed Spearman."""


def _signal(runs: pd.DataFrame, rung: str, column: str, seed: int) -> pd.DataFrame:
    """Per ladder point at ``seed``: the signal's value (``value``), the run's wall seconds
    (``wall``) and training seconds (``train``)."""
    d = runs[(runs["budget"] == RUNG_BUDGETS[rung]) & (runs["seed"] == seed)].set_index("label")
    sign, name = (-1.0, column[1:]) if column.startswith("-") else (1.0, column)
    return pd.DataFrame({"value": sign * d[name], "wall": d["cost_s"], "train": d["train_seconds"]})


def _cross_seed(s0: pd.Series, s1: pd.Series, ref0: pd.Series, ref1: pd.Series) -> tuple[float, float, int]:
    """Spearman, Kendall and points of a signal against the top rung at the other seed (seed 0
    against seed 1, seed 1 against seed 0; the mean of the pairs that hold 5 points)."""
    pairs = [_spearman(a, b) for a, b in ((s0, ref1), (s1, ref0))]
    pairs = [p for p in pairs if np.isfinite(p[0])]
    if not pairs:
        return np.nan, np.nan, 0
    return float(np.mean([p[0] for p in pairs])), float(np.mean([p[1] for p in pairs])), min(p[2] for p in pairs)


def ladder(df: pd.DataFrame) -> pd.DataFrame:
    """Each rung and learning-curve signal of :data:`LADDER_SIGNALS` against the highest rung
    measured (``top``) on the ladder's points, the first :data:`SEED_POINTS` Sobol points.

    A run and the top rung's are always of different seeds (seed 0 against seed 1 and seed 1
    against seed 0, averaged): one seed's runs share their initial weights across rungs, and
    a learning-curve signal and its own run's accuracy share the whole run, so same-seed
    pairs would flatter every rung (the top rung's own row is its seed 1 against its seed 0).
    Columns: Spearman, Kendall, the signal's seed-to-seed Spearman (seeds 0 and 1), the seed
    ceiling ``sqrt(own * top's own)`` (the attenuation bound, a Pearson result applied to
    ranks: an approximation) and the median cost. Empty until 5 points hold the proxy or a
    higher rung."""
    runs = df[df["label"].isin({f"sobol {i}" for i in range(SEED_POINTS)})]
    count = {r: len(_signal(runs, r, OBJECTIVE, 0)) for r in RUNG_BUDGETS}
    top = next((r for r in ("full-2ep", "ladder-30k", "proxy") if count[r] >= 5), None)
    if top is None:
        return pd.DataFrame()
    ref0, ref1 = (_signal(runs, top, OBJECTIVE, s)["value"] for s in (0, 1))
    own_top = _spearman(ref1, ref0)[0]
    rows = []
    for rung, name, column, share in LADDER_SIGNALS:
        s0, s1 = _signal(runs, rung, column, 0), _signal(runs, rung, column, 1)
        if s0.empty:
            continue
        is_top = (rung, column) == (top, OBJECTIVE)
        rho, tau, n = _spearman(ref1, ref0) if is_top else _cross_seed(s0["value"], s1["value"], ref0, ref1)
        own = _spearman(s0["value"], s1["value"])[0]
        cost = s0["wall"] if share is None else share * s0["train"]
        rows.append(
            {
                "signal": f"{rung}: {name}" + (" (seed 1)" if is_top else ""),
                "points": n,
                "spearman": rho,
                "kendall": tau,
                "seed-to-seed": own,
                "seed ceiling": np.sqrt(own * own_top) if own > 0 and own_top > 0 else np.nan,
                "median cost (s)": cost.median(),
            }
        )
    out = pd.DataFrame(rows).set_index("signal")
    out.attrs.update(top=top, own_top=own_top, top_points=len(pd.concat([ref0, ref1], axis=1).dropna()))
    return out


def recommend(lad: pd.DataFrame, margin: float = RECOMMEND_MARGIN) -> dict[str, str | None]:
    """What the ladder supports, from the signals (other than the top rung's rerun) whose
    Spearman against the top rung is at least the top rung's seed-to-seed Spearman minus
    ``margin`` (a run of it ranks the points about as well as another run of the top rung):
    ``preset``, the cheapest qualifying rung (a whole run: the only kind that gives a
    multi-objective search its drift accuracies and write cycles), and ``early``, the
    cheapest qualifying learning-curve signal (a ranking before the run ends: for stopping
    runs early, not for the preset); None where nothing qualifies."""
    own_top = lad.attrs.get("own_top", np.nan)
    others = lad[~lad.index.str.endswith("(seed 1)")]
    good = others[others["spearman"] >= own_top - margin]
    whole = good.index.str.endswith(f": {OBJECTIVE}")
    return {"preset": _cheapest(good[whole]), "early": _cheapest(good[~whole])}


def _cheapest(signals: pd.DataFrame) -> str | None:
    return None if signals.empty else str(signals["median cost (s)"].idxmin())


KFOLD_REPEATS = 5
"""Random 5-fold splits the surrogate's fidelity is averaged over."""


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


CALIBRATION_GOAL = ((0.68, 0.95), 0.05)
"""The shares of held-out truths a calibrated model holds within 1 and 2 sigma, and the tolerance."""


def _misses(fid: pd.DataFrame, one_col: str, two_col: str) -> pd.DataFrame:
    (one, two), tol = CALIBRATION_GOAL
    return fid[((fid[one_col] - one).abs() > tol) | ((fid[two_col] - two).abs() > tol)]


def _calibration_notes(fid: pd.DataFrame) -> list[str]:
    """Which targets' predictive intervals (and which targets' mean -+ sd) miss the
    calibration goal, and by how much."""
    (one, two), tol = CALIBRATION_GOAL
    head = (
        f"Calibration: a calibrated model holds {one:.0%} of held-out truths within 1 sigma and {two:.0%} within "
        f"2 (goal: within {tol * 100:.0f} points of each). The predictive law of an accuracy is a Gaussian over "
        "its normal scores, mapped back: a skewed law (bimodal where designs collapse), so its calibrated bands "
        "are its central intervals (`in_1sigma_interval`, `in_2sigma_interval`; `Surrogate.interval`), not "
        "mean -+ sd (`within_1sd`, `within_2sd`). "
    )
    off = _misses(fid, "in_1sigma_interval", "in_2sigma_interval")
    if off.empty:
        head += "Every target's intervals meet it. "
    else:
        missed = "; ".join(
            f"`{t}` {r['in_1sigma_interval']:.0%} and {r['in_2sigma_interval']:.0%}" for t, r in off.iterrows()
        )
        head += f"The intervals miss it for {missed}. "
    sd_off = _misses(fid, "within_1sd", "within_2sd")
    if sd_off.empty:
        return [head + "Mean -+ sd meets it too.\n"]
    return [
        head + f"Mean -+ sd misses it for {len(sd_off)} of {len(fid)} targets (as wide as "
        f"{sd_off['within_1sd'].max():.0%} within 1 sd): the sd of a skewed law is no Gaussian's, so `p_front`, "
        "which draws Gaussians of that sd, is on the cautious side for the surrogate's designs.\n"
    ]


def _learners_section(path: Path) -> list[str]:
    """The learner comparison (``hicenv bench learners --out studies/bench/learners.csv``) on the objective."""
    L = ["## Choosing the surrogate's learner\n"]
    if not path.is_file():
        return L + [f"Not yet scored: run `hicenv bench learners --out {path}`.\n"]
    t = pd.read_csv(path)
    shown = t[t["target"] == OBJECTIVE]
    cols = ["points", "spearman", "half_spearman", "top_spearman", "kendall", "r2", "within_1sd", "within_2sd"]
    cols += [c for c in ("in_1sigma_interval", "in_2sigma_interval") if c in t.columns]  # scored since 2026-12-07
    shown = shown[cols].set_axis([f"{a} ({b})" for a, b in zip(shown["learner"], shown["truth"])])
    shown = shown.astype({"points": int})
    splits = int(t["repeats"].iloc[0])
    return L + [
        f"From `{path.name}` (`hicenv bench learners --out {path}`: 5 folds, {splits} random splits, the mean; "
        "`half_` and `top_`: the same figures on the better half and the top quartile of the truth; `multi-seed`: "
        "the points run at 3 seeds, against their seed mean). On the objective:\n",
        *_table(shown),
        "",
        "The shipped surrogate fits the accuracies' GP on their normal scores (`gp-rank`) and the write cycles' on "
        "their values (`gp`: as good a rank, a better calibrated sd); the other targets' rows are in the CSV.\n",
    ]


def _denoised_section(bench: pd.DataFrame) -> list[str]:
    d = surrogate_on_seed_points(bench)
    if "surrogate" not in d:
        return []
    return [
        f"Against a less noisy truth: fitted on the other {d['fitted']} HIC points, the surrogate ranks the "
        f"{d['points']} points run at seeds 0, 1 and 2 against the mean of their seeds 1 and 2 at Spearman "
        f"{d['surrogate']:.3f}; their seed-0 run, a `proxy` evaluation, ranks them against the same mean at "
        f"{d['one run']:.3f} ({d['points']} points: a Spearman this small moves by several hundredths with "
        "one swap).\n"
    ]


def _ladder_section(lad: pd.DataFrame) -> list[str]:
    if lad.empty:
        return ["Not yet measured: fewer than 5 ladder points hold the proxy or a higher rung.\n"]
    top, own_top = lad.attrs["top"], lad.attrs["own_top"]
    L = [
        f"On the first {SEED_POINTS} Sobol points, each signal against the highest rung measured (`{top}`) "
        "at the other seed (seed 0 against seed 1 and seed 1 against seed 0, averaged: one seed's runs share "
        "their initial weights across rungs, and a learning-curve signal shares its run with that run's "
        f"accuracy, so same-seed pairs would flatter them); `{top}`'s own row is its seed 1 against its "
        "seed 0. `seed-to-seed`: the signal's Spearman "
        "between seeds 0 and 1; `seed ceiling`: sqrt(seed-to-seed x the top rung's), the most a signal "
        "this noisy can reach against a top rung this noisy (an approximation: the attenuation bound is "
        "Pearson's). Cost: median seconds per run on the machine above; a learning-curve signal costs "
        "the share of training it needs (training time assumed even over the run), no evaluation.\n",
        *_table(lad),
        "",
    ]
    if not np.isfinite(own_top):
        return L + [f"No recommendation yet: `{top}` has fewer than 5 points at seed 1.\n"]
    if lad.attrs["top_points"] < SEED_POINTS:
        return L + [
            f"No recommendation yet: `{top}` holds both seeds on {lad.attrs['top_points']} of the {SEED_POINTS} "
            "points, so the figures above are provisional.\n"
        ]
    return L + [_recommendation(lad)]


def _recommendation(lad: pd.DataFrame) -> str:
    """The ladder's recommendation for the ``proxy`` preset (a rung) and, apart, its early
    signal (a learning-curve signal), by :func:`recommend`'s rule, as one paragraph."""
    top, own_top, pick = lad.attrs["top"], lad.attrs["own_top"], recommend(lad)
    rule = (
        f"signals whose Spearman against `{top}` is at least `{top}`'s own seed-to-seed "
        f"Spearman ({own_top:.3f}) minus {RECOMMEND_MARGIN}"
    )
    if pick["preset"] is None:
        text = f"**Recommendation** (from the {rule}): no rung qualifies; the `proxy` preset stays as it is."
    else:
        row, rung = lad.loc[pick["preset"]], pick["preset"].split(":")[0]
        verdict = "stays as it is" if rung == "proxy" else f"should be `{rung}`"
        text = (
            f"**Recommendation** (from the {rule}): the `proxy` preset {verdict}: `{rung}` is the cheapest "
            f"qualifying rung (Spearman {row['spearman']:.3f} at {row['median cost (s)']:.0f} s a design)."
        )
    if pick["early"] is not None:
        row = lad.loc[pick["early"]]
        text += (
            f" The cheapest qualifying learning-curve signal, `{pick['early']}` (Spearman {row['spearman']:.3f} "
            f"at {row['median cost (s)']:.0f} s), ranks designs but gives no drift accuracies or write cycles, "
            "which a multi-objective search needs: it is a signal for stopping runs early, not a preset."
        )
    return text + "\n"


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
    L += _coverage_notes(cov)
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
        fid = Surrogate(bench).kfold(k=5, repeats=KFOLD_REPEATS)
        L += [
            f"{fid['points'].iloc[0]} HIC points (seeds averaged), 5 folds, {KFOLD_REPEATS} random splits: the mean, "
            "and the lowest and highest Spearman of a split (`spearman_lo`, `spearman_hi`); goal: Spearman >= 0.9 "
            "on the objective.\n",
            *_table(fid.drop(columns="points")),
            "",
        ]
        if "spearman" in noise:
            L.append(
                "The held-out values are mostly single runs, so seed noise bounds this figure too: one seed "
                f"ranks the {noise['points']} multi-seed points against another at Spearman {noise['spearman']:.3f}.\n"
            )
        L += _calibration_notes(fid)
        L += _denoised_section(bench)
    except InputError as e:
        L.append(f"Not yet measured: {e} ({len(hic)} HIC runs stored).\n")
    L += _learners_section(Path(out) / "learners.csv")
    L.append("## Fidelity ladder\n")
    L += _ladder_section(lad)
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

    from hicenv_agents.args import Parser, out_folder_arg

    ap = Parser(prog="hicenv bench report", description="Write HIC-Bench's REPORT.md from stored results.")
    ap.add_argument(
        "--results",
        action="append",
        default=None,
        help="a folder of results (repeatable; default studies/bench/results)",
    )
    ap.add_argument(
        "--out", default="studies/bench", type=out_folder_arg, help="folder of REPORT.md (default studies/bench)"
    )
    a = ap.parse_args(argv)
    print(write_report(a.results or ["studies/bench/results"], a.out))
    return 0
