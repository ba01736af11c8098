"""Writing results to files: atomically, to the path given and nowhere else.

Contract of :func:`write_atomically` (every table, figure, report and ``--out`` goes
through it):

* a regular file (new or existing) is replaced atomically: the writer fills a
  temporary file with an unpredictable name (``mkstemp``, created exclusively) in the
  target's folder, which is then renamed over the target; a crash leaves the old file
  or the new one, never half of one, and no planted file or link is followed;
* ``-`` streams to standard output; an existing character device or FIFO
  (``/dev/null``, ``/dev/stdout``) is written into, never replaced;
* anything else (a folder, a missing folder) is refused with a ``ValueError`` naming it.

:func:`check_output` applies the same rules, and a suffix list, before any work.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hicenv.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_atomically", "check_output", "is_stream", "write_table", "read_table", "require_parquet"]


def is_stream(path: str | os.PathLike) -> bool:
    """``-``, or an existing character device or FIFO: written into, not replaced."""
    if str(path) == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_output(path: str | os.PathLike, what: str = "output", suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse, before any work, an output path :func:`write_atomically` could not write."""
    if is_stream(path):
        return
    p = Path(path)
    if suffixes is not None and p.suffix not in suffixes:
        raise InputError(f"{what} {p}: write to {' or '.join(suffixes)}, got {p.suffix or 'no suffix'}")
    if p.suffix == ".parquet":
        require_parquet(f"{what} {p}")
    if p.is_dir():
        raise InputError(f"{what} {p} is a folder; give a file name")
    if p.exists() and not p.is_file():
        raise InputError(f"{what} {p} is not a regular file")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{what} {p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{what} {p}: folder {folder} is not writable")


def require_parquet(what: str) -> None:
    """Refuse Parquet, naming the extra that brings it, where pyarrow is not installed."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise InputError(f"{what}: Parquet needs pyarrow: pip install 'hicenv[parquet]' (or use .csv)")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table (by the suffix)."""
    import pandas as pd

    if path.suffix == ".parquet":
        require_parquet(f"table {path}")
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file of the same suffix, then put it at
    ``path`` (see the module's contract). Returns ``path``."""
    check_output(path)
    p = Path(path)
    suffix = p.suffix if str(path) != "-" else ""
    folder = None if is_stream(path) else (p.parent if str(p.parent) else Path("."))
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if folder is not None:
            # mkstemp makes the file private (0600); the result gets the mode a plain open()
            # would give it (an existing file's own mode is kept).
            os.chmod(tmp, stat.S_IMODE(p.stat().st_mode) if p.is_file() else 0o666 & ~_umask())
            os.replace(tmp, p)
            return p
        if str(path) == "-":
            with open(tmp, "rb") as src:
                sys.stdout.flush()
                shutil.copyfileobj(src, sys.stdout.buffer)
                sys.stdout.buffer.flush()
        else:
            with open(tmp, "rb") as src, open(p, "wb") as dst:
                shutil.copyfileobj(src, dst)
        return p
    finally:
        tmp.unlink(missing_ok=True)


def write_table(df: pd.DataFrame, path: str | os.PathLike, any_suffix_csv: bool = False) -> Path:
    """Write ``df`` as CSV or Parquet (by the suffix), atomically: a crash leaves the
    old file or the new one, never half of one. Other suffixes are refused, or written
    as CSV with ``any_suffix_csv``."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet") and not any_suffix_csv:
        raise InputError(f"write a table to .csv or .parquet, got {path.name}")
    return write_atomically(
        path, lambda tmp: (df.to_parquet if tmp.suffix == ".parquet" else df.to_csv)(tmp, index=False)
    )
