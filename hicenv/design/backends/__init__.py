"""Backends: where a design point's metrics come from, one module each.

A backend answers ``backend(config, seed, on_epoch=None) -> (metrics, source)``
(``source``: ``train``, ``cache``, ``table``, ``surrogate``) and declares what it
answers (:class:`~hicenv.design.backends.base.Declaration`: the settings it varies,
holds and computes exactly, and its metrics); the contract is
:mod:`hicenv.design.backends.base`. The environments and the Optuna objective take one
by name from :data:`BACKENDS` and hold every request against its declaration
(:meth:`Backend.check_request`) before any work. A new backend (a remote service, a
bigger bench) is one module here and one registry entry; every CLI choice, study-file
check and error message reads the registry.
"""

from __future__ import annotations

import inspect
from typing import Any

from hicenv.design.backends.base import Backend, Declaration
from hicenv.design.backends.surrogate import SurrogateBackend
from hicenv.design.backends.table import TableBackend
from hicenv.design.backends.train import TrainBackend, check_fits
from hicenv.errors import InputError

__all__ = [
    "Backend",
    "Declaration",
    "TrainBackend",
    "TableBackend",
    "SurrogateBackend",
    "BACKENDS",
    "make_backend",
    "backend_options",
    "cache_option",
    "check_fits",
]

BACKENDS: dict[str, type[Backend]] = {
    "train": TrainBackend,
    "table": TableBackend,
    "surrogate": SurrogateBackend,
}
"""Backends by name (``backend=`` of the environments, ``backend`` of study files)."""


RUNNING_OPTIONS = ("cache", "device")
"""Options that say how to run, not what to answer from: the result cache and the torch device."""


def check_backend(name: str) -> None:
    """Refuse a backend name that is not registered."""
    if name not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}, got {name!r}")


def backend_options(name: str) -> tuple[str, ...]:
    """The options backend ``name`` takes (its constructor's keyword arguments)."""
    check_backend(name)
    return tuple(p for p in inspect.signature(BACKENDS[name].__init__).parameters if p != "self")


def make_backend(name: str, **options: Any) -> Backend:
    """The backend ``name`` with ``options``. An option left None is not given (the backend's
    default holds); one the backend does not take is refused, naming the backend that does
    (``table=`` for the surrogate is a mistake, not something to ignore). How to run
    (:data:`RUNNING_OPTIONS`) is no question to the backend: a backend that trains nothing
    takes no cache nor torch device, and is not refused them."""
    takes = backend_options(name)
    given = {k: v for k, v in options.items() if v is not None and (k in takes or k not in RUNNING_OPTIONS)}
    for option in given:
        if option not in takes:
            others = [b for b in BACKENDS if b != name and option in backend_options(b)]
            hint = f" (an option of backend {', '.join(map(repr, others))})" if others else ""
            raise InputError(
                f"backend {name!r} takes no option {option}={given[option]!r}{hint}; its options: {', '.join(takes)}"
            )
    return BACKENDS[name](**given)


def cache_option(cache: Any) -> Any:
    """A caller's ``cache`` as a backend option: ``"default"`` is not given (the train
    backend's default holds, and other backends take no cache), None (no cache) is ``"none"``."""
    return None if cache == "default" else "none" if cache is None else cache
