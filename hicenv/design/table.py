"""Tables of evaluated design points, looked up by their knobs.

A table has one row per evaluation: the knobs (:data:`~hicenv.design.space.KNOBS`:
``msb_bits``, ``lsb_bits``, ``acc_bits``, ``width``, ``lsb_encoding``, ``noise``), ``fp32``,
every other setting it was made at (one value each: the table backend,
:mod:`hicenv.design.backends.table`, holds them), the scalar metrics, and one
column per drift horizon (``accuracy_drift_1y``, ``accuracy_drift_gdc_1y``, ...).
The cache exports one (:meth:`hicenv.design.cache.ResultCache.export`); the package ships
one made with the ``smoke`` budget over a coarse grid (``hicenv table``
regenerates it, and a larger one is made the same way on a GPU). The table
backend answers from such a table the way tabular NAS benchmarks do: thousands
of environment steps in seconds.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hicenv.design.space import DEVICE_PREFIX, KNOBS, DesignSpace, Knob, point_key
from hicenv.errors import InputError, check_exists, check_path
from hicenv.output import read_table, write_table
from hicenv.rows import drift_columns, metrics_frame
from hicenv.sim.config import HICConfig
from hicenv.sim.result import HORIZONS_S, Result

__all__ = ["metrics_frame", "unflatten", "LookupTable", "SHIPPED_TABLE", "SHIPPED_GRID", "make_table", "write_table"]

SHIPPED_TABLE = Path(__file__).parents[1] / "_data" / "smoke_table.csv"
SHIPPED_GRID = DesignSpace(
    knobs=(
        Knob("msb_bits", (2, 4)),
        Knob("lsb_bits", (2, 4, 6)),
        Knob("acc_bits", (4, 8, 32)),
        Knob("width", (0.5, 1.0)),
        Knob("noise", (0.5, 1.0)),
    )
)
"""The coarse grid of the shipped table: 72 points, every knob at 2 or more values."""
REQUIRED = (
    *KNOBS,
    "fp32",
    "accuracy",
    "size_ratio",
    "reference_size_bits",
    "model_size_bits",
    "train_state_bits",
    "endurance_fraction",
)
"""Columns a lookup table must have (the reward and the objectives read them)."""
_WARNED: set[str] = set()


def _none_if_nan(v):
    """A table's empty cell (NaN) as None, so equal rows give equal metrics."""
    return None if isinstance(v, float) and v != v else v


def unflatten(row: dict) -> dict:
    """A table row back into the metrics keys the reward reads (the scalar ones and the
    accuracy at each horizon)."""
    m = {k: _none_if_nan(row[k]) for k in Result.__annotations__ if k in row}
    for kind in ("accuracy_drift", "accuracy_drift_gdc"):
        m[kind] = {h: row[f"{kind}_{h}"] for h in HORIZONS_S}
    m["failed"] = bool(row.get("failed", False))
    if m["failed"]:
        m["accuracy_drift"] = m["accuracy_drift_gdc"] = None
    return m


class LookupTable:
    """Evaluated points answered by their knobs; the grid is what the table covers."""

    def __init__(self, source: str | os.PathLike | pd.DataFrame | None = None) -> None:
        if source is None:
            source = SHIPPED_TABLE
        if isinstance(source, pd.DataFrame):
            df = source.copy()
            self.source = "DataFrame"
        else:
            check_path(source, "table", "or a DataFrame")
            path = Path(source)
            check_exists(path, "lookup table")
            try:
                df = read_table(path)
            except Exception as e:  # pandas' and pyarrow's many parse errors
                raise InputError(f"lookup table {path} cannot be read as a table: {str(e).splitlines()[0]}") from None
            self.source = str(path)
        if "lsb_encoding" not in df.columns:  # tables from before the knob: one device per level
            df = df.assign(lsb_encoding="unsigned")
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise InputError(
                f"lookup table {self.source} lacks column(s) {missing} "
                "(made by an older hicenv? regenerate it with hicenv table)"
            )
        self._say_if_foreign(df)
        self._check_knobs(df)
        df = df[~df["fp32"].astype(bool)].reset_index(drop=True)
        if df.empty:
            raise InputError(f"lookup table {self.source} has no HIC rows")
        df = self._validated(df)
        self.df = df
        self._records = df.to_dict("records")
        self._index = {point_key(r): i for i, r in enumerate(df[list(KNOBS)].itertuples(index=False))}

    def _check_knobs(self, df: pd.DataFrame) -> None:
        """Refuse an empty knob cell, naming the column and the row (its line in a CSV)."""
        for c in [*KNOBS, "fp32"]:
            empty = df[c].isna()
            if empty.any():
                raise InputError(
                    f"lookup table {self.source}: column {c} is empty at row {int(empty.values.argmax()) + 1} "
                    f"(CSV line {int(empty.values.argmax()) + 2}); every row needs every knob"
                )

    def _validated(self, df: pd.DataFrame) -> pd.DataFrame:
        """Refuse, when the table loads, what would otherwise fail or mislead mid-search:
        missing drift columns, non-numbers where a finished run has numbers, and
        several rows for one point that disagree (identical repeats are kept once)."""
        drift = drift_columns()
        missing = [c for c in drift if c not in df.columns]
        if missing:
            raise InputError(f"lookup table {self.source} lacks column(s) {missing}")
        failed = df["failed"].astype(bool) if "failed" in df.columns else pd.Series(False, index=df.index)
        numbers = [c for c in REQUIRED if c not in KNOBS and c != "fp32"] + drift
        for c in numbers:
            values = pd.to_numeric(df[c], errors="coerce")
            must = ~failed if c.startswith("accuracy") else pd.Series(True, index=df.index)
            bad = must & ~np.isfinite(values.astype(float))
            if bad.any():
                row = df.loc[bad.idxmax()]
                point = ", ".join(f"{k}={row[k]}" for k in KNOBS)
                raise InputError(f"lookup table {self.source}: column {c} is not a finite number at ({point})")
            if c.startswith("accuracy") and ((values < 0) | (values > 1)).any():
                row = df.loc[((values < 0) | (values > 1)).idxmax()]
                point = ", ".join(f"{k}={row[k]}" for k in KNOBS)
                raise InputError(
                    f"lookup table {self.source}: column {c} is {row[c]} at ({point}); an accuracy is in [0, 1]"
                )
        keys = df[list(KNOBS)].apply(lambda r: point_key(r.tolist()), axis=1)
        repeated = keys.duplicated(keep=False)
        if repeated.any():
            for key, g in df[repeated].groupby(keys[repeated], sort=False):
                if len(g[numbers].drop_duplicates()) > 1:
                    point = ", ".join(f"{k}={v}" for k, v in zip(KNOBS, key))
                    seeds = sorted(g["seed"].tolist()) if "seed" in g.columns else []
                    raise InputError(
                        f"lookup table {self.source} holds {len(g)} different rows for ({point})"
                        + (f", seeds {seeds}" if seeds else "")
                        + "; keep one row per point"
                    )
            df = df[~keys.duplicated(keep="first")].reset_index(drop=True)
        return df

    def _say_if_foreign(self, df: pd.DataFrame) -> None:
        """Warn once per table if other simulator code made its rows: they still answer."""
        from hicenv.sim.fingerprint import sim_fingerprint

        col = df["sim_fingerprint"] if "sim_fingerprint" in df.columns else pd.Series(["unknown"])
        made = sorted({str(v) if isinstance(v, str) else "unknown" for v in col})
        self.fingerprints = tuple(made)
        if made != [sim_fingerprint()] and self.source not in _WARNED:
            _WARNED.add(self.source)
            warnings.warn(
                f"lookup table {self.source} was made by simulator code {', '.join(made)}, not the "
                f"running {sim_fingerprint()}: its numbers are that code's",
                stacklevel=3,
            )

    def knob_values(self) -> dict[str, tuple]:
        return {k: tuple(sorted(self.df[k].unique().tolist())) for k in KNOBS}

    def space(self, base: DesignSpace | None = None) -> DesignSpace:
        """The design space this table covers: knobs with one value become fixed."""
        base = base or DesignSpace()
        knobs, fixed = [], []
        for name, vals in self.knob_values().items():
            if len(vals) > 1:
                knobs.append(Knob(name, vals))
            else:
                fixed.append((name, vals[0]))
        return DesignSpace(
            knobs=tuple(knobs),
            fixed=tuple(fixed),
            dataset=base.dataset,
            device=base.device,
            endurance_budget=base.endurance_budget,
            deployment=base.deployment,
            costs=base.costs,
            horizon=base.horizon,
        )

    def search_space(
        self, space: DesignSpace, noise_knob: bool | None = None, exact: bool = False
    ) -> tuple[DesignSpace, tuple]:
        """The space a lookup-mode search runs over, and the table's noise levels.

        ``exact``: ``space`` itself (its knob lists, fixed fields and defaults), every
        value of which the table must cover; otherwise the table's whole grid narrowed
        by ``space``'s fixed fields. Settings carry over either way. Unless noise is
        searched (``noise_knob``, default: whether ``space`` searches it) it leaves the
        action. A value the table lacks is an error naming the knob and what it covers."""
        device_knobs = [n for n in space.names if n.startswith(DEVICE_PREFIX)]
        if device_knobs:
            raise InputError(f"a lookup table cannot answer device knobs {device_knobs}: use the train backend")
        other = [n for n in space.names if n not in KNOBS]
        if other:
            raise InputError(f"a lookup table answers the knobs {list(KNOBS)}, not {other}: use the train backend")
        covers = self.knob_values()
        noise_knob = space.searches_noise if noise_knob is None else noise_knob
        names = [k for k in KNOBS if k != "noise" or noise_knob]
        checked = names if exact else [k for k, _ in space.fixed if k in KNOBS]
        for name in checked:
            held = {point_key([c]) for c in covers[name]}
            off = [v for v in space.values_of(name) if point_key([v]) not in held]
            if off:
                raise InputError(
                    f"{name}={off} is not in lookup table {self.source} (it covers {', '.join(map(str, covers[name]))})"
                )
        covered = space if exact else self.space(space)
        if not exact:
            for name, value in space.fixed:
                if name in covered.names:
                    covered = covered.fix(name, value)
        levels = tuple(covers["noise"])
        if not noise_knob and "noise" in covered.names:
            covered = covered.fix("noise", levels[0])
        return covered, levels

    def lookup(self, config: HICConfig) -> dict:
        """Metrics of ``config`` (with its config and budget); a point off the table is an error."""
        key = point_key(getattr(config, k) for k in KNOBS)
        i = self._index.get(key)
        if i is None:
            point = ", ".join(f"{k}={getattr(config, k)}" for k in KNOBS)
            raise InputError(f"design point ({point}) is not in lookup table {self.source}")
        row = self._records[i]
        m = unflatten(row)
        m["config"] = config.to_dict()
        m["budget"] = {"name": row.get("budget", "table")}
        return m

    def __len__(self) -> int:
        return len(self.df)


def make_table(
    space: DesignSpace = SHIPPED_GRID,
    budget="smoke",
    seed: int = 0,
    out: str | os.PathLike | None = None,
    cache=None,
    progress: bool = True,
) -> Path:
    """Evaluate every point of ``space`` (through ``cache``) and write the table to ``out``
    (.csv or .parquet; checked before any training, and never a default inside the package)."""
    from hicenv.output import check_output

    if out is None:
        raise InputError("make_table needs out=, the table file (.csv or .parquet)")
    check_output(out, "table", (".csv", ".parquet"))
    from hicenv.design.cache import cached_evaluate, resolve_cache
    from hicenv.errors import check_seed
    from hicenv.sim.budget import get_budget
    from hicenv.sim.data import load_dataset

    check_seed(seed)  # before the cache is made or any point trains
    budget = get_budget(budget)
    cache = resolve_cache(cache)
    ds = load_dataset(space.dataset)
    points = list(space.points())
    rows = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(points), desc="table", unit="point")
    for cfg in points:
        rows.append(cached_evaluate(cfg, budget, seed, ds, cache)[0])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return write_table(metrics_frame(rows), out)
