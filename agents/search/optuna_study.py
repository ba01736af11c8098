"""Optuna studies over the HIC design space: the study, its objective, workers and the front.

Reads top to bottom: resolve the storage (:mod:`hicenv_agents.search.storage`) and the
sampler, create or load the study (its :class:`~hicenv_agents.search.studyfile.StudySpec`
travels in the study's user attributes, so a worker on another machine needs only the
storage URL and the name), then optimise. Each finished trial stores its designs-table
row as user attributes: the knobs, objectives and main metrics one attribute each (what
optuna-dashboard sorts and plots), the rest in one ``hicenv_rest`` attribute (studies of
older hicenv hold ``hicenv_row`` and a column an attribute, or one ``row`` attribute), so
the Pareto export never retrains.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import optuna

from hicenv.design.backends import backend_options, cache_option, make_backend
from hicenv.design.costs import with_costs
from hicenv.design.objectives import DEFAULT_OBJECTIVES, Reading, objective_values
from hicenv.design.pareto import design_row, distinct, front
from hicenv.design.reward import reward, wear
from hicenv.design.space import KNOBS
from hicenv.errors import InputError, check_count
from hicenv.sim.fingerprint import sim_fingerprint
from hicenv_agents import sigint
from hicenv_agents.search.samplers import make_pruner, make_sampler
from hicenv_agents.search.storage import redact, resolve_storage
from hicenv_agents.search.studyfile import StudySpec

__all__ = [
    "create_or_load",
    "make_objective",
    "run_study",
    "run_worker",
    "designs_frame",
    "objective_names",
    "pareto_of",
]

_SPEC_ATTR = "hicenv_spec"


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """Extrapolated wear within the endurance budget (the constraint value <= 0)."""
    return all(v <= 0 for v in dict(trial.constraints or {}).values())


def _directions(spec: StudySpec) -> list[str]:
    return [o.direction for o in spec.get_objectives()] if spec.mode == "multi" else ["maximize"]


def _metric_names(spec: StudySpec) -> list[str]:
    """The study's value names (optuna-dashboard's axes): the objectives, or ``reward``."""
    return [o.name for o in spec.get_objectives()] if spec.mode == "multi" else ["reward"]


def create_or_load(spec: StudySpec, storage, study_name: str | None = None) -> optuna.Study:
    """Create the study, or load it to resume; an existing study with other objectives is refused."""
    name = study_name or spec.name
    sampler = make_sampler(spec.sampler, spec.seed, space=spec.design_space())
    pruner = make_pruner(spec.pruner)
    try:
        existing = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        existing = None
    if existing is not None:
        stored = existing.user_attrs.get(_SPEC_ATTR)
        dirs = [d.name.lower() for d in existing.directions]
        names = _metric_names(StudySpec.from_dict(stored)) if stored is not None else None
        if dirs != _directions(spec) or (names is not None and names != _metric_names(spec)):
            raise InputError(
                f"study {name!r} exists with objectives {names or dirs}, not {_metric_names(spec)}; "
                "pick another --study-name"
            )
        if stored is not None and StudySpec.from_dict(stored).design_space() != spec.design_space():
            raise InputError(f"study {name!r} exists with another design space; pick another --study-name")
        _say_if_other_code(existing)
        # A resumed study must not replay the sampler's sequence from the start: seed it on
        # how far the study has got (a fresh study keeps the file's seed, so runs reproduce).
        existing.sampler = make_sampler(
            spec.sampler, _resume_seed(spec.seed, len(existing.trials)), space=spec.design_space()
        )
        return existing
    for attempt in range(5):  # two workers creating one new study race on the schema
        try:
            study = optuna.create_study(
                study_name=name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                directions=_directions(spec),
                load_if_exists=True,
            )
            break
        except Exception:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    study.set_user_attr(_SPEC_ATTR, spec.to_dict())
    study.set_user_attr("sim_fingerprint", sim_fingerprint())
    with warnings.catch_warnings():  # experimental since Optuna 3.2, and what optuna-dashboard reads
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(_metric_names(spec))
    if spec.include_fp32:
        _enqueue_baselines(study, spec)
    if spec.sampler == "grid":
        _enqueue_grid(study, spec)
    return study


def _resume_seed(seed: int, done: int) -> int:
    """The sampler seed of a study resumed after ``done`` trials: ``seed`` itself at 0."""
    import numpy as np

    return seed if done == 0 else int(np.random.SeedSequence([seed, done]).generate_state(1)[0])


def _enqueue_grid(study: optuna.Study, spec: StudySpec) -> None:
    """Every grid point as a waiting trial: workers pop each one once (the storage hands a
    waiting trial to one worker), so N workers cover the grid once, not at random."""
    import itertools

    space = spec.design_space()
    for values in itertools.product(*(k.values for k in space.knobs)):
        study.enqueue_trial(dict(zip(space.names, values)), skip_if_exists=True)


def _say_if_other_code(study: optuna.Study) -> None:
    """Warn when a study's trials were made by other simulator code than the running one:
    each trial's row keeps its own ``sim_fingerprint``, so the export can tell them apart."""
    made = {_row(t).get("sim_fingerprint") for t in study.get_trials(deepcopy=False) if _has_row(t)}
    made.discard(None)
    if made - {sim_fingerprint()}:
        warnings.warn(
            f"study {study.study_name!r} holds trials of simulator code {', '.join(sorted(made))}; "
            f"new trials run {sim_fingerprint()} (each row's sim_fingerprint says which)",
            stacklevel=3,
        )


def load_spec(study: optuna.Study) -> StudySpec:
    stored = study.user_attrs.get(_SPEC_ATTR)
    if stored is None:
        raise InputError(f"study {study.study_name!r} was not created by hicenv (no stored spec)")
    return StudySpec.from_dict(stored)


def _enqueue_baselines(study: optuna.Study, spec: StudySpec) -> None:
    """One FP32 baseline trial per width of the space (its bit knobs are ignored)."""
    space = spec.design_space()
    base = {k.name: k.values[0] for k in space.knobs}
    widths = next((k.values for k in space.knobs if k.name == "width"), (None,))
    for w in widths:
        params = dict(base) if w is None else {**base, "width": w}
        study.enqueue_trial(params, user_attrs={"fp32": True}, skip_if_exists=True)


def _check_baselines(space, backend) -> None:
    """Refuse a study whose FP32 baselines (one per width) ``backend`` cannot answer."""
    from hicenv.sim.config import HICConfig

    for width in space.values_of("width"):
        try:
            backend.check(HICConfig(fp32=True, width=width))
        except InputError as e:
            raise InputError(
                f"include_fp32 (a baseline per width of the space): {e}; backend 'train' trains it"
            ) from None


def _report_and_prune(trial: optuna.Trial, epoch: int, m: dict) -> None:
    """The trainer's per-epoch hook: report accuracy, stop the run if the pruner says so."""
    trial.report(m["accuracy"], epoch)
    if trial.should_prune():
        raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")


def make_objective(spec: StudySpec, device: str | None = None, cache="default") -> Callable:
    """The function Optuna calls per trial: suggest, evaluate (cached), record, return.
    Its backend refuses, here and before any study is made, a request it cannot answer."""
    space = spec.design_space()
    weights = spec.reward_weights()
    objectives = spec.get_objectives() if spec.mode == "multi" else ()
    names = [o.name for o in spec.get_objectives()]
    backend = make_backend(
        spec.backend,
        budget=spec.budget,
        table=spec.table,
        bench=spec.bench,
        cache=cache_option(cache),
        device=device,
        **({"dataset": space.dataset} if "dataset" in backend_options(spec.backend) else {}),
    )
    backend.check_request(space, spec.budget, objectives, what=f"study {spec.name!r}")
    try:  # every point the study can propose: a knob value or noise level the backend lacks is refused now
        backend.covered(space, exact=True) if space.searches_noise else backend.prepare(space, (spec.noise,))
    except InputError as e:
        raise InputError(f"study {spec.name!r}: {e}") from None
    if spec.include_fp32:  # enqueued when the study is made: refuse now a baseline the backend cannot answer
        _check_baselines(space, backend)
    how = Reading(space.horizon, weights.compensate)
    snapped = any(k.snapped for k in space.knobs)

    def objective(trial: optuna.Trial):
        if spec.sampler == "grid" and "fixed_params" not in trial.storage.get_trial_system_attrs(trial._trial_id):
            # Every grid point was enqueued at creation; a trial that is not one of them
            # was sampled because another worker took the last one: the grid is covered.
            trial.study.stop()
            raise optuna.TrialPruned("the grid is covered")
        context = {} if space.searches_noise else {"noise": spec.noise}
        config = space.suggest(trial, **context)
        if trial.user_attrs.get("fp32"):
            config = replace(config, fp32=True)
        if snapped:  # the point's values, where a parameter is the continuous draw a value was snapped from
            trial.set_user_attr(POINT_ATTR, {n: space.field_value(config, n) for n in space.names})
        earlier = _earlier_trial(trial)
        if earlier is not None:  # a re-proposal: the study holds its result (same point, same seed)
            endurance = next(iter(earlier.constraints.values()), 0.0)
            _record(trial, {**_row(earlier), "trial": trial.number}, endurance, names)
            trial.set_user_attr(REPEAT_ATTR, earlier.number)
            return earlier.values if spec.mode == "multi" else earlier.value
        on_epoch = None if spec.pruner == "none" or backend.name != "train" else partial(_report_and_prune, trial)
        with _INTERRUPTS.evaluating():
            metrics, _ = backend(config, spec.train_seed, on_epoch)
        metrics = with_costs(metrics, space.deployment, space.costs)
        row = design_row(
            metrics, space.horizon, weights.compensate, names, trial=trial.number, study=trial.study.study_name
        )
        _record(trial, row, wear(metrics) / space.endurance_budget - 1.0, names)
        if spec.mode == "multi":
            return objective_values(metrics, objectives, how)
        return reward(metrics, weights, space.horizon, space.endurance_budget)

    return objective


REPEAT_ATTR = "repeat_of"
"""Trial user attribute of a re-proposed point: the trial that evaluated it. Such a trial is
answered from that one (nothing is evaluated) and does not count towards ``trials``."""


STOPPED_ATTR = "stopped_at_goal"
"""Trial user attribute of a trial pruned before it evaluated anything, because other
processes had filled the study to its goal meanwhile: it is no design."""


POINT_ATTR = "hicenv_point"
"""Trial user attribute, in a space with a snapped knob (:attr:`~hicenv.design.space.Knob.snapped`:
log-scale or unevenly spaced): the design point's knob values (such a knob's parameter is the
draw its value was snapped from)."""


def point_of(trial) -> tuple:
    """The design point a trial evaluated: its knob values, and whether it is the FP32 baseline."""
    values = trial.user_attrs.get(POINT_ATTR) or trial.params
    return (*sorted(values.items()), bool(trial.user_attrs.get("fp32")))


def front_size(study: optuna.Study) -> int:
    """Designs on the study's Pareto front (a re-proposed point's trials are one design):
    ``study.best_trials``'s front, without its deep copy of every trial (it ran after each
    trial, and cost a 60-trial study 2 of its 10 s)."""
    try:
        from optuna.study._multi_objective import _get_pareto_front_trials_by_trials
    except ImportError:  # another Optuna: its public, copying property
        return len({point_of(t) for t in study.best_trials})
    trials = study.get_trials(deepcopy=False)
    constrained = any(len(t.constraints) > 0 for t in trials)  # as best_trials decides it
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    front = _get_pareto_front_trials_by_trials(done, study.directions, consider_constraint=constrained)
    return len({point_of(t) for t in front})


def _earlier_trial(trial: optuna.Trial) -> optuna.trial.FrozenTrial | None:
    """The first finished trial of the study with the same point (None: a new point)."""
    point = point_of(trial)
    for t in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if t.number != trial.number and _has_row(t) and REPEAT_ATTR not in t.user_attrs and point_of(t) == point:
            return t
    return None


def _distinct_done(study: optuna.Study, only: set[int] | None = None) -> int:
    """Finished trials that evaluated a new point (re-proposals do not count); ``only``:
    of these trial numbers."""
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    trials = study.get_trials(deepcopy=False, states=states)
    return sum(
        (only is None or t.number in only) and REPEAT_ATTR not in t.user_attrs and STOPPED_ATTR not in t.user_attrs
        for t in trials
    )


def _optimize_distinct(
    study: optuna.Study,
    objective: Callable,
    target: int,
    size: int,
    progress: bool,
    count: Callable[[optuna.Study], int] = _distinct_done,
) -> None:
    """Run trials until ``count`` (default: the study's distinct evaluated points) reaches
    ``target`` (re-proposals are answered from the study and do not count), or ``size``,
    the points of the space; stop early when ``max(10, target)`` trials of this process in a
    row add no new point (the sampler keeps re-proposing evaluated points, or trials fail).
    Other processes on the study (concurrent ``hicenv study`` runs) count towards the goal
    but not towards the barren run: a trial that starts when the goal is met stops."""
    goal, barren, mine = min(target, size), 0, []

    def counted(trial: optuna.Trial):
        mine.append(trial.number)
        if count(study) >= goal:  # another process filled the study meanwhile
            trial.set_user_attr(STOPPED_ATTR, True)
            trial.study.stop()
            raise optuna.TrialPruned("the study holds its target")
        return objective(trial)

    bar = None
    if progress:  # one bar for the study: its distinct designs, however many rounds it takes
        from tqdm.auto import tqdm

        bar = tqdm(total=goal, initial=min(goal, count(study)), desc=study.study_name, unit="design")
    try:
        while (left := goal - (done := count(study))) > 0 and barren < max(10, target):
            before = len(mine)
            _optimize(study, counted, left, progress, bar, count)
            barren = 0 if count(study) > done else barren + len(mine) - before
    finally:
        if bar is not None:
            bar.close()
    if (done := count(study)) < goal:
        why = f"{barren} trials in a row found no new point (re-proposals or failures)"
    elif goal < target:
        why = "no point of the space is left to evaluate"
    else:
        return
    print(f"{study.study_name}: {why}; stopping at {done} new points", file=sys.stderr)


def _own_new_points(objective: Callable) -> tuple[Callable, Callable[[optuna.Study], int]]:
    """``objective`` wrapped to note the trials this process runs, and a count of those that
    finished with a point new to the study (a worker's share of a study's distinct points)."""
    mine: set[int] = set()

    def tracked(trial: optuna.Trial):
        mine.add(trial.number)
        return objective(trial)

    return tracked, partial(_distinct_done, only=mine)


def designs_frame(study: optuna.Study, only_complete: bool = True):
    """Every finished trial's designs-table row (knobs, objectives, metrics, trial, study)."""
    import pandas as pd

    states = (optuna.trial.TrialState.COMPLETE,) if only_complete else None
    trials = [t for t in study.get_trials(deepcopy=False, states=states) if _has_row(t)]
    return pd.DataFrame([{**_row(t), "feasible": _feasible(t)} for t in trials])


_ROW_MARK = "hicenv_row"
"""Trial user attribute of studies made before :data:`_REST`: the row is stored, one user
attribute per column."""

_REST = "hicenv_rest"
"""Trial user attribute that says the trial's designs-table row is stored: it holds the
row's columns other than :data:`SHOWN_COLUMNS` (which are one user attribute each, so that
optuna-dashboard lists, sorts and plots them) and the order of all of them."""

SHOWN_COLUMNS = frozenset({"fp32", "accuracy", "max_write_cycles", *KNOBS, *DEFAULT_OBJECTIVES})
"""The row's columns stored as attributes of their own, with the study's own objectives: the
knobs, the objectives and the metrics people sort by. Each attribute is one storage call:
all ~150 columns so made cost a journal-file study 15x the time of an in-memory one
(benchmarks/study_storage.py)."""


def _record(trial: optuna.Trial, row: dict, endurance: float, objectives=()) -> None:
    """Store a trial's row and its endurance constraint (feasible when <= 0) where
    optuna-dashboard reads them: the :data:`SHOWN_COLUMNS` each its own user attribute, the
    rest in one, and the constraint in the list-valued ``constraints`` system attribute (the
    dashboard, 0.21, reads only that form; Optuna reads it as constraint "0", and its
    samplers from there, like ``Trial.set_constraint``'s)."""
    row = json.loads(json.dumps(row, default=float))
    shown = SHOWN_COLUMNS | set(objectives)
    for key, value in row.items():
        if key in shown:
            trial.set_user_attr(key, value)
    rest = {k: v for k, v in row.items() if k not in shown}
    trial.set_user_attr(_REST, {"order": list(row), "values": rest})  # also says the row is stored
    trial.storage.set_trial_system_attr(trial._trial_id, "constraints", [float(endurance)])


def _has_row(t: optuna.trial.FrozenTrial) -> bool:
    return _REST in t.user_attrs or t.user_attrs.get(_ROW_MARK) is True or "row" in t.user_attrs


def _row(t: optuna.trial.FrozenTrial) -> dict:
    """A trial's designs-table row (a study made before rows were stored per column keeps
    it in one ``row`` attribute)."""
    if "row" in t.user_attrs:
        return t.user_attrs["row"]
    # An enqueued FP32 baseline's "fp32" flag is overwritten by the row's own fp32 column.
    attrs = {k: v for k, v in t.user_attrs.items() if k not in (_ROW_MARK, _REST)}
    rest = t.user_attrs.get(_REST)
    if rest is None:  # a study made when every column was its own attribute
        return attrs
    merged = {**attrs, **rest["values"]}
    ordered = {k: merged[k] for k in rest["order"] if k in merged}
    return {**ordered, **{k: v for k, v in attrs.items() if k not in ordered}}  # repeat_of and the like last


class _Interrupts:
    """Ctrl-C in a study. While a design point trains, it stops the training at once (the
    trial fails); anywhere else (Optuna writing a trial to its storage, where an exception
    could tear a record or leave a lock file) it stops the study after that write. Either
    way ``hicenv study`` then exits 130."""

    def __init__(self) -> None:
        self.in_evaluation = False
        self.pending = False

    def _handler(self, signum, frame) -> None:
        sigint.mark()
        if self.in_evaluation:
            raise KeyboardInterrupt
        self.pending = True

    @contextlib.contextmanager
    def installed(self):
        import signal
        import threading

        sigint.check()  # a Ctrl-C some code swallowed before the study began still stops it
        self.pending = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def evaluating(self):
        self.raise_if_pending()
        self.in_evaluation = True
        try:
            yield
        finally:
            self.in_evaluation = False

    def raise_if_pending(self) -> None:
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def stop_if_pending(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.pending:
            study.stop()


_INTERRUPTS = _Interrupts()


def _quiet_interrupts() -> None:
    """Optuna logs a trial stopped by Ctrl-C as a failure with its traceback; the CLI says
    "interrupted" instead (a trial failing for any other reason is still logged)."""
    import logging

    log = logging.getLogger("optuna.study._optimize")
    if not any(getattr(f, "_hicenv", False) for f in log.filters):

        def drop(record: logging.LogRecord) -> bool:
            return "KeyboardInterrupt" not in record.getMessage()

        drop._hicenv = True
        log.addFilter(drop)


def _fail_running(study: optuna.Study, numbers: list[int]) -> None:
    """Mark the trials this process started that are still RUNNING as failed."""
    running = {t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
    for n in set(numbers) & running:
        with contextlib.suppress(Exception):  # another process may have finished it meanwhile
            study.tell(n, state=optuna.trial.TrialState.FAIL)


def _stop_when_the_grid_is_taken(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """A grid study's worker stops once no enqueued grid point waits."""
    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        study.stop()


class _LogLines:
    """One line on stderr per finished trial: its number, state, design, objectives, the
    front's size (or the best value), elapsed time and an ETA for this run's trials."""

    def __init__(self, trials: int) -> None:
        self.trials, self.done, self.t0 = trials, 0, time.monotonic()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        import sys

        self.done += 1
        elapsed = time.monotonic() - self.t0
        eta = elapsed / self.done * max(self.trials - self.done, 0)
        values = "" if trial.values is None else " -> " + ", ".join(f"{v:.4g}" for v in trial.values)
        best = (
            f"front {front_size(study)}"
            if len(study.directions) > 1
            else f"best {study.best_value:.4g}"
            if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
            else "best -"
        )
        design = " ".join(f"{k}={v}" for k, v in trial.params.items())
        print(
            f"[{study.study_name}] trial {trial.number} {trial.state.name.lower()} ({self.done}/{self.trials}): "
            f"{design}{values}; {best}; {elapsed:.0f} s, ETA {eta:.0f} s",
            file=sys.stderr,
            flush=True,
        )


def _optimize(study: optuna.Study, objective: Callable, trials: int, progress: bool, bar=None, counted=None) -> None:
    """``study.optimize`` with a bar over trials showing the Pareto-front size (or best value);
    ``bar``: a caller's bar, which then shows ``counted(study)`` (one bar for a whole study
    run in several rounds), else a bar of this call's trials."""
    callbacks, own = [], None
    if progress:
        if bar is None:
            from tqdm.auto import tqdm

            bar = own = tqdm(total=trials, desc=study.study_name, unit="trial", dynamic_ncols=True)

        def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if counted is None:
                bar.update(1)
            else:
                bar.n = min(bar.total, counted(study))
                bar.refresh()
            if len(study.directions) > 1:
                bar.set_postfix(front=front_size(study))
            elif trial.state == optuna.trial.TrialState.COMPLETE:
                bar.set_postfix(best=f"{study.best_value:.4f}")

        callbacks.append(callback)
    else:  # no terminal (a log file, a job scheduler): a line per trial instead of a bar
        callbacks.append(_LogLines(trials))
    if isinstance(study.sampler, optuna.samplers.GridSampler):
        callbacks.append(_stop_when_the_grid_is_taken)
    started: list[int] = []
    _quiet_interrupts()
    callbacks.append(_INTERRUPTS.stop_if_pending)

    def tracked(trial: optuna.Trial):
        started.append(trial.number)
        return objective(trial)

    try:
        with _INTERRUPTS.installed():
            study.optimize(tracked, n_trials=trials, callbacks=callbacks)
        _INTERRUPTS.raise_if_pending()
    except KeyboardInterrupt:
        _fail_running(study, started)  # Ctrl-C: no trial of this process is left RUNNING
        raise
    finally:
        if own is not None:
            own.close()


def run_study(
    spec: StudySpec,
    storage_url: str | None = None,
    study_name: str | None = None,
    device: str | None = None,
    progress: bool = False,
    cache="default",
) -> optuna.Study:
    """Run the study until it holds ``spec.trials`` finished trials (so a rerun resumes)."""
    if spec.backend == "train":  # a dataset that cannot load fails now, before a study or trial is written
        from hicenv.design.backends.train import check_dataset
        from hicenv.sim.data import load_dataset

        check_dataset(spec.dataset)
        load_dataset(spec.dataset)
    objective = make_objective(spec, device, cache)  # its backend refuses what it cannot answer, before a study
    storage = resolve_storage(storage_url)
    study = create_or_load(spec, storage, study_name)
    _evaluate(study, spec, objective, spec.trials, _space_size(spec), progress)
    return study


def _evaluate(
    study, spec: StudySpec, objective: Callable, target: int, size: int, progress: bool, count=_distinct_done
):
    """Run trials until ``count`` reaches ``target``: a grid's points are enqueued once (no
    re-proposals, so trials are counted); other samplers run :func:`_optimize_distinct`."""
    if spec.sampler == "grid":
        _optimize(study, objective, max(0, target - count(study)), progress)
    else:
        _optimize_distinct(study, objective, target, size, progress, count)


def _space_size(spec: StudySpec) -> int:
    """Design points a study of ``spec`` can evaluate (the FP32 baseline: one per width)."""
    space = spec.design_space()
    return math.prod(int(n) for n in space.nvec) + (len(space.values_of("width")) if spec.include_fp32 else 0)


def run_worker(
    storage_url: str, study_name: str, trials: int, device: str | None = None, progress: bool = False, cache="default"
) -> optuna.Study:
    """Join an existing study from another process or machine and evaluate ``trials`` design
    points new to the study (a re-proposed point is answered from the study and does not
    count; on a grid, ``trials`` trials), stopping early as :func:`run_study` does."""
    check_count(trials, "--trials")
    storage = resolve_storage(storage_url, must_exist=True)
    try:
        probe = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        raise InputError(f"no study {study_name!r} in {redact(storage_url)}; create it with hicenv study") from None
    spec = load_spec(probe)
    if device is None and spec.backend == "train":
        device = _pinned_device()
    # Each worker seeds its sampler apart, or two workers would propose the same points.
    sampler = make_sampler(
        spec.sampler, _resume_seed(spec.seed + os.getpid(), len(probe.trials)), space=spec.design_space()
    )
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler, pruner=make_pruner(spec.pruner))
    tracked, count = _own_new_points(make_objective(spec, device, cache))
    _evaluate(study, spec, tracked, trials, _space_size(spec) - _distinct_done(study), progress, count)
    return study


def _pinned_device() -> str | None:
    """With several GPUs, one per worker: ``$LOCAL_RANK`` or the process id picks it."""
    import torch

    n = torch.cuda.device_count()
    if n <= 1:
        return None
    index = int(os.environ.get("LOCAL_RANK", os.getpid())) % n
    return f"cuda:{index}"


def objective_names(study: optuna.Study) -> list[str]:
    """The objectives a stored study's front is of (a study made before objectives were
    chosen: the default ones)."""
    return (
        [o.name for o in load_spec(study).get_objectives()]
        if _SPEC_ATTR in study.user_attrs
        else list(DEFAULT_OBJECTIVES)
    )


def pareto_of(study: optuna.Study):
    """(front, all designs) of a stored study; an empty study is an error. The front is
    Optuna's own (``study.best_trials``: non-dominated among the feasible trials) as
    distinct design points (:func:`~hicenv.design.pareto.distinct`); without a feasible
    trial, or in reward mode, it is :func:`~hicenv.design.pareto.front` of the designs."""
    df = designs_frame(study)
    if df.empty:
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        if done:
            raise InputError(
                f"study {study.study_name!r} has {done} finished trial(s), none with a hicenv design "
                "(no design attributes): not a study hicenv made; no front to export"
            )
        raise InputError(f"study {study.study_name!r} has no finished trials: no front to export")
    names = objective_names(study)
    best = {t.number for t in study.best_trials} if len(study.directions) > 1 else set()
    if best:
        ok = df["trial"].isin(best)
        if "failed" in df:
            ok &= ~df["failed"].astype(bool)
        return distinct(df[ok], names).sort_values(names[min(1, len(names) - 1)]).reset_index(drop=True), df
    feasible = df[df["feasible"]] if "feasible" in df else df
    return front(feasible if len(feasible) else df, names), df
