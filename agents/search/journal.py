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

__all__ = ["repair_journal"]

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


def repair_journal(path: str | os.PathLike) -> int:
    """Mend a journal file in place; returns the bytes moved aside (0: it was whole)."""
    from optuna.storages.journal import JournalFileSymlinkLock

    path = Path(path)
    if not path.is_file():
        return 0
    lock = JournalFileSymlinkLock(str(path))  # the lock JournalFileBackend takes to append
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
