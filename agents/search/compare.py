"""Agents side by side: hypervolume of each one's front against the number of evaluations.

Every agent gets the same number of evaluations and the same seeds, on HIC-Bench's
surrogate by default (seconds) or live training when asked. ArchGym (Krishnan et al.,
2023) found that tuned agents end up close to each other; this shows where ours
stand on our space.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from hicenv.design.objectives import DEFAULT_OBJECTIVES, hv_points, hv_reference
from hicenv.design.pareto import front, hypervolume, save_figure, write_csv
from hicenv.errors import InputError, check_count
from hicenv_agents.search.rl import ALGOS, run_random, run_rl
from hicenv_agents.search.studyfile import StudySpec

__all__ = ["AGENTS", "DEFAULT_AGENTS", "compare", "hypervolume_curve", "plot_curves"]


def _random(evaluations: int, seed: int, env_kwargs: dict) -> pd.DataFrame:
    return run_random(evaluations, seed, env_kwargs).designs


def _rl(algo: str):
    def designs(evaluations: int, seed: int, env_kwargs: dict) -> pd.DataFrame:
        # Equal evaluations: an agent that picks one knob a step (DQN) gets as many steps as a
        # design has knobs for each design the others evaluate.
        steps = _steps_per_design(ALGOS[algo].env_id, env_kwargs)
        return run_rl(algo, timesteps=evaluations * steps, seed=seed, env_kwargs=env_kwargs).designs

    return designs


def _steps_per_design(env_id: str, env_kwargs: dict) -> int:
    import gymnasium

    if env_id != "hicenv/HICDesignSeq-v0":
        return 1
    return len(gymnasium.make(env_id, **env_kwargs).unwrapped.space.knobs)


def _optuna(sampler: str):
    return lambda evaluations, seed, env_kwargs: _optuna_designs(sampler, evaluations, seed, env_kwargs)


AGENTS: dict[str, Callable[[int, int, dict], pd.DataFrame]] = {
    "random": _random,
    "tpe": _optuna("tpe"),
    "nsga2": _optuna("nsga2"),
    "gp": _optuna("gp"),
    "ppo": _rl("ppo"),
    "a2c": _rl("a2c"),
    "dqn": _rl("dqn"),
}
"""Agents by name, each ``(evaluations, seed, env_kwargs) -> designs`` in the order it evaluated them."""
DEFAULT_AGENTS = ("random", "tpe", "nsga2", "ppo")
"""The agents ``hicenv compare`` runs unless told."""


def hypervolume_curve(designs: pd.DataFrame, objectives, space) -> np.ndarray:
    """Hypervolume (normalised axes and reference of :func:`hicenv.design.objectives.hv_points`
    and :func:`~hicenv.design.objectives.hv_reference` for ``space``) of the front of the first
    k designs in ``objectives``."""
    names, reference = [o.name for o in objectives], hv_reference(objectives, space)
    out = np.zeros(len(designs))
    for k in range(1, len(designs) + 1):
        fr = front(designs.iloc[:k], names)
        out[k - 1] = hypervolume(hv_points(fr, objectives, space), reference) if len(fr) else 0.0
    return out


def _optuna_designs(sampler: str, evaluations: int, seed: int, env_kwargs: dict) -> pd.DataFrame:
    from hicenv_agents.search.optuna_study import create_or_load, designs_frame, make_objective

    backend = env_kwargs.get("backend", "surrogate")
    spec = StudySpec(
        name=f"compare-{sampler}-{seed}",
        trials=evaluations,
        sampler=sampler,
        seed=seed,
        backend=backend,
        table=env_kwargs.get("table"),
        bench=env_kwargs.get("bench"),
        budget=env_kwargs.get("budget"),
        **_space_tables(env_kwargs),
        noise=1.0,
        objectives=list(env_kwargs.get("objectives") or DEFAULT_OBJECTIVES),
    )
    objective = make_objective(spec, cache=env_kwargs.get("cache", "default"))  # refuses before the study is made
    study = create_or_load(spec, optuna.storages.InMemoryStorage())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=evaluations)
    df = designs_frame(study).sort_values("trial").reset_index(drop=True)
    df["agent"] = sampler
    return df


def _space_tables(env_kwargs: dict) -> dict:
    """The space the environment would search, as a study file's [space], [deployment] and
    [costs] tables (StudySpec keyword arguments)."""
    import gymnasium

    env = gymnasium.make("hicenv/HICDesign-v0", **{**env_kwargs, "noise": 1.0}).unwrapped
    d = env.space.to_dict()
    d.pop("dataset", None), d.pop("device", None)
    return {"deployment": d.pop("deployment"), "costs": d.pop("costs"), "space": d}


def compare(
    agents=DEFAULT_AGENTS,
    evaluations: int = 50,
    seeds=(0, 1, 2),
    env_kwargs: dict | None = None,
    out: str | os.PathLike = "compare.csv",
    plot: str | os.PathLike | None = "compare.png",
    store: str | os.PathLike | None = None,
    say: Callable[[str], object] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Run each agent for ``evaluations`` designs per seed; write the hypervolume curves.

    ``store``: a folder where each (agent, seed) run is kept as one JSON line as soon as
    it ends, under a key of what determines it (:func:`run_key`); a rerun takes stored
    runs from there and runs only the others. ``say`` gets one line per run. ``workers``:
    processes that run (agent, seed) pairs side by side (each with an equal share of the
    CPU's threads); every run is seeded, so its curve does not depend on which one ran it."""
    check_count(evaluations, "evaluations")
    check_count(workers, "workers")
    if not seeds:
        raise InputError("seeds must name at least one seed")
    env_kwargs = {"backend": "surrogate", **dict(env_kwargs or {}), "noise": 1.0}
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        raise InputError(f"unknown agent(s) {unknown}; agents: {', '.join(AGENTS)}")
    import gymnasium

    env = gymnasium.make("hicenv/HICDesign-v0", **env_kwargs).unwrapped  # the backend refuses what it cannot answer
    space, answers, objectives = env.space, _answers_digest(env), env.objectives
    _code_digest()  # read now, before any agent runs
    best = best_hypervolume(env, answers)
    stored = _stored_runs(store)
    keys = {(a, s): run_key(a, s, evaluations, env_kwargs, answers) for a in agents for s in seeds}
    hvs = {pair: np.asarray(stored[key]["hypervolume"]) for pair, key in keys.items() if key in stored}
    say = say or (lambda line: None)
    for (agent, seed), hv in hvs.items():
        say(f"{agent} seed {seed}: hypervolume {hv[-1]:.4f} after {len(hv)} (stored)")
    todo = [pair for pair in keys if pair not in hvs]
    for (agent, seed), hv, seconds in _runs(todo, evaluations, env_kwargs, objectives, space, workers):
        _store_run(store, keys[agent, seed], agent, seed, evaluations, hv)
        hvs[agent, seed] = hv
        say(f"{agent} seed {seed}: hypervolume {hv[-1]:.4f} after {len(hv)} (ran, {seconds:.1f} s)")
    curves = [
        pd.DataFrame({"agent": a, "seed": s, "evaluations": np.arange(1, len(hvs[a, s]) + 1), "hypervolume": hvs[a, s]})
        for a, s in keys
    ]
    df = pd.concat(curves, ignore_index=True)
    df["answers"] = answers  # what the backend answered from (the surrogate: its bench's digest)
    if best is not None:
        df["regret"] = best - df["hypervolume"]  # to the front of the whole space, as the backend answers it
    write_csv(df, out)
    if plot:
        plot_curves(df, plot)
    return df


def _run(agent: str, seed: int, evaluations: int, env_kwargs: dict, objectives, space) -> tuple:
    """One agent's run: ((agent, seed), hypervolume curve, seconds)."""
    t0 = time.perf_counter()
    designs = AGENTS[agent](evaluations, seed, env_kwargs)
    hv = hypervolume_curve(designs.iloc[:evaluations], objectives, space)
    return (agent, seed), hv, time.perf_counter() - t0


def _runs(pairs: list, evaluations: int, env_kwargs: dict, objectives, space, workers: int):
    """Each (agent, seed) pair's :func:`_run`, in this process or in ``workers`` fresh ones
    (as each ends: the caller stores it at once)."""
    if workers == 1 or len(pairs) <= 1:
        for agent, seed in pairs:
            yield _run(agent, seed, evaluations, env_kwargs, objectives, space)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # no copy of this process's threads and open files
    with ProcessPoolExecutor(
        min(workers, len(pairs)), mp_context=context, initializer=_threads, initargs=(threads,)
    ) as pool:
        jobs = [pool.submit(_run, a, s, evaluations, env_kwargs, objectives, space) for a, s in pairs]
        for job in as_completed(jobs):
            yield job.result()


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


_BEST: dict[tuple, float | None] = {}


def best_hypervolume(env, answers: str) -> float | None:
    """The hypervolume of the front of every point of the environment's space, where its
    backend answers them all cheaply (surrogate, table; at most 200,000 points); None for
    live training. An agent's regret is this minus its own. Computed once per process for
    one space and one set of answers (``answers``: :func:`_answers_digest`)."""
    key = (answers, repr(env.space), env.noise_levels, env.weights.compensate, env.objectives)
    if key not in _BEST:
        _BEST[key] = _best_hypervolume(env)
    return _BEST[key]


def _best_hypervolume(env) -> float | None:
    import itertools

    from hicenv.design.costs import with_costs
    from hicenv.design.pareto import design_row

    n = int(np.prod(env.space.nvec))
    if env.backend == "train" or n > 200_000:
        return None
    context = {} if env.space.searches_noise else {"noise": env.noise_levels[0]}
    rows = []
    for idx in itertools.product(*(range(k) for k in env.space.nvec)):
        metrics, _ = env._backend(env.space.decode(np.array(idx), **context), env.train_seed or 0)
        metrics = with_costs(metrics, env.space.deployment, env.space.costs)
        rows.append(design_row(metrics, env.space.horizon, env.weights.compensate))
    objectives = env.objectives
    fr = front(pd.DataFrame(rows), [o.name for o in objectives])
    return hypervolume(hv_points(fr, objectives, env.space), hv_reference(objectives, env.space))


def run_key(agent: str, seed: int, evaluations: int, env_kwargs: dict, answers: str) -> str:
    """What determines an agent's run: the agent, seed, evaluations, the environment's
    kwargs, what its backend answers (``answers``: the bench's content for the surrogate)
    and the code that searches (these modules' source and the libraries' versions)."""
    import hashlib
    import json

    parts = {
        "agent": agent,
        "seed": seed,
        "evaluations": evaluations,
        "env": {k: str(v) for k, v in sorted(env_kwargs.items())},
        "answers": answers,
        "code": _code_digest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


@functools.cache
def _code_digest() -> str:
    """The search code's source (read once per process, at the first run, so that every run
    of one comparison has one key even if the files are edited meanwhile) and library versions."""
    import hashlib
    import importlib.metadata as md

    from hicenv_agents.search import optuna_study, rl, samplers

    h = hashlib.sha256()
    for module in (optuna_study, rl, samplers):
        h.update(Path(module.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    for lib in ("optuna", "stable-baselines3", "torch", "gymnasium", "numpy", "scikit-learn"):
        h.update(f"{lib}={md.version(lib)}".encode())
    return h.hexdigest()[:16]


def _answers_digest(env) -> str:
    """The surrogate's fitted points (its digest); a table's content; else the backend's name
    and budget (live training: the cache and simulator fingerprint decide, not hashed here)."""
    backend = env._backend
    if getattr(backend, "surrogate", None) is not None:
        return f"surrogate:{backend.surrogate.digest}"
    if getattr(backend, "table", None) is not None:
        return f"table:{pd.util.hash_pandas_object(backend.table.df, index=False).sum()}"
    return f"{env.backend}:{backend.budget}"


def _stored_runs(store) -> dict:
    if store is None:
        return {}
    from hicenv_agents.experiments.runner import load_results

    return {r["key"]: r for r in load_results(store, required=("key", "hypervolume"))}


def _store_run(store, key: str, agent: str, seed: int, evaluations: int, hv: np.ndarray) -> None:
    if store is None:
        return
    import json

    Path(store).mkdir(parents=True, exist_ok=True)
    line = {"key": key, "agent": agent, "seed": seed, "evaluations": evaluations, "hypervolume": hv.tolist()}
    with open(Path(store) / "runs.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def plot_curves(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Median hypervolume over seeds against evaluations, with the interquartile band; with a
    ``regret`` column, the regret on a log scale beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["hypervolume"] + (["regret"] if "regret" in df.columns else [])
    fig, axes = plt.subplots(1, len(columns), figsize=(6.4 * len(columns), 4.2), dpi=120, squeeze=False)
    for ax, column in zip(axes[0], columns):
        for agent, g in df.groupby("agent", sort=False):
            q = g.groupby("evaluations")[column].quantile([0.25, 0.5, 0.75]).unstack()
            ax.plot(q.index, q[0.5], label=agent, lw=1.6)
            ax.fill_between(q.index, q[0.25], q[0.75], alpha=0.15)
        ax.set_xlabel("evaluated designs")
        ax.set_ylabel("hypervolume of the front" if column == "hypervolume" else "hypervolume regret (log)")
        if column == "regret":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"agents at equal evaluations (median of {df['seed'].nunique()} seeds; band: interquartile)")
    return save_figure(fig, path)
