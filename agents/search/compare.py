"""Agents side by side: hypervolume of each one's front against the number of evaluations.

Every agent gets the same number of evaluations and the same seeds, on the lookup
table by default (seconds) or live training when asked. ArchGym (Krishnan et al.,
2023) found that tuned agents end up close to each other; this shows where ours
stand on our space.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from hicenv.design.pareto import front, hypervolume, save_figure, write_csv
from hicenv.errors import InputError
from hicenv_agents.search.rl import HV_REFERENCE, hv_points, hv_reference, run_random, run_rl
from hicenv_agents.search.studyfile import StudySpec

__all__ = ["AGENTS", "DEFAULT_AGENTS", "compare", "hypervolume_curve", "plot_curves"]


def _random(evaluations: int, seed: int, env_kwargs: dict) -> pd.DataFrame:
    return run_random(evaluations, seed, env_kwargs).designs


def _rl(algo: str):
    return lambda evaluations, seed, env_kwargs: (
        run_rl(algo, timesteps=evaluations, seed=seed, env_kwargs=env_kwargs).designs
    )


def _optuna(sampler: str):
    return lambda evaluations, seed, env_kwargs: _optuna_designs(sampler, evaluations, seed, env_kwargs)


AGENTS: dict[str, Callable[[int, int, dict], pd.DataFrame]] = {
    "random": _random,
    "tpe": _optuna("tpe"),
    "nsga2": _optuna("nsga2"),
    "gp": _optuna("gp"),
    "ppo": _rl("ppo"),
    "a2c": _rl("a2c"),
}
"""Agents by name, each ``(evaluations, seed, env_kwargs) -> designs`` in the order it evaluated them."""
DEFAULT_AGENTS = ("random", "tpe", "nsga2", "ppo")
"""The agents ``hicenv compare`` runs unless told."""


def hypervolume_curve(designs: pd.DataFrame, endurance_bound: float, reference=HV_REFERENCE) -> np.ndarray:
    """Hypervolume (normalised axes, ``reference``: :func:`~hicenv_agents.search.rl.hv_reference`
    of the space) of the front of the first k designs."""
    out = np.zeros(len(designs))
    for k in range(1, len(designs) + 1):
        fr = front(designs.iloc[:k])
        out[k - 1] = hypervolume(hv_points(fr, endurance_bound), reference) if len(fr) else 0.0
    return out


def _optuna_designs(sampler: str, evaluations: int, seed: int, env_kwargs: dict) -> pd.DataFrame:
    from hicenv_agents.search.optuna_study import create_or_load, designs_frame, make_objective

    backend = env_kwargs.get("backend", "table")
    spec = StudySpec(
        name=f"compare-{sampler}-{seed}",
        trials=evaluations,
        sampler=sampler,
        seed=seed,
        backend=backend,
        table=env_kwargs.get("table"),
        budget=env_kwargs.get("budget", "proxy"),
        space=_space_dict(env_kwargs),
        noise=1.0,
    )
    study = create_or_load(spec, optuna.storages.InMemoryStorage())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(make_objective(spec, cache=env_kwargs.get("cache", "default")), n_trials=evaluations)
    df = designs_frame(study).sort_values("trial").reset_index(drop=True)
    df["agent"] = sampler
    return df


def _space_dict(env_kwargs: dict) -> dict:
    """The space the environment would search, as a study file's [space] table."""
    import gymnasium

    env = gymnasium.make("hicenv/HICDesign-v0", **{**env_kwargs, "noise": 1.0}).unwrapped
    d = env.space.to_dict()
    d.pop("dataset", None), d.pop("device", None)
    return d


def compare(
    agents=DEFAULT_AGENTS,
    evaluations: int = 50,
    seeds=(0, 1, 2),
    env_kwargs: dict | None = None,
    out: str | os.PathLike = "compare.csv",
    plot: str | os.PathLike | None = "compare.png",
) -> pd.DataFrame:
    """Run each agent for ``evaluations`` designs per seed; write the hypervolume curves."""
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise InputError(f"evaluations must be an integer >= 1, got {evaluations!r}")
    if not seeds:
        raise InputError("seeds must name at least one seed")
    env_kwargs = {"backend": "table", **dict(env_kwargs or {}), "noise": 1.0}
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        raise InputError(f"unknown agent(s) {unknown}; agents: {', '.join(AGENTS)}")
    import gymnasium

    space = gymnasium.make("hicenv/HICDesign-v0", **env_kwargs).unwrapped.space
    bound = space.endurance_budget / space.retrains
    reference = hv_reference(max(space.values_of("width")))
    curves = []
    for agent in agents:
        for seed in seeds:
            designs = AGENTS[agent](evaluations, seed, env_kwargs)
            hv = hypervolume_curve(designs.iloc[:evaluations], bound, reference)
            curves.append(
                pd.DataFrame(
                    {"agent": agent, "seed": seed, "evaluations": np.arange(1, len(hv) + 1), "hypervolume": hv}
                )
            )
    df = pd.concat(curves, ignore_index=True)
    write_csv(df, out)
    if plot:
        plot_curves(df, plot)
    return df


def plot_curves(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Median hypervolume over seeds against evaluations, with the min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for agent, g in df.groupby("agent", sort=False):
        stats = g.groupby("evaluations")["hypervolume"].agg(["median", "min", "max"])
        ax.plot(stats.index, stats["median"], label=agent, lw=1.6)
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15)
    ax.set_xlabel("evaluated designs")
    ax.set_ylabel("hypervolume of the front")
    ax.set_title(f"agents on the same budget ({df['seed'].nunique()} seeds; band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
