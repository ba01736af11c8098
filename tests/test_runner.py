"""The experiments' runner (agents/experiments/runner.py): a run is stored and trained once."""

import json

import pytest

from hicenv.errors import InputError
from hicenv.sim.budget import Budget
from hicenv_agents.experiments import runner

TINY = Budget(name="proxy", train_images=64, epochs=1, test_images=32, drift_test_images=16, batch_size=32, depth=8)


def _task(seed: int = 0) -> dict:
    from hicenv.sim.data import load_dataset

    p = {"label": "p", "set": "sobol", "config": {"msb_bits": 4}}
    return runner.make_task(p, TINY, seed, "proxy", load_dataset("embedded").fingerprint)


def test_a_damaged_line_mid_file_is_named_a_torn_last_line_is_not(tmp_path, capsys):
    a, b = ({"config": {}, "budget": {}, "seed": s} for s in (1, 2))
    body = f'{json.dumps(a)}\n\x00garbage\n[1, 2]\n{{"key": 3}}\n{json.dumps(b)}\n{{"torn": '
    (tmp_path / "r.jsonl").write_text(body)
    rows = runner.load_results(tmp_path)
    assert rows == [a, b]
    err = capsys.readouterr().err
    assert all(f"r.jsonl:{i}: not a result" in err for i in (2, 3, 4)) and ":6:" not in err


@pytest.mark.parametrize(
    "body", [b"\x8f\xff random \x00 bytes\n\x01\x02\n", b"[1, 2]\n", b'{"key": "k", "hypervolume": [1]}\n']
)
def test_a_file_with_no_result_at_all_is_refused_naming_it(tmp_path, body):
    (tmp_path / "other.jsonl").write_bytes(body)
    with pytest.raises(InputError, match=r"other\.jsonl holds no results .*not a results file") as e:
        runner.load_results(tmp_path)
    assert len(str(e.value).splitlines()) == 1


def test_unique_results_keeps_the_first_of_a_run_stored_twice():
    a, b = _task(0), _task(1)
    rows, dropped = runner.unique_results([{**a, "accuracy": 0.5}, {**b}, {**a, "accuracy": 0.6}])
    assert dropped == 1 and [r.get("accuracy") for r in rows] == [0.5, None]


def test_a_run_locked_by_another_process_is_not_trained_again(tmp_path, capsys):
    pytest.importorskip("fcntl")
    task = _task(0)
    held = runner._claim(tmp_path, runner.task_key(task))  # as a live worker of another runner holds it
    assert held is not None and runner._claim(tmp_path, runner.task_key(task)) is None
    left = runner.run_tasks(tmp_path, [task], dataset="embedded", device="cpu", workers=1)
    assert left == 1 and runner.load_results(tmp_path) == []
    assert "0 runs to do (0 stored, 1 running elsewhere)" in capsys.readouterr().out
    held.close()  # its holder ends (or dies: the kernel drops the lock)
    assert runner.run_tasks(tmp_path, [task], dataset="embedded", device="cpu", workers=1) == 0
    assert len(runner.load_results(tmp_path)) == 1


def test_bench_compile_counts_a_run_once_and_says_how_many_it_dropped(tmp_path, capsys):
    from hicenv_agents.experiments import bench

    r = runner.load_results  # one real stored run, written twice (a resumed kill)
    runner.run_tasks(tmp_path / "res", [_task(0)], dataset="embedded", device="cpu")
    line = next((tmp_path / "res").glob("*.jsonl")).read_text()
    (tmp_path / "res" / "again.jsonl").write_text(line)
    assert len(r(tmp_path / "res")) == 2
    df = bench.compile_bench([str(tmp_path / "res")], out=tmp_path / "b.csv", fit=None)
    assert len(df) == 1 and "1 duplicate run(s) dropped" in capsys.readouterr().err
    assert json.loads(line)["label"] == "p"


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["run", "--points", "0"], "--points"),
        (["run", "--points", "-5"], "--points"),
        (["run", "--threads", "0"], "--threads"),
        (["run", "--threads", "-1"], "--threads"),
        (["run", "--workers", "x"], "--workers"),
        (["run", "--deadline", "-5"], "--deadline"),
        (["run", "--deadline", "nan"], "--deadline"),
        (["run", "--device", "bogus"], "--device"),
        (["run", "--device", "cuda:7"], "--device"),
        (["run", "--stored", "nodir"], "--stored"),
    ],
)
def test_a_bad_run_option_is_refused_before_any_work(tmp_path, capsys, argv, flag):
    from hicenv_agents.experiments import bench, paper

    for main, extra in ((bench.main, ["--out", str(tmp_path / "b")]), (paper.main, ["--out", str(tmp_path / "p")])):
        args = [a for a in argv if a != "run"] if main is paper.main else argv
        if main is paper.main and flag == "--points":
            continue  # the paper's --points names a point set
        with pytest.raises(SystemExit) as e:
            main([*args, *extra])
        assert e.value.code == 2 and f"argument {flag}" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not (tmp_path / "p").exists()  # nothing made, nothing trained
