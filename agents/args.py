"""Argparse types: each option's value checked when it is parsed, before any work.

A bad value is argparse's one line (``argument --workers: must be ...``) and exit
status 2; nothing is trained, made or written first. The checks themselves are
hicenv's (:mod:`hicenv.errors`, :mod:`hicenv.output`), so the Python API refuses the
same values with the same words.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from hicenv.errors import InputError, check_device
from hicenv.output import check_folder, check_output

__all__ = ["Parser", "count_arg", "seconds_arg", "device_arg", "folder_arg", "out_folder_arg", "out_file_arg"]


def count_arg(text: str) -> int:
    """An integer >= 1 (workers, threads, points)."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return v


def seconds_arg(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return v


def _checked(check, text: str) -> str:
    try:
        check(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def device_arg(text: str) -> str:
    """A torch device this machine has (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    return _checked(lambda t: check_device(t, "device"), text)


def folder_arg(text: str) -> str:
    """An existing folder (to read)."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder" if Path(text).exists() else f"no folder {text!r}")
    return text


def out_folder_arg(text: str) -> str:
    """A folder to write into: existing, or one that can be made (not a file, not under one)."""
    return _checked(lambda t: check_folder(t, "folder"), text)


def out_file_arg(*suffixes: str):
    """A file to write, of one of ``suffixes`` (none given: any), in an existing writable folder."""

    def check(text: str) -> str:
        return _checked(lambda t: check_output(t, "file", suffixes or None), text)

    check.__name__ = "out_file"  # argparse names the type in "invalid out_file value"
    return check


class _DefaultsShown(argparse.HelpFormatter):
    """``--help`` says each option's default where its help does not already."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and not action.option_strings == []
        if shown and "default" not in text:
            text += f" (default {action.default})"
        return text


class Parser(argparse.ArgumentParser):
    """Every ``hicenv`` command's parser: bad arguments are one line on stderr and exit
    status 2, like every other bad input (``--help`` shows the usage and the defaults).
    Subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _DefaultsShown)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
