"""Journal-file storages that a crash cannot make unreadable.

Optuna's journal file is one JSON record a line, appended under a lock. A write cut
short (a full disk, a killed process) leaves a torn last line; Optuna reads past it,
but the next run appends its first record to that same line, and from then on every
read fails (``Expecting ':' delimiter``) and no finished trial can be reached.

:func:`repair_journal` runs before a journal is opened: under the journal's own
lock it moves a torn tail, and the torn front of a line an earlier run appended to,
into ``<file>.torn-<time>``, keeps every complete record, and says so once. A line
that cannot be mended that way is an error naming the file and the line.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

from hicenv.errors import InputError

__all__ = ["repair_journal", "journal_lock", "clear_stale_lock"]

_RECORD_START = b'{"op_code":'
"""How Optuna's journal records begin (``json.dumps`` of a dict whose first key is ``op_code``)."""


def _mend(line: bytes) -> tuple[bytes, bytes] | None:
    """(torn front, whole record) of a line whose front is a cut record, or None."""
    start = line.rfind(_RECORD_START, 1)
    while start > 0:
        try:
            json.loads(line[start:])
            return line[:start], line[start:]
        except json.JSONDecodeError:
            start = line.rfind(_RECORD_START, 1, start)
    return None


_OWNER = ".owner-"
"""Our lock link points at ``<file>.owner-<host>-<pid>`` (Optuna's at the file itself): who holds it."""


def journal_lock(path: str | os.PathLike):
    """Optuna's symlink lock on ``path`` whose link names its holder (host and pid), so that a
    lock left by a killed process is found stale at once (:func:`clear_stale_lock`) instead
    of after Optuna's 30 s grace period."""
    import socket

    from optuna.storages.journal import JournalFileSymlinkLock

    class _OwnedLock(JournalFileSymlinkLock):
        def acquire(self) -> bool:
            # The link's target exists (Optuna's grace period stats through the link).
            self._lock_target_file = f"{path}{_OWNER}{socket.gethostname()}-{os.getpid()}"
            Path(self._lock_target_file).touch()
            return super().acquire()

        def release(self) -> None:
            super().release()
            Path(self._lock_target_file).unlink(missing_ok=True)

    return _OwnedLock(str(path))


def clear_stale_lock(path: str | os.PathLike) -> bool:
    """Remove ``path``'s journal lock if its holder, a process on this host, is dead; True if
    removed. A lock of another host, of Optuna's own kind (no holder named) or of a live
    process is left to the lock's grace period."""
    import socket

    lock = f"{path}.lock"  # Optuna's LOCK_FILE_SUFFIX (not public)
    try:
        target = os.readlink(lock)
    except OSError:  # no lock, or not a link
        return False
    host, _, pid = target.rpartition(_OWNER)[2].rpartition("-")
    if _OWNER not in target or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
        return False  # alive (or another user's: left alone)
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    try:
        if os.readlink(lock) == target:  # still the dead holder's, not a new one's
            os.unlink(lock)
    except OSError:
        return False
    Path(target).unlink(missing_ok=True)
    return True


def repair_journal(path: str | os.PathLike) -> int:
    """Mend a journal file in place; returns the bytes moved aside (0: it was whole)."""
    path = Path(path)
    if not path.is_file():
        return 0
    clear_stale_lock(path)
    lock = journal_lock(path)  # the lock JournalFileBackend takes to append
    lock.acquire()
    try:
        data = path.read_bytes()
        kept, torn = [], []
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline, else a torn last record
        if tail:
            torn.append(tail)
        for number, line in enumerate(lines, start=1):
            try:
                json.loads(line)
                kept.append(line)
                continue
            except json.JSONDecodeError:
                pass
            mended = _mend(line)
            if mended is None:
                raise InputError(f"journal {path}: line {number} is not a record and cannot be mended")
            torn.append(mended[0])
            kept.append(mended[1])
        if not torn:
            return 0
        aside = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
        aside.write_bytes(b"\n".join(torn) + b"\n")
        tmp = path.with_name(f".{path.name}.mending-{os.getpid()}")
        tmp.write_bytes(b"".join(k + b"\n" for k in kept))
        os.replace(tmp, path)
    finally:
        lock.release()
    moved = sum(len(t) for t in torn)
    warnings.warn(
        f"journal {path}: {moved} bytes of records cut short by an interrupted write moved to "
        f"{aside.name}; all {len(kept)} complete records kept",
        stacklevel=2,
    )
    return moved
