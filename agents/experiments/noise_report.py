"""The objective's variance split into training seed, device draw and test images.

From the runs of :mod:`hicenv_agents.experiments.noise` (per design and seed, every test
image's correctness under several device draws), for an objective measured on the
first ``n`` test images with ``k`` draws averaged:

* **seed**: the variance over seeds of a run's mean over all draws and images (the
  draw and image parts of that mean are removed: they are small and estimated);
* **draw**: the variance over draws of the ``n``-image accuracy of one trained network,
  divided by ``k``;
* **images**: how far the design's accuracy on ``n`` fixed images lies from its
  accuracy on the whole test distribution, ``var_i(p_i) / n`` with ``p_i`` the image's
  correctness averaged over draws and seeds (the 3,000 stored images stand for the
  distribution). Every design is tested on the same images, so for *comparing* two
  designs what counts is ``var_i(p_i^a - p_i^b) / n`` (paired), also reported.

All variances are averaged over the designs and given as standard deviations in
accuracy points. Approximation: the three parts are treated as independent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hicenv_agents.experiments.runner import load_results

__all__ = ["correctness", "components", "extra_seconds", "write_report", "CHOSEN"]


def correctness(result: dict) -> np.ndarray:
    """(draws, images) booleans of one stored run."""
    m = result["measured"]
    bits = [np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))[: m["images"]] for h in m["bits"]]
    return np.stack(bits).astype(bool)


def _by_design(rows: list[dict]) -> dict[str, list[np.ndarray]]:
    out: dict[str, list[np.ndarray]] = {}
    for r in rows:
        out.setdefault(r["label"], []).append(correctness(r))
    return out


def components(designs: dict[str, list[np.ndarray]], n: int, k: int) -> dict[str, float]:
    """Variances (accuracy as a fraction) of an n-image, k-draw objective, averaged over designs."""
    seed, draw, images, means = [], [], [], []
    for runs in designs.values():
        per_run_draw = [c[:, :n].mean(1).var(ddof=1) for c in runs]
        full_draw = np.mean([c.mean(1).var(ddof=1) for c in runs]) / runs[0].shape[0]
        per_run = np.stack([c.mean(0) for c in runs])  # (runs, images): each image's correctness per run
        p = per_run.mean(0)  # over draws and seeds
        # var_i(p) overstates the images' part by each p_i's own sampling variance (its
        # runs' spread / runs; a single run: its draws' binomial spread / draws)
        if len(runs) > 1:
            own = per_run.var(0, ddof=1).mean() / len(runs)
        else:
            own = (runs[0].var(0, ddof=1) / runs[0].shape[0]).mean()
        image_var = max(0.0, p.var(ddof=1) - own)
        run_means = [c.mean() for c in runs]
        if len(runs) > 1:  # the seeds share the images: only the draws' part is in the spread of run means
            seed.append(max(0.0, np.var(run_means, ddof=1) - full_draw))
        draw.append(np.mean(per_run_draw) / k)
        images.append(image_var / n)
        means.append(np.mean(run_means))
    labels = list(designs)
    paired = []
    per_image = {d: np.stack([c.mean(0) for c in runs]) for d, runs in designs.items()}
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            a, b = per_image[labels[i]], per_image[labels[j]]
            own = a.var(0, ddof=1).mean() / len(a) + b.var(0, ddof=1).mean() / len(b) if len(a) > 1 < len(b) else 0
            paired.append(max(0.0, (a.mean(0) - b.mean(0)).var(ddof=1) - own) / n)
    return {
        "seed": float(np.mean(seed)) if seed else float("nan"),
        "draw": float(np.mean(draw)),
        "images": float(np.mean(images)),
        "images_paired_difference": float(np.mean(paired)) if paired else float("nan"),
        "between_designs": float(np.var(means, ddof=1)) if len(means) > 1 else float("nan"),
    }


def _pts(v: float) -> str:
    """A variance as an sd in accuracy points; empty where the data do not give it (one seed)."""
    return "" if not np.isfinite(v) else f"{100 * np.sqrt(max(v, 0.0)):.2f}"


def extra_seconds(n: int, k: int, per_image_s: float) -> tuple[float, float]:
    """Seconds an evaluation spends over 500 images and 1 draw at its 8 drift reads: with k
    draws at every horizon on n images, and with k draws at one horizon only (2 reads)."""
    base = 8 * 500 * per_image_s
    return 8 * n * k * per_image_s - base, (6 * n + 2 * n * k) * per_image_s - base


CHOSEN = (1000, 4)
"""HIC-Bench v2's drift test images and draws at the objective's horizon (``BENCH_BUDGET``)."""


def _chosen(designs: dict, per_image_s: float, train_s: float) -> list[str]:
    """The paragraph on the bench's setting against the proxy's (500 images, 1 draw)."""
    n, k = CHOSEN
    now, chosen = components(designs, 500, 1), components(designs, n, k)
    sd_now = _pts(now["draw"] + now["images"])
    sd_chosen = _pts(chosen["draw"] + chosen["images"])
    cut = 1 - (chosen["draw"] + chosen["images"]) / (now["draw"] + now["images"])
    extra = extra_seconds(n, k, per_image_s)[1]
    return [
        "",
        f"**HIC-Bench v2's setting**: {n} drift images and {k} draws at the objective's horizon "
        f"(`drift_test_images={n}, focus_horizon='1y', focus_draws={k}`). Its draw and image noise is sd "
        f"{sd_chosen} points against {sd_now} at the proxy's 500 images and 1 draw ({100 * cut:.0f}% of that "
        f"variance gone) for {extra:.1f} s more an evaluation ({100 * extra / train_s:.0f}% of a median training). "
        "The same seconds buy less spent on images alone or on draws at every horizon (the table).",
    ]


def write_report(results: str, out: str) -> Path:
    rows = [r for r in load_results(results) if r.get("set") == "noise" and not r.get("failed") and r.get("measured")]
    if not rows:
        raise SystemExit(f"no noise runs in {results}")
    designs = _by_design(rows)
    n_all = min(r["measured"]["images"] for r in rows)
    draws = min(len(r["measured"]["bits"]) for r in rows)
    train_s = float(np.median([r["train_seconds"] for r in rows]))
    draw_s = float(np.median([r["measured"]["draw_seconds"] for r in rows]))
    per_image_s = draw_s / n_all
    seeds = sorted({r["seed"] for r in rows})
    lines = [
        "# Where the objective's noise comes from",
        "",
        f"{len(designs)} designs x seeds {seeds} at the proxy budget (embedded Fashion-MNIST subset), each trained "
        f"network measured on {n_all} test images under {draws} device draws at the objective's horizon "
        f"({rows[0]['measured']['horizon']}, compensated); simulator fingerprint(s) "
        f"{', '.join(sorted({r['sim_fingerprint'] for r in rows}))}. Made by `hicenv noise report` from "
        "`studies/noise/results` (`agents/experiments/noise.py`, `noise_report.py`: the method).",
        "",
        f"Median training {train_s:.1f} s a run; one draw on {n_all} images {draw_s:.2f} s "
        f"({1000 * per_image_s:.2f} ms an image), on the machine of the runs ({rows[0]['machine']}).",
        "",
        "Standard deviations in accuracy points, averaged over the designs:",
        "",
        "| drift images n | draws k | seed | draw | images | images, paired difference | total (1 seed) "
        "| difference of two designs | extra s, k draws everywhere | extra s, k draws at the objective's horizon |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (500, 1000, n_all):
        for k in (1, 2, 4, draws):
            if n > n_all or k > draws:
                continue
            c = components(designs, n, k)
            total = c["seed"] + c["draw"] + c["images"]
            diff = 2 * (c["seed"] + c["draw"]) + c["images_paired_difference"]
            everywhere, focus = extra_seconds(n, k, per_image_s)
            lines.append(
                f"| {n} | {k} | {_pts(c['seed'])} | {_pts(c['draw'])} | {_pts(c['images'])} | "
                f"{_pts(c['images_paired_difference'])} | {_pts(total)} | {_pts(diff)} | "
                f"{everywhere:.1f} | {focus:.1f} |"
            )
    c = components(designs, 500, 1)
    lines += [
        "",
        f"Spread between the designs' means (the signal): sd {_pts(c['between_designs'])} points.",
        "",
        "Extra seconds over 500 images and 1 draw (8 reads: 4 drifted horizons, compensated and not), at the "
        "measured cost per image: k draws averaged at every horizon on n images, or (`Budget.focus_horizon`, "
        "`focus_draws`) n images at every horizon and k draws at the objective's horizon only (its 2 reads). "
        "A seed costs a whole training.",
    ]
    lines += _chosen(designs, per_image_s, train_s)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
