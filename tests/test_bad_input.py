"""Bad input, case by case: one error line naming the problem, exit status 2, nothing written.

The cases are generated from the config dataclasses (every field of HICConfig,
PCMParams and Budget gets values it must refuse), plus datasets, seeds, outputs and
study files. The CLI runs in this process (an accepted case would train a tiny
network, and then fail the test); argparse's own refusals count too.
"""

import contextlib
import io
import math
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from hicenv.sim.budget import Budget
from hicenv.sim.config import HICConfig
from hicenv.sim.devices import PCMParams
from hicenv_agents.cli import main

TINY = [
    "--budget",
    "smoke",
    "--budget.train-images",
    "32",
    "--budget.test-images",
    "16",
    "--budget.drift-test-images",
    "8",
    "--budget.depth",
    "8",
]
_POSITIVE = {
    "g_max_uS",
    "t0_s",
    "t_read_s",
    "set_g_uS",
    "threshold_uS",
    "endurance_cycles",
    "prog_fit_g_max_uS",
    "read_q_exponent",
    "read_q_max",
}


def _flag(prefix: str, name: str) -> str:
    return f"--{prefix}{name.replace('_', '-')}"


def _cases() -> list:
    cases = []
    hic_bad = {
        "msb_bits": ["0", "16", "-1", "2.5", "x"],
        "lsb_bits": ["0", "16", "x"],
        "acc_bits": ["1", "17", "31", "33"],
        "width": ["0", "-1", "nan", "inf", "0.3"],
        "noise": ["-1", "nan", "inf", "x"],
        "rounding": ["up"],
        "lsb_encoding": ["signed"],
        "acc_range": ["1", "nan"],
        "code_headroom": ["0", "-1", "nan"],
        "device_model": ["rram"],
        "fp32": ["maybe"],
    }
    assert set(hic_bad) == {f.name for f in fields(HICConfig)} - {"pcm"}  # a new field needs its bad values
    for name, values in hic_bad.items():
        cases += [([_flag("", name), v], name) for v in values]
    for f in fields(PCMParams):
        values = ["nan", "inf", "x"] + (["0", "-1"] if f.name in _POSITIVE else [])
        cases += [([_flag("device.", f.name), v], f.name) for v in values]
    budget_bad = {
        "train_images": ["0", "-1", "x"],
        "epochs": ["0", "x"],
        "test_images": ["0"],
        "drift_test_images": ["0"],
        "drift_draws": ["0", "x"],
        "focus_draws": ["0", "x"],
        "focus_horizon": ["0s", "2y"],
        "batch_size": ["0", "x"],
        "lr": ["0", "-1", "nan", "inf"],
        "schedule": ["linear"],
        "warmup": ["1", "-0.1", "nan"],
        "momentum": ["1", "nan"],
        "weight_decay": ["-1", "nan"],
        "label_smoothing": ["1", "nan"],
        "augment": ["maybe"],
        "depth": ["7", "10", "x"],
    }
    assert set(budget_bad) == {f.name for f in fields(Budget)} - {"name"}
    for name, values in budget_bad.items():
        cases += [([_flag("budget.", name), v], name) for v in values]
    cases += [
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--dataset", "nothere.npz"], "does not exist"),
        (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent"], "does not exist"),
        (["--seed", "-1"], "seed"),
        (["--seed", str(2**32)], "seed"),
        (["--seed", "x"], "seed"),
        (["--device", "bogus"], "torch device"),
        (["--budget", "huge"], "unknown budget"),
        (["--msb-bits", "10", "--lsb-bits", "8"], "msb_bits \\+ lsb_bits"),
    ]
    return cases


CASES = _cases()


def test_there_are_at_least_150_cases():
    assert len(CASES) >= 150


@pytest.mark.parametrize("args,names", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_evaluate_input_is_one_line_and_exit_2(args, names, tmp_path):
    out = tmp_path / "m.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["evaluate", *TINY, *args, "--out", str(out)])
        except SystemExit as e:  # argparse refuses before the CLI's own checks
            code = e.code
    text = err.getvalue().strip()
    assert code == 2, text
    assert len(text.splitlines()) == 1, text
    import re

    assert re.search(f"{names}|{names.replace('_', '-')}", text), text
    assert not out.exists()


@pytest.mark.parametrize(
    "body,match",
    [
        ("trials = -1", "trials"),
        ("trials = 1\nsampler = 'anneal'", "sampler"),
        ("trials = 1\nmode = 'x'", "mode"),
        ("trials = 1\npruner = 'median'", "pruner needs mode"),
        ("trials = 1\nbackend = 'oracle'", "backend"),
        ("trials = 1\nnoise = -1", "noise"),
        ("trials = 1\nnoise = inf", "noise"),
        ("trials = 1\ntrain_seed = -1", "train_seed"),
        ("trials = 1\ncolour = 'red'", "colour"),
        ("trials = 1\n[space]\nknobs = {}", "knob"),
        ("trials = 1\n[space]\nknobs = { width = [3.3] }", "width"),
        ("trials = 1\n[device]\nthreshold_uS = 30", "threshold_uS"),
        ("trials = 1\n[budget]\nlr = nan", "lr"),
        ("trials = 1\n[reward]\nsize_weight = 'x'", "size_weight"),
        ("trials = [", "not valid TOML"),
        ("trials = 1\ndataset = 'imagenet'", "dataset"),
    ],
)
def test_bad_study_files_are_one_line_and_exit_2(body, match, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(body + "\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["study", str(f), "--storage", str(tmp_path / "s.log"), "--cache", "none"])
    text = err.getvalue().strip()
    assert code == 2 and len(text.splitlines()) == 1, text
    assert match in text, text
    assert not (tmp_path / "s.log").exists()  # no study was written


def test_nan_reaches_no_config():
    assert all(
        not isinstance(getattr(PCMParams(), f.name), float) or math.isfinite(getattr(PCMParams(), f.name))
        for f in fields(PCMParams)
    )


@pytest.mark.parametrize(
    "args,match",
    [
        (["rl", "--algo", "random", "--timesteps", "2", "--seed", "-1"], "seed"),
        (["rl", "--algo", "ppo", "--timesteps", "2", "--seed", str(2**32)], "seed"),
        (["study", "studies/quick.toml", "--storage", "/etc/hostname/s.log", "--trials", "0"], "journal file"),
        (["study", "studies/quick.toml", "--storage", "DIR.log", "--trials", "0"], "journal file .*folder"),
        (["worker", "--storage", "missing.log", "--study-name", "x"], "no study storage"),
        (["pareto", "--storage", "sqlite:///missing.db", "--study-name", "x"], "no study storage"),
        (["evaluate", "--out", "nodir/m.json"], "nodir"),
        (["evaluate", "--width", "1e300"], "width=1e\\+300: torch cannot build"),
        (["evaluate", "--width", "200"], "width=200: ResNet-32 has .* weights, at least .* GiB"),
    ],
)
def test_other_commands_refuse_bad_input_in_one_line(args, match, tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).parents[1])
    (tmp_path / "DIR.log").mkdir()
    args = [str(tmp_path / a) if a in ("DIR.log", "missing.log") else a for a in args]
    args = [a.replace("missing.db", str(tmp_path / "missing.db")) for a in args]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([*args, *(["--out", str(tmp_path / "o.csv")] if args[0] == "rl" else [])])
        except SystemExit as e:
            code = e.code
    text = err.getvalue().strip()
    assert code == 2 and len(text.splitlines()) == 1, text
    import re

    assert re.search(match, text), text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DIR.log"]  # nothing created


ENV_CASES = [
    ({"backend": "oracle"}, "backend"),
    ({"backend": "surrogate", "budget": "smoke"}, "budget='smoke': backend 'surrogate' answers at 'proxy'"),
    ({"backend": "surrogate", "dataset": "cifar10"}, "dataset='cifar10': backend 'surrogate' answers only"),
    ({"backend": "train", "budget": "huge"}, "unknown budget"),
    ({"backend": "train", "budget": {"lr": float("nan")}}, "lr"),
    ({"backend": "train", "budget": {"epoch": 1}}, "epoch"),
    ({"noise": -1.0}, "noise"),
    ({"noise": float("inf")}, "noise"),
    ({"noise": []}, "noise"),
    ({"train_seed": -1}, "train_seed"),
    ({"train_seed": 2**32}, "train_seed"),
    ({"train_seed": 1.5}, "train_seed"),
    ({"size_weight": float("nan")}, "size_weight"),
    ({"endurance_weight": float("inf")}, "endurance_weight"),
    ({"endurance_budget": 0.0}, "endurance_budget"),
    ({"deployment": {"trainings": 0}}, "trainings"),
    ({"deployment": {"steps": -1}}, "steps"),
    ({"deployment": {"epochs": 160}}, "epochs"),
    ({"deployment": 5}, "deployment"),
    ({"costs": {"pcm_cell_um2": 0}}, "pcm_cell_um2"),
    ({"costs": {"adc_pj": float("nan")}}, "adc_pj"),
    ({"costs": {"colour": 1}}, "colour"),
    ({"horizon": "2y"}, "horizon"),
    ({"device": "cuda"}, "torch device is torch_device"),
    ({"device": {"endurance_cycles": 0}}, "endurance_cycles"),
    ({"device": {"colour": 1}}, "colour"),
    ({"space": {"knobs": {"width": [3.0]}}}, "width"),
    ({"space": {"knobs": {"depth": [8]}}}, "depth"),
    ({"space": {"knobs": {}}}, "knob"),
    ({"backend": "table", "noise": 0.75}, "noise level"),
    ({"backend": "table", "space": {"knobs": {"msb_bits": [3]}}}, "msb_bits"),
]


@pytest.mark.parametrize("kwargs,match", ENV_CASES, ids=[str(k) for k, _ in ENV_CASES])
def test_bad_env_kwargs_are_refused_when_the_env_is_made(kwargs, match, tmp_path, monkeypatch):
    import gymnasium

    import hicenv  # noqa: F401

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=match) as e:
        gymnasium.make("hicenv/HICDesign-v0", cache=tmp_path / "c.sqlite", **kwargs)
    assert len(str(e.value).splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no cache, no file


def _damaged_tables(tmp_path):
    from hicenv.design.table import SHIPPED_TABLE

    good = pd.read_csv(SHIPPED_TABLE)
    out = {
        "nan.csv": good.assign(accuracy=np.where(good.index == 3, np.nan, good["accuracy"])),
        "missing.csv": good.drop(columns=["accuracy_drift_gdc_1y"]),
        "conflict.csv": pd.concat([good, good.iloc[[0]].assign(accuracy=0.99)]),
    }
    for name, df in out.items():
        df.to_csv(tmp_path / name, index=False)
    (tmp_path / "garbage.csv").write_bytes(b"\x00\x01 not a table")
    return out


TABLE_CASES = [
    ("table", "nan.csv", "non-finite|NaN|nan"),
    ("table", "missing.csv", "accuracy_drift_gdc_1y"),
    ("table", "conflict.csv", "disagree|conflict|duplicate"),
    ("table", "none.csv", "does not exist"),
    ("surrogate", "missing.csv", "accuracy_drift_gdc_1y"),
    ("surrogate", "garbage.csv", "garbage.csv"),
    ("surrogate", "none.csv", "does not exist"),
]


@pytest.mark.parametrize("backend,name,match", TABLE_CASES)
def test_damaged_tables_and_benches_are_refused_naming_the_file_or_column(backend, name, match, tmp_path):
    import gymnasium

    import hicenv  # noqa: F401

    _damaged_tables(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    option = "table" if backend == "table" else "bench"
    with pytest.raises(ValueError, match=match) as e:
        gymnasium.make("hicenv/HICDesign-v0", backend=backend, **{option: tmp_path / name})
    assert len(str(e.value).splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "args,match",
    [
        (["--backend", "surrogate", "--table", "t.csv"], "--table is for --backend table"),
        (["--backend", "surrogate", "--budget", "smoke"], "--budget is for --backend train"),
        (["--backend", "table", "--bench", "b.csv"], "--bench is for --backend surrogate"),
        (["--backend", "train", "--bench", "b.csv"], "--bench is for --backend surrogate"),
        (["--dataset", "cifar10"], "--dataset is for --backend train"),
    ],
)
def test_an_option_for_another_backend_is_refused_not_ignored(args, match, tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["rl", "--algo", "random", "--timesteps", "2", "--out", str(tmp_path / "o.csv"), *args])
    assert code == 2 and match in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3", None])
def test_a_count_that_is_not_a_positive_integer_is_refused_by_name(value):
    from hicenv.errors import InputError, check_count

    with pytest.raises(InputError, match=r"^workers must be an integer >= 1, got "):
        check_count(value, "workers")
    check_count(1, "workers")  # the smallest count passes
