"""Attribute docstrings of a class: the string literal under each annotated field.

Configs (dataclasses) and the result type document every field this way, as
Gymnasium and CleanRL do; the CLI's help and the README's tables read them here,
so a field is named, typed and explained in one place.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

__all__ = ["field_docs"]


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its docstring (whitespace collapsed), for every annotated field of ``cls``."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs
