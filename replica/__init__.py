"""An offline stand-in for chatgpt.com: the page, its script, its endpoints and a fake model.

See `docs/replica.md`. `ReplicaServer(ReplicaOptions(auto_login=True)).start().url` is all
a test or a benchmark needs. Exports load lazily so that building the CLI's flags from
`replica.options` does not import the web stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "KNOB_NAMES": "replica.options",
    "ReplicaOptions": "replica.options",
    "ReplicaServer": "replica.runner",
    "create_replica_app": "replica.server",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'replica' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
