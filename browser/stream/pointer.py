"""JSON-pointer operations of the delta encoding, applied in place.

Besides RFC 6902's `add`/`replace`/`remove`, delta v1 has `append` (strings concatenate,
lists extend, objects merge: how `/message/metadata` grows) and `truncate`.
"""

from __future__ import annotations

from typing import Any


def apply(root: Any, path: str, operation: str, value: Any) -> None:
    """Apply one operation at `path` (a JSON pointer, never empty here) to `root`."""
    _apply_pointer(root, _pointer(path), operation, value)


def _pointer(path: str) -> list[str]:
    if not path:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in path.lstrip("/").split("/")]


def _apply_pointer(root: Any, tokens: list[str], operation: str, value: Any) -> None:
    """Apply one JSON-pointer operation of the delta encoding to `root` in place."""
    *parents, last = tokens
    container = root
    for token in parents:
        container = container[int(token)] if isinstance(container, list) else container[token]
    key: Any = last
    if isinstance(container, list):
        key = len(container) if last == "-" else int(last)
    if operation == "add":
        if isinstance(container, list):
            container.insert(key, value)
        else:
            container[key] = value
    elif operation == "replace":
        container[key] = value
    elif operation == "remove":
        del container[key]
    elif operation == "append":
        current = container[key] if _has(container, key) else None
        if current is None:
            container[key] = value
        elif isinstance(current, str):
            container[key] = current + str(value)
        elif isinstance(current, list):
            current.extend(value if isinstance(value, list) else [value])
        elif isinstance(current, dict) and isinstance(value, dict):
            current.update(value)
        else:
            raise TypeError(f"cannot append to {type(current).__name__}")
    elif operation == "truncate":
        current = container[key]
        container[key] = current[: int(value)]
    else:
        raise ValueError(f"unknown operation {operation!r}")


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, list):
        return 0 <= key < len(container)
    return key in container
