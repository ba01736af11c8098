"""HIC-Bench: its sample, its task list, compiling stored runs and the report."""

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from hicenv.design.surrogate import Surrogate
from hicenv.errors import InputError
from hicenv.sim.budget import Budget
from hicenv.sim.data import load_dataset
from hicenv.sim.trainer import evaluate
from hicenv_agents.experiments import bench
from hicenv_agents.experiments.bench_report import coverage, results_frame, write_report
from hicenv_agents.experiments.runner import load_results, task_key


def test_sobol_sample_is_distinct_valid_and_balanced():
    points = bench.sobol_points(256)
    keys = [tuple(p["config"].values()) for p in points]
    assert len(set(keys)) == 256
    # a scrambled Sobol sample of 2^8 points puts each of 8 levels in 1/8 of the points
    for knob in ("msb_bits", "lsb_bits"):
        assert set(Counter(p["config"][knob] for p in points).values()) == {32}
    assert Counter(p["config"]["lsb_encoding"] for p in points) == {"unsigned": 128, "differential": 128}
    assert bench.sobol_points(16) == points[:16]  # a prefix of the sequence: a cut-short bench is still a sample
    assert bench.sobol_points(200) == points[:200]  # and a larger bench keeps a smaller one's runs


def test_tasks_come_in_the_order_that_keeps_a_partial_bench_useful():
    tasks = bench.tasks()
    n = bench.N_POINTS
    h = n // 2
    sets = [(t["set"], t["budget_name"], t["seed"]) for t in tasks]
    assert sets[:h] == [("sobol", "proxy", 0)] * h  # the Sobol sample's first half
    assert sets[h : h + 18] == [("panel", "proxy", 0)] * 18
    assert sets[h + 18 : h + 66] == [("sobol", "proxy", 1)] * 24 + [("sobol", "proxy", 2)] * 24
    assert Counter(sets[h + 66 : h + 138]) == {("ladder", "smoke", s): 24 for s in (0, 1, 2)}  # no ladder-30k
    assert sets[h + 138 :] == [("sobol", "proxy", 0)] * (n - h)
    assert [t["label"] for t in tasks[:h] + tasks[h + 138 :]] == [f"sobol {i}" for i in range(n)]
    assert len({task_key(t) for t in tasks}) == len(tasks)


def test_the_gpu_rung_comes_first_and_needs_the_full_data(fashion_dir):
    tasks = bench.tasks(full_data=str(fashion_dir), gpu_rung=True)
    sets = [(t["set"], t["budget_name"], t["seed"]) for t in tasks]
    assert sets[:48] == [("ladder", "full-2ep", 0)] * 24 + [("ladder", "full-2ep", 1)] * 24
    assert [t["label"] for t in tasks[:24]] == [f"sobol {i}" for i in range(24)]  # the ladder's points
    assert tasks[48:] == bench.tasks(full_data=str(fashion_dir))  # then the CPU's plan, in its order
    assert Counter(sets)[("ladder", "ladder-30k", 1)] == 24
    with pytest.raises(InputError, match="--gpu-rung.*--data-root"):
        bench.run("unused", gpu_rung=True)


TINY = Budget(name="proxy", train_images=64, epochs=1, test_images=32, drift_test_images=16, batch_size=32, depth=8)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Ten tiny runs stored as the runner stores them (named as bench points at the bench budget)."""
    folder = tmp_path_factory.mktemp("results")
    ds = load_dataset("embedded")
    with open(folder / "results-test-w0.jsonl", "w") as f:
        for i, p in enumerate(bench.sobol_points(10)):
            r = evaluate(p["config"], TINY, seed=0, dataset=ds)
            r.update(label=p["label"], set="sobol", kind="proxy", budget_name="proxy", wall_seconds=1.0 + i)
            f.write(json.dumps(r) + "\n")
    return folder


def test_a_task_list_runs_where_it_is_taken(tmp_path):
    # The GPU script runs a task list written here (no scipy needed there): same keys, stored.
    from hicenv.sim.fingerprint import sim_fingerprint

    fp = load_dataset("embedded").fingerprint
    tiny = [bench._task(p, TINY, 0, "proxy", fp) for p in bench.sobol_points(2)]
    path = bench.write_tasks(tmp_path / "tasks.json", tiny)
    assert bench.read_tasks(path) == tiny
    assert bench.main(["run", "--out", str(tmp_path / "out"), "--threads", "1", "--tasks-file", str(path)]) == 0
    stored = load_results(tmp_path / "out")
    assert {task_key(r) for r in stored} == {task_key(t) for t in tiny}
    assert {r["sim_fingerprint"] for r in stored} == {sim_fingerprint()}
    assert bench.main(["tasks", "--points", "4", "--out", str(tmp_path / "plan.json")]) == 0
    assert [task_key(t) for t in bench.read_tasks(tmp_path / "plan.json")] == [task_key(t) for t in bench.tasks(4)]
    (tmp_path / "bad.json").write_text('{"label": 1}')
    with pytest.raises(InputError, match="bad.json is not a task list"):
        bench.read_tasks(tmp_path / "bad.json")
    long = [{**tiny[0], "kind": "long"}]
    with pytest.raises(InputError, match="--data-root"):
        bench.run(str(tmp_path / "out"), tasks_file=str(bench.write_tasks(tmp_path / "long.json", long)))


def test_compile_keeps_the_bench_points_and_fits_the_surrogate(stored, tmp_path):
    df = bench.compile_bench([stored], tmp_path / "bench.csv", tmp_path / "fit.json")
    assert len(df) == 10 and set(df["set"]) == {"sobol"}
    table = pd.read_csv(tmp_path / "bench.csv")
    assert {"accuracy_drift_gdc_1y", "curve_train_loss_8", "write_cycles_multilevel_max"} <= set(table.columns)
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert Surrogate(table, fitted=fit).theta() == fit  # the stored fit is the one reloaded


def test_compile_refuses_an_unwritable_output_before_writing_either(stored, tmp_path, monkeypatch):
    from hicenv_agents.experiments import runner

    monkeypatch.setattr(runner, "load_results", lambda d: pytest.fail("read the results before checking outputs"))
    with pytest.raises(InputError, match="surrogate fit .*nowhere"):
        bench.compile_bench([stored], tmp_path / "bench.csv", tmp_path / "nowhere" / "fit.json")
    with pytest.raises(InputError, match="table .*is a folder"):
        bench.compile_bench([stored], tmp_path, tmp_path / "fit.json")
    assert list(tmp_path.iterdir()) == []  # neither file written


def test_report_says_what_it_covers(stored, tmp_path):
    df = results_frame([stored])
    cov = coverage(df)
    sobol = cov.loc["Sobol points, seed 0"]
    assert sobol["stored"] == 10 and sobol["planned"] == bench.N_POINTS
    assert cov.loc["Sobol points, seed 0", "median cost (s)"] == 5.5  # 1..10 s
    report = write_report([stored], tmp_path).read_text()
    missing = int((cov["planned"] - cov["stored"]).sum())  # every part short: 190 Sobol points, the panel, ...
    assert f"**The bench is incomplete** ({missing} planned runs missing)" in report
    assert "| accuracy_drift_gdc_1y |" in report  # the surrogate's k-fold row of the objective


def test_the_agent_summary_by_hand():
    from hicenv_agents.experiments.bench_report import agents_summary

    rows = []
    for agent, finals in (("random", [0.4, 0.2]), ("gp", [0.1, 0.3])):
        for seed, final in enumerate(finals):
            rows += [
                {"agent": agent, "seed": seed, "evaluations": 1, "regret": 1.0},
                {"agent": agent, "seed": seed, "evaluations": 2, "regret": final},
            ]
    s = agents_summary(pd.DataFrame(rows), at=(1, 2))
    assert s.loc["gp", "regret @2 median"] == pytest.approx(0.2)  # median of 0.1 and 0.3
    assert s.loc["random", "@2 IQR"] == "0.2500-0.3500"  # quartiles of 0.2 and 0.4
    # gp's 0.1 beats both of random's (0.4, 0.2); its 0.3 beats 0.4 only: 3 of 4 pairs
    assert s.loc["gp", "A vs random"] == pytest.approx(0.75) and s.loc["random", "A vs random"] == 0.5


def _ladder_frame() -> pd.DataFrame:
    """Six ladder points, hand-ranked: the top rung (ladder-30k) at seed 1 swaps its last two
    points; the proxy ranks like the top and its seed 1 swaps the first two; smoke ranks
    backwards at both seeds; the proxy's training losses rank at random."""
    from hicenv_agents.experiments.bench_report import OBJECTIVE

    up, rows = [1, 2, 3, 4, 5, 6], []
    by = {
        ("ladder-30k", 0): (up, 360.0),
        ("ladder-30k", 1): ([1, 2, 3, 4, 6, 5], 360.0),
        ("proxy", 0): (up, 80.0),
        ("proxy", 1): ([2, 1, 3, 4, 5, 6], 80.0),
        ("smoke", 0): (up[::-1], 10.0),
        ("smoke", 1): (up[::-1], 10.0),
    }
    for (budget, seed), (values, cost) in by.items():
        for i, v in enumerate(values):
            rows.append(
                {
                    "label": f"sobol {i}",
                    "budget": budget,
                    "seed": seed,
                    OBJECTIVE: float(v),
                    "curve_loss_sum": float([3, 1, 6, 2, 5, 4][i]),  # minus it ranks the points 4 6 1 5 2 3
                    "curve_train_accuracy_4": float(v),
                    "cost_s": cost,
                    "train_seconds": cost - 20.0,
                }
            )
    return pd.DataFrame(rows)


def test_the_ladder_by_hand():
    from hicenv_agents.experiments.bench_report import _ladder_section, ladder, recommend

    lad = ladder(_ladder_frame())
    assert lad.attrs["top"] == "ladder-30k"
    swap = 1 - 6 * 2 / (6 * 35)  # one adjacent swap of six: d^2 sums to 2
    assert lad.attrs["own_top"] == pytest.approx(swap) and lad.attrs["top_points"] == 6
    top = lad.loc["ladder-30k: accuracy_drift_gdc_1y (seed 1)"]
    assert top["spearman"] == pytest.approx(swap) and top["seed ceiling"] == pytest.approx(swap)
    # Every pair is of two seeds: the proxy (seed 0 = up, seed 1 swaps the first two) against
    # the top (seed 1 swaps the last two; seed 0 = up): one swap each way
    proxy = lad.loc["proxy: accuracy_drift_gdc_1y"]
    assert proxy["spearman"] == pytest.approx(swap) and proxy["seed-to-seed"] == pytest.approx(swap)
    smoke = lad.loc["smoke: accuracy_drift_gdc_1y"]
    # backwards against up: -1; against the top's seed 1 (1 2 3 4 6 5): d^2 = 25+9+1+1+16+16 = 68
    assert smoke["spearman"] == pytest.approx((-1 + 1 - 6 * 68 / 210) / 2)
    assert smoke["seed ceiling"] == pytest.approx(np.sqrt(swap))
    # minus the losses 3 1 6 2 5 4 ranks the points 4 6 1 5 2 3: d^2 = 48 against up, 50 against
    # the top's seed 1
    assert lad.loc["proxy: minus the sum of training losses", "spearman"] == pytest.approx(
        (1 - 6 * 48 / 210 + 1 - 6 * 50 / 210) / 2
    )
    # costs: the proxy's wall seconds; half its training for the accuracy at half the run
    assert proxy["median cost (s)"] == 80.0
    assert lad.loc["proxy: training accuracy at half the run", "median cost (s)"] == 30.0
    # qualifying (Spearman >= 0.943 - 0.05): the proxy's objective (80 s), a whole run, and its
    # training accuracy at half (30 s), a learning-curve signal: no drift accuracies, no preset
    assert recommend(lad) == {
        "preset": "proxy: accuracy_drift_gdc_1y",
        "early": "proxy: training accuracy at half the run",
    }
    assert recommend(lad, margin=-0.1) == {"preset": None, "early": None}  # nothing beats a rerun by 0.1
    # The report recommends only once the top rung holds both seeds on every ladder point
    assert "holds both seeds on 6 of the 24 points" in "\n".join(_ladder_section(lad))
    lad.attrs["top_points"] = 24  # as if complete: the preset is a rung; the curve signal is for stopping early
    text = _ladder_section(lad)[-1]
    assert "the `proxy` preset stays as it is: `proxy` is the cheapest qualifying rung" in text
    assert "not a preset" in text
    lad.loc["smoke: accuracy_drift_gdc_1y", "spearman"] = 0.99  # a cheaper rung that qualifies replaces it
    assert "the `proxy` preset should be `smoke`: `smoke` is the cheapest" in _ladder_section(lad)[-1]


def test_the_ladder_without_a_higher_rung_is_against_the_proxy():
    from hicenv_agents.experiments.bench_report import ladder

    df = _ladder_frame()
    lad = ladder(df[df["budget"] != "ladder-30k"])
    assert lad.attrs["top"] == "proxy"
    assert lad.loc["proxy: accuracy_drift_gdc_1y (seed 1)", "spearman"] == pytest.approx(1 - 6 * 2 / 210)


def test_the_surrogate_against_a_truth_of_two_seeds_by_hand():
    # 30 points along width, every target width / 10: the 6 points run at three seeds are held
    # out; their seeds 1 and 2 are exact and their seed 0 swaps two neighbours.
    from hicenv.rows import drift_columns
    from hicenv.sim.fingerprint import sim_fingerprint
    from hicenv_agents.experiments.bench_report import surrogate_on_seed_points

    widths, multi, rows = np.linspace(0.5, 2.0, 30), (5, 9, 13, 17, 21, 25), []
    for i, w in enumerate(widths):
        for seed in (0, 1, 2) if i in multi else (0,):
            value = widths[9] if (i, seed) == (5, 0) else widths[5] if (i, seed) == (9, 0) else w
            targets = dict.fromkeys(("accuracy", *drift_columns()), value / 10)
            knobs = dict(msb_bits=4, lsb_bits=4, acc_bits=8, width=w, lsb_encoding="unsigned", noise=1.0)
            rows.append(
                dict(
                    label=f"sobol {i}",
                    set="sobol",
                    fp32=False,
                    budget="proxy",
                    seed=seed,
                    **knobs,
                    **targets,
                    max_write_cycles=100.0,
                    sim_fingerprint=sim_fingerprint(),
                )
            )
    d = surrogate_on_seed_points(pd.DataFrame(rows))
    assert d["points"] == 6 and d["fitted"] == 24
    assert d["surrogate"] == pytest.approx(1.0)  # a straight line, learned from the other 24
    assert d["one run"] == pytest.approx(1 - 6 * 2 / (6 * 35))  # one adjacent swap of six


def test_a_bench_run_stopped_by_sigterm_exits_with_tasks_still_queued(tmp_path):
    # Hundreds of queued tasks fill the queue's pipe; the runner used to hang at exit, its
    # feeder thread blocked on a pipe nobody read any more (found stopping the bench with pkill).
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen(
        [sys.executable, "-m", "hicenv_agents.cli", "bench", "run", "--out", str(tmp_path), "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "runs to do" in p.stdout.readline()  # the queue is being filled, the worker starts
    time.sleep(5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)  # a hang is a TimeoutExpired here
    assert p.returncode == 128 + signal.SIGTERM


def test_coverage_notes_do_not_let_extra_runs_hide_missing_ones():
    from hicenv_agents.experiments.bench_report import _coverage_notes

    cov = pd.DataFrame({"stored": [201, 23], "planned": [200, 24]}, index=["Sobol", "seed 1"])
    notes = "\n".join(_coverage_notes(cov))  # 224 stored of 224 planned, yet one run is missing
    assert "Sobol: 1 run(s) beyond the plan" in notes and "1 planned runs missing" in notes
    cov.loc["seed 1", "stored"] = 24
    assert not any("incomplete" in n for n in _coverage_notes(cov))


def test_the_points_nearest_the_front_by_hand(monkeypatch):
    # At one noise level, equal wear: A (80%, size 0.2) is smaller than B (70%, 0.3) and C
    # (79.5%, 0.25), so A is always on the front and B or C only when its accuracy beats A's.
    # The seed sd is A's over seeds 0-2 (80, 78, 82: 2 points), so C beats A with P =
    # Phi(-0.5 / (2 sqrt 2)) = 0.43 and B with Phi(-10 / 2.83) = 0.0002: A, then C.
    from hicenv.design import deployment

    monkeypatch.setattr(deployment, "wear_metrics", lambda r, d: {"lifetime_wear": 1e-3})

    def row(label, seed, acc, size):
        config = {"msb_bits": 4, "lsb_bits": 4, "acc_bits": 8, "width": 1.0, "lsb_encoding": "unsigned", "noise": 1.0}
        return {"label": label, "set": "sobol", "seed": seed, "failed": False, "config": config,
                "accuracy_drift": {"1y": acc}, "accuracy_drift_gdc": {"1y": acc}, "size_ratio": size}  # fmt: skip

    rows = [row("A", 0, 0.80, 0.2), row("A", 1, 0.78, 0.2), row("A", 2, 0.82, 0.2)]
    rows += [row("B", 0, 0.70, 0.3), row("C", 0, 0.795, 0.25)]
    points = bench.front_points(rows, k=2, draws=4000)
    assert [p["label"] for p in points] == ["A", "C"]
    assert points[0]["p_front"] == 1.0 and points[1]["p_front"] == pytest.approx(0.43, abs=0.03)
    with pytest.raises(InputError, match="several seeds"):
        bench.front_points([r for r in rows if r["seed"] == 0])


def test_the_front_is_chosen_from_the_first_pass_alone_so_a_resume_keeps_it(monkeypatch, tmp_path):
    seen = []

    def fake_front_points(rows, k):
        seen.append([(r["label"], r["seed"]) for r in rows])
        return [{"label": "A", "config": rows[0]["config"], "set": "sobol"}]

    monkeypatch.setattr(bench, "front_points", fake_front_points)
    first = bench.tasks(n=4, with_panel=False, seed_points=1)
    second = [dict(t, seed=7) for t in first[:2]]  # runs the front seeds added (another seed)
    stored = [dict(t, accuracy=0.5, failed=False) for t in first[:2] + second + first[2:]]
    (tmp_path / "results-x-w0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stored))
    chosen = bench.front_tasks([str(tmp_path)], first, k=1)
    at_budget = [(t["label"], t["seed"]) for t in first if t["budget_name"] == bench.BENCH_BUDGET.name]
    assert seen == [at_budget]  # in stored order; the added runs (and the ladder's budget) left out
    assert sorted(t["seed"] for t in chosen) == list(bench.EXTRA_SEEDS)


def test_the_front_seeds_follow_a_complete_first_pass_only(monkeypatch, tmp_path):
    calls = []
    left = {"first": 3}

    def fake_run_tasks(out, runs, **kw):
        calls.append([t["label"] for t in runs])
        return left["first"] if len(calls) == 1 else 0

    monkeypatch.setattr(bench, "run_tasks", fake_run_tasks)
    monkeypatch.setattr(bench, "front_tasks", lambda results, first: [{"label": "front"}])
    assert bench.run(str(tmp_path), n=4) == 3 and len(calls) == 1  # cut short: no second pass
    calls.clear()
    left["first"] = 0
    assert bench.run(str(tmp_path), n=4) == 0 and calls[1] == ["front"]


def test_bench_v2_tasks_read_the_objectives_horizon_under_four_draws_on_1000_images():
    from hicenv_agents.experiments.bench import tasks

    runs = [t for t in tasks(n=4, seed_points=1) if t["set"] != "ladder"]  # the ladder: its own rungs
    budgets = {json.dumps(t["budget"], sort_keys=True) for t in runs}
    assert len(budgets) == 1
    b = json.loads(budgets.pop())
    assert (b["drift_test_images"], b["focus_horizon"], b["focus_draws"], b["name"]) == (1000, "1y", 4, "proxy")


def test_calibration_notes_name_the_targets_off_the_goal_and_by_how_much():
    from hicenv_agents.experiments.bench_report import _calibration_notes

    fid = pd.DataFrame(
        {
            "in_1sigma_interval": [0.70, 0.78, 0.66],
            "in_2sigma_interval": [0.93, 0.95, 0.89],
            "within_1sd": [0.70, 0.99, 0.70],
            "within_2sd": [0.95, 1.00, 0.95],
        },
        index=["good", "wide", "narrow"],
    )
    (note,) = _calibration_notes(fid)
    assert "miss it for `wide` 78% and 95%; `narrow` 66% and 89%." in note and "`good` " not in note
    assert "Mean -+ sd misses it for 1 of 3 targets (as wide as 99% within 1 sd)" in note
    (note,) = _calibration_notes(fid.loc[["good"]])
    assert "Every target's intervals meet it" in note and "Mean -+ sd meets it too" in note


def test_the_learners_section_shows_the_objectives_rows_or_says_how_to_make_them(tmp_path):
    from hicenv_agents.experiments.bench_report import OBJECTIVE, _learners_section

    path = tmp_path / "learners.csv"
    assert "Not yet scored: run `hicenv bench learners --out" in "".join(_learners_section(path))
    figures = dict.fromkeys(
        ["points", "spearman", "half_spearman", "top_spearman", "kendall", "r2", "within_1sd", "within_2sd"], 0.5
    )
    rows = [
        {
            "learner": "gp-rank",
            "target": OBJECTIVE,
            "truth": "all",
            "repeats": 3,
            **figures,
            "points": 216.0,
            "spearman": 0.931,
        },
        {"learner": "gp", "target": "accuracy", "truth": "all", "repeats": 3, **figures},
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    text = "\n".join(_learners_section(path))
    assert "| gp-rank (all) | 216 | 0.931 | 0.500 |" in text and "gp (all)" not in text  # the objective's rows only
    assert "3 random splits" in text
