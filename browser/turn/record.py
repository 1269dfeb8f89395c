"""What a turn has learned so far, and the deltas it hands to its caller.

Sending, the stream reader and the DOM reader each learn part of a turn (the conversation,
our user message id, the model, the text); they write it into this one record instead of
into each other, and the record is what the caller reads (`BrowserTurn` is one).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal

from browser import faults, timing
from browser.channel import Channel
from browser.contract import AskOptions, FinishReason, Update
from browser.decoder import StreamState
from browser.errors import BridgeError, WebAppError
from browser.events import ModelUsed, TurnEvent, last_model
from browser.generated import GeneratedFile
from browser.pool import TAB_CRASHED
from browser.session import first_line

logger = logging.getLogger("browser.turn")

AnswerSource = Literal["stream", "websocket", "resume", "read-back", "dom"]
"""Where a turn's answer came from, for `chatgpt-bridge doctor` and bug reports."""


class TurnRecord:
    """The public face of a turn: its answer so far and how it was delivered and read."""

    def __init__(
        self,
        prompt: str,
        conversation_id: str | None,
        model: str | None,
        temporary: bool,
        options: AskOptions | None = None,
    ) -> None:
        self.prompt = prompt
        self.options = options or AskOptions(model=model)
        self.events: list[TurnEvent] = []
        """Typed events (progress, title, model used, citations, quotas), as they arrive."""
        self.temporary = temporary
        self.conversation_id: str | None = conversation_id
        self.model: str | None = model
        self.title: str | None = None
        self.text = ""
        self.finish_reason: FinishReason | None = None
        self.user_message_id: str | None = None
        self.message_id: str | None = None
        """The answer's message id (`Turn.message_id`): the stream's, the stored answer's,
        or the DOM's."""
        self.delivered: bool | None = False
        self.source: AnswerSource | None = None
        """How the answer was read: the tapped stream, the WebSocket topic or the resume
        endpoint a handoff moved it to, the stored conversation after a break-off, or the
        DOM fallback."""
        self.page_timings: dict[str, float] = {}
        """Epoch ms on the page's clock: request, first_text, last_text, end (benchmark)."""
        self.cancelled = False
        self.files: list[GeneratedFile] = []
        """What the turn made besides text (pictures), downloaded before the turn ends."""
        self.out: Channel[Update] = Channel()
        """Deltas and events, in arrival order (`Turn.updates()`)."""

    def emit(self, delta: str) -> None:
        """Hand `delta` to the caller."""
        if delta:
            self.text += delta
            self.out.put(delta)
            timing.mark("first_delta")

    async def __aiter__(self) -> AsyncIterator[str]:
        async for item in self.out:
            if isinstance(item, str):
                yield item

    def updates(self) -> Channel[Update]:
        """`Turn.updates()`: the deltas and the events, as they arrive."""
        return self.out

    def add_events(self, events: list[TurnEvent]) -> None:
        """Record typed events and wake the caller with them (unless the turn is over)."""
        for event in events:
            self.events.append(event)
            if not self.out.closed:
                self.out.put(event)

    def adopt(self, state: StreamState) -> None:
        """Take what the stream said about the turn (ids, model, title, a rewrite)."""
        self.conversation_id = state.conversation_id or self.conversation_id
        self.user_message_id = self.user_message_id or state.user_message_id
        self.message_id = state.answer_message_id or self.message_id
        self.model = state.model or self.model
        self.title = state.title or self.title
        if state.rewritten:
            self.text = state.text

    @property
    def answered_by(self) -> str | None:
        """The model that answered: the stream's `ModelUsed`, else the stored/DOM answer's."""
        used = last_model(self.events)
        if used is not None:
            return used
        return self.model if self.source in ("read-back", "dom") else None

    def note_answered(self, slug: str | None) -> None:
        """The stored answer names its model too: the only word on it after a handoff."""
        if slug and slug != last_model(self.events):
            asked = self.options.model
            self.add_events([ModelUsed(slug, asked if asked not in (None, slug) else None)])

    def replace_text(self, text: str) -> None:
        """Adopt the final text; hand the caller whatever it has not seen yet."""
        if text.startswith(self.text):
            self.emit(text[len(self.text) :])
        else:
            logger.warning("the stored answer differs from what streamed; using the stored one")
        self.text = text

    def finish(self, reason: str) -> None:
        self.finish_reason = "cancelled" if self.cancelled and reason != "stop" else reason

    def gone(self, kind: str) -> BridgeError:
        """The error for a tab that crashed or a browser that closed mid-turn."""
        if kind == TAB_CRASHED:
            return self.down_error("The tab crashed", faults.NEW_TAB)
        return self.down_error("The browser closed")

    def down_error(self, what: str, after: str = faults.RELAUNCH) -> BridgeError:
        return faults.browser_gone(what, self.delivered, self.conversation_id, after)

    def misbehaved(self, error: Exception, closed: bool) -> BridgeError:
        """A Playwright error: the browser went away (`closed`), or the page broke."""
        if closed or "closed" in str(error).lower():
            return self.down_error("The browser closed")
        return WebAppError(
            f"The ChatGPT page misbehaved: {first_line(error)}", delivered=self.delivered
        )
