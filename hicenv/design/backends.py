"""Backends: where a design point's metrics come from.

A backend answers ``backend(config, seed, on_epoch=None) -> (metrics, source)``
(``source``: ``train``, ``cache``, ``table``, ...) and says which space it can answer
(:meth:`Backend.covered`). The environments and the Optuna objective take one by
name from :data:`BACKENDS`; a new backend (a surrogate, a remote service) is one
class here and one registry entry, and every CLI choice, study-file check and error
message reads the registry.

Contract: the metrics are a :class:`~hicenv.sim.result.Result` (a lookup backend
returns the keys the reward and objectives read: the scalars and the accuracy at
every horizon); the same (config, seed) gives the same numbers.
"""

from __future__ import annotations

import os
from typing import Any

from hicenv.design.backend import Backend
from hicenv.design.cache import cached_evaluate, resolve_cache
from hicenv.design.space import DesignSpace
from hicenv.design.surrogate import SurrogateBackend, meta_network
from hicenv.errors import InputError
from hicenv.sim.config import HICConfig

__all__ = ["Backend", "TrainBackend", "TableBackend", "BACKENDS", "make_backend", "check_fits"]

BYTES_PER_WEIGHT = 16
"""Training memory a weight needs at least: the weight, its gradient, the optimiser's momentum
and the HIC state (activations come on top, so this is a lower bound)."""


def check_fits(config: HICConfig, depth: int = 32) -> None:
    """Refuse, before any training, a design point whose network torch cannot build or whose
    weights alone would not fit in this machine's memory (``width=1e300`` made a torch
    traceback deep in training). The network is built once per width (on the meta device:
    nothing is allocated), so a step the result cache answers pays nothing for the check."""
    try:
        n = sum(p.numel() for p in meta_network(config.width, depth)[0].parameters())
    except (RuntimeError, OverflowError, ValueError, TypeError, MemoryError) as e:  # torch says "overflow" as any
        raise InputError(
            f"width={config.width:g}: torch cannot build that network ({str(e).splitlines()[0]})"
        ) from None
    have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else None
    if have and n * BYTES_PER_WEIGHT > have:
        raise InputError(
            f"width={config.width:g}: ResNet-{depth} has {n:.3g} weights, at least "
            f"{n * BYTES_PER_WEIGHT / 2**30:.0f} GiB to train; this machine has {have / 2**30:.0f} GiB"
        )


class TrainBackend(Backend):
    """The simulator: trains each point under ``budget``, through the result cache.

    The dataset loads on first use. A run with an ``on_epoch`` hook (a pruner) always
    trains: a stored result has no epochs to report."""

    name = "train"

    def __init__(
        self,
        budget=None,
        dataset: str = "embedded",
        data_root: str | None = None,
        cache: Any = "default",
        device: str | None = None,
        **_: Any,
    ) -> None:
        from hicenv.sim.trainer import get_budget

        self.budget = get_budget("proxy" if budget is None else budget)
        self.dataset, self.data_root, self.device = dataset, data_root, device
        self.cache = resolve_cache(cache)
        self._ds = None

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        check_fits(config, self.budget.depth)
        if self._ds is None:
            from hicenv.sim.data import load_dataset

            self._ds = load_dataset(self.dataset, self.data_root)
        metrics, hit = cached_evaluate(
            config, self.budget, seed, self._ds, None if on_epoch else self.cache, device=self.device, on_epoch=on_epoch
        )
        return metrics, "cache" if hit else "train"


class TableBackend(Backend):
    """A lookup table (:class:`~hicenv.design.table.LookupTable`; None: the shipped one)."""

    name = "table"

    def __init__(self, table: Any = None, **_: Any) -> None:
        from hicenv.design.table import LookupTable

        self.table = table if isinstance(table, LookupTable) else LookupTable(table)

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        return self.table.lookup(config), "table"

    def covered(self, space: DesignSpace, exact: bool) -> tuple[DesignSpace, tuple | None]:
        return self.table.search_space(space, exact=exact)


BACKENDS: dict[str, type[Backend]] = {
    "train": TrainBackend,
    "table": TableBackend,
    "surrogate": SurrogateBackend,
}
"""Backends by name (``backend=`` of the environments, ``backend`` of study files)."""


def make_backend(name: str, **options: Any) -> Backend:
    """The backend ``name`` with its options (``budget``, ``dataset``, ``data_root``, ``cache``,
    ``device`` for ``train``; ``table`` for ``table``; ``bench`` for ``surrogate``); options
    another backend takes are ignored."""
    if name not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}, got {name!r}")
    return BACKENDS[name](**options)
