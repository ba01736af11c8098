"""HIC-Bench: the default design space at the ``proxy`` fidelity, stored point by point.

The searches' shipped signal should be the simulator's, not a smoke run's. The bench
is that signal, tabulated once on settled simulator code:

* :func:`sobol_points`: a scrambled Sobol sample (seed 0) over every knob of the
  default space, device noise included (0 to 2: the context at five levels), each
  point distinct and valid. Its first 2^k points are balanced over the knobs, so a
  bench cut short by a deadline is still a space-filling sample;
* the paper's panel (:data:`hicenv_agents.experiments.paper.PANEL`), FP32 included;
* seeds 1 and 2 on the first :data:`SEED_POINTS` Sobol points, to measure seed noise.

Each result is the whole :class:`~hicenv.sim.result.Result` (accuracy at every
horizon with and without compensation, write-cycle statistics, sizes, the learning
curve, seconds, machine and the simulator's fingerprint), one JSON line as it
finishes (:mod:`hicenv_agents.experiments.runner`): generation stops and resumes
across runs and machines. ``python -m hicenv_agents.experiments.bench --help``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from hicenv.design.space import DesignSpace
from hicenv.sim.trainer import BUDGETS, Budget
from hicenv_agents.experiments.runner import run_tasks

__all__ = ["N_POINTS", "SEED_POINTS", "BENCH_BUDGET", "sobol_points", "tasks", "run"]

N_POINTS = 256
"""Sobol points of the bench (a power of two keeps the sample balanced)."""
SEED_POINTS = 24
"""Sobol points (the first ones) run at seeds 1 and 2 too."""
EXTRA_SEEDS = (1, 2)
BENCH_BUDGET: Budget = BUDGETS["proxy"]
"""The bench's fidelity: the searches' proxy."""


def sobol_points(n: int = N_POINTS, space: DesignSpace | None = None, seed: int = 0) -> list[dict]:
    """``n`` distinct design points of ``space`` (default: the default space with its noise
    knob) from a scrambled Sobol sequence, in sequence order; a repeat is skipped."""
    from scipy.stats import qmc

    space = space or DesignSpace.default(noise_knob=True)
    sampler = qmc.Sobol(d=len(space.knobs), scramble=True, seed=seed)
    points: dict[tuple, dict] = {}
    while len(points) < n:
        for u in sampler.random(max(64, n)):
            index = np.minimum((u * [len(k) for k in space.knobs]).astype(int), [len(k) - 1 for k in space.knobs])
            point = space.decode(index)  # every point valid: decode raises if not
            config = {k.name: getattr(point, k.name) for k in space.knobs}
            key = tuple(config.values())
            if key not in points:
                points[key] = {"label": f"sobol {len(points)}", "config": config, "set": "sobol"}
            if len(points) == n:
                break
    return list(points.values())


def tasks(
    n: int = N_POINTS, budget: Budget = BENCH_BUDGET, with_panel: bool = True, seed_points: int = SEED_POINTS
) -> list[dict]:
    """Every bench run, in the order that keeps a partial bench useful: the Sobol points
    at seed 0, the panel at seed 0, then the extra seeds on the first ``seed_points``."""
    from hicenv.sim.data import load_dataset
    from hicenv.sim.fingerprint import sim_fingerprint
    from hicenv_agents.experiments.paper import PANEL

    sobol = sobol_points(n)
    panel = [{**p, "set": "panel"} for p in PANEL] if with_panel else []
    runs = [(p, 0) for p in sobol + panel] + [(p, s) for s in EXTRA_SEEDS for p in sobol[:seed_points]]
    fp = load_dataset("embedded").fingerprint
    return [
        {
            "label": p["label"],
            "config": p["config"],
            "set": p["set"],
            "kind": "proxy",
            "budget": budget.to_dict(),
            "budget_name": budget.name,
            "seed": seed,
            "sim_fingerprint": sim_fingerprint(),
            "dataset_fingerprint": fp,
        }
        for p, seed in runs
    ]


def run(
    out: str,
    n: int = N_POINTS,
    workers: int = 1,
    threads: int | None = None,
    device: str | None = None,
    deadline_s: float | None = None,
) -> int:
    """Train every bench run not yet in ``out``; returns how many are left."""
    return run_tasks(out, tasks(n), device=device, workers=workers, deadline_s=deadline_s, threads=threads)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m hicenv_agents.experiments.bench",
        description="Generate HIC-Bench (resumable: rerun to continue).",
    )
    ap.add_argument("--out", default="studies/bench/results", help="folder of result files (JSON lines)")
    ap.add_argument("--points", type=int, default=N_POINTS, help="Sobol points")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    ap.add_argument("--device", default=None)
    ap.add_argument("--deadline", type=float, default=None, help="stop after this many seconds")
    a = ap.parse_args(argv)
    left = run(a.out, a.points, a.workers, a.threads, a.device, a.deadline)
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
