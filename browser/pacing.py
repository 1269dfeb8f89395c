"""Send pacing shared by every tab: how fast this account may post messages.

One account drives several tabs; to chatgpt.com they are one person typing. Two safeguards
keep that person looking like one:

- A minimum gap between two sends (`send_interval_ms`), whichever tabs they come from. A
  person does not post two prompts within a second of each other; a burst of parallel API
  calls would, and bursts are what "unusual activity" checks look for. 0 turns it off.
- A hold after the first limit signal (HTTP 429, a "too many requests" dialog, an "unusual
  activity" notice): no tab sends until the page's own wait is over, because every further
  attempt during a limit risks a longer one. When the page names no wait, a default hold
  applies. Callers are refused with `RateLimitedError` carrying `retry_after`, never queued
  silently for minutes.

Pure asyncio: the clock and the sleep are injectable, so the logic is tested without a
browser or real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from browser.errors import RateLimitedError

DEFAULT_HOLD = 60.0
"""Seconds every send is held after a limit signal that names no wait of its own."""

HELD = (
    "ChatGPT signalled a rate limit or unusual activity, so the bridge holds every send "
    "until the page's own wait is over."
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class SendPacer:
    """Grants sends one at a time, at least `interval` seconds apart, none while held."""

    def __init__(
        self,
        interval: float,
        *,
        default_hold: float = DEFAULT_HOLD,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.interval = max(0.0, interval)
        self.default_hold = default_hold
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_send: float | None = None
        self._held_until = 0.0

    def retry_after(self) -> float | None:
        """Seconds until the hold is over, None when sends are not held."""
        left = self._held_until - self._clock()
        return left if left > 0 else None

    def check(self) -> None:
        """Raise `RateLimitedError` (with `retry_after`) while sends are held."""
        left = self.retry_after()
        if left is not None:
            raise RateLimitedError(HELD, retry_after=left)

    async def wait_turn(self) -> None:
        """Wait until this send may go, then count it as sent now.

        Callers queue on one lock (FIFO), so sends from many tabs leave one at a time in
        arrival order. Call it right before pressing Send, and `sent()` once ChatGPT took it.
        """
        async with self._lock:
            self.check()
            while (gap := self._gap()) > 0:
                await self._sleep(gap)
                self.check()  # a limit may have been signalled meanwhile
            self._last_send = self._clock()

    def sent(self) -> None:
        """ChatGPT accepted the message just now: the next gap counts from here.

        The page may take a while between the press and its request (a cold tab, a slow
        preflight), so the press alone could let two requests reach ChatGPT closer together
        than `interval`.
        """
        self._last_send = self._clock()

    def _gap(self) -> float:
        if self._last_send is None or not self.interval:
            return 0.0
        return self._last_send + self.interval - self._clock()

    def hold(self, retry_after: float | None) -> float:
        """A limit signal: hold every send for the page's wait (or the default); returns it.

        A later, shorter signal never shortens a running hold.
        """
        seconds = retry_after if retry_after and retry_after > 0 else self.default_hold
        self._held_until = max(self._held_until, self._clock() + seconds)
        return self._held_until - self._clock()

    def release(self) -> None:
        """ChatGPT took a message: whatever limit there was is over."""
        self._held_until = 0.0
