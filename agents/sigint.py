"""Ctrl-C, remembered for the whole command.

Python turns Ctrl-C into a ``KeyboardInterrupt`` wherever the main thread is; code that
swallows it (a bare ``except:`` in some import, an exception raised in a finaliser) lets
the command run on as if nothing happened: a study of thousands of trials ran to its end
and exited 0 after Ctrl-C while the machine was loaded. :func:`install` makes Ctrl-C
raise as before and also remember it: :func:`check` raises again at the next checkpoint
(before a study starts trials), and the CLI exits 130 whatever happened in between.
"""

from __future__ import annotations

import signal
import threading

__all__ = ["install", "mark", "seen", "check", "forget"]

_SEEN = {"sigint": False}


def mark() -> None:
    """Remember that Ctrl-C was pressed."""
    _SEEN["sigint"] = True


def _handler(signum, frame) -> None:
    mark()
    raise KeyboardInterrupt


def install() -> None:
    """Remember every Ctrl-C from now on (main thread only; a SIGINT the process ignores,
    as a shell's background job does, or another handler, is left as it is)."""
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _handler)


def seen() -> bool:
    return _SEEN["sigint"]


def check() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed, even if that one was swallowed."""
    if seen():
        raise KeyboardInterrupt


def forget() -> None:
    """Forget a Ctrl-C (a new command in the same process, e.g. a test calling ``main``)."""
    _SEEN["sigint"] = False
