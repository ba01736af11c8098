"""Writing results to files: atomically, to the path given and nowhere else.

Contract of :func:`write_atomically` (every table, figure, report and ``--out`` goes
through it):

* a regular file (new or existing) is replaced atomically: the writer fills a
  temporary file with an unpredictable name (``mkstemp``, created exclusively) in the
  target's folder, which is then renamed over the target; a crash leaves the old file
  or the new one, never half of one, and no planted file or link is followed;
* ``-`` streams to standard output; an existing character device or FIFO
  (``/dev/null``), or a link into ``/dev`` or ``/proc`` (``/dev/stdout`` whatever the
  shell sent it to), is written into, never replaced;
* a link to a regular file keeps the link: its target is replaced;
* a write that fails (a full disk, ``/dev/full``) is an ``InputError`` naming the path
  and the reason, the target left as it was;
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

__all__ = [
    "write_atomically",
    "check_output",
    "check_folder",
    "numbered_path",
    "is_stream",
    "write_table",
    "read_table",
    "require_parquet",
]


def is_stream(path: str | os.PathLike) -> bool:
    """``-``, or an existing character device or FIFO: written into, not replaced."""
    if str(path) == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if os.path.islink(path):  # /dev/stdout -> /proc/self/fd/1: the shell's file, pipe or terminal
        hop = os.path.join(os.path.dirname(os.path.abspath(path)), os.readlink(path))
        if str(os.path.abspath(path)).startswith(("/dev/", "/proc/")) or hop.startswith(("/dev/", "/proc/")):
            return True
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_output(path: str | os.PathLike, what: str = "output", suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse, before any work, an output path :func:`write_atomically` could not write."""
    if is_stream(path):
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {p} is a folder; give a file name")
    if suffixes is not None and p.suffix not in suffixes:
        raise InputError(f"{what} {p}: write to {' or '.join(suffixes)}, got {p.suffix or 'no suffix'}")
    if p.suffix == ".parquet":
        require_parquet(f"{what} {p}")
    if p.exists() and not p.is_file():
        raise InputError(f"{what} {p} is not a regular file")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{what} {p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{what} {p}: folder {folder} is not writable")


def check_folder(path: str | os.PathLike, what: str = "output folder") -> None:
    """Refuse, before any work, a folder that could not be used or made: an existing
    file, a path through a file, or an unwritable place (the nearest existing ancestor)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{what} {p} is a file, not a folder")
    ancestor = p
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{what} {p}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{what} {p}: {ancestor} is not writable")


def numbered_path(folder: str | os.PathLike, stem: str, suffix: str = "") -> Path:
    """``folder/<stem>_<n><suffix>`` with ``n`` one past the highest there (TensorBoard's and
    SB3's run numbering): a new run never meets an earlier run's file or folder."""
    import re

    pattern = re.compile(rf"{re.escape(stem)}_(\d+){re.escape(suffix)}")
    taken = [int(m.group(1)) for p in Path(folder).glob(f"{stem}_*{suffix}") if (m := pattern.fullmatch(p.name))]
    return Path(folder) / f"{stem}_{max(taken, default=0) + 1}{suffix}"


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
    stream = is_stream(path)
    if not stream and os.path.islink(path):
        path = os.path.realpath(path)  # replace the target; the link stays
    p = Path(path)
    suffix = p.suffix if str(path) != "-" else ""
    folder = None if stream else (p.parent if str(p.parent) else Path("."))
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        _write_to(p, tmp, folder, write)
        return p
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _is_stdout(p: Path) -> bool:
    try:
        return os.path.samestat(os.stat(p), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        return False


def _write_to(p: Path, tmp: Path, folder: Path | None, write: Callable[[Path], object]) -> None:
    """Fill ``tmp``, then rename it over ``p`` (a file) or copy it into ``p`` (a stream)."""
    write(tmp)
    if folder is not None:
        # mkstemp makes the file private (0600); the result gets the mode a plain open()
        # would give it (an existing file's own mode is kept).
        os.chmod(tmp, stat.S_IMODE(p.stat().st_mode) if p.is_file() else 0o666 & ~_umask())
        os.replace(tmp, p)
    elif str(p) == "-" or _is_stdout(p):  # /dev/stdout: through our own stdout, at its offset
        with open(tmp, "rb") as src:
            sys.stdout.flush()
            shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    else:
        with open(tmp, "rb") as src, open(p, "ab") as dst:  # a stream: the shell truncated a file it named
            shutil.copyfileobj(src, dst)


def write_table(df: pd.DataFrame, path: str | os.PathLike, any_suffix_csv: bool = False) -> Path:
    """Write ``df`` as CSV or Parquet (by the suffix), atomically: a crash leaves the
    old file or the new one, never half of one. Other suffixes are refused, or written
    as CSV with ``any_suffix_csv``."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet") and not any_suffix_csv:
        raise InputError(f"write a table to .csv or .parquet, got {path.name}")
    return write_atomically(
        path,
        lambda tmp: (
            df.to_parquet(tmp, index=False) if tmp.suffix == ".parquet" else _as_json(df).to_csv(tmp, index=False)
        ),
    )


def _as_json(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its dict and list cells (``surrogate_std``, ``surrogate_law``) as JSON text:
    a CSV would hold Python's repr of them, which no JSON reader parses."""
    import json

    def nested(x) -> bool:
        return isinstance(x, (dict, list))

    columns = [c for c in df.columns if df[c].dtype == object and df[c].map(nested).any()]
    if not columns:
        return df
    out = df.copy()
    for c in columns:
        out[c] = df[c].map(lambda x: json.dumps(x) if nested(x) else x)
    return out
