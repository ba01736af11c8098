"""The project's error for bad input.

:class:`InputError` says that what a user gave (a config field, a study file, a
path, a table) is wrong, in one line that names it. The ``hicenv`` command prints
it as one line and exits with status 2; every other exception is a bug somewhere
and keeps its traceback. It subclasses :class:`ValueError`, so ``except
ValueError`` in user code still catches it.
"""

from __future__ import annotations

__all__ = ["InputError", "check_count", "check_seed"]


class InputError(ValueError):
    """Bad input, explained in one line that names what to change."""


def check_seed(seed, name: str = "seed", allow_none: bool = False) -> None:
    """Refuse a seed that is not an integer in [0, 2**32) (what numpy's SeedSequence and
    every store accept; the trainer's ``MAX_SEED``), naming it."""
    if seed is None and allow_none:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        extra = " or None" if allow_none else ""
        raise InputError(f"{name} must be an integer in [0, 2**32){extra}, got {seed!r}")


def check_count(value, name: str) -> None:
    """Refuse a count (evaluations, trials, workers, episodes) that is not an integer >= 1,
    naming it; ``True`` is not a count."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be an integer >= 1, got {value!r}")
