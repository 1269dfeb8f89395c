"""The events of one response, kept in order for every reader, from any point.

A Responses stream can be read more than once: by the request that created it, and by
`GET /v1/responses/{id}?stream=true&starting_after=<sequence_number>`, which replays it and,
while the response is still being written (in the background), follows it live to its end.
So a run writes its events into this log instead of into a one-reader queue; each reader
walks the list from where it wants and waits for the next event. Event `n` of the list is the
one with `sequence_number` `n`. The finished list is stored with the response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from app.api.responses_api.events import Event


class EventLog:
    """Append-only events and the readers that follow them; `close()` after the last."""

    def __init__(self, events: Sequence[Event] = (), *, closed: bool = False) -> None:
        self.events: list[Event] = list(events)
        self._closed = closed
        self._grew = asyncio.Event()
        """Set (and replaced) on every change: a reader waits on the one it saw."""

    def put(self, event: Event) -> None:
        self.events.append(event)
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    async def follow(self, after: int, tick: float) -> AsyncIterator[Event | None]:
        """The events after sequence number `after` (-1: all), live until the log closes;
        None after each `tick` seconds without one (a keep-alive)."""
        index = after + 1
        while True:
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self._closed:
                return
            grew = self._grew
            try:
                await asyncio.wait_for(grew.wait(), tick)
            except TimeoutError:
                yield None

    def _wake(self) -> None:
        grew, self._grew = self._grew, asyncio.Event()
        grew.set()
