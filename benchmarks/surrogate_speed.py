"""How fast does the surrogate backend answer? (HIC-Bench's done-when: under 1 ms a step.)

In one fresh process, on the shipped bench:

1. Cold start: ``import hicenv`` and the first ``gymnasium.make`` + ``reset`` (loads the
   bench, reloads the stored fit, predicts every point of the default space in one batch).
2. Steps of ``HICDesign-v0`` (one design an episode) and ``HICDesignSeq-v0`` (one knob a
   step), random actions from a seeded action space, each step timed alone: median, 99th
   percentile and worst over ``--steps`` steps, ``--repeats`` times (median of repeats).
3. One raw surrogate query of a point not yet asked (every target's GP on one row, what
   a step costs when the space was not precomputed, e.g. a custom space over 10^5 points).

    python benchmarks/surrogate_speed.py [--steps 2000] [--repeats 5]

Last line: one JSON object with the figures and the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

t0 = time.perf_counter()
import gymnasium  # noqa: E402
import torch  # noqa: E402
from steps import machine  # noqa: E402

import hicenv  # noqa: E402, F401  (registers the envs)

IMPORT_S = time.perf_counter() - t0


def step_times(env_id: str, steps: int, seed: int) -> list[float]:
    """Seconds of each of ``steps`` steps (a reset after each finished episode, not timed)."""
    env = gymnasium.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    for _ in range(steps):
        action = env.action_space.sample()
        t = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        out.append(time.perf_counter() - t)
        if terminated or truncated:
            env.reset()
    env.close()
    return out


def summary(times: list[float]) -> dict:
    ms = sorted(1e3 * t for t in times)
    return {"median_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))], "max_ms": ms[-1]}


def raw_query_ms(repeats: int) -> float:
    """Median milliseconds of one surrogate prediction of one point (all targets)."""
    import pandas as pd

    from hicenv.design.surrogate import Surrogate

    s = Surrogate()
    row = pd.DataFrame(
        [{"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8, "width": 1.0, "lsb_encoding": "unsigned", "noise": 1.0}]
    )
    times = []
    for _ in range(max(20, repeats)):
        t = time.perf_counter()
        s.predict(row)
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    t = time.perf_counter()
    env = gymnasium.make("hicenv/HICDesign-v0")
    env.reset(seed=0)
    cold_s = time.perf_counter() - t
    env.close()
    out = {"machine": machine(torch.device("cpu")), "import_s": IMPORT_S, "first_make_and_reset_s": cold_s}
    print(f"import hicenv: {IMPORT_S:.2f} s; first make + reset (bench, fit, whole space): {cold_s:.2f} s")
    for env_id in ("hicenv/HICDesign-v0", "hicenv/HICDesignSeq-v0"):
        runs = [summary(step_times(env_id, a.steps, seed)) for seed in range(a.repeats)]
        figures = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out[env_id] = figures
        print(
            f"{env_id}: a step takes {figures['median_ms']:.3f} ms median, {figures['p99_ms']:.3f} ms at the "
            f"99th percentile, {figures['max_ms']:.3f} ms worst (median of {a.repeats} x {a.steps} steps)"
        )
    out["raw_query_ms"] = raw_query_ms(a.repeats)
    print(f"one surrogate query of a point not precomputed: {out['raw_query_ms']:.2f} ms median")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
