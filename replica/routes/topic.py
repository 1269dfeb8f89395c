"""The replica's own WebSocket: subscribe to a turn's topic, get its items, with replays.

`GET /backend-api/celsius/ws/user` tells the page where to connect; the page then sends
`{"type":"subscribe","topic_id":"conversation-turn-…","offset":"0"}` and receives JSON
arrays of `conversation-turn-stream` items, each carrying one SSE frame (`encoded_item`).
The first array is a catch-up of everything already published; some later arrays repeat
an item already sent, so a reader must de-duplicate by `stream_item_id`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from replica.state import get_replica
from replica.topic import Topic, ws_batch

logger = logging.getLogger(__name__)

router = APIRouter()

REPLAY_EVERY = 3
"""Every third array repeats the last item of the array before it (a catch-up replay)."""


async def _relay(socket: WebSocket, lock: asyncio.Lock, topic: Topic, offset: int) -> None:
    try:
        await _send_items(socket, lock, topic, offset)
    except (WebSocketDisconnect, RuntimeError, OSError):
        logger.debug("a topic subscriber went away: %s", topic.topic_id)


async def _send_items(socket: WebSocket, lock: asyncio.Lock, topic: Topic, offset: int) -> None:
    """Catch-up from `offset`, then live arrays; some start with an item already sent."""
    sent = 0
    last = offset
    async for first, frames in topic.follow(offset):
        if sent % REPLAY_EVERY == 1 and first > 0:
            first, frames = first - 1, [topic.items[first - 1], *frames]
        async with lock:
            await socket.send_text(ws_batch(topic, first, frames))
        sent += 1
        last = first + len(frames)
    if sent == 1 and last > 0:  # a late subscriber got it all at once: replay its last item
        async with lock:
            await socket.send_text(ws_batch(topic, last - 1, topic.items[last - 1 : last]))


def _reply(command: dict[str, Any], status: str, **fields: Any) -> str:
    return json.dumps(
        [{"type": "reply", "id": command.get("id"), "payload": {"status": status, **fields}}]
    )


@router.websocket("/ws/user")
async def user_socket(socket: WebSocket) -> None:
    replica = get_replica(socket)  # type: ignore[arg-type]
    await socket.accept()
    lock = asyncio.Lock()
    relays: list[asyncio.Task[None]] = []
    try:
        while True:
            try:
                command = json.loads(await socket.receive_text())
            except json.JSONDecodeError:
                command = {}
            if not isinstance(command, dict):
                command = {}
            topic = replica.topics.get(str(command.get("topic_id") or ""))
            if command.get("type") != "subscribe" or topic is None:
                async with lock:
                    await socket.send_text(_reply(command, "error", reason="unknown_topic"))
                continue
            async with lock:
                await socket.send_text(_reply(command, "ok", topic_id=topic.topic_id))
            offset = int(command.get("offset") or 0)
            relays.append(asyncio.create_task(_relay(socket, lock, topic, offset)))
    except WebSocketDisconnect:
        pass
    finally:
        for relay in relays:
            relay.cancel()
