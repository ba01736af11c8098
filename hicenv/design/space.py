"""The design space, defined once: knobs with their values, and an episode's fixed settings.

The environment, the Optuna search and the exports all read the space from here.
A :class:`DesignSpace` maps a design point to and from a flat ``MultiDiscrete``
action (one dimension per knob, indices from 0) and to Optuna ``suggest_*`` calls.
Narrow or widen it without editing the package::

    space = DesignSpace.default().with_knob("width", [1.0, 1.5, 2.0]).fix("acc_bits", 8)

Device noise is, by default, not a knob but the episode's context (see
:mod:`hicenv.design.env`): an agent free to choose it would always pick the quietest
devices. ``DesignSpace.default(noise_knob=True)`` makes it one.

Device physics is the space's ``device`` setting (a :class:`~hicenv.sim.devices.PCMParams`);
any of its fields can also be a knob, named ``device.<field>`` (e.g.
``device.endurance_cycles``), so a study can search over device parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from hicenv.design.costs import CostModel
from hicenv.design.deployment import Deployment
from hicenv.errors import InputError
from hicenv.rows import DEVICE_PREFIX
from hicenv.sim.config import FLOAT_ACC_BITS, LSB_ENCODINGS, MAX_TOTAL_BITS, HICConfig, check_known_fields
from hicenv.sim.devices import PCMParams
from hicenv.sim.result import HORIZONS_S

__all__ = ["Knob", "DesignSpace", "KNOBS", "DEVICE_PREFIX"]

KNOBS = ("msb_bits", "lsb_bits", "acc_bits", "width", "lsb_encoding", "noise")
"""The knobs of the default space and of lookup tables, in action order. Any other
field of :class:`hicenv.sim.config.HICConfig` can be a knob too (after these, in field
order), and so can any device parameter, ``device.<field>`` (last, by name)."""
_FIELD_KINDS = {f.name: str(f.type) for f in fields(HICConfig) if f.name != "pcm"}
"""Searchable design-point fields and their annotations: ``int`` and ``float`` fields
are numeric knobs, the others (``str``, ``bool``) categorical."""
_FIELD_ORDER = (*KNOBS, *(f for f in _FIELD_KINDS if f not in KNOBS))
_DEVICE_FIELDS = tuple(f.name for f in fields(PCMParams))


def _knob_order(name: str) -> tuple:
    return (0, _FIELD_ORDER.index(name), "") if name in _FIELD_KINDS else (1, 0, name)


def _device_field(name: str) -> str | None:
    """The PCMParams field a ``device.<field>`` knob searches, or None for any other name."""
    field_name = name[len(DEVICE_PREFIX) :] if name.startswith(DEVICE_PREFIX) else None
    return field_name if field_name in _DEVICE_FIELDS else None


def _is_device_knob(name: str) -> bool:
    return _device_field(name) is not None


def _is_categorical(name: str) -> bool:
    """Strings and flags; every device parameter is a number (``PCMParams`` validates them)."""
    return not _is_device_knob(name) and _FIELD_KINDS.get(name) not in ("int", "float")


@dataclass(frozen=True)
class Knob:
    """One searched field of the design point and its allowed values (ascending)."""

    name: str
    values: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise InputError(f"a knob's name must be a string, got {self.name!r}")
        if self.name not in _FIELD_KINDS and not _is_device_knob(self.name):
            raise InputError(
                f"unknown knob {self.name!r}; knobs: {', '.join(_FIELD_ORDER)}, or "
                f"{DEVICE_PREFIX}<field> for a device parameter ({', '.join(_DEVICE_FIELDS)})"
            )
        if not isinstance(self.values, (list, tuple)) or not self.values:
            raise InputError(f"knob {self.name} needs a list of at least one value, got {self.values!r}")
        twice = [v for i, v in enumerate(self.values) if v in self.values[:i]]
        if twice:
            raise InputError(f"knob {self.name} lists {twice[0]!r} twice: {list(self.values)}")
        if _is_categorical(self.name):
            for v in self.values:  # the design point validates its own field (and names what it takes)
                try:
                    HICConfig(**{self.name: v})
                except InputError as e:
                    raise InputError(f"knob {self.name} takes what HICConfig.{self.name} does: {e}") from None
            object.__setattr__(self, "values", tuple(self.values))  # repeats were refused above
            return
        if any(isinstance(v, (bool, str)) or not isinstance(v, (int, float)) for v in self.values):
            raise InputError(f"knob {self.name} takes numbers, got {list(self.values)}")
        integer = _FIELD_KINDS.get(self.name) == "int"
        if integer and any(float(v) != int(v) for v in self.values):
            raise InputError(f"knob {self.name} takes integers, got {list(self.values)}")
        cast = int if integer else float
        vals = tuple(sorted({cast(v) for v in self.values}))
        for v in vals:  # each value must be valid for its field (bit sums are checked by the space)
            if _is_device_knob(self.name):
                PCMParams(**{_device_field(self.name): v})
                continue
            other = {"msb_bits": 1, "lsb_bits": 1} if self.name in ("msb_bits", "lsb_bits") else {}
            HICConfig(**{**other, self.name: v})
        object.__setattr__(self, "values", vals)

    @property
    def categorical(self) -> bool:
        """Values Optuna should treat as categories (strings and flags)."""
        return _is_categorical(self.name)

    @property
    def log(self) -> bool:
        """A numeric knob whose values span two decades or more (all positive): searched on a
        log scale (``device.endurance_cycles`` of 1e6 to 1e9)."""
        if self.categorical or len(self.values) < 2 or min(self.values) <= 0:
            return False
        return max(self.values) / min(self.values) >= 100

    @property
    def snapped(self) -> bool:
        """A numeric knob whose Optuna parameter is a draw on a range, snapped to the nearest value
        (:meth:`DesignSpace.suggest_values`): log-scale knobs and unevenly spaced ones
        (``acc_bits`` of 4 to 32). Its parameter need not be its value."""
        return len(self) > 1 and not self.categorical and (self.log or self.step() is None)

    @classmethod
    def range(cls, name: str, low: float, high: float, step: float) -> Knob:
        """Values ``low, low + step, ..., high``."""
        nums = (low, high, step)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) for v in nums):
            raise InputError(f"knob {name}: low, high and step must be finite numbers, got {low!r}, {high!r}, {step!r}")
        if not step > 0 or high < low:
            raise InputError(f"knob {name}: need low <= high and step > 0, got {low}, {high}, {step}")
        n = int(round((high - low) / step)) + 1
        if n > 10_000:
            raise InputError(f"knob {name}: {n} values from {low} to {high} by {step}; at most 10,000")
        return cls(name, tuple(low + i * step for i in range(n)))

    def __len__(self) -> int:
        return len(self.values)

    def index(self, value: Any) -> int:
        for i, v in enumerate(self.values):
            if (
                v == value
                if isinstance(v, str)
                else (not isinstance(value, str) and abs(float(v) - float(value)) < 1e-9)
            ):
                return i
        raise InputError(f"{self.name}={value!r} is not in the space; allowed: {list(self.values)}")

    def step(self) -> float | None:
        """The common step if the values are evenly spaced, else None."""
        if len(self.values) < 2 or self.categorical:
            return None
        d = np.diff(np.asarray(self.values, dtype=float))
        return float(d[0]) if np.allclose(d, d[0]) else None


def _default_knobs(noise_knob: bool) -> tuple[Knob, ...]:
    knobs = [
        Knob.range("msb_bits", 1, 8, 1),
        Knob.range("lsb_bits", 1, 8, 1),
        Knob("acc_bits", (4, 6, 8, 12, 16, FLOAT_ACC_BITS)),
        Knob.range("width", 0.5, 2.0, 0.25),
        Knob("lsb_encoding", LSB_ENCODINGS),
    ]
    if noise_knob:
        knobs.append(Knob.range("noise", 0.0, 2.0, 0.5))
    return tuple(knobs)


@dataclass(frozen=True)
class DesignSpace:
    """Searched knobs, the fields held fixed, and the settings every episode shares."""

    knobs: tuple[Knob, ...] = field(default_factory=lambda: _default_knobs(False))
    """The searched fields, in action order."""
    fixed: tuple[tuple[str, Any], ...] = ()
    """(field, value) pairs of :class:`HICConfig` held constant (e.g. ``("acc_bits", 8)``)."""
    dataset: str = "embedded"
    """Dataset name or ``.npz`` path for every evaluation."""
    device: PCMParams = field(default_factory=PCMParams)
    """Device physics of every evaluation (a dict of :class:`~hicenv.sim.devices.PCMParams`
    fields is accepted); ``device.<field>`` knobs override single fields."""
    endurance_budget: float = 1.0
    """Largest acceptable fraction of the endurance limit that the most-written device uses
    over the deployment's lifetime (``lifetime_wear``: :attr:`deployment`'s trainings, each
    projected from the evaluated run). 1: the lifetime must fit in the endurance."""
    deployment: Deployment = field(default_factory=Deployment)
    """The in-field training and trainings per lifetime that wear is projected to (a dict of
    :class:`~hicenv.design.deployment.Deployment` fields is accepted)."""
    costs: CostModel = field(default_factory=CostModel)
    """Costs per action for area and energy (a dict of :class:`~hicenv.design.costs.CostModel`
    fields is accepted)."""
    horizon: str = "1y"
    """Drift horizon at which accuracy counts (``0s``, ``1h``, ``1d``, ``1mo``, ``1y``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "deployment", Deployment.from_dict(self.deployment))
        object.__setattr__(self, "costs", CostModel.from_dict(self.costs))
        if isinstance(self.device, dict):
            object.__setattr__(self, "device", PCMParams.from_dict(self.device))
        if not isinstance(self.device, PCMParams):
            raise InputError(f"device must be a PCMParams or a dict of its fields, got {self.device!r}")
        names = [k.name for k in self.knobs]
        if len(set(names)) != len(names):
            raise InputError(f"a knob appears twice: {names}")
        fixed = dict(self.fixed)
        both = set(names) & set(fixed)
        if both:
            raise InputError(f"{sorted(both)} both searched and fixed")
        for k in fixed:
            if k not in {f.name for f in fields(HICConfig)} or k == "pcm":
                raise InputError(f"unknown fixed field {k!r}")
        # knobs in canonical order, so actions mean the same across processes
        object.__setattr__(self, "knobs", tuple(sorted(self.knobs, key=lambda k: _knob_order(k.name))))
        object.__setattr__(self, "fixed", tuple(sorted(fixed.items())))
        if self.horizon not in HORIZONS_S:
            raise InputError(f"horizon must be one of {list(HORIZONS_S)}, got {self.horizon!r}")
        if not (isinstance(self.endurance_budget, (int, float)) and 0 < self.endurance_budget < float("inf")):
            raise InputError(f"endurance_budget must be a number > 0, got {self.endurance_budget!r}")
        # Every action must decode to a valid point: check the worst bit split.
        msb = max(self.values_of("msb_bits"))
        lsb = max(self.values_of("lsb_bits"))
        if msb + lsb > MAX_TOTAL_BITS:
            raise InputError(
                f"msb_bits + lsb_bits must be <= {MAX_TOTAL_BITS} for every point; the space allows {msb} + {lsb}"
            )
        HICConfig(**dict(self.fixed))  # fixed values valid on their own

    def values_of(self, name: str) -> tuple:
        """The values field ``name`` takes in this space (searched, fixed or the default)."""
        for k in self.knobs:
            if k.name == name:
                return k.values
        return (dict(self.fixed).get(name, getattr(HICConfig(), name)),)

    # -- building variants ---------------------------------------------------------
    @classmethod
    def default(cls, noise_knob: bool = False, **settings) -> DesignSpace:
        """MSB 1-8, LSB 1-8, accumulator 4/6/8/12/16/float, width 0.5-2 by 0.25 (noise 0-2 by 0.5)."""
        return cls(knobs=_default_knobs(noise_knob), **settings)

    def with_knob(self, name: str, values=None, *, low=None, high=None, step=None) -> DesignSpace:
        """Search ``name`` over ``values`` (or ``low..high`` by ``step``), replacing its range."""
        if values is not None and (low, high, step) != (None, None, None):
            raise InputError(f"with_knob({name!r}): give values or low, high and step, not both")
        knob = Knob(name, tuple(values)) if values is not None else Knob.range(name, low, high, step)
        knobs = tuple(k for k in self.knobs if k.name != name) + (knob,)
        fixed = tuple((k, v) for k, v in self.fixed if k != name)
        return replace(self, knobs=knobs, fixed=fixed)

    def fix(self, name: str, value: Any) -> DesignSpace:
        """Hold ``name`` at ``value`` (it leaves the action)."""
        knobs = tuple(k for k in self.knobs if k.name != name)
        fixed = tuple((k, v) for k, v in self.fixed if k != name) + ((name, value),)
        return replace(self, knobs=knobs, fixed=fixed)

    def with_settings(self, **settings) -> DesignSpace:
        return replace(self, **settings)

    # -- actions ------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.knobs)

    @property
    def nvec(self) -> np.ndarray:
        """Sizes of the ``MultiDiscrete`` action."""
        return np.array([len(k) for k in self.knobs], dtype=np.int64)

    @property
    def searches_noise(self) -> bool:
        return "noise" in self.names

    def __len__(self) -> int:
        return int(np.prod(self.nvec))

    def decode(self, action, **context) -> HICConfig:
        """The design point of a ``MultiDiscrete`` action; ``context`` fills other fields (noise)."""
        a = np.asarray(action)
        if a.shape != (len(self.knobs),):
            raise InputError(
                f"action must have shape ({len(self.knobs)},) (one index per knob {list(self.names)}), got {a.shape}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.mod(a, 1) == 0):
                raise InputError(f"action must hold integer indices, got {action!r}")
            a = a.astype(np.int64)
        values = {}
        for k, i in zip(self.knobs, a.tolist()):
            if not 0 <= i < len(k):
                raise InputError(f"action index {i} for {k.name} is outside [0, {len(k) - 1}]")
            values[k.name] = k.values[i]
        return self._config(values, context)

    def _config(self, values: dict, context: dict) -> HICConfig:
        """The design point of knob ``values`` (device knobs included) and ``context``."""
        device = {_device_field(k): v for k, v in values.items() if _is_device_knob(k)}
        hic = {k: v for k, v in values.items() if not _is_device_knob(k)}
        pcm = replace(self.device, **device) if device else self.device
        return HICConfig(**{**dict(self.fixed), **context, **hic, "pcm": pcm})

    def encode(self, config: HICConfig) -> np.ndarray:
        """The action of a design point (its knobs must be on the grid)."""
        return np.array([k.index(self.field_value(config, k.name)) for k in self.knobs], dtype=np.int64)

    @staticmethod
    def field_value(config: HICConfig, name: str):
        """A knob's value in a design point (``device.<field>`` reads the device physics)."""
        return getattr(config.pcm, _device_field(name)) if _is_device_knob(name) else getattr(config, name)

    def points(self) -> Iterator[HICConfig]:
        """Every point of the grid, in action order (``MultiDiscrete`` counting)."""
        for idx in itertools.product(*(range(len(k)) for k in self.knobs)):
            yield self.decode(np.array(idx))

    def suggest(self, trial, **context) -> HICConfig:
        """The point an Optuna trial suggests (:meth:`suggest_values`; ``context`` fills other fields)."""
        return self._config(self.suggest_values(trial), context)

    def suggest_values(self, trial) -> dict:
        """The knob values an Optuna trial suggests, one parameter per knob of two or more values:
        ``suggest_categorical`` for strings and flags, ``suggest_int``/``suggest_float`` (with
        its step) on even grids, and for other numbers a numeric range whose draw is snapped to
        the nearest value (in log where the values span two decades, :attr:`Knob.log`).

        A numeric range keeps a numeric knob numeric where studies are read (Optuna's and
        optuna-dashboard's plots order ``acc_bits`` as 4, 6, ..., 32, not as strings). A plain
        sampler's draw on it lands on each value in proportion to the value's cell, so on an
        uneven grid it favours the values with wide gaps; hicenv's studies draw such a knob among
        its values instead (``Distinct`` in ``agents/search/distinct.py``)."""
        values = {}
        for k in self.knobs:
            step = k.step()
            if len(k) == 1:
                values[k.name] = k.values[0]
            elif k.categorical:
                values[k.name] = trial.suggest_categorical(k.name, list(k.values))
            elif k.log:
                values[k.name] = _snap(k, trial.suggest_float(k.name, *_log_range(k), log=True), log=True)
            elif step is not None and _FIELD_KINDS.get(k.name) == "int":
                values[k.name] = trial.suggest_int(k.name, k.values[0], k.values[-1], step=int(step))
            elif step is not None:
                v = trial.suggest_float(k.name, k.values[0], k.values[-1], step=step)
                values[k.name] = k.values[min(len(k) - 1, max(0, round((v - k.values[0]) / step)))]  # snap from low
            elif _FIELD_KINDS.get(k.name) == "int":
                values[k.name] = _snap(k, trial.suggest_int(k.name, k.values[0], k.values[-1]))
            else:
                values[k.name] = _snap(k, trial.suggest_float(k.name, k.values[0], k.values[-1]))
        return values

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["knobs"] = {k.name: list(k.values) for k in self.knobs}
        d["fixed"] = dict(self.fixed)
        d["device"] = self.device.to_dict()
        d["deployment"] = self.deployment.to_dict()
        d["costs"] = self.costs.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DesignSpace:
        """From a study file's table: ``knobs = {name = [values] | {low, high, step}}``, ``fixed``, settings."""
        if not isinstance(d, dict):
            raise InputError(f"a design space is a dict (knobs, fixed, settings), got {type(d).__name__} {d!r}")
        if "retrains" in d:
            raise InputError(
                "retrains is now the deployment's trainings per lifetime: [deployment] trainings = N "
                "(wear is projected to the deployment's steps, studies/README.md)"
            )
        check_known_fields(cls, d)
        d = dict(d)
        if "knobs" in d and not (isinstance(d["knobs"], dict) and d["knobs"]):
            raise InputError(f"knobs must name at least one knob (hold the others with fixed), got {d['knobs']!r}")
        knobs = []
        for name, spec in dict(d.pop("knobs", {})).items():
            if isinstance(spec, dict):
                bad = sorted(set(spec) - {"low", "high", "step"})
                if bad or len(spec) != 3:
                    raise InputError(f"knob {name}: give low, high and step (or a list), got {sorted(spec)}")
                knobs.append(Knob.range(name, spec["low"], spec["high"], spec["step"]))
            elif isinstance(spec, (list, tuple)):
                knobs.append(Knob(name, tuple(spec)))
            else:
                raise InputError(f"knob {name}: expected a list of values or {{low, high, step}}, got {spec!r}")
        fixed = tuple(dict(d.pop("fixed", {})).items())
        return cls(knobs=tuple(knobs) if knobs else _default_knobs(False), fixed=fixed, **d)


def _log_range(knob: Knob) -> tuple[float, float]:
    """The continuous range a log-scale knob is sampled over: its values' range widened by half
    the first and last gaps (in log), so that each value's cell is as wide as its neighbours'."""
    logs = np.log(np.asarray(knob.values, dtype=float))
    return float(np.exp(logs[0] - (logs[1] - logs[0]) / 2)), float(np.exp(logs[-1] + (logs[-1] - logs[-2]) / 2))


def _snap(knob: Knob, x: float, log: bool = False):
    """The value of a numeric knob nearest to ``x`` (in log with ``log``)."""
    scale = np.log if log else np.asarray
    return knob.values[int(np.argmin(np.abs(scale(np.asarray(knob.values, dtype=float)) - scale(x))))]


def point_key(values) -> tuple:
    """A design point's knob values as a dictionary key: numbers rounded to 6 decimals (a
    value read back from a CSV table matches the one a space computes), strings as they are."""
    return tuple(v if isinstance(v, str) else round(float(v), 6) for v in values)
