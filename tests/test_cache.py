"""The shared result cache: keys, atomic writes, many processes at once."""

import multiprocessing as mp

import pandas as pd
import pytest

from hicenv.design.cache import ResultCache, cache_key, cached_evaluate
from hicenv.sim.budget import Budget
from hicenv.sim.config import HICConfig

TINY = Budget(name="tiny", train_images=64, epochs=1, test_images=32, drift_test_images=16, batch_size=32, depth=8)


def fake_metrics(i):
    return {
        "accuracy": i / 100,
        "config": HICConfig(msb_bits=1 + i % 8).to_dict(),
        "budget": {"name": "b"},
        "failed": False,
    }


def test_key_depends_on_everything_that_determines_a_result():
    c, b = HICConfig().to_dict(), TINY.to_dict()
    k = cache_key(c, b, "embedded", 0)
    assert k == cache_key(dict(reversed(list(c.items()))), b, "embedded", 0)  # order-free
    assert k != cache_key(HICConfig(width=2).to_dict(), b, "embedded", 0)
    assert k != cache_key(c, {**b, "epochs": 2}, "embedded", 0)
    assert k != cache_key(c, b, "cifar10", 0)
    assert k != cache_key(c, b, "embedded", 1)
    assert k != cache_key(c, b, "embedded", 0, fingerprint="0" * 16)  # other simulator code
    assert k != cache_key(HICConfig(lsb_encoding="differential").to_dict(), b, "embedded", 0)
    from hicenv.sim.devices import PCMParams

    assert k != cache_key(HICConfig(pcm=PCMParams(endurance_cycles=1e6)).to_dict(), b, "embedded", 0)


def test_put_get_and_first_writer_wins(tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    c, b = HICConfig().to_dict(), TINY.to_dict()
    assert cache.get(c, b, "d", 0) is None
    cache.put(c, b, "d", 0, {"accuracy": 0.5})
    cache.put(c, b, "d", 0, {"accuracy": 0.9})
    assert cache.get(c, b, "d", 0) == {"accuracy": 0.5} and len(cache) == 1
    assert ResultCache(tmp_path / "c.sqlite").get(c, b, "d", 0) == {"accuracy": 0.5}  # persisted


def _writer(path, start):
    cache = ResultCache(path)
    b = TINY.to_dict()
    for i in range(start, start + 30):
        cache.put(HICConfig(msb_bits=1 + i % 8, lsb_bits=1 + i // 8).to_dict(), b, "d", 0, fake_metrics(i))


def test_many_processes_write_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    ResultCache(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, s)) for s in (0, 10, 20, 30)]  # overlapping keys
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(ResultCache(path)) == 60  # 0..59, each once


def test_cached_evaluate_trains_once(tmp_path, monkeypatch):
    cache = ResultCache(tmp_path / "c.sqlite")
    m1, hit1 = cached_evaluate(HICConfig(), TINY, 0, "embedded", cache)
    import hicenv.sim.trainer

    def boom(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(hicenv.sim.trainer, "evaluate", boom)
    m2, hit2 = cached_evaluate(HICConfig(), TINY, 0, "embedded", cache)
    assert (hit1, hit2) == (False, True)
    assert m2["accuracy"] == m1["accuracy"] and m2["train_loss"] == m1["train_loss"]
    with pytest.raises(AssertionError, match="trained again"):
        cached_evaluate(HICConfig(), TINY, 1, "embedded", cache)  # another seed is another result


def test_export_csv_and_parquet_round_trip(tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    m, _ = cached_evaluate(HICConfig(), TINY, 0, "embedded", cache)
    df = pd.read_csv(cache.export(tmp_path / "all.csv"))
    assert len(df) == 1 and df.loc[0, "accuracy"] == pytest.approx(m["accuracy"])
    assert df.loc[0, "accuracy_drift_gdc_1y"] == pytest.approx(m["accuracy_drift_gdc"]["1y"])
    assert df.loc[0, "msb_bits"] == 4 and df.loc[0, "budget"] == "tiny"
    with pytest.raises(ValueError, match=".csv or .parquet"):
        cache.export(tmp_path / "all.xlsx")


def test_an_empty_cache_exports_a_header_pandas_reads_back(tmp_path):
    df = pd.read_csv(ResultCache(tmp_path / "c.sqlite").export(tmp_path / "none.csv"))
    assert len(df) == 0 and {"msb_bits", "accuracy_drift_gdc_1y", "budget", "device.g_max_uS"} <= set(df.columns)


_PROBE = """
import sys
import hicenv
from hicenv.design.cache import ResultCache
from hicenv.sim.config import HICConfig
assert hicenv.__file__.startswith(sys.argv[2]), hicenv.__file__  # the copy, not the installed package
hit = ResultCache(sys.argv[1]).get(HICConfig().to_dict(), {"name": "b"}, "d", 0)
print("hit" if hit is not None else "miss")
"""


def _lookup_with(copy_root, cache_path) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(copy_root)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(cache_path), str(copy_root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=copy_root,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_simulator_change_misses_the_cache_and_a_comment_does_not(tmp_path):
    import shutil
    from pathlib import Path

    import hicenv

    cache = ResultCache(tmp_path / "c.sqlite")
    cache.put(HICConfig().to_dict(), {"name": "b"}, "d", 0, {"accuracy": 0.5})
    copy = tmp_path / "src"
    shutil.copytree(Path(hicenv.__file__).parent, copy / "hicenv", ignore=shutil.ignore_patterns("_data"))
    assert _lookup_with(copy, cache.path) == "hit"  # the same code: the stored result is served
    hybrid = copy / "hicenv" / "sim" / "hybrid.py"
    text = hybrid.read_text()
    hybrid.write_text(text.replace('"""Hybrid weights:', '# a new comment\n"""Hybrid weights, reworded:', 1))
    assert _lookup_with(copy, cache.path) == "hit"  # comments and docstrings do not make other results
    line = "        self.saturations += ((q_new < self.qmin) | (q_new > self.qmax)).sum()"
    assert line in text
    hybrid.write_text(text.replace(line, line.replace(".sum()", ".sum() * 2")))
    assert _lookup_with(copy, cache.path) == "miss"  # one changed line of the simulator: a miss


def test_restamp_carries_results_over_only_when_a_rerun_is_identical(tmp_path):
    from hicenv.sim.data import load_dataset

    cache = ResultCache(tmp_path / "c.sqlite")
    ds = load_dataset("embedded")
    m, _ = cached_evaluate(HICConfig(), TINY, 0, ds, None)
    c, b = HICConfig().to_dict(), TINY.to_dict()
    cache.put(c, b, ds.fingerprint, 0, m, fingerprint="old-identical")
    cache.put(c, b, ds.fingerprint, 1, {**m, "seed": 1}, fingerprint="old-identical")
    assert cache.get(c, b, ds.fingerprint, 0) is None  # other code's results are not current
    assert cache.restamp("old-identical", check=1) == 2
    assert cache.get(c, b, ds.fingerprint, 0)["accuracy"] == m["accuracy"]
    assert cache.get(c, b, ds.fingerprint, 1) is not None
    cache.put(c, b, ds.fingerprint, 0, {**m, "accuracy": m["accuracy"] + 0.01}, fingerprint="old-different")
    with pytest.raises(ValueError, match="'accuracy'"):
        cache.restamp("old-different", check=1)
    assert set(cache.fingerprints()) >= {"old-identical", "old-different"}


def _with_new_field(monkeypatch, default):
    """HICConfig as it would be with one more field (``new_knob``, defaulting to ``default``),
    where the cache reads the design point's fields."""
    import dataclasses

    from hicenv.design import cache

    newer = dataclasses.make_dataclass(
        "HICConfig", [("new_knob", float, dataclasses.field(default=default))], bases=(HICConfig,), frozen=True
    )
    monkeypatch.setattr(cache, "HICConfig", newer)
    return newer


def test_a_new_defaulted_field_leaves_stored_results_findable(tmp_path, monkeypatch):
    store = ResultCache(tmp_path / "c.sqlite")
    before = HICConfig(msb_bits=3).to_dict()  # stored by the code without the field
    store.put(before, TINY.to_dict(), "fp", 0, fake_metrics(7))
    newer = _with_new_field(monkeypatch, 0.5)
    assert store.get(newer(msb_bits=3).to_dict(), TINY.to_dict(), "fp", 0)["accuracy"] == 0.07
    # The field at another value is another design point: not served.
    assert store.get(newer(msb_bits=3, new_knob=2.0).to_dict(), TINY.to_dict(), "fp", 0) is None
    # A key the running code does not know as a field is kept in the key: not assumed a default.
    assert store.get(before, {**TINY.to_dict(), "not_yet_a_field": None}, "fp", 0) is None
    assert cache_key(before, TINY.to_dict(), "fp", 0) == cache_key(newer(msb_bits=3).to_dict(), TINY.to_dict(), "fp", 0)


def test_a_cache_keyed_before_normalisation_is_rekeyed_once(tmp_path):
    import hashlib
    import json
    import sqlite3

    from hicenv.design.cache import _canonical
    from hicenv.sim.fingerprint import sim_fingerprint

    path = tmp_path / "old.sqlite"
    assert len(ResultCache(path)) == 0  # the schema, made on first use
    config, budget = HICConfig(msb_bits=5).to_dict(), TINY.to_dict()
    old_key = hashlib.sha256(_canonical([config, budget, "fp", 0, sim_fingerprint()]).encode()).hexdigest()
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (old_key, _canonical(config), _canonical(budget), "fp", 0, sim_fingerprint(), json.dumps({"a": 1}), 0.0),
        )
        con.execute("PRAGMA user_version = 0")  # as a cache of the code before normalised keys
    assert ResultCache(path).get(config, budget, "fp", 0) == {"a": 1}
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
