"""The table backend: a lookup table of evaluated points (:class:`~hicenv.design.table.LookupTable`)."""

from __future__ import annotations

from typing import Any

from hicenv.design.backends.base import Backend, Declaration, held_settings
from hicenv.design.space import KNOBS, DesignSpace
from hicenv.sim.config import HICConfig
from hicenv.sim.result import Result

__all__ = ["TableBackend"]

EXACT = frozenset({"device.endurance_cycles"})
"""What a table answers for any value: the endurance fraction is the stored write count over
the device's endurance, recomputed per point."""


class TableBackend(Backend):
    """A lookup table (``table``: a path, a DataFrame or a LookupTable; None: the shipped one).

    It varies the table's knobs over the values it holds, holds every other setting at the
    value in its columns (device model, rounding, physics, budget, dataset) and answers the
    metrics it has columns for."""

    name = "table"

    def __init__(self, table: Any = None, budget: Any = None) -> None:
        from hicenv.design.table import LookupTable

        self.table = table if isinstance(table, LookupTable) else LookupTable(table)
        self._declared = self._declare()
        if budget is not None:
            self._check_budget(budget, self._declared, "")

    def _declare(self) -> Declaration:
        df = self.table.df
        columns = set(df.columns)
        metrics = {k for k in Result.__annotations__ if k in columns}
        metrics |= {"accuracy_drift", "accuracy_drift_gdc"}  # the per-horizon columns (the table requires them)
        source = f"lookup table {self.table.source}"
        return Declaration(
            knobs=frozenset(KNOBS),
            held=held_settings(df, KNOBS, source),
            exact=EXACT,
            metrics=frozenset(metrics),
            source=source,
        )

    def declaration(self) -> Declaration:
        return self._declared

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        m = self.table.lookup(config)
        if m.get("max_write_cycles") is not None:  # exact for any endurance (EXACT)
            m["endurance_fraction"] = float(m["max_write_cycles"]) / config.pcm.endurance_cycles
        return m, "table"

    def covered(self, space: DesignSpace, exact: bool) -> tuple[DesignSpace, tuple | None]:
        self.check_request(space)
        return self.table.search_space(space, exact=exact)
