"""Reinforcement-learning agents (stable-baselines3) and the random-search baseline.

Reads top to bottom, CleanRL style: arguments, environments, the agent, learning,
export. PPO and A2C act on ``hicenv/HICDesign-v0`` (one ``MultiDiscrete`` step per
design), DQN on ``hicenv/HICDesignSeq-v0`` (one knob per step). Several
environments run in ``SubprocVecEnv`` worker processes that share the machine's
result cache, so no point is trained twice. Every evaluated design is written to
a CSV with the same columns as a study's export (one Pareto tool serves both), and
TensorBoard gets ``design/<objective>`` (each of the env's ``objectives``), ``design/reward``
and ``search/*`` curves against the number of evaluated designs (SB3's own curves are
stepped by timestep; for DQN a design is several timesteps).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pandas as pd

import hicenv  # noqa: F401  (registers the environments)
from hicenv.design.objectives import hv_points, hv_reference
from hicenv.design.pareto import design_row, hypervolume, write_csv
from hicenv.errors import InputError, check_count, check_seed

__all__ = ["RLRun", "run_rl", "run_random", "ALGOS"]


@dataclass(frozen=True)
class Algo:
    """An RL algorithm: the environment it suits and how to build it on a vector env."""

    env_id: str
    """``hicenv/HICDesign-v0`` (one multi-discrete action) or ``hicenv/HICDesignSeq-v0`` (a knob a step)."""
    make: Callable[..., Any]
    """``make(venv, n_envs, timesteps, common_kwargs) -> model``."""


def _ppo(venv, n_envs: int, timesteps: int, common: dict):
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", venv, n_steps=max(8, 64 // n_envs), batch_size=32, n_epochs=5, **common)


def _a2c(venv, n_envs: int, timesteps: int, common: dict):
    from stable_baselines3 import A2C

    return A2C("MlpPolicy", venv, n_steps=8, **common)


def _dqn(venv, n_envs: int, timesteps: int, common: dict):
    from stable_baselines3 import DQN

    return DQN(
        "MlpPolicy",
        venv,
        learning_starts=min(100, timesteps // 4),
        buffer_size=10_000,
        train_freq=4,
        target_update_interval=200,
        exploration_fraction=0.5,
        **common,
    )


ALGOS: dict[str, Algo] = {
    "ppo": Algo("hicenv/HICDesign-v0", _ppo),
    "a2c": Algo("hicenv/HICDesign-v0", _a2c),
    "dqn": Algo("hicenv/HICDesignSeq-v0", _dqn),  # DQN needs a Discrete action: one knob a step
}
"""stable-baselines3 algorithms by name; small rollouts, because one design costs a training run."""


@dataclass
class RLRun:
    """What an agent run produced."""

    designs: pd.DataFrame
    seconds: float
    model_path: Path | None = None
    extra: dict = field(default_factory=dict)


class _Recorder:
    """Turns the info of finished episodes into designs-table rows and TensorBoard points.

    The front is kept incrementally (each new design is compared with the front
    only), so recording stays O(front) per design over thousands of steps."""

    def __init__(self, agent: str, space, objectives) -> None:
        self.agent, self.horizon, self.rows = agent, space.horizon, []
        self.space, self.objectives = space, tuple(objectives)
        self.reference = hv_reference(self.objectives, space)
        self.front = np.empty((0, len(self.objectives)))
        self.writer = None

    def log_to(self, run_dir: str | None) -> None:
        """Write the TensorBoard curves into ``run_dir`` (the run's own folder)."""
        if run_dir:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir))

    def _update_front(self, p: np.ndarray) -> None:
        f = self.front
        if len(f) and np.any(np.all(f <= p, axis=1)):
            return  # dominated, or a design already on the front (a re-proposal)
        keep = ~(np.all(p <= f, axis=1) & np.any(p < f, axis=1))
        self.front = np.vstack([f[keep], p])

    def record(self, info: dict, env_steps: int) -> None:
        if "config" not in info or "accuracy" not in info:
            return
        row = design_row(
            info,
            self.horizon,
            objectives=[o.name for o in self.objectives],
            agent=self.agent,
            evaluation=len(self.rows),
            env_steps=env_steps,
            reward=info.get("reward"),
        )
        self.rows.append(row)
        if not row.get("failed"):
            self._update_front(hv_points(pd.DataFrame([row]), self.objectives, self.space)[0])
        if self.writer is not None:
            n = len(self.rows)  # stepped by evaluated design (SB3's own curves are stepped by timestep)
            for o in self.objectives:
                self.writer.add_scalar(f"design/{o.name}", row[o.name], n)
            self.writer.add_scalar("design/reward", row["reward"], n)
            if n % 10 == 0:
                self.writer.add_scalar("search/hypervolume", hypervolume(self.front, self.reference), n)
                self.writer.add_scalar("search/front_size", len(self.front), n)

    def frame(self) -> pd.DataFrame:
        if self.writer is not None:
            self.writer.close()
        return pd.DataFrame(self.rows)


def _make(env_id: str, **kwargs) -> gymnasium.Env:
    """Environment factory for worker processes (importing this module registers hicenv)."""
    return gymnasium.make(env_id, **kwargs)


def run_rl(
    algo: str = "ppo",
    timesteps: int = 2000,
    n_envs: int = 1,
    seed: int = 0,
    env_kwargs: dict | None = None,
    logdir: str | None = None,
    save: str | None = None,
    out: str | None = None,
    progress: bool = False,
) -> RLRun:
    """Train a stable-baselines3 agent on the environment and export every design it evaluated."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if algo not in ALGOS:
        raise InputError(f"unknown algorithm {algo!r}; algorithms: {', '.join(ALGOS)}")
    env_id = ALGOS[algo].env_id
    check_count(timesteps, "timesteps")
    check_count(n_envs, "n_envs")
    check_seed(seed)
    env_kwargs = dict(env_kwargs or {})
    probe = gymnasium.make(env_id, **env_kwargs).unwrapped  # validates the kwargs here, not in a worker
    space = probe.space
    recorder = _Recorder(algo, space, probe.objectives)

    # Environments: worker processes share the SQLite result cache.
    vec_cls = SubprocVecEnv if n_envs > 1 else DummyVecEnv
    venv = make_vec_env(partial(_make, env_id), n_envs=n_envs, seed=seed, vec_env_cls=vec_cls, env_kwargs=env_kwargs)

    # The agent: small rollouts, because one design costs a training run.
    common = dict(seed=seed, verbose=0, tensorboard_log=logdir, device="cpu")
    model = ALGOS[algo].make(venv, n_envs, timesteps, common)

    # Learning, with every finished episode recorded through a callback on the rollout.
    from stable_baselines3.common.callbacks import BaseCallback

    class _Record(BaseCallback):
        def _on_training_start(self) -> None:
            # One folder per run: ours go where SB3 put its own (logdir/<algo>_<n>, a new n each run).
            recorder.log_to(self.model.logger.get_dir() if logdir else None)

        def _on_step(self) -> bool:
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done:
                    recorder.record(info, self.num_timesteps)
            return True

    t0 = time.perf_counter()
    try:
        model.learn(total_timesteps=timesteps, callback=_Record(), tb_log_name=algo, progress_bar=progress)
    finally:
        venv.close()
    seconds = time.perf_counter() - t0

    # Export: the model and the designs, in the columns of a study's export.
    model_path = None
    if save:
        model.save(save)
        model_path = Path(save if str(save).endswith(".zip") else f"{save}.zip")
    designs = recorder.frame()
    if out:
        write_csv(designs, out)
    return RLRun(designs, seconds, model_path)


def run_random(
    episodes: int = 100,
    seed: int = 0,
    env_kwargs: dict | None = None,
    out: str | None = None,
    logdir: str | None = None,
) -> RLRun:
    """The baseline: uniformly random design points, one per episode."""
    check_count(episodes, "episodes (--timesteps for random)")
    check_seed(seed)
    env = gymnasium.make("hicenv/HICDesign-v0", **dict(env_kwargs or {}))
    space = env.unwrapped.space
    recorder = _Recorder("random", space, env.unwrapped.objectives)
    recorder.log_to(_new_run_dir(logdir, "random") if logdir else None)
    env.action_space.seed(seed)
    t0 = time.perf_counter()
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        *_, info = env.step(env.action_space.sample())
        recorder.record(info, episode + 1)
    designs = recorder.frame()
    if out:
        write_csv(designs, out)
    return RLRun(designs, time.perf_counter() - t0)


def _new_run_dir(logdir: str, name: str) -> Path:
    """``logdir/<name>_<n>``, a new number each run (SB3's numbering): a rerun never appends
    to an earlier run's curves."""
    from hicenv.output import numbered_path

    return numbered_path(logdir, name)


_BACKEND_OPTIONS = {"budget": "train", "dataset": "train", "cache": "train", "table": "table", "bench": "surrogate"}
"""CLI options and the one backend that reads each."""


def env_kwargs_from(args: Any) -> dict:
    """Environment kwargs from CLI arguments (backend and its options); an option for
    another backend is refused rather than ignored."""
    kw: dict = {"backend": args.backend}
    if getattr(args, "objectives", None):
        kw["objectives"] = [o.strip() for o in args.objectives.split(",")]
    for option, backend in _BACKEND_OPTIONS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if args.backend != backend:
            raise InputError(f"--{option} is for --backend {backend}, not {args.backend}")
        kw[option] = value
    if args.backend == "table" and args.table is None:
        print(
            "note: the shipped table is the smoke budget's (1,024 training images; it ranks designs "
            "near chance and is there for tests); the default backend, surrogate, answers from HIC-Bench",
            file=sys.stderr,
        )
    return kw
