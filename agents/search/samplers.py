"""Optuna samplers and pruners by name: the registries study files, the CLI and errors read.

A sampler factory takes ``(seed, space)`` (``space``: the study's
:class:`~hicenv.design.space.DesignSpace`) and returns a seeded sampler.
Constraints reach TPE, NSGA-II and GP through ``Trial.set_constraint``. Each sampler but
the grid is wrapped in :class:`~hicenv_agents.search.distinct.Distinct`, which proposes only
points the study does not hold. To add a sampler, add one entry here.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from hicenv.errors import InputError
from hicenv_agents.search.distinct import Distinct

__all__ = ["SAMPLERS", "PRUNERS", "NSGA2_POPULATION", "make_sampler", "make_pruner"]

NSGA2_POPULATION = 8
"""NSGA-II generation size: small, because a study on this CPU runs tens of trials, not thousands."""


def _grid(seed: int, space) -> optuna.samplers.BaseSampler:
    if space is None:
        raise InputError("the grid sampler needs the design space")
    return optuna.samplers.GridSampler({k.name: list(k.values) for k in space.knobs}, seed=seed)


SAMPLERS: dict[str, Callable[[int, object], optuna.samplers.BaseSampler]] = {
    "tpe": lambda seed, space: optuna.samplers.TPESampler(seed=seed, multivariate=True),
    "nsga2": lambda seed, space: optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION),
    "gp": lambda seed, space: optuna.samplers.GPSampler(seed=seed),
    "random": lambda seed, space: optuna.samplers.RandomSampler(seed=seed),
    "grid": _grid,
}
"""Samplers by name: TPE (multivariate), NSGA-II, Gaussian process, random, and the
grid over every point of the space."""

PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "none": optuna.pruners.NopPruner,
    "median": optuna.pruners.MedianPruner,
    "halving": optuna.pruners.SuccessiveHalvingPruner,
}
"""Pruners by name (reward mode only: Optuna does not prune multi-objective studies)."""


def make_sampler(name: str, seed: int, space=None, distinct: bool = True) -> optuna.samplers.BaseSampler:
    """A seeded sampler by name (:data:`SAMPLERS`). Given the ``space`` (and unless
    ``distinct`` is false), it proposes only points the study does not hold
    (:class:`~hicenv_agents.search.distinct.Distinct`; the grid does so by itself)."""
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler {name!r}; samplers: {', '.join(SAMPLERS)}")
    sampler = SAMPLERS[name](seed, space)
    if not distinct or space is None or isinstance(sampler, optuna.samplers.GridSampler):
        return sampler
    return Distinct(sampler, space, seed=seed)


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """A pruner by name (:data:`PRUNERS`)."""
    if name not in PRUNERS:
        raise InputError(f"unknown pruner {name!r}; pruners: {', '.join(PRUNERS)}")
    return PRUNERS[name]()
