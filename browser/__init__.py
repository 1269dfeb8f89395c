"""Drive the person's own logged-in ChatGPT in Chrome.

`contract` holds what every surface uses (`Bridge`, `Turn`, `BridgeState`); `BrowserBridge`
is the implementation that drives Chrome with Playwright. Exports load lazily, so importing
the contract or the errors loads no browser.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Bridge": "browser.contract",
    "BridgeState": "browser.contract",
    "Turn": "browser.contract",
    "BrowserBridge": "browser.bridge",
    "BrowserTurn": "browser.turn",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'browser' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
