"""What identifies a result: a fingerprint of the simulator code that made it.

Every stored result (the cache, lookup tables, paper runs, study attributes) carries
``sim_fingerprint``; a key also holds the config, the full budget, the dataset's
content fingerprint and the seed. A result made by other simulator code is never
served as current.

The fingerprint is a hash of the *normalised source* of the modules that determine
results (:func:`result_modules`: all of :mod:`hicenv.sim`): their abstract syntax trees with docstrings
removed, so comments, docstrings and formatting do not change it, and any change to
what the code does (a constant, an operation, a new branch) does. Why the source and
not the numbers of a seeded reference run: those numbers depend on the machine
(the vector width of the CPU's convolution kernels, oneDNN's choices, a GPU), so a
table made on a GPU host would look foreign on every laptop. A refactor that leaves
every number unchanged gets a new fingerprint too; :meth:`hicenv.design.cache.ResultCache.restamp`
carries stored results over to it only after re-running some of them under the new
code and finding every number identical.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

__all__ = ["result_modules", "sim_fingerprint", "normalised_source"]


def result_modules() -> list[Path]:
    """The files whose code determines an evaluation's numbers: every module of the
    simulator package :mod:`hicenv.sim` (device models included) but this one."""
    root = Path(__file__).parent
    return sorted(p for p in root.rglob("*.py") if p.name != "fingerprint.py")


def normalised_source(source: str) -> str:
    """The source's syntax tree without docstrings, as text: blind to comments and layout."""
    tree = ast.parse(source)
    for node in ast.walk(tree):  # docstrings, and any other bare string statement, do nothing
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [
                n
                for n in body
                if not (
                    isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                )
            ] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


@cache
def sim_fingerprint() -> str:
    """16 hex digits over the normalised source of :func:`result_modules` (computed once a process)."""
    h = hashlib.sha256()
    root = Path(__file__).parent
    for path in result_modules():
        name = path.relative_to(root).as_posix()
        h.update(name.encode() + b"\0" + normalised_source(path.read_text(encoding="utf-8")).encode() + b"\0")
    return h.hexdigest()[:16]
