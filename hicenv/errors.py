"""The project's error for bad input.

:class:`InputError` says that what a user gave (a config field, a study file, a
path, a table) is wrong, in one line that names it. The ``hicenv`` command prints
it as one line and exits with status 2; every other exception is a bug somewhere
and keeps its traceback. It subclasses :class:`ValueError`, so ``except
ValueError`` in user code still catches it.
"""

from __future__ import annotations

__all__ = ["InputError", "check_count", "check_device", "check_exists", "check_path", "check_seed"]


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


def check_device(device, name: str = "torch_device") -> None:
    """Refuse a torch device this machine does not have (``None``, ``cpu``, ``cuda``,
    ``cuda:1`` and ``mps`` where present pass), naming it, before any work: an absent GPU
    found only when training starts has already cost the run's setup and left files."""
    if device is None:
        return
    import torch

    if not isinstance(device, (str, torch.device)):
        raise InputError(f"{name} must be a torch device name such as 'cpu' or 'cuda:0', got {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"{name}={device!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (dev.index or 0) >= count:
            raise InputError(f"{name}={device!r}: this machine has {count} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"{name}={device!r}: this machine has no MPS device")
    elif dev.type not in ("cpu", "mps"):
        raise InputError(f"{name}={device!r}: hicenv trains on cpu, cuda or mps")


def check_path(value, name: str, other: str = "") -> None:
    """Refuse a ``value`` that is not a path (a ``str`` or ``os.PathLike``), naming ``name``
    and, in ``other``, what else it may be (``"or a DataFrame"``)."""
    import os

    if not isinstance(value, (str, os.PathLike)):
        raise InputError(
            f"{name} must be a file's path{' ' + other if other else ''}, got {type(value).__name__} {value!r}"
        )


def check_exists(path, what: str, folder: bool = False) -> None:
    """Refuse a ``path`` that is not an existing file (``folder``: folder), saying which it
    is: missing, or there but of the other kind (``what`` names it: "study file")."""
    import os

    if not (os.path.isdir(path) if folder else os.path.isfile(path)):
        problem = f"is not a {'folder' if folder else 'file'}" if os.path.exists(path) else "does not exist"
        raise InputError(f"{what} {os.fspath(path)} {problem}")
