"""The Gymnasium environments: checkers, determinism, cache, lookup mode, bad input."""

import doctest

import gymnasium
import numpy as np
import pandas as pd
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from hicenv.design import env as env_module
from hicenv.design.space import DesignSpace
from hicenv.design.table import LookupTable
from hicenv.errors import InputError

# A two-point space at the smoke budget: every live step trains ResNet-32 for seconds.
LIVE_SPACE = (
    DesignSpace.default()
    .fix("msb_bits", 4)
    .fix("lsb_bits", 4)
    .fix("width", 0.5)
    .fix("lsb_encoding", "unsigned")
    .with_knob("acc_bits", [8, 32])
)


@pytest.fixture(scope="module")
def live_cache(tmp_path_factory):
    """A cache holding both live points, so the checkers' repeated steps are served from it."""
    path = tmp_path_factory.mktemp("cache") / "results.sqlite"
    env = gymnasium.make(
        "hicenv/HICDesign-v0", backend="train", space=LIVE_SPACE, budget="smoke", cache=path, noise=1.0
    )
    for a in range(2):
        env.reset(seed=0)
        env.step(np.array([a]))
    return path


def test_shipped_table_covers_a_coarse_grid():
    t = LookupTable()
    assert len(t) >= 64
    values = t.knob_values()
    assert values.pop("lsb_encoding") == ("unsigned",)  # the shipped grid holds one device per level
    assert all(len(v) >= 2 for v in values.values()), values
    assert t.df["budget"].eq("smoke").all()
    assert t.df["accuracy"].max() > 0.2  # the smoke runs learned something


@pytest.mark.parametrize("backend", ["table", "surrogate"])
@pytest.mark.parametrize("env_id", ["hicenv/HICDesign-v0", "hicenv/HICDesignSeq-v0", "hicenv/HICDesignFlat-v0"])
def test_checkers_pass_in_lookup_and_surrogate_mode(env_id, backend):
    env = gymnasium.make(env_id, backend=backend)
    gym_check_env(env.unwrapped)
    sb3_check_env(gymnasium.make(env_id, backend=backend).unwrapped)


def test_the_default_backend_is_the_shipped_bench_over_the_whole_default_space():
    env = gymnasium.make("hicenv/HICDesign-v0").unwrapped
    assert env.backend == "surrogate" and env.space.names == DesignSpace.default().names
    assert env.space.nvec.tolist() == DesignSpace.default().nvec.tolist()
    env.reset(seed=0)
    *_, info = env.step(env.action_space.sample())
    assert env.unwrapped.last_evaluation["source"] == "surrogate" and 0.1 < info["accuracy"] <= 1
    assert env.observation_space.contains(env._context())  # the fidelity context is the bench's budget


@pytest.mark.parametrize("env_id", ["hicenv/HICDesign-v0", "hicenv/HICDesignSeq-v0"])
def test_checkers_pass_at_the_smoke_budget_without_a_filled_cache(env_id, tmp_path):
    # The checker steps twice from one seed and compares the infos: the first step trains,
    # the second is served from the cache, so info must hold nothing wall-clock.
    kw = dict(backend="train", space=LIVE_SPACE, budget="smoke", cache=tmp_path / "empty.sqlite", noise=1.0)
    gym_check_env(gymnasium.make(env_id, **kw).unwrapped)
    sb3_check_env(gymnasium.make(env_id, **kw).unwrapped)


def test_same_seed_and_action_same_reward_and_repeat_is_cached(live_cache, monkeypatch):
    env = gymnasium.make(
        "hicenv/HICDesign-v0", backend="train", space=LIVE_SPACE, budget="smoke", cache=live_cache, noise=1.0
    )
    env.reset(seed=3)
    _, r1, term, trunc, info1 = env.step(np.array([1]))
    assert term and not trunc and env.unwrapped.last_evaluation["source"] == "cache"
    assert "train_seconds" not in info1 and env.unwrapped.last_evaluation["train_seconds"] > 0

    def no_training(*a, **k):
        raise AssertionError("a cached point was trained again")

    import hicenv.sim.trainer

    monkeypatch.setattr(hicenv.sim.trainer, "evaluate", no_training)
    env.reset(seed=3)
    _, r2, *_, info2 = env.step(np.array([1]))
    assert r1 == r2 and env.unwrapped.last_evaluation["cached"]
    assert info2["config"]["acc_bits"] == 32 and info2["config"]["width"] == 0.5
    for k in ("accuracy", "accuracy_drift", "model_size_bits", "endurance_fraction", "write_cycles"):
        assert k in info2


def test_live_training_without_cache_is_deterministic():
    space = LIVE_SPACE.fix("acc_bits", 8).with_knob("width", [0.25, 0.5])
    budget = {
        "name": "tiny",
        "train_images": 128,
        "epochs": 1,
        "test_images": 64,
        "drift_test_images": 32,
        "batch_size": 32,
        "depth": 8,
    }
    rewards = []
    for _ in range(2):
        env = gymnasium.make("hicenv/HICDesign-v0", backend="train", space=space, budget=budget, cache=None)
        env.reset(seed=1)
        _, r, _, _, info = env.step(np.array([0]))
        assert env.unwrapped.last_evaluation["source"] == "train" and not env.unwrapped.last_evaluation["cached"]
        rewards.append(r)
    assert rewards[0] == rewards[1]


def test_lookup_mode_action_space_is_the_table_grid():
    env = gymnasium.make("hicenv/HICDesign-v0", backend="table").unwrapped
    t = LookupTable()
    vals = t.knob_values()
    assert list(env.space.names) == ["msb_bits", "lsb_bits", "acc_bits", "width"]
    assert env.action_space.nvec.tolist() == [len(vals[k]) for k in env.space.names]
    assert env.noise_levels == vals["noise"]  # noise is the episode's context, drawn from the table's levels
    noises = set()
    for i in range(30):
        obs, info = env.reset(seed=i)
        noises.add(info["noise"])
        _, r, _, _, step_info = env.step(env.action_space.sample())
        assert env.last_evaluation["source"] == "table" and np.isfinite(r)
        assert step_info["config"]["noise"] == info["noise"]
        assert obs[0] == pytest.approx((info["noise"] - min(vals["noise"])) / (max(vals["noise"]) - min(vals["noise"])))
    assert len(noises) == 2


def test_reward_kwargs_change_the_reward():
    a = np.array([1, 1, 1, 1])
    rs = []
    for w in (0.0, 1.0):
        env = gymnasium.make("hicenv/HICDesign-v0", backend="table", size_weight=w, noise=1.0)
        env.reset(seed=0)
        _, r, _, _, info = env.step(a)
        rs.append(r)
    assert rs[0] - rs[1] == pytest.approx(info["size_ratio"])


def test_point_missing_from_table_is_named(tmp_path):
    full = LookupTable().df
    hole = full.index[full["noise"] == 1.0][0]  # a hole in the grid at the noise the episode runs at
    env = gymnasium.make("hicenv/HICDesign-v0", backend="table", table=full.drop(index=hole), noise=1.0).unwrapped
    missing = full.loc[hole]
    action = np.array([env.space.knobs[i].index(missing[k]) for i, k in enumerate(env.space.names)])
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in lookup table") as e:
        env.step(action)
    assert f"msb_bits={int(missing['msb_bits'])}" in str(e.value)


@pytest.mark.parametrize(
    "action,err",
    [
        (np.array([0, 0, 0]), "shape"),
        (np.array([0, 0, 0, 99]), "outside"),
        (np.array([0.5, 0, 0, 0]), "integer"),
    ],
)
def test_bad_actions(action, err):
    env = gymnasium.make("hicenv/HICDesign-v0", backend="table").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=err):
        env.step(action)


def test_step_after_end_and_before_reset():
    env = gymnasium.make("hicenv/HICDesign-v0", backend="table").unwrapped
    with pytest.raises(ResetNeeded):
        env.step(env.action_space.sample())
    env.reset(seed=0)
    env.step(env.action_space.sample())
    with pytest.raises(ResetNeeded):
        env.step(env.action_space.sample())
    seq = gymnasium.make("hicenv/HICDesignSeq-v0", backend="table").unwrapped
    seq.reset(seed=0)
    with pytest.raises(ValueError, match="integer"):
        seq.step(1.5)


@pytest.mark.parametrize(
    "kwargs,err",
    [
        ({"backend": "tabel"}, "backend"),
        ({"colour": "red"}, "colour"),
        ({"backend": "table", "table": "/nonexistent.csv"}, "does not exist"),
        ({"noise": -1.0}, "noise"),
        ({"noise": 1.3}, "not in the lookup table"),
        ({"horizon": "2y"}, "horizon"),
        ({"train_seed": -1}, "train_seed"),
        ({"train_seed": 2**70}, "train_seed"),
    ],
)
def test_bad_kwargs_are_named(kwargs, err):
    with pytest.raises((ValueError, TypeError), match=err):
        gymnasium.make("hicenv/HICDesign-v0", **{"backend": "table", **kwargs})


def test_failed_run_is_a_finished_episode_with_the_penalty():
    env = gymnasium.make(
        "hicenv/HICDesign-v0",
        backend="train",
        space=LIVE_SPACE.fix("fp32", True),
        cache=None,
        failed_reward=-3.0,
        noise=1.0,
        budget={
            "name": "diverge",
            "train_images": 256,
            "epochs": 1,
            "test_images": 32,
            "batch_size": 32,
            "depth": 8,
            "lr": 1e8,
            "momentum": 0.0,
        },
    )
    env.reset(seed=0)
    _, r, term, _, info = env.step(np.array([0]))
    assert term and r == -3.0 and info["failed"] is True


def test_sequential_env_chooses_one_knob_per_step():
    env = gymnasium.make("hicenv/HICDesignSeq-v0", backend="table", noise=1.0).unwrapped
    obs, _ = env.reset(seed=0)
    assert env.action_space.n == int(env.space.nvec.max())
    assert obs.shape == (3 + len(env.space.knobs),) and obs[3:].sum() == 0
    rewards = []
    for i in range(len(env.space.knobs)):
        obs, r, term, trunc, info = env.step(env.action_space.n - 1)  # past a small knob: its last value
        rewards.append(r)
        assert obs[3 + i] > 0
    assert term and rewards[:-1] == [0.0] * (len(rewards) - 1)
    last = {k.name: k.values[-1] for k in env.space.knobs}
    assert all(info["config"][k] == v for k, v in last.items())


def test_make_vec_async_steps():
    envs = gymnasium.make_vec("hicenv/HICDesign-v0", num_envs=2, vectorization_mode="async", backend="table")
    try:
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (2, 3)
        obs, r, term, trunc, info = envs.step(envs.action_space.sample())
        assert obs.shape == (2, 3) and term.all() and np.isfinite(r).all()
        assert len(info["accuracy"]) == 2
    finally:
        envs.close()


def test_docstring_examples_run():
    res = doctest.testmod(env_module, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 2 and res.failed == 0


def test_lookup_mode_searches_exactly_the_space_it_is_given():
    one = (
        DesignSpace.default()
        .fix("msb_bits", 4)
        .fix("lsb_bits", 4)
        .fix("acc_bits", 8)
        .fix("width", 1.0)
        .fix("lsb_encoding", "unsigned")
        .with_knob("width", [1.0])
    )
    env = gymnasium.make("hicenv/HICDesign-v0", backend="table", space=one, noise=1.0).unwrapped
    seen = set()
    for seed in range(20):
        env.reset(seed=seed)
        *_, info = env.step(env.action_space.sample())
        seen.add(tuple(info["config"][k] for k in ("msb_bits", "lsb_bits", "acc_bits", "width")))
    assert seen == {(4, 4, 8, 1.0)}  # a space narrowed to one point evaluates that point
    wide = one.with_knob("width", [1.0, 3.0])
    with pytest.raises(ValueError, match=r"width=\[3.0\] is not in lookup table .*covers 0.5, 1.0"):
        gymnasium.make("hicenv/HICDesign-v0", backend="table", space=wide, noise=1.0)
    with pytest.raises(ValueError, match=r"acc_bits=\[6\] is not in lookup table"):
        gymnasium.make("hicenv/HICDesign-v0", backend="table", space=one.fix("acc_bits", 6), noise=1.0)


@pytest.mark.parametrize(
    "damage, match",
    [
        (
            lambda df: df.assign(accuracy_drift_gdc_1y=np.where(df.index == 3, np.nan, df["accuracy_drift_gdc_1y"])),
            "accuracy_drift_gdc_1y is not a finite number at \\(msb_bits=",
        ),
        (lambda df: df.drop(columns=["accuracy_drift_1d"]), "lacks column.*accuracy_drift_1d"),
        (lambda df: df.drop(columns=["reference_size_bits"]), "lacks column.*reference_size_bits"),
        (
            lambda df: pd.concat([df, df.iloc[[0]].assign(accuracy=0.99, seed=7)]),
            "2 different rows for \\(msb_bits=.*seeds \\[0, 7\\]",
        ),
    ],
)
def test_a_damaged_table_is_refused_when_it_loads(damage, match):
    with pytest.raises(ValueError, match=match):
        LookupTable(damage(LookupTable().df.copy()))


def test_identical_repeated_rows_count_once():
    df = LookupTable().df
    assert len(LookupTable(pd.concat([df, df.iloc[:5]]))) == len(df)


@pytest.mark.parametrize("env_id", ["hicenv/HICDesign-v0", "hicenv/HICDesignSeq-v0"])
def test_ansi_render_shows_the_last_design_and_other_modes_are_warned_about(env_id):
    env = gymnasium.make(env_id, backend="table", noise=1.0, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "no design evaluated yet\n"
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(env.action_space.sample())
    text = env.render()
    cfg = info["config"]
    assert text.startswith(f"HIC {cfg['msb_bits']}+{cfg['lsb_bits']} bits") and f"reward {reward:.4f}" in text
    quiet = gymnasium.make(env_id, backend="table", noise=1.0)
    quiet.reset(seed=0)
    assert quiet.render() is None  # no render_mode: nothing
    with pytest.warns(UserWarning, match="render_mode='human' that is not in the possible render_modes"):
        human = gymnasium.make(env_id, backend="table", noise=1.0, render_mode="human")  # warned, as Gymnasium does
    human.reset(seed=0)
    assert human.render() is None  # a mode it lacks draws nothing
    with pytest.raises(ValueError, match="render_mode must be None or a mode name"):
        type(quiet.unwrapped)(backend="table", noise=1.0, render_mode=3)  # gymnasium.make fails on it first


@pytest.mark.parametrize("mode, episodes", [("SAME_STEP", 40), ("NEXT_STEP", 20)])
def test_one_step_episodes_in_a_vector_env_are_one_a_step_with_same_step_autoreset(mode, episodes):
    # The README's vector setup: SAME_STEP. Gymnasium's default (NEXT_STEP) spends every
    # other step of a one-step episode on a reset: half the steps evaluate nothing.
    envs = gymnasium.make_vec(
        "hicenv/HICDesign-v0",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": getattr(gymnasium.vector.AutoresetMode, mode)},
    )
    envs = gymnasium.wrappers.vector.RecordEpisodeStatistics(envs)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    returns = []
    for _ in range(20):
        *_, info = envs.step(envs.action_space.sample())
        if "episode" in info:
            returns += info["episode"]["r"][info["_episode"]].tolist()
    assert len(returns) == episodes and all(np.isfinite(returns))


def test_the_single_file_ppo_example_learns_and_logs_episodic_returns(capsys, monkeypatch):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "ppo_design.py"
    spec = importlib.util.spec_from_file_location("ppo_design", path)
    example = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "ppo_design", example)  # its dataclass looks itself up there
    spec.loader.exec_module(example)
    returns = example.main(example.Args(total_timesteps=1024, num_envs=8, num_steps=16, log_every=256))
    assert len(returns) == 1024  # every step an episode
    assert capsys.readouterr().out.count("mean episodic return") == 4
    assert np.mean(returns[-256:]) > np.mean(returns[:256])  # the policy moves towards better designs


def test_every_backend_gives_infos_with_the_same_keys():
    tiny = {"name": "t", "train_images": 64, "epochs": 1, "test_images": 32, "drift_test_images": 16, "depth": 8}
    keys = {}
    for backend, kw in (("table", {}), ("surrogate", {}), ("train", {"budget": tiny, "cache": None})):
        env = gymnasium.make("hicenv/HICDesign-v0", backend=backend, space=LIVE_SPACE, noise=1.0, **kw)
        env.reset(seed=0)
        *_, info = env.step(np.array([0]))
        keys[backend] = set(info)
        assert info["accuracy"] is not None and "train_seconds" not in info
    assert keys["table"] == keys["surrogate"] == keys["train"]


def test_the_seq_env_masks_each_knobs_indices_and_a_random_policy_is_uniform_over_values():
    env = gymnasium.make("hicenv/HICDesignSeq-v0").unwrapped
    nvec = env.space.nvec
    _, info = env.reset(seed=0)
    masks = [info["action_mask"]]
    for _ in range(len(nvec) - 1):
        *_, info = env.step(0)
        masks.append(info["action_mask"])
    assert [int(m.sum()) for m in masks] == nvec.tolist() and all(m[: m.sum()].all() for m in masks)
    # A policy blind to the masks: uniform over Discrete(8). acc_bits has 6 values; clamping
    # gave its last value 3/8 of the picks, uniform redraws give each 1/6.
    acc = list(env.space.names).index("acc_bits")
    rng = np.random.default_rng(0)
    picks = []
    for episode in range(1200):
        env.reset(seed=episode)
        for _ in range(len(nvec)):
            *_, info = env.step(int(rng.integers(env.action_space.n)))
        picks.append(info["action"][acc])
    share = np.bincount(picks, minlength=nvec[acc]) / len(picks)
    assert np.allclose(share, 1 / nvec[acc], atol=0.04), share


def test_a_process_that_never_imported_hicenv_makes_the_env_by_its_module_prefix():
    # Gymnasium 1.x loads no entry-point plugins: "hicenv:<id>" is how a Ray worker or a
    # spawned process gets the env (README, Ids).
    import subprocess
    import sys

    code = (
        "import sys, gymnasium as gym\n"
        "assert 'hicenv' not in sys.modules\n"
        "env = gym.make('hicenv:hicenv/HICDesign-v0', render_mode=None)\n"
        "print(type(env.unwrapped).__name__)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "HICDesignEnv" in p.stdout, p.stderr


def test_the_flat_action_is_the_c_order_index_of_the_multidiscrete_one():
    env = gymnasium.make("hicenv/HICDesignFlat-v0", backend="table", noise=1.0).unwrapped
    nvec = env.space.nvec.tolist()
    multi = [1, 2, 0, 1][: len(nvec)] + [0] * (len(nvec) - 4)
    index = 0
    for i, n in zip(multi, nvec):  # by hand: the last knob varies fastest
        index = index * n + i
    assert env.flat_action(multi) == index and env.action_space.n == int(np.prod(nvec))
    env.reset(seed=0)
    *_, info = env.step(index)
    assert info["action"] == multi
    env.reset(seed=0)
    with pytest.raises(InputError, match="action must be an integer in"):
        env.step(env.action_space.n)


def test_a_cleanrl_shaped_discrete_loop_runs_with_only_the_env_id_changed():
    """CleanRL's ppo.py, reduced to its env-facing lines (make_env, SyncVectorEnv, the
    Discrete assertion, a Categorical policy over single_action_space.n, the rollout);
    what differs from running it on CartPole-v1 is the env id."""
    import torch
    from torch import nn
    from torch.distributions.categorical import Categorical

    env_id, num_envs, num_steps = "hicenv/HICDesignFlat-v0", 2, 4

    def make_env(env_id, idx, capture_video, run_name):
        def thunk():
            env = gymnasium.make(env_id)
            return gymnasium.wrappers.RecordEpisodeStatistics(env)

        return thunk

    envs = gymnasium.vector.SyncVectorEnv([make_env(env_id, i, False, "run") for i in range(num_envs)])
    assert isinstance(envs.single_action_space, gymnasium.spaces.Discrete), "only discrete action space is supported"
    obs_dim = int(np.array(envs.single_observation_space.shape).prod())
    actor = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, envs.single_action_space.n))
    optimizer = torch.optim.Adam(actor.parameters(), lr=2.5e-4, eps=1e-5)
    next_obs, _ = envs.reset(seed=1)
    returns = []
    for _ in range(num_steps):
        logits = actor(torch.Tensor(next_obs))
        dist = Categorical(logits=logits)
        action = dist.sample()
        next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
        loss = -(dist.log_prob(action) * torch.Tensor(reward)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if "episode" in infos:
            returns += [float(r) for r, done in zip(infos["episode"]["r"], infos["_episode"]) if done]
    envs.close()
    assert len(returns) >= num_envs and all(np.isfinite(returns))
