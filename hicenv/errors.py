"""The project's error for bad input.

:class:`InputError` says that what a user gave (a config field, a study file, a
path, a table) is wrong, in one line that names it. The ``hicenv`` command prints
it as one line and exits with status 2; every other exception is a bug somewhere
and keeps its traceback. It subclasses :class:`ValueError`, so ``except
ValueError`` in user code still catches it.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input, explained in one line that names what to change."""
