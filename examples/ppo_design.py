"""PPO on hicenv's design environment, in one file, written after CleanRL's ``cleanrl/ppo.py``.

From CleanRL's ``ppo.py`` come the shape (a config dataclass that is the CLI,
an ``Agent`` with actor and critic, rollouts then minibatch updates with the clipped loss);
what is ours: the ``MultiDiscrete`` head (one ``Categorical`` per knob, the log-probabilities
summed) and the one-step advantage below. (CleanRL has no ``ppo_multidiscrete.py``; an
earlier docstring said so.) A script written for ``Discrete`` actions runs on
``hicenv/HICDesignFlat-v0`` with only the env id changed.

Each episode is one step: the agent picks a whole HIC design point (a MultiDiscrete
action) and gets its reward. The recommended vector setup for one-step episodes:

* ``autoreset_mode=SAME_STEP``: an ended episode resets inside the same ``step``, so
  every step is an episode (Gymnasium 1.x's default, NEXT_STEP, spends every other
  step on a reset here: half the steps evaluate nothing);
* ``RecordEpisodeStatistics`` (the vector wrapper): ``info["episode"]`` holds each
  finished episode's return, which this script logs.

With one-step episodes the return is the reward and no bootstrapping is needed: the
advantage is the reward minus the value (the state is the episode's context).

    python examples/ppo_design.py --total-timesteps 4096 --num-envs 8
    python examples/ppo_design.py --backend train --budget smoke --total-timesteps 64   # live training

The CLI is the config dataclass: every field of ``Args`` is a flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import hicenv  # noqa: F401  (registers the environments)


@dataclass
class Args:
    seed: int = 0
    """seed of the environments, the policy and the sampling"""
    total_timesteps: int = 4096
    """environment steps in all (one design each)"""
    num_envs: int = 8
    """environments stepped together (a SyncVectorEnv)"""
    num_steps: int = 16
    """steps per environment between updates"""
    learning_rate: float = 3e-3
    """Adam's step size"""
    update_epochs: int = 4
    """passes over each batch"""
    num_minibatches: int = 4
    """minibatches per pass"""
    clip_coef: float = 0.2
    """PPO's ratio clip"""
    ent_coef: float = 0.01
    """entropy bonus: keeps trying other designs"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    backend: str = "surrogate"
    """where a design's metrics come from: surrogate (HIC-Bench's), train or table"""
    budget: str = ""
    """training budget of the train backend (empty: its default, proxy)"""
    log_every: int = 512
    """print the mean episodic return every this many steps"""


def parse_args() -> Args:
    from hicenv.fielddocs import field_docs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs = field_docs(Args)  # each field's docstring is its flag's help
    for f in dataclasses.fields(Args):
        flag = f"--{f.name.replace('_', '-')}"
        ap.add_argument(
            flag, type=type(f.default), default=f.default, help=f"{docs.get(f.name, '')} (default {f.default})"
        )
    return Args(**vars(ap.parse_args()))


def make_envs(args: Args) -> gym.vector.VectorEnv:
    kwargs = {"backend": args.backend, **({"budget": args.budget} if args.budget else {})}
    envs = gym.make_vec(
        "hicenv/HICDesign-v0",
        num_envs=args.num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        **kwargs,
    )
    return gym.wrappers.vector.RecordEpisodeStatistics(envs)


class Agent(nn.Module):
    """A value head and one categorical head per knob, on the episode's context."""

    def __init__(self, obs_dim: int, nvec: np.ndarray) -> None:
        super().__init__()
        self.nvec = [int(n) for n in nvec]
        self.critic = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 1))
        self.actor = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, sum(self.nvec)))

    def act(self, obs: torch.Tensor, action: torch.Tensor | None = None):
        dists = [Categorical(logits=lg) for lg in torch.split(self.actor(obs), self.nvec, dim=1)]
        if action is None:
            action = torch.stack([d.sample() for d in dists], dim=1)
        logp = torch.stack([d.log_prob(a) for d, a in zip(dists, action.T)], dim=1).sum(1)
        entropy = torch.stack([d.entropy() for d in dists], dim=1).sum(1)
        return action, logp, entropy, self.critic(obs).squeeze(1)


def main(args: Args) -> list[float]:
    """Train; returns every finished episode's return, in order."""
    torch.manual_seed(args.seed)
    envs = make_envs(args)
    agent = Agent(envs.single_observation_space.shape[0], envs.single_action_space.nvec)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate)
    obs, _ = envs.reset(seed=args.seed)
    returns: list[float] = []
    batch = args.num_envs * args.num_steps
    t0, step = time.perf_counter(), 0
    while step < args.total_timesteps:
        # Rollout: num_steps steps of every env, each a whole episode.
        b_obs, b_act, b_logp, b_ret = [], [], [], []
        for _ in range(args.num_steps):
            o = torch.as_tensor(obs, dtype=torch.float32)
            with torch.no_grad():
                action, logp, _, _ = agent.act(o)
            obs, reward, terminated, truncated, info = envs.step(action.numpy())
            b_obs.append(o), b_act.append(action), b_logp.append(logp)
            b_ret.append(torch.as_tensor(reward, dtype=torch.float32))
            returns += info["episode"]["r"][info["_episode"]].tolist() if "episode" in info else []
            step += args.num_envs
            if step % args.log_every < args.num_envs:
                recent = returns[-args.log_every :]
                print(f"step {step}: mean episodic return {np.mean(recent):.4f} ({time.perf_counter() - t0:.0f} s)")
        b_obs, b_act, b_logp, b_ret = (torch.cat(x) for x in (b_obs, b_act, b_logp, b_ret))

        # Update: clipped policy ratio, value regression; the advantage is return - value.
        for _ in range(args.update_epochs):
            for mb in torch.randperm(batch).chunk(args.num_minibatches):
                _, logp, entropy, value = agent.act(b_obs[mb], b_act[mb])
                adv = b_ret[mb] - value.detach()
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                ratio = (logp - b_logp[mb]).exp()
                pg = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                loss = pg - args.ent_coef * entropy.mean() + args.vf_coef * ((value - b_ret[mb]) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    envs.close()
    return returns


if __name__ == "__main__":
    main(parse_args())
