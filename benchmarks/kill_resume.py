"""Is a run stored exactly once however often its runner is killed? (issue 25's done-when)

A runner (``runner.run_tasks``, what ``hicenv bench run`` and ``hicenv paper run`` call)
trains ``--tasks`` tiny tasks with two workers into a fresh folder. Each round starts it
and SIGKILLs the runner alone (its workers must die with it: nothing cleans up after a
SIGKILL) at a random moment; the next round resumes at once. After ``--rounds`` rounds a
last run finishes the rest. Then every task must be stored exactly once, and
``unique_results`` must find no duplicate.

    python benchmarks/kill_resume.py [--rounds 10] [--tasks 96] [--seed 0] [--out FILE]

Prints one line a round and a verdict; exits 1 when a task is missing or stored twice.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

RUNNER = """
import json, sys
from hicenv_agents.experiments.runner import run_tasks
run_tasks(sys.argv[1], json.load(open(sys.argv[2])), dataset="embedded", workers=2, threads=1)
"""


def make_tasks(n: int) -> list[dict]:
    from hicenv.sim.budget import Budget
    from hicenv.sim.data import load_dataset
    from hicenv_agents.experiments.runner import make_task

    tiny = Budget(name="tiny", train_images=512, epochs=1, test_images=64, drift_test_images=32, batch_size=32, depth=8)
    fp = load_dataset("embedded").fingerprint
    points = [
        {
            "label": f"p{i}",
            "set": "kill",
            "config": {"msb_bits": 2 + i % 4, "lsb_bits": 1 + (i // 4) % 8, "width": 1.0 + 0.25 * (i // 32)},
        }
        for i in range(n)
    ]
    return [make_task(p, tiny, 0, "proxy", fp) for p in points]


def main() -> int:
    from hicenv_agents.experiments.runner import load_results, task_key, unique_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=96, help="at most 128 (distinct points)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--max-kill-s", type=float, default=8.0, help="kill within this many seconds of the start")
    ap.add_argument("--out", default=None, help="also write the rounds and the verdict (JSON) here")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tasks = make_tasks(a.tasks)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        folder, task_file = Path(tmp) / "results", Path(tmp) / "tasks.json"
        task_file.write_text(json.dumps(tasks))
        for r in range(a.rounds + 1):
            p = subprocess.Popen([sys.executable, "-c", RUNNER, str(folder), str(task_file)], stdout=subprocess.DEVNULL)
            last = r == a.rounds
            at = None if last else rng.uniform(2.0, a.max_kill_s)
            try:
                p.wait(timeout=at if at is not None else 900)
                how = f"finished (rc {p.returncode})"
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                how = f"SIGKILL at {at:.1f} s"
            time.sleep(0.2)
            stored = len(load_results(folder, quiet=True)) if folder.exists() else 0
            rounds.append({"round": r, "how": how, "lines": stored})
            print(f"round {r}: {how}; {stored} result lines stored", flush=True)
        rows = load_results(folder, quiet=True)
        counts = Counter(task_key(t) for t in rows)
        missing = sum(task_key(t) not in counts for t in tasks)
        twice = sum(c > 1 for c in counts.values())
        dropped = unique_results(rows)[1]
    ok = missing == 0 and twice == 0 and dropped == 0 and len(rows) == len(tasks)
    verdict = {
        "tasks": len(tasks),
        "kills": a.rounds,
        "lines": len(rows),
        "missing": missing,
        "stored_twice": twice,
        "ok": ok,
    }
    print(
        f"{len(tasks)} tasks, {len(rows)} result lines, {missing} missing, {twice} stored twice: "
        + ("every task stored exactly once" if ok else "FAILED")
    )
    if a.out:
        Path(a.out).write_text(json.dumps({**verdict, "rounds": rounds}, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
