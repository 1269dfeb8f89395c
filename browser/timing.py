"""Where a request's time goes before its first token: opt-in marks of its phases.

`bench/bench_speed.py --breakdown` needs to know, phase by phase, what the bridge spends
before the page's own first token. Each layer marks the moment a phase ends
(`mark("typed")`) in a timeline held by a context variable, so no signature carries it: the
HTTP handler `begin()`s one, the turn's tasks inherit it (asyncio copies the context into
every task it creates) and the first SSE chunk `report()`s it, as one DEBUG record of the
`browser.timing` logger whose `phases` attribute maps each phase to the epoch ms it ended
(the page's clock is the same: `tap.js` stamps with `performance.timeOrigin`, so the page's
own moments sit on the same line). Quiet and cheap by default: unless that logger is enabled
for DEBUG nothing is recorded, and each `mark()` is one context-variable read.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

logger = logging.getLogger(__name__)

REQUEST = "request"
"""The first mark of every timeline: the handler began it."""

_timeline: ContextVar[dict[str, float] | None] = ContextVar("timeline", default=None)


def begin() -> None:
    """Start this request's timeline, when someone listens."""
    if logger.isEnabledFor(logging.DEBUG):
        _timeline.set({REQUEST: time.time() * 1000})


def mark(phase: str, at_ms: float | None = None) -> None:
    """`phase` ended now (or at epoch ms `at_ms`); only its first end counts."""
    timeline = _timeline.get()
    if timeline is not None and phase not in timeline:
        timeline[phase] = time.time() * 1000 if at_ms is None else at_ms


def report(phase: str) -> None:
    """Mark the last phase and log the timeline, once."""
    timeline = _timeline.get()
    if timeline is None:
        return
    mark(phase)
    _timeline.set(None)
    steps = " ".join(f"{name}=+{at - timeline[REQUEST]:.0f}" for name, at in timeline.items())
    logger.debug("phases: %s", steps, extra={"phases": dict(timeline)})
