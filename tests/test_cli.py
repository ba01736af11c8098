"""The command line, run as a user runs it: its main() in-process, and in a subprocess where a process matters."""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import run_cli

from hicenv.sim.result import Result

KEYS = list(Result.__annotations__)  # every documented key (hicenv.sim.result)


def hicenv(*args, timeout=300):
    """The command in this process (tests/conftest.py's run_cli); what needs a process of its
    own (``python -m``, the installed script, Ctrl-C) starts one below."""
    return run_cli(*args)


@pytest.mark.slow
def test_evaluate_smoke_json_has_the_documented_keys(tmp_path):
    out = tmp_path / "m.json"
    p = hicenv("evaluate", "--budget", "smoke", "--json", "--seed", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    for k in KEYS:
        assert k in m, k
    assert m["budget"]["name"] == "smoke" and m["seed"] == 1 and m["failed"] is False
    assert m["config"]["msb_bits"] == 4 and m["n_weights"] == 466_618
    assert m["reference_size_bits"] == 466_618 * 32 and m["size_ratio"] == m["model_size_bits"] / (466_618 * 32)
    from hicenv.sim.fingerprint import sim_fingerprint

    assert m["sim_fingerprint"] == sim_fingerprint()
    assert json.loads(out.read_text()) == m


def test_fp32_flag_and_human_summary():
    p = hicenv("evaluate", "--fp32", "--budget", "smoke", "--width", "0.5")
    assert p.returncode == 0, p.stderr
    assert "FP32 baseline, width 0.5" in p.stdout and "of the FP32 width-1 model" in p.stdout


def test_device_flags_and_lsb_encoding_reach_the_result():
    p = hicenv(
        "evaluate",
        "--budget",
        "smoke",
        "--width",
        "0.5",
        "--lsb-encoding",
        "differential",
        "--device.endurance-cycles",
        "1e6",
        "--device.threshold-uS",
        "6",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    assert m["config"]["lsb_encoding"] == "differential" and m["config"]["pcm"]["threshold_uS"] == 6.0
    assert m["endurance_fraction"] == m["max_write_cycles"] / 1e6
    assert m["n_multilevel_devices"] == 2 * m["n_hic_weights"]


@pytest.mark.parametrize(
    "args,field",
    [
        (["--msb-bits", "-1"], "msb_bits"),
        (["--msb-bits", "10", "--lsb-bits", "8"], "msb_bits \\+ lsb_bits"),
        (["--acc-bits", "1"], "acc_bits"),
        (["--width", "0"], "width"),
        (["--noise", "-1"], "noise"),
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent/fmnist"], "does not exist"),
        (["--budget", "huge"], "unknown budget"),
        (["--lsb-encoding", "signed"], "lsb.encoding"),
        (["--device-model", "rram"], "device_model"),
        (["--budget.lr", "inf"], "Budget.lr"),
        (["--device", "bogus"], "torch device"),
        (["--device.endurance-cycles", "0"], "endurance_cycles"),
        (["--device.threshold-uS", "30"], "threshold_uS"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(args, field, tmp_path):
    out = tmp_path / "m.json"
    p = hicenv("evaluate", *args, "--out", str(out), timeout=60)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    import re

    assert re.search(field, p.stderr), p.stderr
    assert not out.exists()  # nothing half-written


def test_evaluate_has_a_flag_for_every_config_field():
    from dataclasses import fields

    from hicenv.sim.budget import Budget
    from hicenv.sim.config import HICConfig
    from hicenv.sim.devices import PCMParams

    text = hicenv("evaluate", "--help").stdout
    flags = {w.split("=")[0] for w in text.replace("[", " ").replace("]", " ").split() if w.startswith("--")}
    for cls, prefix, skip in ((HICConfig, "", {"pcm"}), (PCMParams, "device.", set()), (Budget, "budget.", {"name"})):
        for f in fields(cls):
            if f.name not in skip:
                assert f"--{prefix}{f.name.replace('_', '-')}" in flags, f.name


def test_budget_flags_change_the_budget_and_say_so(tmp_path):
    out = tmp_path / "m.json"
    p = hicenv(
        "evaluate",
        "--budget",
        "smoke",
        "--budget.train-images",
        "256",
        "--budget.depth",
        "8",
        "--width",
        "0.5",
        "--json",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    m = json.loads(out.read_text())
    assert m["train_images"] == 256 and m["budget"]["depth"] == 8 and m["steps"] == 256 // 32
    assert m["budget"]["name"] == "smoke+train_images=256,depth=8"


def test_a_bug_keeps_its_traceback_and_is_not_exit_2(monkeypatch, capsys):
    import hicenv.sim.trainer as trainer
    import hicenv_agents.cli as cli

    def broken(*a, **k):
        raise ValueError("a numpy-style failure deep inside")  # not an InputError: a bug

    monkeypatch.setattr(trainer, "evaluate", broken)
    with pytest.raises(ValueError, match="deep inside"):
        cli.main(["evaluate", "--budget", "smoke"])
    from hicenv.errors import InputError

    def bad(*a, **k):
        raise InputError("msb_bits must be in [1, 15]")

    monkeypatch.setattr(trainer, "evaluate", bad)
    assert cli.main(["evaluate", "--budget", "smoke"]) == 2
    assert capsys.readouterr().err.strip() == "hicenv evaluate: error: msb_bits must be in [1, 15]"


def test_choices_come_from_the_registries():
    from hicenv.design.backends import BACKENDS
    from hicenv_agents.search.compare import AGENTS
    from hicenv_agents.search.rl import ALGOS

    text = hicenv("rl", "--help").stdout
    assert all(a in text for a in ALGOS) and all(b in text for b in BACKENDS)
    assert all(a in hicenv("compare", "--help").stdout for a in AGENTS)
    # a new registry entry is a new choice, with no other edit
    code = (
        "import sys; from hicenv_agents.search import rl; rl.ALGOS['my-algo'] = rl.ALGOS['ppo']; "
        "import hicenv_agents.cli as c; c.main(['rl', '--help'])"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "my-algo" in shown


@pytest.mark.parametrize(
    "args,env,match",
    [
        (
            ["rl", "--backend", "train", "--budget", "smoke", "--algo", "random", "--timesteps", "1"],
            {"HICENV_CACHE": "CORRUPT"},
            "result cache .* is not a usable SQLite file",
        ),
        (["table", "--space", "MISSING"], {}, "--space .*: No such file"),
        (["table", "--space", "CORRUPT"], {}, "--space .* is not JSON"),
        (
            ["rl", "--backend", "train", "--cache", "DIR", "--algo", "random", "--timesteps", "1"],
            {},
            "result cache .* is a folder",
        ),
    ],
)
def test_bad_files_are_one_line_not_a_traceback(tmp_path, args, env, match):
    corrupt = tmp_path / "corrupt"
    corrupt.write_text("not sqlite, not JSON")
    (tmp_path / "dir").mkdir()
    names = {"CORRUPT": str(corrupt), "MISSING": str(tmp_path / "missing.json"), "DIR": str(tmp_path / "dir")}
    args = [names.get(a, a) for a in args]
    out = ["--out", str(tmp_path / "o.csv")]
    p = subprocess.run(
        [sys.executable, "-m", "hicenv_agents.cli", *args, *out],
        capture_output=True,
        text=True,
        env={**os.environ, **{k: names.get(v, v) for k, v in env.items()}},
        timeout=300,
    )
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert re.search(match, p.stderr), p.stderr
    assert corrupt.read_text() == "not sqlite, not JSON"  # never overwritten


def test_python_dash_m_hicenv_is_the_command():
    p = subprocess.run([sys.executable, "-m", "hicenv", "--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == f"hicenv {hicenv_version()}"


def hicenv_version() -> str:
    from hicenv import __version__

    return __version__


def test_version_and_help_answer_without_importing_torch():
    probe = (
        "import sys\nfrom hicenv_agents.cli import main\n"
        "for argv in (['--version'], ['--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stderr.strip() == "False", p.stderr
    assert "compare" in p.stdout and "hicenv " in p.stdout  # the help still lists every command


def test_help_shows_defaults_and_a_default_output_is_never_silently_replaced(tmp_path):
    assert "(default 2000)" in hicenv("rl", "--help").stdout
    run = [sys.executable, "-m", "hicenv_agents.cli", "rl", "--algo", "random", "--timesteps", "3"]
    first = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert first.returncode == 0 and (tmp_path / "designs-random_1.csv").exists(), first.stderr
    (tmp_path / "designs-ppo_7.csv").write_text("another algorithm's run\n")
    text = (tmp_path / "designs-random_1.csv").read_text()
    again = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and (tmp_path / "designs-random_2.csv").exists(), (
        again.stderr
    )  # numbered, like TensorBoard
    assert (tmp_path / "designs-random_1.csv").read_text() == text  # the first run's file untouched
