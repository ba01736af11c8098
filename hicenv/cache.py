"""A result cache shared by every process on the machine: one SQLite file.

An evaluation is keyed by its config, budget, dataset, seed and the simulator
version; a stored evaluation is returned instead of training again. SQLite in
WAL mode serialises writers across processes; ``INSERT OR IGNORE`` makes two
processes that finish the same point at once agree on the first result.

Contract (what callers may assume):

* :meth:`ResultCache.get` returns the metrics stored under the key, or None;
* :meth:`ResultCache.put` is atomic: a crash leaves the row written or absent;
* any number of processes and threads may share one file; each thread opens
  its own connection.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from . import __version__

__all__ = ["ResultCache", "cache_key", "SIMULATOR_VERSION", "default_cache_path", "resolve_cache", "cached_evaluate", "Evaluator"]

SIMULATOR_VERSION = __version__
"""Part of every key: results of another simulator version are never reused."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    budget TEXT NOT NULL,
    dataset TEXT NOT NULL,
    seed INTEGER NOT NULL,
    version TEXT NOT NULL,
    metrics TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def _canonical(x) -> str:
    return json.dumps(x, sort_keys=True, separators=(",", ":"), allow_nan=True)


def cache_key(config: dict, budget: dict, dataset: str, seed: int, version: str = SIMULATOR_VERSION) -> str:
    """SHA-256 of the canonical JSON of everything that determines a result."""
    return hashlib.sha256(_canonical([config, budget, dataset, seed, version]).encode()).hexdigest()


def default_cache_path() -> Path:
    """``$HICENV_CACHE``, else ``~/.cache/hicenv/results.sqlite``."""
    env = os.environ.get("HICENV_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hicenv" / "results.sqlite"


class ResultCache:
    """Evaluations stored in one SQLite file, safe for many processes."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            con = sqlite3.connect(self.path, timeout=60.0)
            con.execute("PRAGMA busy_timeout=60000")
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def __getstate__(self):  # pickles as its path: each process opens its own connection
        return {"path": self.path}

    def __setstate__(self, state) -> None:
        self.__init__(state["path"])

    def get(self, config: dict, budget: dict, dataset: str, seed: int) -> dict | None:
        key = cache_key(config, budget, dataset, seed)
        row = self._connect().execute("SELECT metrics FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, config: dict, budget: dict, dataset: str, seed: int, metrics: dict) -> None:
        key = cache_key(config, budget, dataset, seed)
        row = (key, _canonical(config), _canonical(budget), dataset, seed, SIMULATOR_VERSION,
               json.dumps(metrics), time.time())
        with self._connect() as con:  # one transaction
            con.execute("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def __len__(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def rows(self) -> list[dict]:
        """Every stored evaluation's metrics (each carries its config, budget, seed, version)."""
        cur = self._connect().execute("SELECT metrics FROM results ORDER BY created")
        return [json.loads(r[0]) for r in cur]

    def export(self, path: str | os.PathLike) -> Path:
        """Write every evaluation as a table (CSV or Parquet by the suffix), one row a point."""
        from .table import metrics_frame, write_table

        return write_table(metrics_frame(self.rows()), path)


def resolve_cache(cache) -> ResultCache | None:
    """None or False: no cache; True or "default": the default file; a path or a ResultCache."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResultCache):
        return cache
    if cache is True or cache == "default":
        return ResultCache()
    return ResultCache(cache)


def cached_evaluate(config, budget, seed: int, dataset, cache: ResultCache | None, **kwargs) -> tuple[dict, bool]:
    """:func:`hicenv.trainer.evaluate` through ``cache``: (metrics, whether they came from it).

    ``dataset`` is a name or a loaded :class:`hicenv.data.Dataset`; its name keys the cache.
    """
    from .trainer import evaluate, get_budget

    budget = get_budget(budget)
    name = dataset if isinstance(dataset, str) else dataset.name
    if cache is not None:
        hit = cache.get(config.to_dict(), budget.to_dict(), name, seed)
        if hit is not None:
            return hit, True
    metrics = evaluate(config, budget, seed, dataset, **kwargs)
    if cache is not None:
        cache.put(config.to_dict(), budget.to_dict(), name, seed, metrics)
    return metrics, False


class Evaluator:
    """Design point -> metrics: from a lookup table, or trained through the cache.

    The environment and the Optuna objective share it. The dataset loads on first
    use. A run with an ``on_epoch`` hook (a pruner) always trains: a stored result
    has no epochs to report.
    """

    def __init__(self, budget=None, dataset: str = "embedded", data_root: str | None = None, table=None,
                 cache: ResultCache | None = None, device: str | None = None) -> None:
        self.budget, self.dataset, self.data_root = budget, dataset, data_root
        self.table, self.cache, self.device = table, cache, device
        self._ds = None

    def __call__(self, config, seed: int, on_epoch=None) -> tuple[dict, str]:
        """(metrics, source), source being ``table``, ``cache`` or ``train``."""
        if self.table is not None:
            return self.table.lookup(config), "table"
        if self._ds is None:
            from .data import load_dataset

            self._ds = load_dataset(self.dataset, self.data_root)
        metrics, hit = cached_evaluate(config, self.budget, seed, self._ds, None if on_epoch else self.cache,
                                       device=self.device, on_epoch=on_epoch)
        return metrics, "cache" if hit else "train"
