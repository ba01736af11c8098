"""The search objectives, registered once: what a study, an agent comparison and a front optimise.

An :class:`Objective` says how it is read from a result (a design's metrics), in which
direction it is better, which metrics it needs (so that a backend that cannot supply
them refuses it before any work) and how its axis is scaled for a hypervolume.
Everything that handles objectives reads :data:`OBJECTIVES`: the designs-table columns
(:func:`hicenv.design.pareto.design_row`), dominance and fronts, the plots, Optuna's
directions and metric names, the hypervolume of ``hicenv compare`` and ``hicenv rl``,
and the environment's ``info["objectives"]``. Adding an objective is one entry here
(and its metric, where the simulator does not compute it yet).

Values are read with a :class:`Reading`: the drift horizon and whether accuracy is read
with drift compensation. A failed (diverged) run reads as the worst value of a maximised
accuracy (0), so it is dominated rather than dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from hicenv.errors import InputError

__all__ = [
    "Objective",
    "Reading",
    "OBJECTIVES",
    "DEFAULT_OBJECTIVES",
    "get_objectives",
    "objective_values",
    "to_min",
    "hv_points",
    "hv_reference",
]


@dataclass(frozen=True)
class Reading:
    """How accuracy objectives are read from a result."""

    horizon: str = "1y"
    """Drift horizon (``0s``, ``1h``, ``1d``, ``1mo``, ``1y``)."""
    compensate: bool = True
    """Read accuracy with global drift compensation."""


def _unit(space) -> float:
    return 1.0


def _zero(space) -> float:
    return 0.0


def _no_sd(sd: dict, row: dict) -> float | None:
    return None


def _horizon_accuracy_sd(sd: dict, row: dict) -> float | None:
    """The compensated reading at the row's horizon (the search's default)."""
    return sd.get(f"accuracy_drift_gdc_{row.get('horizon', '1y')}")


def _accuracy_sd(sd: dict, row: dict) -> float | None:
    return sd.get("accuracy")


def _wear_sd(name: str, sd: dict, row: dict) -> float | None:
    """The delta method on the surrogate's target log10(1 + cycles): sd(y) ~ y ln(10) sd(log10)."""
    if sd.get("log_max_write_cycles") is None or row.get(name) is None:
        return None
    return float(row[name]) * math.log(10) * sd["log_max_write_cycles"]


def _no_law(law: dict, row: dict) -> list | None:
    return None


def _horizon_accuracy_law(law: dict, row: dict) -> list | None:
    """The compensated reading at the row's horizon (as :func:`_horizon_accuracy_sd`)."""
    return law.get(f"accuracy_drift_gdc_{row.get('horizon', '1y')}")


def _accuracy_law(law: dict, row: dict) -> list | None:
    return law.get("accuracy")


def _wear_law(name: str, law: dict, row: dict) -> list | None:
    """A wear objective is proportional to the write count: its quantiles are the row's value
    times each quantile's count, 10^q - 1 of the target q = log10(1 + cycles), over the row's
    count (the law's median). A design answered with no writes keeps its 0: no spread, as the
    delta method gives it."""
    q, cycles, y = law.get("log_max_write_cycles"), row.get("max_write_cycles"), row.get(name)
    if q is None or cycles is None or y is None:
        return None
    if not cycles:
        return [float(y)] * len(q)
    return [float(y) * (10.0**v - 1.0) / float(cycles) for v in q]


@dataclass(frozen=True)
class Objective:
    """One search objective. ``read`` gives a float (None where the metric is unknown).

    Every function of an entry is a module-level one, so that objectives pickle (``hicenv
    compare --workers`` sends them to worker processes)."""

    name: str
    """Its column in designs tables, its metric name in Optuna and optuna-dashboard."""
    direction: str
    """``maximize`` or ``minimize``."""
    read: Callable[[dict, Reading], float | None]
    """The value of a result (a design's metrics) under a :class:`Reading`."""
    needs: tuple[str, ...]
    """The metric keys ``read`` uses: a backend that does not answer them all refuses the objective."""
    label: str
    """Axis label of plots."""
    hv_reference: Callable[[object], float]
    """The worst value that still adds hypervolume, given the design space (objective units)."""
    hv_scale: Callable[[object], float] = _unit
    """The unit of the objective's normalised hypervolume axis, given the design space."""
    exact: bool = False
    """A function of the design point alone (size, area, inference energy): no training
    seed or device draw moves it, so a front's uncertainty is nothing in it."""
    surrogate_sd: Callable[[dict, dict], float | None] = _no_sd
    """The surrogate's predictive standard deviation of the objective, from a design's
    ``surrogate_std`` (each target's) and its row (None: the surrogate predicts no target
    it is made from)."""
    surrogate_law: Callable[[dict, dict], list | None] = _no_law
    """The surrogate's predictive law of the objective, as its quantiles at
    :data:`hicenv.design.surrogate.LAW_SCORES`, from a design's ``surrogate_law`` (each
    target's) and its row (None: as ``surrogate_sd``). A monotone function of a target
    has that function of the target's quantiles."""

    @property
    def sign(self) -> float:
        """+1 for a minimised objective, -1 for a maximised one (minimisation form)."""
        return -1.0 if self.direction == "maximize" else 1.0


def _accuracy(metrics: dict, how: Reading) -> float:
    if metrics.get("failed"):
        return 0.0
    return float(metrics["accuracy_drift_gdc" if how.compensate else "accuracy_drift"][how.horizon])


def _post_training_accuracy(metrics: dict, how: Reading) -> float:
    return 0.0 if metrics.get("failed") else float(metrics["accuracy"])


def _size_ratio(metrics: dict, how: Reading) -> float | None:
    return None if metrics.get("size_ratio") is None else float(metrics["size_ratio"])


def _endurance_fraction(metrics: dict, how: Reading) -> float | None:
    v = metrics.get("endurance_fraction")
    return None if v is None else float(v)


def _train_state_ratio(metrics: dict, how: Reading) -> float:
    return float(metrics["train_state_bits"]) / float(metrics["reference_size_bits"])


def _size_bound(space) -> float:
    """A size that bounds every point of a space whose widest network has width ``w``: FP32 at
    width w is at most w^2 the width-1 reference (convolutions grow as w^2, the digital first
    and last layers as w); 1.125 w^2 leaves room."""
    return 1.125 * max(space.values_of("width")) ** 2


def _wear_bound(space) -> float:
    """The endurance fraction one evaluated training may use: the budget over the lifetime's trainings."""
    return space.endurance_budget / space.deployment.trainings


def _lifetime_wear(metrics: dict, how: Reading) -> float | None:
    v = metrics.get("lifetime_wear")
    return None if v is None else float(v)


def _lifetime_bound(space) -> float:
    """The lifetime's wear a space allows: its endurance budget."""
    return space.endurance_budget


def _metric(name: str):
    def read(metrics: dict, how: Reading) -> float | None:
        v = metrics.get(name)
        return None if v is None else float(v)

    return read


def _area(metrics: dict, how: Reading) -> float | None:
    return _metric("area_mm2")(metrics, how)


def _train_energy(metrics: dict, how: Reading) -> float | None:
    return _metric("train_energy_j")(metrics, how)


def _inference_energy(metrics: dict, how: Reading) -> float | None:
    return _metric("inference_energy_j")(metrics, how)


def _widest_fp32_costs(space) -> dict:
    """The hardware costs of the FP32 network at the space's widest width, with a float
    accumulator's worth of SRAM per weight added: a bound on every point's area and energy."""
    from hicenv.design.costs import hardware_costs

    width = max(space.values_of("width"))
    return hardware_costs({"config": {"fp32": True, "width": width}}, space.deployment, space.costs)


def _area_bound(space) -> float:
    """Twice the widest FP32 network's SRAM: room for a float accumulator beside the devices."""
    return 2.0 * _widest_fp32_costs(space)["area_mm2"]


def _train_energy_bound(space) -> float:
    """Twice the widest FP32 network's training energy."""
    return 2.0 * _widest_fp32_costs(space)["train_energy_j"]


def _inference_energy_bound(space) -> float:
    """Twice the widest FP32 network's inference energy."""
    return 2.0 * _widest_fp32_costs(space)["inference_energy_j"]


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective(
            "horizon_accuracy",
            "maximize",
            _accuracy,
            ("accuracy_drift", "accuracy_drift_gdc"),
            "accuracy at the drift horizon",
            hv_reference=_zero,
            surrogate_sd=_horizon_accuracy_sd,
            surrogate_law=_horizon_accuracy_law,
        ),
        Objective(
            "accuracy",
            "maximize",
            _post_training_accuracy,
            ("accuracy",),
            "accuracy right after training",
            hv_reference=_zero,
            surrogate_sd=_accuracy_sd,
            surrogate_law=_accuracy_law,
        ),
        Objective(
            "size_ratio",
            "minimize",
            _size_ratio,
            ("size_ratio",),
            "inference model size / FP32 size",
            hv_reference=_size_bound,
            exact=True,
        ),
        Objective(
            "endurance_fraction",
            "minimize",
            _endurance_fraction,
            ("endurance_fraction",),
            "endurance fraction of the evaluated run (most-written device)",
            hv_reference=_wear_bound,
            hv_scale=_wear_bound,
            surrogate_sd=partial(_wear_sd, "endurance_fraction"),
            surrogate_law=partial(_wear_law, "endurance_fraction"),
        ),
        Objective(
            "lifetime_wear",
            "minimize",
            _lifetime_wear,
            ("max_write_cycles", "steps"),
            "lifetime wear (endurance fraction of the most-written device)",
            hv_reference=_lifetime_bound,
            hv_scale=_lifetime_bound,
            surrogate_sd=partial(_wear_sd, "lifetime_wear"),
            surrogate_law=partial(_wear_law, "lifetime_wear"),
        ),
        Objective(
            "area_mm2",
            "minimize",
            _area,
            (),
            "area (mm^2: PCM devices, accumulator and digital SRAM)",
            hv_reference=_area_bound,
            hv_scale=_area_bound,
            exact=True,
        ),
        Objective(
            "train_energy_j",
            "minimize",
            _train_energy,
            (),
            "energy of one deployment training (J)",
            hv_reference=_train_energy_bound,
            hv_scale=_train_energy_bound,
        ),
        Objective(
            "inference_energy_j",
            "minimize",
            _inference_energy,
            (),
            "inference energy per image (J)",
            hv_reference=_inference_energy_bound,
            hv_scale=_inference_energy_bound,
            exact=True,
        ),
        Objective(
            "train_state_ratio",
            "minimize",
            _train_state_ratio,
            ("train_state_bits", "reference_size_bits"),
            "accumulator memory / FP32 size",
            hv_reference=_size_bound,
            exact=True,
        ),
    )
}
"""Objectives by name (``objectives = [...]`` of study files, ``objectives=`` of the env and
``hicenv compare``/``rl``)."""
DEFAULT_OBJECTIVES = ("horizon_accuracy", "size_ratio", "lifetime_wear")
"""What a search optimises unless told: accuracy after drift, model size, wear over the deployment."""


def get_objectives(names: Sequence[str] | None = None) -> tuple[Objective, ...]:
    """The registered objectives ``names`` (default :data:`DEFAULT_OBJECTIVES`), in order;
    an unknown, repeated or empty list is an error naming what is known."""
    if names is None:
        names = DEFAULT_OBJECTIVES
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise InputError(f"objectives must be a list of names (of {', '.join(OBJECTIVES)}), got {names!r}")
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        raise InputError(f"unknown objective(s) {unknown}; objectives: {', '.join(OBJECTIVES)}")
    if not names:
        raise InputError(f"objectives must name at least one of {', '.join(OBJECTIVES)}")
    if len(set(names)) != len(names):
        raise InputError(f"an objective appears twice: {list(names)}")
    return tuple(OBJECTIVES[n] for n in names)


def objective_values(metrics: dict, objectives: Sequence[Objective], how: Reading) -> tuple[float, ...]:
    """Each objective's value for one result (NaN where a metric is unknown)."""
    out = []
    for o in objectives:
        v = o.read(metrics, how)
        out.append(math.nan if v is None else v)
    return tuple(out)


def to_min(values: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """Rows of objective values in minimisation form (maximised ones negated)."""
    v = np.asarray(values, dtype=float)
    return v * np.array([o.sign for o in objectives])[: v.shape[-1]]


def hv_points(designs, objectives: Sequence[Objective], space) -> np.ndarray:
    """A designs table's objective columns as normalised minimisation points: each axis in its
    objective's unit (:attr:`Objective.hv_scale`), so that every axis is of order one and a
    hypervolume weighs them alike (raw endurance fractions are about 1e-7)."""
    scale = np.array([o.hv_scale(space) for o in objectives])
    return to_min(designs[[o.name for o in objectives]].to_numpy(float) / scale, objectives)


def hv_reference(objectives: Sequence[Objective], space) -> tuple[float, ...]:
    """The hypervolume reference point of ``space`` in the form of :func:`hv_points`."""
    return tuple(o.sign * o.hv_reference(space) / o.hv_scale(space) for o in objectives)
