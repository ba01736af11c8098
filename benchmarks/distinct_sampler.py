"""What does proposing only unheld points (``Distinct``) change in a study? The main job
(studies/quick.toml, HIC-Bench's surrogate) asked for ``--trials`` distinct designs, per
sampler and seed, with each sampler wrapped in ``Distinct`` (as studies run) and bare (as
they ran before): the Optuna trials it took, the re-proposals among them, the hypervolume of
the front it found (the axes and reference of ``hicenv compare``) and the wall time.

Arms (``--arms``): ``distinct``, the study code as it runs; ``bare``, the same code with
``make_sampler(..., distinct=False)`` (a plain sampler on the numeric ``acc_bits`` range);
``installed``, whatever hicenv is installed, untouched (run it from an older checkout's
environment for the code before ``Distinct``: that code has no ``distinct`` option). Arms
given together run in one process, one after the other per (sampler, seed), so their times
are comparable; the figures are medians over the seeds.

    python benchmarks/distinct_sampler.py [--trials 200] [--seeds 5] [--samplers tpe,nsga2,random]
        [--arms bare,distinct]

Last line: one JSON object with every run, the medians, the machine and the code revision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from dataclasses import replace
from functools import partial
from pathlib import Path

import optuna
from steps import emit

from hicenv_agents.search import optuna_study, samplers
from hicenv_agents.search.compare import hypervolume_curve
from hicenv_agents.search.studyfile import load_study_file

ROOT = Path(__file__).resolve().parents[1]


def one_run(spec, arm: str) -> dict:
    if arm != "installed":
        optuna_study.make_sampler = partial(samplers.make_sampler, distinct=arm == "distinct")
    try:
        t = time.perf_counter()
        study = optuna_study.run_study(spec, cache=None)
        seconds = time.perf_counter() - t
    finally:
        optuna_study.make_sampler = samplers.make_sampler
    designs = optuna_study.designs_frame(study).sort_values("trial")
    designs = designs.drop_duplicates(subset=[k.name for k in spec.design_space().knobs])
    hv = hypervolume_curve(designs, spec.get_objectives(), spec.design_space())
    repeats = sum(optuna_study.REPEAT_ATTR in t.user_attrs for t in study.trials)
    return {"trials": len(study.trials), "repeats": repeats, "designs": len(designs), "hv": float(hv[-1]), "s": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--samplers", default="tpe,nsga2,random")
    ap.add_argument("--arms", default="bare,distinct")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    base = replace(load_study_file(ROOT / "studies" / "quick.toml"), trials=a.trials)
    arms = a.arms.split(",")
    one_run(replace(base, trials=2), arms[0])  # loads the bench and its fit once
    runs = []
    for name in a.samplers.split(","):
        for seed in range(a.seeds):
            spec = replace(base, sampler=name, seed=seed)
            for arm in arms:
                runs.append({"sampler": name, "seed": seed, "arm": arm, **one_run(spec, arm)})
                print(json.dumps(runs[-1]), flush=True)
    medians = {}
    for name in a.samplers.split(","):
        for arm in arms:
            mine = [r for r in runs if r["sampler"] == name and r["arm"] == arm]
            med = {k: statistics.median(r[k] for r in mine) for k in ("trials", "repeats", "designs", "hv", "s")}
            medians[f"{name}-{arm}"] = med
            print(f"{name:7s} {arm:9s} " + "  ".join(f"{k} {v:.4g}" for k, v in med.items()))
    code = Path(samplers.__file__).resolve().parents[2]  # the checkout of the hicenv that ran, not this file's
    figures = {"code": str(code), "trials": a.trials, "seeds": a.seeds, "medians": medians, "runs": runs}
    emit(figures, a.out, code)


if __name__ == "__main__":
    main()
