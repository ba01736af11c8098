"""How sure is the main job's front, drawn from the surrogate's law or from a Gaussian of its
sd? The main job (studies/quick.toml, HIC-Bench's surrogate) at each study seed; its feasible
designs' ``front_certainty`` twice: as studies export it (each answer drawn from its
``surrogate_law``) and with that column dropped (a Gaussian of ``surrogate_std``, as fronts
were drawn before). Per seed: the designs on the front, their median ``p_front``, how many
more are within noise of it (P >= 0.05), and the expected number of non-dominated designs
in a draw (the sum of ``p_front``).

    python benchmarks/front_law.py [--seeds 3] [--draws 1000] [--out FILE]

Last line: one JSON object with every seed's figures, the machine and the code revision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import warnings
from dataclasses import replace
from pathlib import Path

import optuna
from steps import emit

from hicenv.design.pareto import NEAR_FRONT, front_certainty
from hicenv_agents.search import optuna_study
from hicenv_agents.search.studyfile import load_study_file

ROOT = Path(__file__).resolve().parents[1]


def certainty(designs, objectives: list[str], draws: int) -> dict:
    c = front_certainty(designs, objectives, draws=draws)
    on = c[c["on_front"]]
    return {
        "on_front": int(len(on)),
        "median_p_on_front": float(on["p_front"].median()),
        "near": int(((c["p_front"] >= NEAR_FRONT) & ~c["on_front"]).sum()),
        "expected_non_dominated": float(c["p_front"].sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    base = load_study_file(ROOT / "studies" / "quick.toml")
    objectives = [o.name for o in base.get_objectives()]
    runs = []
    for seed in range(a.seeds):
        designs = optuna_study.designs_frame(optuna_study.run_study(replace(base, seed=seed), cache=None))
        if "feasible" in designs:
            designs = designs[designs["feasible"]]
        for arm, d in (("law", designs), ("sd", designs.drop(columns=["surrogate_law"]))):
            runs.append({"seed": seed, "arm": arm, "designs": len(d), **certainty(d, objectives, a.draws)})
            print(json.dumps(runs[-1]), flush=True)
    keys = ("on_front", "median_p_on_front", "near", "expected_non_dominated")
    medians = {
        arm: {k: statistics.median(r[k] for r in runs if r["arm"] == arm) for k in keys} for arm in ("law", "sd")
    }
    for arm, med in medians.items():
        print(f"{arm:4s} " + "  ".join(f"{k} {v:.4g}" for k, v in med.items()))
    figures = {"objectives": objectives, "seeds": a.seeds, "draws": a.draws, "medians": medians, "runs": runs}
    emit(figures, a.out, ROOT)


if __name__ == "__main__":
    main()
