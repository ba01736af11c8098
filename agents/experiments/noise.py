"""Where the objective's noise comes from: training seed, device draw, test images.

The search objective (accuracy after a year of drift, compensated, at the proxy budget)
is one training seed, one device draw (the drift exponents and the binary devices' analog
state of :meth:`~hicenv.sim.hybrid.HybridWeights.sample_drift_state`, and the read
noise) and one fixed set of 500 test images. This trains :data:`DESIGNS` (12 working
designs) with :data:`SEEDS` and measures each trained network on all 3,000 proxy test
images under :data:`DRAWS` independent device draws, storing every image's correctness
per draw (packed bits), so that the analysis (:mod:`hicenv_agents.experiments.noise_report`)
can split the variance of the objective into its three parts and say what more images or
averaged draws would remove, and at what cost (``draw_seconds``).

One JSON line per finished run under ``studies/noise/results``
(:mod:`hicenv_agents.experiments.runner`); a rerun continues.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hicenv.sim.budget import BUDGETS
from hicenv.sim.result import HORIZONS_S
from hicenv_agents.experiments.runner import experiment_main, make_task

__all__ = ["DESIGNS", "SEEDS", "DRAWS", "HORIZON", "tasks", "draws", "main"]

DESIGNS: dict[str, dict] = {
    "4/4/8": {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8},
    "2/4/8": {"msb_bits": 2, "lsb_bits": 4, "acc_bits": 8},
    "4/2/6": {"msb_bits": 4, "lsb_bits": 2, "acc_bits": 6},
    "3/5/8 x1.5": {"msb_bits": 3, "lsb_bits": 5, "acc_bits": 8, "width": 1.5},
    "6/6/12": {"msb_bits": 6, "lsb_bits": 6, "acc_bits": 12},
    "4/4/8 x2": {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8, "width": 2.0},
    "4/4/8 x0.5": {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8, "width": 0.5},
    "2/6/8 diff": {"msb_bits": 2, "lsb_bits": 6, "acc_bits": 8, "lsb_encoding": "differential"},
    "5/3/8": {"msb_bits": 5, "lsb_bits": 3, "acc_bits": 8},
    "3/3/6 x1.5": {"msb_bits": 3, "lsb_bits": 3, "acc_bits": 6, "width": 1.5},
    "6/2/8": {"msb_bits": 6, "lsb_bits": 2, "acc_bits": 8},
    "4/6/12 x0.5": {"msb_bits": 4, "lsb_bits": 6, "acc_bits": 12, "width": 0.5},
}
"""Twelve designs of the default space's working region (4-12 bits, widths 0.5-2, both
LSB encodings), nominal noise, the accumulator range HIC-Bench v2 is made with
(``acc_range="auto"``, :attr:`hicenv.sim.config.HICConfig.acc_range_deltas`)."""
SEEDS = (0, 1, 2)
DRAWS = 8
"""Device draws per trained network."""
HORIZON = "1y"
"""The search objective's horizon (compensated)."""


def draws(model, hw, test, n: int = DRAWS, horizon: str = HORIZON) -> dict:
    """Per-image correctness on ``test`` under ``n`` device draws at ``horizon``,
    compensated: ``bits`` (one hex string of packed bits per draw), ``labels`` count,
    and the seconds one draw took (what averaging draws would cost a search)."""
    from hicenv.sim.trainer import _correct

    out, seconds = [], []
    for _ in range(n):
        t = time.perf_counter()
        state = hw.sample_drift_state()
        hw.load(hw.read_at(HORIZONS_S[horizon], state, compensate=True))
        c = _correct(model, test).cpu().numpy()
        seconds.append(time.perf_counter() - t)
        out.append(np.packbits(c).tobytes().hex())
    return {"horizon": horizon, "images": int(len(c)), "bits": out, "draw_seconds": float(np.median(seconds))}


def tasks() -> list[dict]:
    """Every run: design x seed at the proxy budget, on the embedded data."""
    from hicenv.sim.data import load_dataset

    data = load_dataset("embedded").fingerprint
    return [
        make_task(
            {"label": label, "config": {**config, "acc_range": "auto"}, "set": "noise"},
            BUDGETS["proxy"],
            seed,
            "proxy",
            data,
            measure="hicenv_agents.experiments.noise:draws",
        )
        for seed in SEEDS
        for label, config in DESIGNS.items()
    ]


def _report(results: str, out: str):
    from hicenv_agents.experiments.noise_report import write_report

    return write_report(results, out)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(
        argv,
        "noise",
        "The objective's noise: train the runs (run; resumable) or write the decomposition (report).",
        tasks,
        _report,
    )


if __name__ == "__main__":
    sys.exit(main())
