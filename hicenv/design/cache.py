"""A result cache shared by every process on the machine: one SQLite file.

An evaluation is keyed by what determines it: its config (device physics
included), the full budget, the dataset's content fingerprint, the seed and the
simulator's code fingerprint (:mod:`hicenv.sim.fingerprint`); a stored evaluation is
returned instead of training again, and one made by other simulator code never is.
Configs and budgets are keyed normalised (:func:`normalised_config`: the fields that differ from
their defaults), so a new field whose default reproduces the old behaviour leaves every
stored result findable; a cache keyed before normalisation is re-keyed once when opened. SQLite in
WAL mode serialises writers across processes; ``INSERT OR IGNORE`` makes two
processes that finish the same point at once agree on the first result.

Contract (what callers may assume):

* :meth:`ResultCache.get` returns the metrics stored under the key, or None; the key
  holds the current :func:`~hicenv.sim.fingerprint.sim_fingerprint`, so results of other
  code are never returned (until :meth:`ResultCache.restamp` proves them identical);
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

from hicenv.errors import InputError, check_path
from hicenv.sim.config import HICConfig
from hicenv.sim.devices import PCMParams
from hicenv.sim.fingerprint import sim_fingerprint

__all__ = [
    "ResultCache",
    "cache_key",
    "normalised_config",
    "normalised_budget",
    "default_cache_path",
    "resolve_cache",
    "cached_evaluate",
    "MACHINE_KEYS",
]

MACHINE_KEYS = (
    "train_seconds",
    "eval_seconds",
    "images_per_second",
    "machine",
    "python_version",
    "version",
    "torch_version",
    "device",
)
"""Metrics that depend on the machine and the moment, not on what was computed: a re-run
may change them (restamp ignores them, the environment keeps them out of ``info``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    budget TEXT NOT NULL,
    dataset TEXT NOT NULL,
    seed INTEGER NOT NULL,
    version TEXT NOT NULL,  -- the simulator fingerprint (hicenv 0.1 wrote its version string)
    metrics TEXT NOT NULL,
    created REAL NOT NULL
)
"""


_KEY_VERSION = 1
"""``PRAGMA user_version`` of a cache keyed by normalised configs (0: keyed whole)."""


def _canonical(x) -> str:
    return json.dumps(x, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _defaults(cls) -> dict:
    from dataclasses import MISSING, fields

    return {
        f.name: f.default if f.default is not MISSING else f.default_factory()
        for f in fields(cls)
        if f.default is not MISSING or f.default_factory is not MISSING
    }


def _differing(d: dict, defaults: dict) -> dict:
    """The entries of ``d`` that are not at ``defaults``' value (unknown keys are kept)."""
    return {k: v for k, v in d.items() if k not in defaults or _canonical(v) != _canonical(defaults[k])}


def normalised_config(config: dict) -> dict:
    """A config's fields that differ from their defaults (device physics likewise): what keys
    a result. Unlike filling in defaults, this form does not change when a field is added
    with a default that reproduces the code before it."""
    cfg = dict(config)
    if isinstance(cfg.get("pcm"), dict):
        cfg["pcm"] = _differing(cfg["pcm"], {k: float(v) for k, v in _defaults(PCMParams).items()})
    defaults = {**_defaults(HICConfig), "pcm": {}}
    return _differing(cfg, defaults)


def normalised_budget(budget: dict) -> dict:
    """A budget's fields that differ from :class:`~hicenv.sim.budget.Budget`'s defaults."""
    from hicenv.sim.budget import Budget

    return _differing(budget, _defaults(Budget))


def cache_key(config: dict, budget: dict, dataset: str, seed: int, fingerprint: str | None = None) -> str:
    """SHA-256 of the canonical JSON of everything that determines a result: the config and
    the full budget (normalised: :func:`normalised_config`), the dataset's content fingerprint, the seed and the
    simulator's code fingerprint (default: the running code's)."""
    fp = sim_fingerprint() if fingerprint is None else fingerprint
    config, budget = normalised_config(config), normalised_budget(budget)
    return hashlib.sha256(_canonical([config, budget, dataset, seed, fp]).encode()).hexdigest()


def default_cache_path() -> Path:
    """``$HICENV_CACHE``, else ``~/.cache/hicenv/results.sqlite``."""
    env = os.environ.get("HICENV_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hicenv" / "results.sqlite"


class ResultCache:
    """Evaluations stored in one SQLite file, safe for many processes.

    A file that exists is opened and checked (``PRAGMA quick_check``) at construction: a
    damaged one is refused with its path before any work. A new file (and its folder) is
    made only when the first result is read or stored, so a run refused for other bad
    input leaves no cache behind."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        from hicenv.output import check_folder

        self.path = Path(path) if path is not None else default_cache_path()
        if self.path.is_dir():
            raise InputError(f"result cache {self.path} is a folder; give a file (or --cache none)")
        if self.path.exists() and not self.path.is_file():
            raise InputError(f"result cache {self.path} is not a regular file; give a file (or --cache none)")
        check_folder(self.path.parent, f"result cache {self.path}: its folder")
        self._local = threading.local()
        self._opened = False
        if self.path.exists():
            self._open()

    def _open(self) -> None:
        """Make the file (and folder) if need be, set it up and check it, once a process."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"result cache {self.path}: cannot make its folder ({e.strerror})") from None
        sidecars = [Path(f"{self.path}{s}") for s in ("-wal", "-shm")]
        fresh = [p for p in sidecars if not p.exists()]
        try:
            with self._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute(_SCHEMA)
                problems = [r[0] for r in con.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                lines = [line for r in problems for line in str(r).splitlines() if not line.startswith("***")]
                raise sqlite3.DatabaseError(f"damaged: {(lines or problems)[0]}")
            self._rekey()
        except sqlite3.DatabaseError as e:  # not SQLite, damaged, or a file SQLite cannot open
            self._connect().close()
            self._local.con = None
            for p in fresh:  # refused: leave the folder as it was
                p.unlink(missing_ok=True)
            raise InputError(
                f"result cache {self.path} is not a usable SQLite file ({e}); "
                "move it away or pick another with --cache / $HICENV_CACHE"
            ) from None
        self._opened = True

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, the file made and checked first."""
        if not self._opened:
            self._open()
        return self._connect()

    def _rekey(self) -> None:
        """Key a cache made before normalised keys anew, once (one transaction: a second
        process opening it meanwhile waits, then finds it done)."""
        con = self._connect()
        if con.execute("PRAGMA user_version").fetchone()[0] >= _KEY_VERSION:
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            if con.execute("PRAGMA user_version").fetchone()[0] < _KEY_VERSION:
                rows = con.execute("SELECT key, config, budget, dataset, seed, version FROM results").fetchall()
                for key, c, b, d, s, v in rows:
                    new = cache_key(json.loads(c), json.loads(b), d, s, v)
                    if new != key:
                        con.execute("UPDATE OR IGNORE results SET key = ? WHERE key = ?", (new, key))
                con.execute(f"PRAGMA user_version = {_KEY_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

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
        """The stored metrics of this evaluation by the running simulator code, or None.
        ``dataset`` is the dataset's content fingerprint."""
        key = cache_key(config, budget, dataset, seed)
        row = self._db().execute("SELECT metrics FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(
        self, config: dict, budget: dict, dataset: str, seed: int, metrics: dict, fingerprint: str | None = None
    ) -> None:
        """Store ``metrics`` under its key (``fingerprint``: the code that made them, default the running code's)."""
        fp = sim_fingerprint() if fingerprint is None else fingerprint
        key = cache_key(config, budget, dataset, seed, fp)
        row = (key, _canonical(config), _canonical(budget), dataset, seed, fp, json.dumps(metrics), time.time())
        with self._db() as con:  # one transaction
            con.execute("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def fingerprints(self) -> dict[str, int]:
        """How many stored results each simulator fingerprint made."""
        cur = self._db().execute("SELECT version, COUNT(*) FROM results GROUP BY version")
        return dict(cur.fetchall())

    def restamp(self, old: str, check: int = 2, device: str | None = None) -> int:
        """Carry the results of simulator fingerprint ``old`` over to the running code,
        only if re-running the ``check`` cheapest of them reproduces every number exactly
        (timings and provenance aside). Returns how many were carried over; raises
        ``ValueError`` naming the first metric that differs. Re-runs happen on
        ``device``, which should be the kind that made them (bit-identity is per machine)."""
        cur = self._db().execute("SELECT config, budget, dataset, seed, metrics FROM results WHERE version = ?", (old,))
        rows = [(json.loads(c), json.loads(b), d, s, json.loads(m)) for c, b, d, s, m in cur]
        if not rows:
            raise InputError(f"no results of simulator fingerprint {old!r} in {self.path}")
        if old == sim_fingerprint():
            return 0
        cost = lambda r: (r[1].get("train_images") or 10**9) * r[1].get("epochs", 1)  # noqa: E731
        for config, budget, _, seed, metrics in sorted(rows, key=cost)[:check]:
            _check_identical(config, budget, seed, metrics, device)
        for config, budget, dataset, seed, metrics in rows:
            self.put(config, budget, dataset, seed, {**metrics, "sim_fingerprint": sim_fingerprint()})
        return len(rows)

    def __len__(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def rows(self) -> list[dict]:
        """Every stored evaluation's metrics (each carries its config, budget, seed and ``sim_fingerprint``)."""
        cur = self._db().execute("SELECT metrics FROM results ORDER BY created")
        return [json.loads(r[0]) for r in cur]

    def export(self, path: str | os.PathLike) -> Path:
        """Write every evaluation as a table (CSV or Parquet by the suffix), one row a point;
        an empty cache gives the header alone (a table pandas reads back, with no rows)."""
        import pandas as pd

        from hicenv.output import write_table
        from hicenv.rows import flatten, metrics_frame
        from hicenv.sim.budget import Budget
        from hicenv.sim.config import HICConfig

        rows = self.rows()
        if rows:
            return write_table(metrics_frame(rows), path)
        blank = flatten({"config": HICConfig().to_dict(), "budget": Budget().to_dict()})  # every column, no values
        return write_table(pd.DataFrame(columns=list(blank)), path)


def resolve_cache(cache) -> ResultCache | None:
    """None, False or "none": no cache; True or "default": the default file; a path or a ResultCache."""
    if cache is None or cache is False or (isinstance(cache, str) and cache.lower() == "none"):
        return None
    if isinstance(cache, ResultCache):
        return cache
    if cache is True or cache == "default":
        return ResultCache()
    check_path(cache, "cache", "(or 'default', or None for none)")
    return ResultCache(cache)


def _check_identical(config: dict, budget: dict, seed: int, stored: dict, device: str | None) -> None:
    """Re-run one stored evaluation under the running code; a differing number is an error."""
    from hicenv.sim.trainer import evaluate

    fresh = evaluate(config, budget, seed, stored["dataset"], device=device)
    for k in sorted(set(stored) | set(fresh)):
        a, b = stored.get(k), fresh.get(k)
        norm = {"config": normalised_config, "budget": normalised_budget}.get(k)
        if norm is not None and isinstance(a, dict) and isinstance(b, dict):  # a new defaulted field is no change
            a, b = norm(a), norm(b)
        if k not in (*MACHINE_KEYS, "sim_fingerprint") and a != b:
            raise InputError(
                f"re-running {stored['dataset']} seed {seed} with the current code changed {k!r}: "
                "its results are not carried over"
            )


def cached_evaluate(config, budget, seed: int, dataset, cache: ResultCache | None, **kwargs) -> tuple[dict, bool]:
    """:func:`hicenv.sim.trainer.evaluate` through ``cache``: (metrics, whether they came from it).

    ``dataset`` is a name or a loaded :class:`hicenv.sim.data.Dataset`; its content
    fingerprint keys the cache (a name is loaded first).
    """
    from hicenv.sim.budget import get_budget
    from hicenv.sim.data import Dataset, load_dataset
    from hicenv.sim.trainer import evaluate

    budget = get_budget(budget)
    if cache is not None:
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(dataset, kwargs.get("data_root"), kwargs.get("download", False))
        hit = cache.get(config.to_dict(), budget.to_dict(), dataset.fingerprint, seed)
        if hit is not None:
            return hit, True
    metrics = evaluate(config, budget, seed, dataset, **kwargs)
    if cache is not None:
        cache.put(config.to_dict(), budget.to_dict(), dataset.fingerprint, seed, metrics)
    return metrics, False
