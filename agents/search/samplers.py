"""Optuna samplers and pruners by name: the registries study files, the CLI and errors read.

A sampler factory takes ``(seed, space)`` (``space``: the study's
:class:`~hicenv.design.space.DesignSpace`) and returns a seeded sampler.
Constraints reach TPE, NSGA-II and GP through ``Trial.set_constraint``. To add a
sampler, add one entry here.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from hicenv.errors import InputError

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


def make_sampler(name: str, seed: int, space=None) -> optuna.samplers.BaseSampler:
    """A seeded sampler by name (:data:`SAMPLERS`)."""
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler {name!r}; samplers: {', '.join(SAMPLERS)}")
    return SAMPLERS[name](seed, space)


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """A pruner by name (:data:`PRUNERS`)."""
    if name not in PRUNERS:
        raise InputError(f"unknown pruner {name!r}; pruners: {', '.join(PRUNERS)}")
    return PRUNERS[name]()
