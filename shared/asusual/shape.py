"""What any value the API accepts may look like, whatever its fields mean — a Segment message, a
decide request, a catalog upload: how deep it nests, that every text in it, keys included, is
valid Unicode, and that every number is finite (pure).

A message passing these checks can be stored, decoded and erased later: its JSON nests far less
than any decoder's recursion limit (a profile wraps a trait in about eight more levels; pydantic's
JSON decoder stops at 200), and every string encodes as UTF-8 (a lone surrogate such as
``"\\ud800"`` is valid JSON but not valid text, and would fail on the first encode). The walk is
iterative, so even a body nested thousands of levels deep is judged without recursion.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one value (a message, a body), itself counted (docs: README)


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _step(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = key if isinstance(key, str) and _encodable(key) else "<key>"
    if len(name) > 64:
        name = name[:64] + "…"
    return f"{path}.{name}" if path else name


def shape_problem(value: Any, *, where: str = "", max_depth: int = MAX_DEPTH) -> str | None:
    """The first reason ``value`` (parsed JSON) cannot be accepted, naming the field
    (``properties.a.b: nested deeper than 32 levels``, ``traits.<key>: ...``), or None."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return f"{path or 'message'}: not valid Unicode text (a lone surrogate such as \\ud800)"
            continue
        if isinstance(node, float) and not math.isfinite(node):
            return f"{path or 'message'}: not a finite number"
        if isinstance(node, dict):
            items: list[tuple[object, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        if depth > max_depth:
            return f"{path or 'message'}: nested deeper than {max_depth} levels"
        for key, inner in reversed(items):
            if isinstance(key, str) and not _encodable(key):
                return f"{_step(path, key)}: the field name is not valid Unicode text (a lone surrogate)"
            stack.append((inner, _step(path, key), depth + 1))
    return None
