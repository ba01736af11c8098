"""The command line, run as a user runs it: in a subprocess."""
import json
import os
import subprocess
import sys

import pytest

KEYS = ["accuracy", "accuracy_drift", "accuracy_drift_gdc", "model_size_bits", "fp32_size_bits", "n_weights",
        "max_write_cycles", "endurance_fraction", "train_seconds", "failed", "config", "budget", "seed", "version",
        "reference_size_bits", "size_ratio", "sim_fingerprint", "dataset_fingerprint"]


def hicenv(*args, timeout=300):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", "hicenv.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


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
    from hicenv.fingerprint import sim_fingerprint

    assert m["sim_fingerprint"] == sim_fingerprint()
    assert json.loads(out.read_text()) == m


def test_fp32_flag_and_human_summary():
    p = hicenv("evaluate", "--fp32", "--budget", "smoke", "--width", "0.5")
    assert p.returncode == 0, p.stderr
    assert "FP32 baseline, width 0.5" in p.stdout and "of the FP32 width-1 model" in p.stdout


def test_device_flags_and_lsb_encoding_reach_the_result():
    p = hicenv("evaluate", "--budget", "smoke", "--width", "0.5", "--lsb-encoding", "differential",
               "--device.endurance-cycles", "1e6", "--device.threshold-uS", "6", "--json")
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
        (["--lsb-encoding", "signed"], "lsb-encoding"),
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
