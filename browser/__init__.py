"""Drive the person's own logged-in ChatGPT in Chrome: `Bridge`, `BridgeState`, `Turn`."""

from browser.bridge import Bridge, BridgeState
from browser.turn import Turn

__all__ = ["Bridge", "BridgeState", "Turn"]
