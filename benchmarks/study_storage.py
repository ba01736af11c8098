"""How much does a study's storage cost it? The main job (studies/quick.toml, HIC-Bench's
surrogate) per Optuna storage: in memory, a journal file, SQLite, and PostgreSQL where
``$HICENV_TEST_POSTGRES`` names a server.

Each storage runs the same study (``--trials`` distinct designs, the file's sampler and
seed) ``--repeats`` times, each time into a fresh storage, in this process (the bench and
its fit are loaded once before, so every storage pays the same nothing for them); the
figure is the median wall time and its ratio to memory's, in one run on one machine.

    python benchmarks/study_storage.py [--trials 100] [--repeats 3] [--out FILE]

Last line: one JSON object with the figures, the machine and the code revision.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import optuna
from steps import emit

from hicenv_agents.search.optuna_study import run_study
from hicenv_agents.search.studyfile import load_study_file

ROOT = Path(__file__).resolve().parents[1]


def storages(folder: Path, run: int) -> dict[str, str | None]:
    out = {"memory": None, "journal": str(folder / f"s{run}.log"), "sqlite": f"sqlite:///{folder}/s{run}.db"}
    if os.environ.get("HICENV_TEST_POSTGRES"):
        out["postgresql"] = os.environ["HICENV_TEST_POSTGRES"]
    return out


def one_run(spec, url: str | None, name: str) -> float:
    t = time.perf_counter()
    run_study(spec, url, study_name=name, cache=None)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    spec = replace(load_study_file(ROOT / "studies" / "quick.toml"), trials=a.trials)
    one_run(replace(spec, trials=2), None, "warm")  # loads the bench and its fit once
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(a.repeats):
            for kind, url in storages(Path(tmp), run).items():
                times.setdefault(kind, []).append(one_run(spec, url, f"bench-{os.getpid()}-{run}"))
    med = {k: statistics.median(v) for k, v in times.items()}
    figures = {
        "trials": a.trials,
        "repeats": a.repeats,
        "median_s": med,
        "ratio_to_memory": {k: v / med["memory"] for k, v in med.items()},
        "all_s": times,
    }
    for k, v in med.items():
        print(f"{k:10s} {v:7.2f} s  ({v / med['memory']:.2f}x memory; median of {a.repeats} x {a.trials} trials)")
    emit(figures, a.out, ROOT)


if __name__ == "__main__":
    main()
