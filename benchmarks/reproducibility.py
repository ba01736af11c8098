"""Are CPU runs bit-reproducible for a given seed, and what does the torch thread count change?

Runs ``evaluate`` at one budget and seed in fresh processes, ``--repeats`` times at each
thread count, and prints each run's accuracy, final training loss and a hash of its
whole learning curve, then whether runs at one thread count agree bit for bit and how far
the thread counts differ. The README's reproducibility note quotes its output
(``benchmarks/results/reproducibility-*.txt``; the first line names the simulator
fingerprint it was made on, and tests/test_readme_figures.py holds the README to the file
and the file to the running code: a simulator change asks for a rerun).

    python benchmarks/reproducibility.py --budget smoke --threads 1,2 --repeats 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys

PROBE = """
import json, sys, torch
torch.set_num_threads(int(sys.argv[1]))
from hicenv import HICConfig, evaluate
m = evaluate(HICConfig(msb_bits=4, lsb_bits=4, acc_bits=8), sys.argv[2], seed=int(sys.argv[3]))
print(json.dumps({k: m[k] for k in ("accuracy", "train_loss", "learning_curve", "accuracy_drift_gdc")}))
"""


def run(threads: int, budget: str, seed: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(threads), budget, str(seed)], capture_output=True, text=True, check=True
    )
    m = json.loads(out.stdout.strip().splitlines()[-1])
    if isinstance(m["train_loss"], list):  # one value per epoch: the last
        m["train_loss"] = m["train_loss"][-1]
    m["curve_hash"] = hashlib.sha256(json.dumps(m["learning_curve"], sort_keys=True).encode()).hexdigest()[:12]
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="smoke")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    import torch

    from hicenv.sim.fingerprint import sim_fingerprint

    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, budget {a.budget}, "
        f"seed {a.seed}, sim_fingerprint {sim_fingerprint()}"
    )
    by_threads = {}
    for t in (int(x) for x in a.threads.split(",")):
        runs = [run(t, a.budget, a.seed) for _ in range(a.repeats)]
        by_threads[t] = runs
        for i, m in enumerate(runs):
            print(
                f"threads {t} run {i}: accuracy {m['accuracy']:.6f}, train loss {m['train_loss']:.8f}, "
                f"1y compensated {m['accuracy_drift_gdc']['1y']:.6f}, curve {m['curve_hash']}"
            )
        same = all(json.dumps(r, sort_keys=True) == json.dumps(runs[0], sort_keys=True) for r in runs)
        print(f"threads {t}: {a.repeats} runs bit-identical: {same}")
    firsts = {t: r[0] for t, r in by_threads.items()}
    if len(firsts) > 1:
        acc = [m["accuracy"] for m in firsts.values()]
        loss = [m["train_loss"] for m in firsts.values()]
        print(
            f"across thread counts: accuracy spread {max(acc) - min(acc):.6f}, train loss spread "
            f"{max(loss) - min(loss):.8f}, identical: {len({m['curve_hash'] for m in firsts.values()}) == 1}"
        )


if __name__ == "__main__":
    main()
