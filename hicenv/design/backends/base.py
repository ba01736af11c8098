"""The backend contract: design point -> metrics, and a declaration of what it answers.

A backend answers design points (:meth:`Backend.__call__`). Before any work, the
environments, studies, ``hicenv rl``, ``hicenv compare`` and the CLI hold a request (a
design space, a budget, objectives) against the backend's :class:`Declaration` with
:meth:`Backend.check_request`, which refuses a mismatch with one line naming the
setting, the value asked and the value the backend holds. So a backend never answers a
question it was not made for with the numbers of another (the surrogate, asked for
``device_model="ideal"``, would otherwise answer PCM numbers).

Each method's duty, and what it must raise (:class:`~hicenv.errors.InputError` for
anything the caller can change; anything else is a bug):

* :meth:`declaration` -- what the backend varies (its knobs), what it holds fixed and at
  which values (read from its own data: a bench's or table's columns), what it computes
  exactly for any value, and which metrics it answers. Cheap; called once per request.
* :meth:`check_request` -- concrete: refuse a space, budget or objectives the declaration
  does not cover. Subclasses extend it, never loosen it.
* :meth:`check` -- refuse one design point outside the ranges the backend covers (an FP32
  baseline at a width the bench lacks).
* :meth:`covered` -- the space a search runs over with this backend.
* :meth:`prepare` -- get ready to answer a space at several noise levels (optional).
* :meth:`__call__` -- ``(metrics, source)``: the same (config, seed) gives the same
  numbers; a metric the backend does not know is absent or None, never a number made up.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hicenv.design.space import DEVICE_PREFIX, DesignSpace
from hicenv.errors import InputError
from hicenv.sim.config import HICConfig
from hicenv.sim.devices import PCMParams

__all__ = ["Backend", "Declaration", "SETTINGS", "held_value", "same_value", "held_settings"]

SETTINGS = (
    *(f.name for f in fields(HICConfig) if f.name not in ("pcm", "fp32")),
    *(f"{DEVICE_PREFIX}{f.name}" for f in fields(PCMParams)),
    "dataset",
    "budget",
)
"""Every setting a request can ask for: the design point's fields (the FP32 flag aside: a
baseline is a point, checked by :meth:`Backend.check`), each device parameter, the dataset
and the training budget."""


@dataclass(frozen=True)
class Declaration:
    """What a backend answers."""

    knobs: frozenset[str] | None = None
    """Settings it varies (within ranges :meth:`Backend.check` enforces); None: every one."""
    held: Mapping[str, Any] = field(default_factory=dict)
    """Settings held fixed, and the value each was made at (a setting neither varied, held nor
    exact is held at its default: a field newer than a bench reproduces the code before it)."""
    exact: frozenset[str] = frozenset()
    """Settings computed exactly for any value (not learned): e.g. ``device.endurance_cycles``,
    which only divides the write count."""
    metrics: frozenset[str] | None = None
    """Metric keys it answers; None: every key of :class:`~hicenv.sim.result.Result`."""
    source: str = ""
    """Where the held values come from, for messages (``bench hicenv/_data/bench.csv``)."""


def same_value(a: Any, b: Any) -> bool:
    """Equal settings: numbers to 1e-9 relative, everything else exactly."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def held_value(declared: Declaration, setting: str) -> Any:
    """The value a backend holds ``setting`` at (its default where the declaration is silent)."""
    if setting in declared.held:
        return declared.held[setting]
    if setting.startswith(DEVICE_PREFIX):
        return getattr(PCMParams(), setting[len(DEVICE_PREFIX) :])
    return getattr(HICConfig(), setting)


def held_settings(df, knobs: Sequence[str], source: str) -> dict[str, Any]:
    """The settings a table of results (a compiled bench, a lookup table) was made at, read
    from its own columns: every setting but ``knobs`` that has a column, with its one value;
    ``budget`` as a :class:`~hicenv.sim.budget.Budget` from the ``budget.<field>`` columns.
    A column with several values is refused (the backend would average over them unasked);
    a setting without a column is left out (held at its default, see :class:`Declaration`)."""
    import pandas as pd

    held: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting in knobs or setting == "budget" or setting not in df.columns:
            continue
        values = pd.unique(df[setting].dropna())
        if len(values) > 1:
            raise InputError(
                f"{source} holds several values of {setting} ({sorted(map(str, values))}), which is not one of "
                f"its knobs {list(knobs)}: split it by {setting}"
            )
        if len(values):
            v = values[0]
            held[setting] = v.item() if hasattr(v, "item") else v
    if "budget" in df.columns:
        held["budget"] = _budget_of(df, source)
    return held


def _budget_of(df, source: str):
    """The one budget of a table's rows, from its ``budget.<field>`` columns (or its preset's
    name where a table has no such columns)."""
    import pandas as pd

    from hicenv.sim.budget import Budget

    names = pd.unique(df["budget"].dropna())
    if len(names) != 1:
        raise InputError(f"{source} holds {len(names)} budgets ({sorted(map(str, names))}); one is needed")
    values = {}
    for f in fields(Budget):
        column = f"budget.{f.name}"
        if f.name == "name" or column not in df.columns:
            continue
        distinct = pd.unique(df[column])
        if len(distinct) != 1:
            raise InputError(f"{source} holds several values of {column}; one budget is needed")
        v = distinct[0]
        v = None if isinstance(v, float) and math.isnan(v) else v.item() if hasattr(v, "item") else v
        if v is not None and "int" in str(f.type):
            v = int(v)
        values[f.name] = v
    from hicenv.sim.budget import BUDGETS

    if not values:  # a table without budget columns: its preset, or just the name it gives
        return BUDGETS.get(str(names[0]), str(names[0]))
    return Budget(name=str(names[0]), **values)


def _fields(budget) -> dict:
    """A budget's fields but its name (two presets with equal fields are one budget)."""
    return {k: v for k, v in budget.to_dict().items() if k != "name"}


def _asked(space: DesignSpace, setting: str) -> tuple:
    """The values a search over ``space`` asks ``setting`` to take."""
    if setting == "dataset":
        return (space.dataset,)
    if setting.startswith(DEVICE_PREFIX):
        knob = next((k for k in space.knobs if k.name == setting), None)
        return knob.values if knob is not None else (getattr(space.device, setting[len(DEVICE_PREFIX) :]),)
    return space.values_of(setting)


class Backend(ABC):
    """Design point -> metrics. Subclasses implement :meth:`declaration` and :meth:`__call__`."""

    name = "backend"
    budget = None
    """The training budget behind the answers (None: not training)."""

    @abstractmethod
    def declaration(self) -> Declaration:
        """What this backend varies, holds, computes exactly and answers."""

    @abstractmethod
    def __call__(self, config: HICConfig, seed: int, on_epoch=None) -> tuple[dict, str]:
        """``(metrics, source)`` of one design point (``source``: ``train``, ``cache``, ...)."""

    def check_request(
        self, space: DesignSpace, budget: Any = None, objectives: Sequence[Any] = (), what: str = ""
    ) -> None:
        """Refuse, before any work, a search this backend cannot answer: a setting of ``space``
        that it holds at another value, a ``budget`` other than its own, an objective whose
        metrics it lacks. One line names the setting, the value asked and the value held.
        ``what`` names where the request came from (a study file) for the message."""
        declared = self.declaration()
        where = f"{what}: " if what else ""
        for setting in SETTINGS:
            if setting == "budget" or declared.knobs is None or setting in declared.knobs:
                continue
            if setting in declared.exact:
                continue
            held = held_value(declared, setting)
            off = [v for v in _asked(space, setting) if not same_value(v, held)]
            if off:
                asked = off[0] if len(off) == 1 else off
                raise InputError(
                    f"{where}{setting}={asked!r}: backend {self.name!r} answers only {setting}={held!r} "
                    f"(what its {declared.source or 'data'} was made at); use backend='train' to evaluate it"
                )
        if budget is not None and declared.knobs is not None:
            self._check_budget(budget, declared, where)
        for objective in objectives:
            name, needs = getattr(objective, "name", objective), getattr(objective, "needs", ())
            missing = [m for m in needs if declared.metrics is not None and m not in declared.metrics]
            if missing:
                raise InputError(
                    f"{where}objective {name!r} needs {missing}, which backend {self.name!r} does not answer; "
                    "use backend='train' or another objective"
                )

    def _check_budget(self, budget: Any, declared: Declaration, where: str) -> None:
        from hicenv.sim.budget import get_budget

        asked, held = get_budget(budget), declared.held.get("budget")
        if isinstance(held, str):  # known by name only
            same = asked.name == held
        else:
            same = held is not None and _fields(asked) == _fields(held)
        if not same:
            shown = "no training budget" if held is None else repr(getattr(held, "name", held))
            raise InputError(
                f"{where}budget={asked.name!r}: backend {self.name!r} answers at {shown} "
                f"(its {declared.source or 'data'}); a budget is for backend='train'"
            )

    def check(self, config: HICConfig) -> None:
        """Refuse, before a search starts, a point this backend cannot answer (an
        :class:`~hicenv.errors.InputError` naming what to change). The default answers
        every point."""
        return None

    def covered(self, space: DesignSpace, exact: bool) -> tuple[DesignSpace, tuple | None]:
        """The space searches run over with this backend, and the noise levels it holds
        (None: any). ``exact``: ``space`` as given, else what the backend covers of it."""
        return space, None

    def prepare(self, space: DesignSpace, noise_levels: tuple[float, ...]) -> None:
        """Get ready to answer every point of ``space`` at each of ``noise_levels`` (an env's
        episode contexts), e.g. by computing the answers now. The default does nothing."""
        return None
