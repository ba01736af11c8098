"""The train backend: the simulator itself, through the result cache. It answers everything."""

from __future__ import annotations

import os
from typing import Any

from hicenv.design.backends.base import Backend, Declaration
from hicenv.design.cache import cached_evaluate, resolve_cache
from hicenv.errors import InputError, check_device, check_exists
from hicenv.sim.config import HICConfig

__all__ = ["TrainBackend", "check_fits", "check_dataset", "BYTES_PER_WEIGHT"]

BYTES_PER_WEIGHT = 16
"""Training memory a weight needs at least: the weight, its gradient, the optimiser's momentum
and the HIC state (activations come on top, so this is a lower bound)."""


def check_fits(config: HICConfig, depth: int = 32) -> None:
    """Refuse, before any training, a design point whose network torch cannot build or whose
    weights alone would not fit in this machine's memory (``width=1e300`` made a torch
    traceback deep in training). The network is built once per width (on the meta device:
    nothing is allocated), so a step the result cache answers pays nothing for the check."""
    from hicenv.design.sizes import meta_network

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


def check_dataset(dataset, data_root=None) -> None:
    """Refuse, when the backend is made (the data load on first use), a dataset that is
    not a known name or an existing ``.npz`` file, and a ``data_root`` that is no folder."""
    from hicenv.sim.data import DATASETS

    if not isinstance(dataset, (str, os.PathLike)):
        raise InputError(f"dataset must be a name ({', '.join(DATASETS)}) or a .npz path, got {dataset!r}")
    name = os.fspath(dataset)
    if name.endswith(".npz"):
        import zipfile

        check_exists(name, "dataset file")
        if not zipfile.is_zipfile(name):  # numpy's own words for this are about pickles
            raise InputError(f"dataset file {name} is not a .npz archive (numpy.savez writes one)")
    elif name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} or a path ending in .npz")
    if data_root is not None:
        check_exists(data_root, "data_root", folder=True)


class TrainBackend(Backend):
    """The simulator: trains each point under ``budget``, through the result cache.

    ``budget``: a preset name, a dict of fields or a Budget (default ``proxy``);
    ``data_root``: the dataset's folder; ``cache``: the result cache (``"default"``, a
    path, or None for none); ``device``: the torch device. The dataset (the request's
    space names it) loads on first use. A run with an ``on_epoch`` hook (a pruner) always
    trains: a stored result has no epochs to report."""

    name = "train"

    def __init__(
        self,
        budget=None,
        dataset: str = "embedded",
        data_root: str | None = None,
        cache: Any = "default",
        device: str | None = None,
    ) -> None:
        from hicenv.sim.budget import get_budget

        self.budget = get_budget("proxy" if budget is None else budget)
        check_device(device, "torch_device")
        check_dataset(dataset, data_root)
        self.dataset, self.data_root, self.device = dataset, data_root, device
        self.cache = resolve_cache(cache)
        self._ds = None

    def declaration(self) -> Declaration:
        return Declaration(knobs=None, source="simulator")

    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        check_fits(config, self.budget.depth)
        if self._ds is None:
            from hicenv.sim.data import load_dataset

            self._ds = load_dataset(self.dataset, self.data_root)
        metrics, hit = cached_evaluate(
            config, self.budget, seed, self._ds, None if on_epoch else self.cache, device=self.device, on_epoch=on_epoch
        )
        return metrics, "cache" if hit else "train"
