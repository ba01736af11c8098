"""HIC-Bench: the default design space at the ``proxy`` fidelity, stored point by point.

The searches' shipped signal should be the simulator's, not a smoke run's. The bench
is that signal, tabulated once on settled simulator code:

* :func:`sobol_points`: a scrambled Sobol sample (seed 0) over every knob of the
  default space, device noise included (0 to 2: the context at five levels), each
  point distinct and valid. Its first 2^k points are balanced over the knobs, so a
  bench cut short by a deadline is still a space-filling sample;
* the paper's panel (:data:`hicenv_agents.experiments.paper.PANEL`), FP32 included;
* seeds 1 and 2 on the first :data:`SEED_POINTS` Sobol points, to measure seed noise
  across the space;
* seeds 1 and 2 on the :data:`FRONT_POINTS` Sobol points most likely to be on the front
  (:func:`front_points`, chosen from the first pass once it is complete), where a search
  has to tell good designs apart.

Every run holds :data:`BENCH_SETTINGS` (v2: ``acc_range="auto"``, the accumulator
finding of ``studies/accumulator/REPORT.md``).

Each result is the whole :class:`~hicenv.sim.result.Result` (accuracy at every
horizon with and without compensation, write-cycle statistics, sizes, the learning
curve, seconds, machine and the simulator's fingerprint), one JSON line as it
finishes (:mod:`hicenv_agents.experiments.runner`): generation stops and resumes
across runs and machines (``hicenv bench run``); ``hicenv bench compile`` makes the
shipped table and the surrogate's fit from them.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hicenv.errors import InputError
from hicenv.sim.budget import BUDGETS, Budget
from hicenv_agents.args import Parser, count_arg
from hicenv_agents.experiments.paper import LONG_BUDGETS
from hicenv_agents.experiments.runner import add_run_options, make_task, run_tasks

if TYPE_CHECKING:  # numpy, pandas and scipy load where used: a GPU image may run tasks without them
    import pandas as pd

    from hicenv.design.space import DesignSpace

__all__ = [
    "N_POINTS",
    "SEED_POINTS",
    "FRONT_POINTS",
    "BENCH_BUDGET",
    "BENCH_SETTINGS",
    "sobol_points",
    "tasks",
    "front_points",
    "front_tasks",
    "run",
    "write_tasks",
    "read_tasks",
]

N_POINTS = 320
"""Sobol points of the bench (v2; v1 had 200). The first 256 are a balanced sample by
themselves (a power of two); :func:`sobol_points` is a prefix of one sequence, so a
larger bench keeps every stored run."""
FRONT_POINTS = 48
"""Sobol points nearest the front (:func:`front_points`) run at seeds 1 and 2 too."""
BENCH_SETTINGS: dict = {"acc_range": "auto"}
"""Settings of every bench run besides the knobs (they are the bench's held settings)."""
RESULTS = "studies/bench/results-v2"
"""Where ``hicenv bench run`` stores v2's runs (v1's, on older code, are in ``studies/bench/results``)."""
SEED_POINTS = 24
"""Sobol points (the first ones) run at seeds 1 and 2 too."""
EXTRA_SEEDS = (1, 2)
BENCH_BUDGET: Budget = BUDGETS["proxy"].replace(drift_test_images=1000, focus_horizon="1y", focus_draws=4)
"""The bench's fidelity: the searches' proxy, its objective's reading made precise (v2:
1000 drift images and 4 device draws at 1y, 72% of the draw and image variance gone for
about 20 s an evaluation; ``studies/noise/REPORT.md``). The proxy preset takes these
settings when v2 becomes the shipped bench."""


def sobol_points(n: int = N_POINTS, space: DesignSpace | None = None, seed: int = 0) -> list[dict]:
    """``n`` distinct design points of ``space`` (default: the default space with its noise
    knob) from a scrambled Sobol sequence, in sequence order; a repeat is skipped."""
    import numpy as np
    from scipy.stats import qmc

    from hicenv.design.space import DesignSpace

    space = space or DesignSpace.default(noise_knob=True)
    sampler = qmc.Sobol(d=len(space.knobs), scramble=True, seed=seed)
    points: dict[tuple, dict] = {}
    while len(points) < n:
        for u in sampler.random(2 ** math.ceil(math.log2(max(64, n)))):  # whole powers of two: balanced
            index = np.minimum((u * [len(k) for k in space.knobs]).astype(int), [len(k) - 1 for k in space.knobs])
            point = space.decode(index)  # every point valid: decode raises if not
            config = {k.name: getattr(point, k.name) for k in space.knobs}
            key = tuple(config.values())
            if key not in points:
                points[key] = {"label": f"sobol {len(points)}", "config": config, "set": "sobol"}
            if len(points) == n:
                break
    return list(points.values())


LADDER: dict[str, Budget] = {
    "smoke": BUDGETS["smoke"],
    "ladder-30k": BUDGETS["proxy"].replace(
        name="ladder-30k", train_images=30000, test_images=None, drift_test_images=2000
    ),
}
"""Rungs of the fidelity ladder besides the bench's own (``proxy``), run on the first
:data:`SEED_POINTS` Sobol points: ``smoke`` on the embedded subset (seeds 0-2), and
``ladder-30k``, the proxy's recipe on 30,000 full Fashion-MNIST images with every test
image (seeds 0 and 1: the top rung's own seed-to-seed ceiling)."""
LADDER_SEEDS = {"smoke": (0, 1, 2), "ladder-30k": (0, 1), "full-2ep": (0, 1)}
GPU_RUNG: Budget = LONG_BUDGETS["full-2ep"]
"""The ladder's rung for a GPU (``--gpu-rung``): every training image twice, every test
image (the paper panel's long budget; about 24 s a run on an H200, hours on 2 CPU cores),
seeds 0 and 1 on the ladder's points."""


def _task(p: dict, budget: Budget, seed: int, kind: str, fp: str) -> dict:
    return make_task({**p, "config": {**BENCH_SETTINGS, **p["config"]}}, budget, seed, kind, fp)


def tasks(
    n: int = N_POINTS,
    budget: Budget = BENCH_BUDGET,
    with_panel: bool = True,
    seed_points: int = SEED_POINTS,
    full_data: str | None = None,
    gpu_rung: bool = False,
) -> list[dict]:
    """Every bench run, in the order that keeps a partial bench useful: the first half of
    the Sobol sample at seed 0 (a sample by itself: a prefix of the sequence), the panel at seed 0, the
    extra seeds on the first ``seed_points``, the ladder's rungs on those (``ladder-30k``
    only when ``full_data``, a Fashion-MNIST folder, is given), then the Sobol sample's
    second half. What the bench lacks entirely (the panel, seed noise, the ladder) comes
    before more of what it has. With ``gpu_rung`` (and ``full_data``) the ladder's
    :data:`GPU_RUNG` comes first: it is what only a GPU affords."""
    from hicenv.sim.data import load_dataset
    from hicenv_agents.experiments.paper import PANEL

    sobol = sobol_points(n)
    half = sobol[: n // 2]
    panel = [{**p, "set": "panel"} for p in PANEL] if with_panel else []
    fp = load_dataset("embedded").fingerprint
    out = [_task(p, budget, 0, "proxy", fp) for p in half + panel]
    out += [_task(p, budget, s, "proxy", fp) for s in EXTRA_SEEDS for p in sobol[:seed_points]]
    out += [
        _task({**p, "set": "ladder"}, LADDER["smoke"], s, "proxy", fp)
        for s in LADDER_SEEDS["smoke"]
        for p in sobol[:seed_points]
    ]
    if full_data is not None:
        full = load_dataset("fashion-mnist", full_data).fingerprint
        out += [
            _task({**p, "set": "ladder"}, LADDER["ladder-30k"], s, "long", full)
            for s in LADDER_SEEDS["ladder-30k"]
            for p in sobol[:seed_points]
        ]
    out += [_task(p, budget, 0, "proxy", fp) for p in sobol[n // 2 :]]
    if gpu_rung and full_data is not None:
        out = [
            _task({**p, "set": "ladder"}, GPU_RUNG, s, "long", full)
            for s in LADDER_SEEDS[GPU_RUNG.name]
            for p in sobol[:seed_points]
        ] + out
    return out


def front_points(rows: list[dict], k: int = FRONT_POINTS, draws: int = 1000) -> list[dict]:
    """The ``k`` Sobol points most likely to be non-dominated on the default objectives, from
    the stored seed-0 runs ``rows``: within each noise level (the context), each point's
    probability of being on the front (:func:`hicenv.design.pareto.front_probability`) with
    the search accuracy's pooled seed sd from the points stored at several seeds (size and
    wear taken as exact), highest first."""
    import numpy as np
    import pandas as pd

    from hicenv.design.deployment import Deployment, wear_metrics
    from hicenv.design.objectives import Reading, get_objectives, objective_values, to_min
    from hicenv.design.pareto import front_probability

    sobol = [r for r in rows if r.get("set") == "sobol" and not r.get("failed")]
    objectives = get_objectives()
    how = Reading()
    acc = pd.DataFrame({"label": r["label"], "acc": objective_values(r, objectives[:1], how)[0]} for r in sobol)
    sd = float(np.sqrt(acc.groupby("label").acc.var().dropna().mean())) if acc.label.duplicated().any() else None
    if sd is None or not np.isfinite(sd):
        raise InputError("front_points needs Sobol points stored at several seeds (the seed noise); none are")
    first = {r["label"]: r for r in sobol if r["seed"] == 0}
    scored = []
    for _, group in pd.DataFrame(
        {"label": list(first), "noise": [r["config"]["noise"] for r in first.values()]}
    ).groupby("noise"):
        members = [first[lbl] for lbl in group.label]
        values = np.array([objective_values({**r, **wear_metrics(r, Deployment())}, objectives, how) for r in members])
        spread = np.zeros_like(values)
        spread[:, 0] = sd  # the accuracy objective; NaN values (unknown wear) never dominate
        p = front_probability(to_min(values, objectives), spread, draws=draws)
        scored += [(pi, values[i, 0], members[i]) for i, pi in enumerate(p)]
    scored.sort(key=lambda t: (-t[0], -t[1]))
    return [
        {"label": r["label"], "config": {k_: r["config"][k_] for k_ in _knobs()}, "set": "sobol", "p_front": float(p)}
        for p, _, r in scored[:k]
    ]


def _knobs() -> list[str]:
    from hicenv.design.space import DesignSpace

    return [k.name for k in DesignSpace.default(noise_knob=True).knobs]


def front_tasks(
    results: list[str], first_pass: list[dict], k: int = FRONT_POINTS, budget: Budget = BENCH_BUDGET
) -> list[dict]:
    """Seeds 1 and 2 of :func:`front_points` of the runs of ``first_pass`` (tasks) stored in
    ``results``. Only those: the seeds-1-and-2 runs this adds must not move the choice (their
    replicates would change the pooled seed sd), or a resumed bench would pick other points."""
    from hicenv.sim.data import load_dataset
    from hicenv_agents.experiments.runner import load_results, task_key, unique_results

    fp, first = load_dataset("embedded").fingerprint, {task_key(t) for t in first_pass}
    rows, _ = unique_results(
        [
            r
            for d in results
            for r in load_results(d)
            if r.get("budget_name") == budget.name and not r.get("failed") and task_key(r) in first
        ]
    )
    points = front_points(rows, k)
    return [_task(p, budget, s, "proxy", fp) for s in EXTRA_SEEDS for p in points]


def run(
    out: str,
    n: int = N_POINTS,
    workers: int = 1,
    threads: int | None = None,
    device: str | None = None,
    deadline_s: float | None = None,
    data_root: str | None = None,
    gpu_rung: bool = False,
    stored: list[str] = (),
    tasks_file: str | None = None,
) -> int:
    """Train every bench run not yet in ``out`` or the ``stored`` folders (the ladder's
    upper rungs only with ``data_root``, the full Fashion-MNIST folder; :data:`GPU_RUNG`
    only with ``gpu_rung``), or those of ``tasks_file`` (:func:`write_tasks`: no numpy
    or scipy needed to list them); returns how many are left."""
    if gpu_rung and data_root is None:
        raise InputError("--gpu-rung trains on the full Fashion-MNIST: give its folder with --data-root")
    todo = read_tasks(tasks_file) if tasks_file else tasks(n, full_data=data_root, gpu_rung=gpu_rung)
    if data_root is None and any(t["kind"] == "long" for t in todo):
        raise InputError(f"{tasks_file} holds runs on the full Fashion-MNIST: give its folder with --data-root")
    started = time.monotonic()

    def train(runs: list[dict]) -> int:
        left_s = None if deadline_s is None else max(deadline_s - (time.monotonic() - started), 1.0)
        return run_tasks(
            out,
            runs,
            dataset="fashion-mnist",
            data_root=data_root,
            device=device,
            workers=workers,
            deadline_s=left_s,
            threads=threads,
            stored=stored,
        )

    left = train(todo)
    if left or tasks_file:
        return left
    print("first pass complete: seeds 1 and 2 on the points nearest the front", flush=True)
    return train(front_tasks([out, *stored], todo))


def write_tasks(path: str | Path, todo: list[dict]) -> Path:
    """The task list as JSON, for a machine that runs it (``run --tasks-file``)."""
    from hicenv.output import write_atomically

    return write_atomically(path, lambda tmp: tmp.write_text(json.dumps(todo) + "\n"))


def read_tasks(path: str | Path) -> list[dict]:
    """A task list :func:`write_tasks` wrote; anything else is refused, naming the file."""
    try:
        todo = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read the task list {path}: {e}") from None
    needed = {"label", "config", "budget", "budget_name", "kind", "seed"}
    if not isinstance(todo, list) or not all(isinstance(t, dict) and needed <= t.keys() for t in todo):
        raise InputError(f"{path} is not a task list of 'hicenv bench tasks'")
    return todo


def compile_bench(
    results: list[str],
    out: str | Path = "hicenv/_data/bench.csv",
    fit: str | Path | None = "hicenv/_data/bench_surrogate.json",
) -> pd.DataFrame:
    """The bench's stored results (``results`` folders) as one table (:func:`hicenv.rows.flatten`
    plus ``label``, ``set``, ``kind``) at ``out``: the bench's own points only (the Sobol
    sample and the panel at the bench budget), and the surrogate's fitted kernel
    hyperparameters at ``fit`` (None: not fitted)."""
    import pandas as pd

    from hicenv.design.surrogate import Surrogate
    from hicenv.output import check_output, write_table
    from hicenv.rows import flatten
    from hicenv_agents.experiments.runner import load_results, unique_results

    for path, what in ((out, "table"), (fit, "surrogate fit")):
        if path is not None:
            check_output(path, what)  # before reading hundreds of results, and before either is written
    rows = [
        r
        for d in results
        for r in load_results(d)
        if r.get("set") in ("sobol", "panel") and r.get("budget_name") == BENCH_BUDGET.name and not r.get("failed")
    ]
    if not rows:
        raise InputError(f"no bench results in {', '.join(map(str, results))}")
    rows, dropped = unique_results(rows)
    if dropped:
        print(f"bench compile: {dropped} duplicate run(s) dropped (stored twice; one kept)", file=sys.stderr)
    df = pd.DataFrame(
        [{"label": r["label"], "set": r["set"], "kind": r.get("kind", "proxy"), **flatten(r)} for r in rows]
    )
    df = df.sort_values(["set", "label", "seed"], kind="stable").reset_index(drop=True)
    write_table(df, out)
    if fit is not None:
        Surrogate(df).save(fit)
    return df


def _check_out(a) -> None:
    """``--out`` checked before any work, as what the action writes: a folder (run), a
    JSON task list (tasks); compile checks its two files itself."""
    from hicenv.output import check_folder, check_output

    if a.action == "run":
        check_folder(a.out or RESULTS, "--out")
    elif a.action == "tasks":
        check_output(a.out or "bench-tasks.json", "--out", (".json",))


def main(argv: list[str] | None = None) -> int:
    ap = Parser(
        prog="hicenv bench",
        description="HIC-Bench: generate it (run; resumable: rerun to continue), write its task list for "
        "another machine (tasks; benchmarks/gpu_bench.sh runs it), or compile the stored results into the "
        "shipped table and the surrogate's fit (compile); 'hicenv bench report' writes its report, "
        "'hicenv bench learners' scores the surrogate's candidate learners.",
    )
    ap.add_argument("action", choices=["run", "compile", "tasks"])
    ap.add_argument(
        "--out",
        default=None,
        help=f"run: folder of result files (default {RESULTS}); "
        "compile: the table (default hicenv/_data/bench.csv); tasks: the task list (default bench-tasks.json)",
    )
    ap.add_argument(
        "--results",
        action="append",
        default=None,
        help="compile: a folder of results (repeatable; default studies/bench/results)",
    )
    ap.add_argument(
        "--fit",
        default="hicenv/_data/bench_surrogate.json",
        help="compile: where the surrogate's fitted hyperparameters go",
    )
    ap.add_argument("--points", type=count_arg, default=N_POINTS, help="run, tasks: Sobol points")
    add_run_options(ap, "run: ")
    ap.add_argument(
        "--data-root",
        default=None,
        help="run: the full Fashion-MNIST folder, for the ladder's upper rungs (skipped without it)",
    )
    ap.add_argument(
        "--gpu-rung",
        action="store_true",
        help=f"run: the ladder's {GPU_RUNG.name} rung too, first (a GPU's job: hours a run on 2 CPU cores)",
    )
    ap.add_argument("--tasks-file", default=None, help="run: the runs of this task list (from 'tasks'), not the plan")
    a = ap.parse_args(argv)
    _check_out(a)
    if a.action == "compile":
        out = a.out or "hicenv/_data/bench.csv"
        df = compile_bench(a.results or ["studies/bench/results"], out, a.fit)
        print(f"{len(df)} results of {len(df[['set', 'label']].drop_duplicates())} points -> {out}")
        return 0
    if a.action == "tasks":
        if a.gpu_rung and a.data_root is None:
            raise InputError("--gpu-rung trains on the full Fashion-MNIST: give its folder with --data-root")
        todo = tasks(a.points, full_data=a.data_root, gpu_rung=a.gpu_rung)
        path = write_tasks(a.out or "bench-tasks.json", todo)
        print(f"{len(todo)} runs -> {path}")
        return 0
    left = run(
        a.out or RESULTS,
        a.points,
        a.workers,
        a.threads,
        a.device,
        a.deadline,
        a.data_root,
        a.gpu_rung,
        a.stored,
        a.tasks_file,
    )
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
