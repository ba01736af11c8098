"""A sampler wrapper that proposes only design points the study has not evaluated.

An Optuna sampler on a finite grid re-proposes points it has seen: TPE concentrates on a
good region, NSGA-II's children repeat their parents, GP's acquisition peaks on a sampled
point. A study answers a re-proposal from its earlier trial, but that is a second COMPLETE
trial of one design: optuna-dashboard's Pareto front and Optuna's ``best_trials`` count it
twice (74 "best trials" for 51 designs), and the trial spends a sampler call for nothing.
Marking it PRUNED, FAIL or infeasible instead would mislead the sampler.

:class:`Distinct` asks the inner sampler for a whole point at the start of each trial; if
the point (its knob values, after snapping) is one the study already holds (finished,
running or queued), it asks again, up to :data:`ATTEMPTS` times or until the sampler
proposes one held point twice in a row, then draws uniformly among the points the study
does not hold. Only an exhausted space, or two workers proposing one point at the same
moment, gives a trial a held point (the study answers it from the earlier trial, as before).

It also keeps the parameter a study stores apart from the one the inner sampler works in:
an unevenly spaced numeric knob (``acc_bits`` of 4, 6, 8, 12, 16, 32) is stored as an
integer range, so that plots order it as numbers, while the inner sampler draws it as a
category among its values, so that no value is favoured for its wide gap.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from hicenv.design.space import DesignSpace, point_key

__all__ = ["ATTEMPTS", "Distinct"]

ATTEMPTS = 8
"""Inner-sampler proposals per trial before a uniform draw among the points not yet held."""

_UNIFORM_TRIES = 256
"""Uniform draws over the grid before the unheld points are listed (a nearly exhausted space)."""

_LIST_LIMIT = 1_000_000
"""Points of the largest grid whose unheld points are listed; past it the inner sampler's
last proposal stands (a re-proposal, which the study answers)."""

_HELD = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


class _Replay:
    """A stand-in trial for :meth:`DesignSpace.suggest_values`: it notes each parameter's
    distribution and answers with the given parameters (a parameter not given: its low end)."""

    def __init__(self, params: dict | None = None):
        self.params, self.distributions = dict(params or {}), {}

    def _answer(self, name: str, distribution: BaseDistribution, first: Any) -> Any:
        self.distributions[name] = distribution
        return self.params.get(name, first)

    def suggest_categorical(self, name, choices):
        return self._answer(name, CategoricalDistribution(choices), choices[0])

    def suggest_int(self, name, low, high, step=1, log=False):
        return self._answer(name, IntDistribution(low, high, step=step, log=log), low)

    def suggest_float(self, name, low, high, *, step=None, log=False):
        return self._answer(name, FloatDistribution(low, high, step=step, log=log), low)


class Distinct(optuna.samplers.BaseSampler):
    """``inner``, proposing only points of ``space`` that the study does not hold (module doc).

    Every parameter is sampled at once, in :meth:`sample_relative`, over the space's whole
    search space. ``seed`` seeds the uniform draws."""

    def __init__(self, inner: optuna.samplers.BaseSampler, space: DesignSpace, seed: int | None = None):
        self._inner, self._space = inner, space
        self._rng = np.random.default_rng(seed)
        recorder = _Replay()
        space.suggest_values(recorder)
        self._stored = stored = recorder.distributions  # the distributions a trial stores
        self._inner_space = {  # what the inner sampler works in: an uneven numeric knob as a category
            k.name: CategoricalDistribution(list(k.values)) if k.snapped and not k.log else stored[k.name]
            for k in space.knobs
            if len(k) > 1
        }
        self._keys: dict[int, tuple] = {}  # finished trials' points, by trial id

    def __str__(self) -> str:
        return f"Distinct({self._inner})"

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()
        self._rng = np.random.default_rng()

    def infer_relative_search_space(self, study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._stored)

    def sample_relative(self, study, trial: FrozenTrial, search_space: dict) -> dict[str, Any]:
        fixed = trial.system_attrs.get("fixed_params", {})
        if not search_space or set(search_space) <= set(fixed):
            return {}
        held = self._held(study, trial)
        fp32 = bool(trial.user_attrs.get("fp32"))
        params, last = {}, None
        for _ in range(ATTEMPTS):
            params = {**self._propose(study, trial), **fixed}
            key = self._key(params, fp32)
            if key not in held:
                return params
            if key == last:  # the sampler repeats itself (GP's acquisition peak): asking again is no use
                break
            last = key
        return self._unheld(held, fixed, fp32) or params

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial: FrozenTrial) -> None:
        self._inner.before_trial(study, trial)

    def after_trial(self, study, trial: FrozenTrial, state, values) -> None:
        self._inner.after_trial(study, trial, state, values)

    # -- the point -------------------------------------------------------------------------
    def _propose(self, study, trial: FrozenTrial) -> dict:
        """The inner sampler's point: its relative sample over the whole space, the rest sampled
        independently (its first trials, or a sampler without relative sampling)."""
        params = self._inner.sample_relative(study, trial, self._inner_space) or {}
        for name, distribution in self._inner_space.items():
            if name not in params:
                params[name] = self._inner.sample_independent(study, trial, name, distribution)
        return params

    def _key(self, params: dict, fp32: bool) -> tuple:
        values = self._space.suggest_values(_Replay(params))
        return (*point_key(values.values()), fp32)

    def _held(self, study, trial: FrozenTrial) -> set[tuple]:
        """The points of the study's other trials that are finished, running or queued (a
        trial that has not suggested its whole point yet holds none)."""
        held = set()
        for t in study.get_trials(deepcopy=False, states=_HELD):
            key = self._keys.get(t._trial_id)
            if key is None and t.number != trial.number:
                params = {**t.system_attrs.get("fixed_params", {}), **t.params}
                if not self._stored.keys() <= params.keys():
                    continue
                key = self._key(params, bool(t.user_attrs.get("fp32")))
                if t.state.is_finished():
                    self._keys[t._trial_id] = key
            if key is not None:
                held.add(key)
        return held

    def _unheld(self, held: set, fixed: dict, fp32: bool) -> dict | None:
        """A point drawn uniformly among those the study does not hold (None: there is none)."""
        knobs = [k for k in self._space.knobs if len(k) > 1]
        for _ in range(_UNIFORM_TRIES):
            params = {**{k.name: k.values[self._rng.integers(len(k))] for k in knobs}, **fixed}
            if self._key(params, fp32) not in held:
                return params
        if np.prod([len(k) for k in knobs], dtype=float) > _LIST_LIMIT:
            return None
        left = []
        for values in itertools.product(*(k.values for k in knobs)):
            params = {**dict(zip([k.name for k in knobs], values)), **fixed}
            if self._key(params, fp32) not in held:
                left.append(params)
        return left[self._rng.integers(len(left))] if left else None
