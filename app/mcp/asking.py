"""One `ask` call: the answer read to its end, with progress said while ChatGPT works.

A thinking model may be silent for minutes before its first word, and agents' MCP clients
give up on a call that says nothing for long (or a read timeout ends the HTTP stream), so
the call reports what the turn's typed events tell (reasoning, a web search, a tool: from
`Turn.updates()`, as they arrive) as MCP progress notifications, and a heartbeat when
nothing happens for a while. The turn runs in a task of its own (`app.api.turns.
TurnRunner`): when the client cancels the call, that task is told to stop, which presses
Stop in the page even though this coroutine's scope is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from app.api.turns import TurnRunner
from browser.events import ModelUsed, Progress, TurnEvent

HEARTBEAT = 10.0
"""Seconds of silence after which a progress notification says the turn is still running."""

Report = Callable[[str], Awaitable[None]]
"""Sends one progress notification with this message."""

_PROGRESS = {
    "reasoning": "ChatGPT is thinking",
    "search": "ChatGPT is searching the web",
    "tool": "ChatGPT is using a tool",
    "image": "ChatGPT is making an image",
}


def describe(event: TurnEvent) -> str | None:
    """What a progress notification says of an event (None: nothing worth saying)."""
    if isinstance(event, Progress):
        label = _PROGRESS[event.kind]
        return f"{label}: {event.text}" if event.text else label
    if isinstance(event, ModelUsed) and event.requested:
        return f"ChatGPT answers with {event.slug} (asked for {event.requested})"
    return None


async def read_answer(runner: TurnRunner, report: Report) -> str:
    """The whole answer's Markdown; progress reported on the way. Raises like the turn.

    Cancelled (the client cancelled the call), it stops the turn: Stop is pressed.
    """
    started = time.monotonic()
    text: list[str] = []
    try:
        while True:
            try:
                update = await runner.next_update(HEARTBEAT)
            except StopAsyncIteration:
                return "".join(text)
            if update is None:
                doing = "writing" if text else "working on the answer"
                message = f"ChatGPT is still {doing} ({time.monotonic() - started:.0f} s)"
            elif isinstance(update, str):
                message = None if text else "ChatGPT is writing the answer"
                text.append(update)
            else:
                message = describe(update)
            if message:
                await report(message)
    except asyncio.CancelledError:
        runner.stop()
        raise
