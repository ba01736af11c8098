"""The shared result cache: keys, atomic writes, many processes at once."""
import multiprocessing as mp

import pandas as pd
import pytest

from hicenv.cache import ResultCache, cache_key, cached_evaluate
from hicenv.config import HICConfig
from hicenv.trainer import Budget

TINY = Budget(name="tiny", train_images=64, epochs=1, test_images=32, drift_test_images=16, batch_size=32, depth=8)


def fake_metrics(i):
    return {"accuracy": i / 100, "config": HICConfig(msb_bits=1 + i % 8).to_dict(), "budget": {"name": "b"},
            "failed": False}


def test_key_depends_on_everything_that_determines_a_result():
    c, b = HICConfig().to_dict(), TINY.to_dict()
    k = cache_key(c, b, "embedded", 0)
    assert k == cache_key(dict(reversed(list(c.items()))), b, "embedded", 0)  # order-free
    assert k != cache_key(HICConfig(width=2).to_dict(), b, "embedded", 0)
    assert k != cache_key(c, {**b, "epochs": 2}, "embedded", 0)
    assert k != cache_key(c, b, "cifar10", 0)
    assert k != cache_key(c, b, "embedded", 1)
    assert k != cache_key(c, b, "embedded", 0, version="0.0.0")


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
    import hicenv.trainer

    def boom(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(hicenv.trainer, "evaluate", boom)
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
