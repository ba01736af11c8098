"""The paper's report: the four claims and the proxy's fidelity, rendered from stored results.

Reads the JSON-line results that :mod:`hicenv_agents.experiments.paper` writes (nothing is
trained here) and writes, into one folder, ``REPORT.md``, its plots (PNG) and
``results.csv`` (one flat row per run). Every figure is a mean and a standard
deviation over seeds; the numbers and the verdicts' thresholds are
:mod:`hicenv_agents.experiments.paper_claims`'s.

    hicenv paper report --results studies/paper/results --results studies/paper/proxy_candidates \\
        --results studies/paper/encodings --out studies/paper

Results of the ``encodings`` point set (``hicenv paper run --points encodings``)
answer claim 3 under both LSB encodings; the panel's results answer the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.pareto import save_figure
from hicenv.output import write_atomically, write_table
from hicenv_agents.experiments.paper import CHOSEN_ON, load_results
from hicenv_agents.experiments.paper_claims import (
    COMPARABLE,
    FIDELITY_TARGET,
    HALF_SIZE_AGREES,
    NEGLIGIBLE_LOSS,
    Claims,
    ReportError,
    claims,
    encodings,
    fidelity,
    results_frame,
)

__all__ = ["write_report", "main"]


def _fmt(mean: float, sd: float, pct: bool = True) -> str:
    k = 100 if pct else 1
    return f"{k * mean:.2f} ± {k * sd:.2f}" if np.isfinite(sd) else f"{k * mean:.2f}"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_size(c: Claims, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.6, 4.4), dpi=120)
    for fp32, marker, name in ((True, "*", "FP32"), (False, "o", "HIC")):
        p = c.points[c.points["fp32"] == fp32]
        ax.errorbar(
            p["size_vs_baseline"],
            100 * p["acc_mean"],
            yerr=100 * p["acc_sd"],
            fmt=marker,
            ms=8 if fp32 else 5,
            capsize=2,
            label=name,
            alpha=0.85,
        )
        for label, r in p.iterrows():
            ax.annotate(
                label.replace("hic ", ""),
                (r["size_vs_baseline"], 100 * r["acc_mean"]),
                fontsize=6,
                xytext=(3, 2),
                textcoords="offset points",
            )
    ax.axhline(100 * c.baseline["acc_mean"], color="grey", lw=0.8, ls="--", label="FP32 width 1")
    ax.set_xscale("log")
    ticks = [0.25, 0.5, 1, 2, 4]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("inference model size / FP32 width-1 model size")
    ax.set_ylabel(f"test accuracy (%), {c.long_budget}")
    ax.set_title("Claims 1-2: accuracy against model size (mean ± sd over seeds)")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def _plot_drift(c: Claims, path: Path) -> None:
    plt = _plt()
    horizons = [h for h in ("0s", "1h", "1d", "1mo", "1y") if f"gdc_{h}" in c.drift.columns]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120, sharey=False)
    for ax, key, title in ((axes[0], "drift", "no compensation"), (axes[1], "gdc", "global drift compensation")):
        variants = sorted({lab.rsplit(" ", 1)[0] for lab in c.drift.index})
        styles = {"w1": "-", "w1.5": "--", "w2": ":"}
        for label, r in sorted(c.drift.iterrows()):
            variant, width = label.rsplit(" ", 1)
            y = [100 * r[f"{key}_{h}"] for h in horizons]
            e = [100 * r[f"{key}_{h}_sd"] for h in horizons]
            ax.errorbar(
                range(len(horizons)),
                y,
                yerr=e,
                marker="o",
                ms=3,
                capsize=2,
                lw=1,
                label=label,
                color=f"C{variants.index(variant)}",
                ls=styles.get(width, "-"),
            )
        ax.set_xticks(range(len(horizons)), horizons)
        ax.set_xlabel("time after training")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].legend(fontsize=6, ncol=2)
    fig.suptitle("Claim 3: accuracy after drift (mean ± sd over seeds)", fontsize=10)
    save_figure(fig, path)


def _plot_cycles(df: pd.DataFrame, c: Claims, path: Path) -> None:
    plt = _plt()
    long = df[(df["kind"] == "long") & ~df["fp32"]]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120)
    for ax, kind in zip(axes, ("binary", "multilevel")):
        w1 = long[long["width"] == 1.0]
        n = max(len(h.split()) for h in w1[f"{kind}_hist_log2"] if h)
        for label, g in w1.groupby("label", sort=False):
            total = sum(
                np.pad(h, (0, n - len(h)))
                for h in (np.array(list(map(int, h.split()))) for h in g[f"{kind}_hist_log2"] if h)
            )
            ax.step(range(n), total / total.sum(), where="mid", label=label)
        ax.set_yscale("log")
        ax.set_xticks(range(n), ["0", "1"] + [f"{2 ** (b - 1)}-{2**b - 1}" for b in range(2, n)], fontsize=7)
        ax.set_xlabel("write-erase cycles per device")
        ax.set_title(f"{kind} devices, width 1", fontsize=9)
    axes[0].set_ylabel("fraction of devices")
    axes[1].legend(fontsize=6)
    fig.suptitle(f"Claim 4: write-erase cycles over training ({c.long_budget}, all seeds)", fontsize=10)
    save_figure(fig, path)


def _plot_fidelity(df: pd.DataFrame, fid: pd.DataFrame, path: Path) -> None:
    plt = _plt()
    long = df[df["kind"] == "long"].groupby("label")["accuracy"].mean()
    proxies = [p for p in fid.index if not p.startswith("long")]
    fig, axes = plt.subplots(1, len(proxies), figsize=(3.6 * len(proxies), 3.6), dpi=120, squeeze=False)
    for ax, b in zip(axes[0], proxies):
        p = df[(df["kind"] == "proxy") & (df["budget"] == b)].groupby("label")["accuracy"].mean()
        labels = long.index.intersection(p.index)
        fp = df.groupby("label")["fp32"].first().reindex(labels)
        ax.scatter(100 * p[labels][~fp], 100 * long[labels][~fp], s=14, label="HIC")
        ax.scatter(100 * p[labels][fp], 100 * long[labels][fp], s=40, marker="*", label="FP32")
        ax.set_xlabel(f"{b} accuracy (%)")
        ax.set_title(f"Spearman {fid.loc[b, 'spearman']:.2f} ± {fid.loc[b, 'spearman_sd']:.2f}", fontsize=9)
    axes[0][0].set_ylabel("long-budget accuracy (%)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Proxy fidelity: seed-mean accuracy per design point", fontsize=10)
    save_figure(fig, path)


# -- the report ----------------------------------------------------------------------------


def _machines(df: pd.DataFrame) -> str:
    out = []
    for b, g in df.groupby("budget", sort=False):
        m = "; ".join(sorted(set(g["machine"])))
        out.append(
            f"| {b} | {', '.join(sorted(set(g['dataset'])))} | {len(g)} | {m} | "
            f"{', '.join(sorted(set(g['torch_version'])))} | {', '.join(sorted(set(g['sim_fingerprint'])))} |"
        )
    return "\n".join(
        ["| budget | dataset | runs | machine | torch | simulator fingerprint |", "|---|---|---|---|---|---|", *out]
    )


def write_report(result_dirs: list[str | os.PathLike], out: str | os.PathLike, command: str | None = None) -> Path:
    """Write REPORT.md, results.csv and the plots into ``out``; returns REPORT.md's path."""
    rows = [r for d in result_dirs for r in load_results(d)]
    if not rows:
        raise ReportError(f"no results in {', '.join(map(str, result_dirs))}")
    everything = results_frame(rows)
    df = everything[everything["set"] == "panel"]
    enc = encodings(everything[everything["set"] == "encodings"])
    c = claims(df)
    fid = fidelity(df)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_table(everything, out / "results.csv", any_suffix_csv=True)
    _plot_size(c, out / "claims_size.png")
    _plot_drift(c, out / "drift.png")
    _plot_cycles(df, c, out / "write_cycles.png")
    _plot_fidelity(df, fid, out / "proxy_fidelity.png")
    if enc is not None:
        _plot_encodings(enc, out / "encodings.png")
    text = _markdown(everything, c, fid, enc, command or "hicenv paper report")
    return write_atomically(out / "REPORT.md", lambda tmp: tmp.write_text(text))


def _plot_encodings(enc: pd.DataFrame, path: Path) -> None:
    plt = _plt()
    hs = ["0s", "1h", "1d", "1mo", "1y"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120, sharey=True)
    splits = sorted(enc["split"].unique())
    for ax, key, title in ((axes[0], "raw", "no compensation"), (axes[1], "gdc", "global drift compensation")):
        for _, r in enc.iterrows():
            y = [100 * r["acc_0s"]] + [100 * r[f"{key}_{h}"] for h in hs[1:]]
            e = [100 * r["acc_0s_sd"]] + [100 * r[f"{key}_{h}_sd"] for h in hs[1:]]
            ax.errorbar(
                range(len(hs)),
                y,
                yerr=e,
                marker="o",
                ms=3,
                capsize=2,
                lw=1.2,
                color=f"C{splits.index(r['split'])}",
                ls="-" if r["encoding"] == "differential" else ":",
                label=f"{r['split']} {r['encoding']}",
            )
        ax.set_xticks(range(len(hs)), hs)
        ax.set_xlabel("time after training")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].legend(fontsize=7)
    fig.suptitle(f"Claim 3 under both LSB encodings ({enc['budget'].iloc[0]}, mean ± sd over seeds)", fontsize=10)
    save_figure(fig, path)


def _markdown(df: pd.DataFrame, c: Claims, fid: pd.DataFrame, enc: pd.DataFrame | None, command: str) -> str:
    panel = df[df["set"] == "panel"]
    sections = (
        _header(df, panel, c, command),
        _claim1(c),
        _claim2(c),
        _claim3(c),
        _claim3_encodings(enc),
        _claim4(c),
        _fidelity_section(fid),
        _limits(df, c, enc),
    )
    return "\n".join(sections) + "\n"


def _header(df: pd.DataFrame, panel: pd.DataFrame, c: Claims, command: str) -> str:
    long = panel[panel["kind"] == "long"]
    seeds = long.groupby("label")["seed"].nunique()
    n_seeds = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
    return "\n".join(
        [
            "# HIC against the paper's claims: hicenv's measurements\n",
            f"Generated by `{command}` from {len(df)} stored runs (no training). "
            f"Long budget: **{c.long_budget}** on {', '.join(sorted(long['dataset'].unique()))} "
            f"({int(long['train_images'].iloc[0])} training images, {int(long['steps'].iloc[0])} steps, "
            f"{int(long['test_images'].iloc[0])} test images, "
            f"{int(long['drift_test_images'].iloc[0])} of them for each "
            f"drift horizon), {n_seeds} seeds per point. Figures are mean ± standard deviation over seeds. "
            "The paper trains 160 epochs of CIFAR-10; our long budget is much shorter (see Limits).\n",
            "## Where each number came from\n",
            "Each run records the fingerprint of the simulator code that made it (`hicenv evaluate --json`: "
            "`sim_fingerprint`); runs of different fingerprints were made by different code.\n",
            _machines(df) + "\n",
        ]
    )


def _claim1(c: Claims) -> str:
    b, cm = c.baseline, c.comparable
    if cm["diff"] > 2 * cm["diff_se"]:
        verdict = "We agree."
    elif cm["diff"] < -2 * cm["diff_se"]:
        verdict = "We disagree: at our budget the baseline is ahead."
    else:
        verdict = (
            f"We cannot confirm it: the difference points {'the same way' if cm['diff'] > 0 else 'the other way'}"
            " but is within the seed spread."
        )
    L = [
        "## Claim 1: at a comparable model size, HIC with a width multiplier beats FP32\n",
        f"FP32 baseline (width 1): **{_fmt(b['acc_mean'], b['acc_sd'])} %**, {b['size_bits'] / 8e6:.2f} MB. "
        f"Best HIC model within ±{COMPARABLE:.0%} of that size: **{cm['label']}**, "
        f"{cm['size_vs_baseline']:.3f}× the size, **{_fmt(cm['acc_mean'], cm['acc_sd'])} %**. "
        f"Difference {100 * cm['diff']:+.2f} points (standard error {100 * cm['diff_se']:.2f}): "
        f"**{cm['verdict']}**. The paper: HIC with a width multiplier beats the baseline at comparable size. "
        + verdict
        + "\n",
        "![accuracy against size](claims_size.png)\n",
        "| design point | seeds | size / FP32 w1 | accuracy (%) |\n|---|---|---|---|",
    ]
    for label, r in c.points.sort_values("size_bits").iterrows():
        L.append(f"| {label} | {r['seeds']} | {r['size_vs_baseline']:.3f} | {_fmt(r['acc_mean'], r['acc_sd'])} |")
    return "\n".join(L) + "\n"


def _claim2(c: Claims) -> str:
    s, b = c.smallest, c.baseline
    sizes = ", ".join(f"{v:.0%}" for v in s["sizes"])
    L = ["## Claim 2: about 50% smaller inference models at the baseline's accuracy\n\n"]
    if s["within_label"] is not None:
        L.append(
            f"Smallest HIC model not worse than the baseline beyond two standard errors (claim 1's rule): "
            f"**{s['within_label']}**, **{s['within_size']:.1%} of the FP32 model's size** "
            f"({_fmt(s['within_acc'], s['within_sd'])} % against {_fmt(b['acc_mean'], b['acc_sd'])} %)."
        )
    if s["reached"]:
        L.append(
            f" Smallest whose mean accuracy reaches the baseline's mean: **{s['label']}**, "
            f"{s['size_vs_baseline']:.1%} of the size ({_fmt(s['acc_mean'], s['acc_sd'])} %)."
        )
    else:
        L.append(" No HIC model's mean accuracy reaches the baseline's mean.")
    if s["within_label"] is None:
        verdict = "we disagree at this budget: every HIC model is worse than the baseline beyond the seed spread."
    elif s["within_size"] <= HALF_SIZE_AGREES:
        verdict = (
            f"we agree, and find it at {s['within_size']:.0%} of the size within the seed spread; the means "
            f"alone would say {s['size_vs_baseline']:.0%}."
            if s["reached"]
            else f"we agree within the seed spread ({s['within_size']:.0%} of the size)."
        )
    else:
        verdict = f"we disagree: the smallest model within the seed spread is {s['within_size']:.0%} of the size."
    L.append(
        f" The paper reports about 50%: {verdict} The panel's HIC sizes are {sizes} of the baseline, so the "
        "answer is only as fine as that grid.\n"
    )
    return "".join(L) + "\n"


def _claim3(c: Claims) -> str:
    d = c.drift
    worst = d["loss_1y_gdc"].idxmax()
    split = d.index.str.extract(r"hic (\d+/\d+)/", expand=False)
    per_split = d.groupby(split.values)["loss_1y_gdc"].max()
    ok = [k for k, v in per_split.items() if v <= NEGLIGIBLE_LOSS]
    bad = [k for k, v in per_split.items() if v > NEGLIGIBLE_LOSS]
    L = [
        "## Claim 3: negligible accuracy loss from drift over a year\n",
        'The panel stores the LSB level unsigned in one device (`lsb_encoding = "unsigned"`).\n',
        f"With global drift compensation the loss from right after training to one year is at most "
        f"**{100 * d.loc[worst, 'loss_1y_gdc']:.2f} ± {100 * d.loc[worst, 'loss_1y_gdc_sd']:.2f} points** "
        f"({worst}); over all HIC points its mean is {100 * d['loss_1y_gdc'].mean():.2f} points. "
        f"Without compensation the one-year loss is {100 * d['loss_1y_raw'].min():.1f} to "
        f"{100 * d['loss_1y_raw'].max():.1f} points.\n",
        "Worst one-year loss with compensation per MSB/LSB split: "
        + ", ".join(f"{k}: {100 * v:.2f} points" for k, v in per_split.items())
        + ". "
        + (f"The paper's 'negligible' (here: at most 1 point) holds for {', '.join(ok)}. " if ok else "")
        + (
            f"It does not for {', '.join(bad)}: the more bits a multi-level device holds, the larger the weight "
            "error from the device-to-device spread of drift exponents, which one scale per layer cannot undo."
            if bad
            else ""
        )
        + "\n",
        "![accuracy after drift](drift.png)\n",
    ]
    hs = [h for h in ("0s", "1h", "1d", "1mo", "1y") if f"gdc_{h}" in d.columns]
    L.append("| design point | " + " | ".join(f"{h} raw / GDC" for h in hs) + " |")
    L.append("|---|" + "---|" * len(hs))
    for label, r in d.iterrows():
        L.append(
            f"| {label} | " + " | ".join(f"{100 * r[f'drift_{h}']:.1f} / {100 * r[f'gdc_{h}']:.1f}" for h in hs) + " |"
        )
    return "\n".join(L) + "\n"


def _claim3_encodings(enc: pd.DataFrame | None) -> str:
    L = ["## Claim 3 under both LSB encodings\n"]
    if enc is None:
        L.append(
            "Not run: `hicenv paper run --points encodings --long-budget cpu-15k --out studies/paper/encodings`"
            " trains the bit splits under both encodings.\n"
        )
        return "\n".join(L)
    r0 = enc.iloc[0]
    L.append(
        f"The bit splits with the 8-bit accumulator at width 1, each with the LSB level unsigned in one device "
        f'and signed in a G+/G- pair (`lsb_encoding = "differential"`), {r0["seeds"]} seeds each, at the '
        f"**{r0['budget']}** budget on {r0['dataset']} (the largest this 2-core CPU affords for the question; "
        "not the panel's long budget). One-year loss is accuracy right after training minus accuracy after a "
        "year, on the same drift test images.\n"
    )
    L.append("![accuracy after drift under both encodings](encodings.png)\n")
    L.append(
        "| split | encoding | seeds | accuracy at t0 (%) | 1-year loss, no compensation (points) | "
        "1-year loss, with compensation (points) | most-written device |\n|---|---|---|---|---|---|---|"
    )
    for _, r in enc.iterrows():
        L.append(
            f"| {r['split']} | {r['encoding']} | {r['seeds']} | {_fmt(r['acc_0s'], r['acc_0s_sd'])} | "
            f"{_fmt(r['loss_raw'], r['loss_raw_sd'])} | {_fmt(r['loss_gdc'], r['loss_gdc_sd'])} | "
            f"{r['max_write_cycles']:.0f} |"
        )
    L.append(
        "\n| split | encoding | "
        + " | ".join(f"{h} raw / GDC (%)" for h in ("1h", "1d", "1mo", "1y"))
        + " |\n|---|---|---|---|---|---|"
    )
    for _, r in enc.iterrows():
        L.append(
            f"| {r['split']} | {r['encoding']} | "
            + " | ".join(f"{100 * r[f'raw_{h}']:.1f} / {100 * r[f'gdc_{h}']:.1f}" for h in ("1h", "1d", "1mo", "1y"))
            + " |"
        )
    L.append("")
    for enc_name, g in enc.groupby("encoding"):
        for key, what in (("loss_raw", "without compensation"), ("loss_gdc", "with compensation")):
            ok = g.loc[g[key] <= NEGLIGIBLE_LOSS, "split"].tolist()
            L.append(
                f"- {enc_name}, {what}: 'negligible' (at most 1 point) holds for "
                f"{', '.join(ok) if ok else 'no split'}; worst {100 * g[key].max():.2f} points "
                f"({g.loc[g[key].idxmax(), 'split']})."
            )
    return "\n".join(L) + "\n"


def _claim4(c: Claims) -> str:
    cy, w = c.cycles, c.worst_run
    top = cy["max_write_cycles"].idxmax()
    frac = w["fraction"] * c.paper_scale
    L = [
        "## Claim 4: write-erase cycles far below PCM endurance\n",
        f"The most-written device of any run was written **{w['cycles']} times** in {w['steps']} training steps "
        f"({w['label']}, seed {w['seed']}): **{w['fraction']:.1e} of the device endurance**. Over seeds, the "
        f"design point with the most is {top}: {cy.loc[top, 'max_write_cycles']:.0f} ± "
        f"{cy.loc[top, 'max_write_cycles_sd']:.0f}. Scaled linearly to the paper's recipe, 160 epochs of this "
        f"dataset's training set at this batch size ({c.paper_scale:.0f}× the steps, an extrapolation), the worst "
        f"run's device would reach {frac:.1e}. The paper: a small fraction of endurance. "
        + ("We agree." if frac < 1e-2 else "We disagree.")
        + " Most writes hit the multi-level devices; binary MSB devices flip far less often.\n",
        "![write-cycle distribution](write_cycles.png)\n",
        "| design point | max cycles | binary max | multi-level max | binary p99.9 | multi-level p99.9 | "
        "fraction of endurance |\n|---|---|---|---|---|---|---|",
    ]
    for label, r in cy.iterrows():
        L.append(
            f"| {label} | {r['max_write_cycles']:.0f} ± {r['max_write_cycles_sd']:.0f} | {r['binary_max']:.0f} | "
            f"{r['multilevel_max']:.0f} | {r['binary_p99_9']:.1f} | {r['multilevel_p99_9']:.1f} | "
            f"{r['endurance_fraction']:.1e} |"
        )
    return "\n".join(L) + "\n"


def _fidelity_section(fid: pd.DataFrame) -> str:
    head = [
        "## Proxy fidelity: does the search's cheap signal rank designs like the long budget?\n",
        "Per seed, the rank correlation over the design points between a proxy budget's accuracy (embedded "
        "subset) and the long budget's (same seed); mean ± sd over seeds, and the correlation of the "
        "seed-mean accuracies. Target: 0.8. A proxy chosen on some seeds is also scored on the others (held out). "
        "The last column ranks by the search's own objective, accuracy after a year of drift with "
        "compensation, instead of accuracy right after training.\n",
    ]
    L = [
        "| budget | points | seeds | images x epochs (steps) | Spearman | Kendall | Spearman of means | "
        "Kendall of means | Spearman, held-out seeds | Spearman, search objective |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    ]
    for name, r in fid.iterrows():
        if name.startswith("long"):
            L.append(
                f"| {name} | {r['points']:.0f} | {r['seeds']:.0f} | | {_fmt(r['spearman'], r['spearman_sd'], False)}"
                f" | {_fmt(r['kendall'], r['kendall_sd'], False)} | | | | "
                f"{_fmt(r['objective'], r['objective_sd'], False)} |"
            )
            continue
        held = f"{r['spearman_held_out']:.2f} (seed {', '.join(map(str, r['held_out']))})" if r["held_out"] else ""
        L.append(
            f"| {name} | {r['points']:.0f} | {r['seeds']:.0f} | {r['train_images']:.0f} ({r['steps']:.0f}) | "
            f"{_fmt(r['spearman'], r['spearman_sd'], False)} | {_fmt(r['kendall'], r['kendall_sd'], False)} | "
            f"{r['spearman_of_means']:.2f} | {r['kendall_of_means']:.2f} | {held} | "
            f"{_fmt(r['objective'], r['objective_sd'], False)} |"
        )
    table = "\n".join(L)
    L = [
        "The row `long (seed vs seed)` is the long budget against itself across seeds: the ceiling any proxy "
        "can reach on this panel."
    ]
    for name, seeds in CHOSEN_ON.items():
        if name not in fid.index:
            continue
        r = fid.loc[name]
        chosen = ", ".join(f"{r['per_seed'][s]:.2f}" for s in seeds if s in r["per_seed"])
        others = [
            f"{o}: " + ", ".join(f"{fid.loc[o, 'per_seed'][s]:.2f}" for s in seeds if s in fid.loc[o, "per_seed"])
            for o in fid.index
            if o != name and not o.startswith("long")
        ]
        L.append(
            f" `{name}` was chosen as the `proxy` preset on seeds {', '.join(map(str, seeds))} (there: {chosen};"
            f" the other candidates on those seeds: {'; '.join(others)})."
        )
        if r["held_out"]:
            L.append(
                f" On the held-out seed(s) {', '.join(map(str, r['held_out']))} it scores {r['spearman_held_out']:.2f}."
            )
    px = fid[~fid.index.str.startswith("long")]
    top = px["spearman"].idxmax()
    meets = "at or above" if px.loc[top, "spearman"] >= FIDELITY_TARGET else "below"
    L.append(
        f" Best per-seed figure: {top}, {_fmt(px.loc[top, 'spearman'], px.loc[top, 'spearman_sd'], False)} over "
        f"{px.loc[top, 'seeds']:.0f} seeds ({meets} the "
        f"{FIDELITY_TARGET} target); ranked on seed-mean accuracies, {px.loc[top, 'spearman_of_means']:.2f}.\n"
    )
    return "\n".join([*head, table, "\n![proxy fidelity](proxy_fidelity.png)\n", "".join(L)])


def _limits(df: pd.DataFrame, c: Claims, enc: pd.DataFrame | None) -> str:
    panel = df[df["set"] == "panel"]
    long = panel[panel["kind"] == "long"]
    pts = c.points
    spread = pts["acc_mean"].max() - pts["acc_mean"].min()
    n_drift = int(long["drift_test_images"].iloc[0])
    p = float(c.baseline["acc_mean"])
    se_drift = np.sqrt(p * (1 - p) / n_drift)
    seeds = long.groupby("label")["seed"].nunique()
    L = [
        "## Limits\n",
        f"- Dataset and budget: {', '.join(sorted(long['dataset'].unique()))}, {c.long_budget} "
        f"({int(long['steps'].iloc[0])} steps), not the paper's CIFAR-10 at 160 epochs. At this budget the "
        f"{len(pts)} points lie within {100 * spread:.1f} points of each other and the seed spread is "
        f"{100 * pts['acc_sd'].min():.2f}-{100 * pts['acc_sd'].max():.2f} points, so orderings closer than that are "
        "not resolved.",
        f"- Seeds: {seeds.min()}{'' if seeds.min() == seeds.max() else f'-{seeds.max()}'} per point; standard "
        "deviations from so few values are themselves rough.",
        f"- Drift: one draw of device drift exponents per run, evaluated on the first {n_drift} test images "
        f"(standard error about {100 * se_drift:.1f} points near {100 * p:.0f}%).",
        "- Endurance: counts are over the short budget; the 160-epoch figure is a linear extrapolation.",
        "- Proxy fidelity: the proxies ran on the embedded 10,000-image subset (the signal a search sees on "
        "a CPU); a search with a GPU can afford a longer proxy.",
    ]
    if enc is not None:
        L.append(
            f"- Encodings: {enc['budget'].iloc[0]}, a shorter budget than the panel's, on a CPU; "
            f"{enc['seeds'].min()} seeds per point."
        )
    fps = sorted(set(df["sim_fingerprint"]))
    if len(fps) > 1:
        L.append(
            f"- Code: {len(fps)} simulator codes made these runs ({', '.join(fps)}); the table above says "
            "which made each budget's runs. No figure here mixes runs of different codes; the panel's drift "
            "table and the encodings table, side by side under claim 3, come from different codes and budgets."
        )
    if "none" in fps:
        L.append(
            f"- {int((df['sim_fingerprint'] == 'none').sum())} runs are marked `none`: made before fingerprints "
            "were recorded, by simulator code whose fixed-point accumulator clipped one level further down "
            "than up (since fixed: zero-mean updates that saturate it moved codes down by half a level a step)."
        )
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    import sys

    from hicenv_agents.args import Parser, out_folder_arg

    ap = Parser(prog="hicenv paper report", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--results",
        action="append",
        default=None,
        help="folder of result files (repeatable; default studies/paper/results and proxy_candidates)",
    )
    ap.add_argument("--out", default="studies/paper", type=out_folder_arg, help="folder of REPORT.md")
    a = ap.parse_args(argv)
    dirs = a.results or [
        d
        for d in ("studies/paper/results", "studies/paper/proxy_candidates", "studies/paper/encodings")
        if Path(d).is_dir()
    ]
    try:
        path = write_report(
            dirs, a.out, "hicenv paper report " + " ".join(f"--results {d}" for d in dirs) + f" --out {a.out}"
        )
    except ReportError as e:
        print(f"hicenv paper report: error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
