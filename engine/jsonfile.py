"""Reading small JSON files (model cards) that may be damaged or foreign, within bounds.

``json.loads`` reads a file of any size, and deep nesting makes it raise
``RecursionError``, which no ``except ValueError`` catches. :func:`read_json` bounds
both and says what is wrong in a few words, as a :class:`ValueError`.
"""

from __future__ import annotations

import json
from pathlib import Path


def read_json(path: Path, *, max_bytes: int, max_depth: int) -> object:
    """The JSON value in ``path``; ``ValueError`` naming the cause when it is not
    JSON, larger than ``max_bytes`` or nested deeper than ``max_depth``.

    ``OSError`` (a missing or unreadable file) is the caller's to handle.
    """
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)  # never more: the file may be huge
    if len(data) > max_bytes:
        raise ValueError(f"it is larger than {max_bytes:,} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except RecursionError:  # the parser recurses once per level
        raise ValueError(f"it is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise ValueError(f"it is not JSON ({exc})") from None
    if _depth(value) > max_depth:
        raise ValueError(f"it is nested deeper than {max_depth} levels")
    return value


def _depth(value: object) -> int:
    """How deeply ``value``'s lists and objects nest (without recursing: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
