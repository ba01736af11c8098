"""RL agents and the agent comparison, on the shipped lookup table and the shipped bench's surrogate."""

import subprocess
import sys

import pandas as pd
import pytest

from hicenv.errors import InputError
from hicenv_agents.search.compare import compare
from hicenv_agents.search.rl import run_random, run_rl

COLUMNS = [
    "msb_bits",
    "lsb_bits",
    "acc_bits",
    "width",
    "noise",
    "horizon_accuracy",
    "size_ratio",
    "lifetime_wear",
    "accuracy",
    "model_size_bits",
    "agent",
]


def test_cli_ppo_on_the_table_exports_designs(tmp_path):
    # Speed is a benchmark's question (a shared machine makes a timed test flaky), not this test's.
    out = tmp_path / "designs.csv"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "hicenv_agents.cli",
            "rl",
            "--algo",
            "ppo",
            "--backend",
            "table",
            "--timesteps",
            "2000",
            "--out",
            str(out),
            "--logdir",
            str(tmp_path / "tb"),
            "--save",
            str(tmp_path / "ppo.zip"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out)
    assert 2000 <= len(df) <= 2000 + 64  # one design per step; PPO finishes its last rollout
    for c in COLUMNS:
        assert c in df.columns, c
    assert (tmp_path / "ppo.zip").exists()
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))


def test_dqn_on_the_sequential_env_and_a2c(tmp_path):
    run = run_rl("dqn", timesteps=400, seed=0, env_kwargs={"backend": "table"})
    assert len(run.designs) == 400 // 4  # four knobs, one step each
    run = run_rl("a2c", timesteps=64, n_envs=2, seed=0, env_kwargs={"backend": "table"})
    assert len(run.designs) == 64


def test_random_baseline_and_seeds():
    a = run_random(20, seed=1, env_kwargs={"backend": "table"}).designs
    b = run_random(20, seed=1, env_kwargs={"backend": "table"}).designs
    c = run_random(20, seed=2, env_kwargs={"backend": "table"}).designs
    cols = ["msb_bits", "lsb_bits", "acc_bits", "width", "noise"]
    assert a[cols].equals(b[cols]) and not a[cols].equals(c[cols])


def test_bad_algorithm_and_evaluation_counts():
    with pytest.raises(ValueError, match="unknown algorithm"):
        run_rl("sac")
    with pytest.raises(ValueError, match="evaluations must be an integer >= 1"):
        compare(agents=("random",), evaluations=0, seeds=(0,), out=None, plot=None)


def test_compare_writes_hypervolume_curves(tmp_path):
    df = compare(
        agents=("random", "tpe", "nsga2", "ppo"),
        evaluations=12,
        seeds=(0, 1),
        out=tmp_path / "c.csv",
        plot=tmp_path / "c.png",
    )
    assert set(df["agent"]) == {"random", "tpe", "nsga2", "ppo"}
    assert (df.groupby(["agent", "seed"]).size() == 12).all()
    for _, g in df.groupby(["agent", "seed"]):
        hv = g.sort_values("evaluations")["hypervolume"].to_numpy()
        assert (hv[1:] >= hv[:-1] - 1e-12).all()  # a front only grows
    assert pd.read_csv(tmp_path / "c.csv").shape == df.shape
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_compare_gives_every_agent_equal_evaluations_and_a_regret_to_the_space_front(tmp_path):
    # DQN picks one knob a step: it gets (knobs) steps for each design the others evaluate.
    df = compare(agents=("random", "dqn"), evaluations=20, seeds=(0,), out=tmp_path / "c.csv", plot=None)
    assert (df.groupby("agent").size() == 20).all()
    # The surrogate answers every point of the default space: the regret is to that front.
    assert (df["regret"] >= -1e-12).all()
    assert (df["regret"] + df["hypervolume"]).round(12).nunique() == 1  # one best hypervolume


def test_compare_keeps_each_run_and_a_rerun_continues_from_them(tmp_path, monkeypatch):
    from hicenv_agents.search import compare as compare_module

    store = tmp_path / "runs"
    first = compare(agents=("random",), evaluations=10, seeds=(0, 1), out=tmp_path / "a.csv", plot=None, store=store)
    ran = []
    real = compare_module.AGENTS["random"]
    monkeypatch.setitem(compare_module.AGENTS, "random", lambda *a: ran.append(a) or real(*a))
    again = compare(agents=("random",), evaluations=10, seeds=(0, 1, 2), out=tmp_path / "b.csv", plot=None, store=store)
    assert [a[1] for a in ran] == [2]  # seeds 0 and 1 came from the store
    pd.testing.assert_frame_equal(again[again["seed"] < 2].reset_index(drop=True), first)
    compare(agents=("random",), evaluations=11, seeds=(0,), out=tmp_path / "c.csv", plot=None, store=store)
    assert [a[1] for a in ran] == [2, 0]  # another number of evaluations is another run


def test_compare_in_worker_processes_gives_the_curves_of_one_process(tmp_path):
    kw = dict(agents=("random", "tpe"), evaluations=10, seeds=(0, 1), plot=None)
    one = compare(**kw, out=tmp_path / "a.csv")
    store = tmp_path / "runs"
    two = compare(**kw, out=tmp_path / "b.csv", workers=2, store=store)
    pd.testing.assert_frame_equal(two, one)  # in the agents' and seeds' order, whichever ended first
    assert len((store / "runs.jsonl").read_text().splitlines()) == 4  # each run stored as it ended
    with pytest.raises(InputError, match="workers must be an integer >= 1"):
        compare(**kw, out=None, workers=0)


def test_each_run_logs_to_one_tensorboard_folder_of_its_own(tmp_path):
    for _ in range(2):
        run_rl("ppo", timesteps=64, seed=0, env_kwargs={"backend": "table"}, logdir=str(tmp_path))
        run_random(20, seed=0, env_kwargs={"backend": "table"}, logdir=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ppo_1", "ppo_2", "random_1", "random_2"]
    for run in ("ppo_1", "ppo_2"):  # SB3's curves and ours side by side: one run in TensorBoard
        assert len(list((tmp_path / run).glob("events.out.tfevents.*"))) == 2


def test_rl_export_says_how_many_distinct_designs_it_holds(tmp_path):
    # 300 random episodes on the 72-point table re-propose points: the count is of distinct ones.
    out = tmp_path / "r.csv"
    p = subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", "rl", "--algo", "random", "--timesteps", "300"]
        + ["--backend", "table", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    d = pd.read_csv(out)
    distinct = len(d.drop_duplicates(["msb_bits", "lsb_bits", "acc_bits", "width", "noise", "lsb_encoding"]))
    assert distinct < 300 and f"300 evaluations of {distinct} distinct designs" in p.stdout


def test_sb3s_own_entry_points_take_the_env_id_unedited():
    # PPO("MlpPolicy", id) and make_vec_env(id) ask for render_mode="rgb_array" and fall back
    # only on TypeError: the env must not refuse a mode it lacks (Gymnasium warns instead).
    import warnings

    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    import hicenv  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Gymnasium's warning about the render mode
        PPO("MlpPolicy", "hicenv/HICDesign-v0", n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu").learn(128)
        venv = make_vec_env("hicenv/HICDesign-v0", n_envs=2, seed=0)
        venv.reset()
        _, rewards, dones, _ = venv.step([venv.action_space.sample(), venv.action_space.sample()])
        venv.close()
    assert dones.all() and len(rewards) == 2
