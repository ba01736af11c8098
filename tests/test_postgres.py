"""A study shared by workers through a real PostgreSQL server on loopback.

`.ci/run` starts the server (`.ci/postgres.sh`) and sets $HICENV_TEST_POSTGRES.
Outside CI, without that variable, these tests skip and say why; in CI a missing
server is a failure.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest

from hicenv_agents.search.optuna_study import designs_frame

URL = os.environ.get("HICENV_TEST_POSTGRES")
if not URL:
    if os.environ.get("CI"):
        raise RuntimeError("CI must provide a PostgreSQL server: set HICENV_TEST_POSTGRES (see .ci/postgres.sh)")
    pytest.skip(
        "no PostgreSQL server: run .ci/postgres.sh and set HICENV_TEST_POSTGRES to its URL", allow_module_level=True
    )

STUDY = """
name = "{name}"
trials = 0
sampler = "random"
seed = 0
noise = 1.0
backend = "train"
[budget]
name = "pg"
train_images = {images}
epochs = 1
test_images = 64
drift_test_images = 32
batch_size = 32
depth = 8
[space]
knobs = {{ msb_bits = [1, 2, 3, 4], lsb_bits = [2, 4], width = [0.25, 0.5] }}
fixed = {{ acc_bits = 8 }}
"""
ENV = {**os.environ, "HICENV_HEARTBEAT_S": "1", "HICENV_GRACE_S": "4"}


def create(tmp_path, images=64):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    f = tmp_path / "s.toml"
    f.write_text(STUDY.format(name=name, images=images))
    p = subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", "study", str(f), "--storage", URL],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    return name


def worker(name, trials, cache):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hicenv_agents.cli",
            "worker",
            "--storage",
            URL,
            "--study-name",
            name,
            "--trials",
            str(trials),
            "--cache",
            str(cache),
        ],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_complete_all_trials_without_duplicates_or_losses(tmp_path):
    name = create(tmp_path)
    ws = [worker(name, 3, tmp_path / f"c{i}.sqlite") for i in range(2)]
    for w in ws:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    study = optuna.load_study(study_name=name, storage=URL)
    trials = study.get_trials(deepcopy=False)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert len(designs_frame(study)) == len(trials)  # every trial stored its designs-table row
    # Each worker evaluates 3 points new to the study when it proposes them (two workers may
    # propose one point at the same moment: Optuna locks no point, and both evaluate it).
    new = [t for t in trials if "repeat_of" not in t.user_attrs]
    assert len(new) == 6


def test_a_killed_workers_trial_is_retried(tmp_path):
    name = create(tmp_path, images=3000)  # a trial of several seconds, to be killed inside
    a = worker(name, 1, tmp_path / "a.sqlite")
    storage = optuna.storages.RDBStorage(URL)
    deadline = time.time() + 120
    while time.time() < deadline:
        study = optuna.load_study(study_name=name, storage=storage)
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if running and running[0].params:  # training has started (and a heartbeat is on record)
            break
        time.sleep(0.2)
    assert running and running[0].params, "worker A never started training a trial"
    time.sleep(1.5)
    killed = running[0].number
    a.send_signal(signal.SIGKILL)
    a.wait(30)
    time.sleep(6)  # past the grace period: the trial has no heartbeat
    b = worker(name, 1, tmp_path / "b.sqlite")
    _, err = b.communicate(timeout=300)
    assert b.returncode == 0, err
    study = optuna.load_study(study_name=name, storage=URL)
    by_number = {t.number: t for t in study.trials}
    assert by_number[killed].state == optuna.trial.TrialState.FAIL
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert retried[0].params == by_number[killed].params


def test_four_workers_cover_a_grid_once(tmp_path):
    name = f"pg-grid-{uuid.uuid4().hex[:8]}"
    f = tmp_path / "g.toml"
    f.write_text(
        f'name = "{name}"\ntrials = 0\nsampler = "grid"\nbackend = "table"\nnoise = 1.0\n'
        "[space]\nknobs = { msb_bits = [2, 4], lsb_bits = [2, 4, 6], acc_bits = [4, 8, 32], width = [0.5, 1.0] }\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", "study", str(f), "--storage", URL],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    workers = [worker(name, 20, tmp_path / "c.sqlite") for _ in range(4)]
    for w in workers:
        _, err = w.communicate(timeout=600)
        assert w.returncode == 0, err
    done = [
        t for t in optuna.load_study(study_name=name, storage=URL).trials if t.state == optuna.trial.TrialState.COMPLETE
    ]
    points = [tuple(sorted(t.params.items())) for t in done]
    assert len(points) == 36 and len(set(points)) == 36  # the 36-point grid, each point once
