"""A turn's topic: the frames of a handed-off answer, kept so late readers can catch up.

After `stream_handoff` the rest of an answer is published here, one SSE frame per item.
The WebSocket subscriber gets every item from its `offset` (a catch-up), then live items,
and now and then a replay of items it already has; the resume endpoint streams the same
items as SSE. Keeping all items is what lets both start late and still read everything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

TOPIC_PREFIX = "conversation-turn-"


@dataclass(eq=False)
class Topic:
    topic_id: str
    conversation_id: str
    items: list[str] = field(default_factory=list)
    handed_off: bool = False
    """Set when the turn's HTTP stream hands off to this topic (resume needs it)."""
    closed: bool = False

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()

    async def publish(self, frames: list[str]) -> None:
        async with self._changed:
            self.items.extend(frames)
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    async def follow(self, offset: int = 0) -> AsyncIterator[tuple[int, list[str]]]:
        """(first index, frames) batches from `offset` on until the topic closes."""
        at = offset
        while True:
            async with self._changed:
                await self._changed.wait_for(partial(self._ready, at))
                batch = self.items[at:]
                closed = self.closed
            if batch:
                yield at, batch
                at += len(batch)
            if closed and at >= len(self.items):
                return

    def _ready(self, at: int) -> bool:
        return self.closed or len(self.items) > at

    async def frames(self) -> AsyncIterator[str]:
        """Every item as SSE, for the resume endpoint."""
        async for _, batch in self.follow():
            for frame in batch:
                yield frame


def stream_item(topic: Topic, index: int, frame: str) -> dict[str, Any]:
    """One WebSocket item carrying one SSE frame (docs/replica.md, "WebSocket topic")."""
    return {
        "type": "message",
        "topic_id": topic.topic_id,
        "payload": {
            "type": "conversation-turn-stream",
            "payload": {
                "type": "stream-item",
                "conversation_id": topic.conversation_id,
                "stream_item_id": f"{topic.topic_id}:{index}",
                "encoded_item": frame,
            },
        },
    }


def ws_batch(topic: Topic, first: int, frames: list[str]) -> str:
    """The text of one WebSocket message: a JSON array of items."""
    return json.dumps([stream_item(topic, first + i, f) for i, f in enumerate(frames)])
