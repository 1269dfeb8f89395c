"""Reading the answer from the page's own network, in the order of what cannot lie.

1. The tapped HTTP stream of our POST (the attempt tied to our user message id; a retried
   attempt replays from the start, and only what goes beyond the text handed out counts).
2. After `stream_handoff`: the page's WebSocket topic items, or its resume stream. The POST
   ending then is not a break-off; the page picking nothing up within `HANDOFF_WAIT` is.
3. A stream that broke off: the read-back, for as long as the server's `stream_status`
   says it is still writing (or the stored text still grows). An image turn
   (`conversation_async_status`, no answer text) is read back the same way, as "drawing",
   until its picture is stored; the pictures are then downloaded at once (their links
   expire) into `record.files`, and so are the code-tool files the answer links
   (`sandbox:/mnt/data/…`).
Done is the stream's own terminal events (the final-channel answer finished, and
`message_stream_complete` or `[DONE]`), never a button. Every finished answer is then
checked against the read-back: the stored one wins.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol

from browser import timing
from browser.downloads import download_all, download_sandbox_files
from browser.errors import AnswerTimeoutError, ChallengeError, WebAppError
from browser.events import Progress
from browser.generated import sandbox_paths
from browser.pool import Tab
from browser.readback import StoredAnswer, stream_status, try_read_back
from browser.turn.inbox import TapInbox
from browser.turn.record import TurnRecord

logger = logging.getLogger("browser.turn")

TRAILING_GRACE = 0.5
"""Seconds a finished turn waits for its request to end, for the typed events after the
answer (`conversation_detail_metadata` with the quotas follows `message_stream_complete`)."""
HANDOFF_WAIT = 75.0
"""Seconds for the page to pick a handed-off turn up (WebSocket or resume) before the
read-back takes over: chatgpt.com's page resumes by itself after ~60 s of silence
(shared/research/chatgpt-web-2026.md). Never longer than BRIDGE_IDLE_TIMEOUT."""
RECOVERY_IDLE = 15.0
"""Seconds without progress before a broken-off stream is given up on."""


class ReadSettings(Protocol):
    idle_timeout: float
    answer_timeout: float


class StreamReader:
    """Decodes our turn's tap messages into the record until the answer is done."""

    def __init__(
        self, tab: Tab, settings: ReadSettings, record: TurnRecord, inbox: TapInbox
    ) -> None:
        self._page = tab.page
        self._settings = settings
        self._record = record
        self._inbox = inbox
        self._stored: StoredAnswer | None = None
        """The last read-back: it names the pictures the turn made."""

    async def read(self) -> None:
        await self._read_stream()
        stored, record = self._stored, self._record
        if stored is not None and stored.assets and record.conversation_id is not None:
            record.files = await download_all(
                self._page, record.conversation_id, stored.assets, record.prompt
            )
        linked = sandbox_paths(stored.text) if stored is not None else ()
        if linked and stored is not None and stored.message_id and record.conversation_id:
            record.files += await download_sandbox_files(
                self._page, record.conversation_id, stored.message_id, linked
            )

    async def _read_stream(self) -> None:
        record, inbox = self._record, self._inbox
        record.source = "stream"
        started = time.monotonic()
        last_progress = started
        handed_off_at: float | None = None
        while True:
            for message in inbox.ordered():
                kind = message.get("kind")
                attempt = message.get("id")
                if inbox.superseded(attempt):
                    continue  # an attempt the page gave up on
                state = inbox.decoder.state
                if kind == "chunk":
                    self._feed_chunk(message)
                    last_progress = time.monotonic()
                elif kind == "ws":
                    self._feed_socket(message)
                    handed_off_at, last_progress = None, time.monotonic()
                elif kind == "request":
                    # The page resumes our turn: a thinking model may stay silent for
                    # minutes, and only the page giving up is a stall.
                    handed_off_at, last_progress = None, time.monotonic()
                elif kind == "ws_close" and not state.done:
                    await self._broken_off(message)
                    return
                elif kind in ("end", "abort", "fetch_error"):
                    record.page_timings["end"] = message.get("t", 0)
                    self._emit(inbox.decoder.close())
                    if not state.done:
                        if state.handoff and str(attempt) not in inbox.resume_ids:
                            handed_off_at = time.monotonic()  # the socket or resume goes on
                            continue
                        if not state.handoff and await inbox.retried(attempt):
                            continue
                        if state.async_turn and state.stream_complete:
                            await self._await_pictures()
                            return
                        await self._broken_off(message)
                        return
                if state.done:
                    self._settle()
                    await self._check_against_read_back()
                    await self._take_trailing()
                    return
            now = time.monotonic()
            handoff_wait = min(HANDOFF_WAIT, self._settings.idle_timeout)
            if handed_off_at is not None and now - handed_off_at >= handoff_wait:
                await self._broken_off({"kind": "handoff"})  # the page never picked it up
                return
            # While handed off, the wait for the page to pick the turn up is the idle limit.
            idle_since = last_progress if handed_off_at is None else now
            self._check_time(now - started, now - idle_since)
            limits = [
                self._settings.answer_timeout - (now - started),
                self._settings.idle_timeout - (now - idle_since),
            ]
            if handed_off_at is not None:
                limits.append(handoff_wait - (now - handed_off_at))
            await inbox.wait(min(limits))

    async def _take_trailing(self) -> None:
        """Typed events after the answer's end (the quotas, a late title): take what came,
        until the request ends or a moment passes. The answer itself is settled already."""
        inbox = self._inbox
        deadline = time.monotonic() + TRAILING_GRACE
        while True:
            for message in inbox.ordered():
                kind = message.get("kind")
                if kind == "chunk":
                    inbox.decoder.feed(
                        message.get("text", ""),
                        stream=str(message.get("id")),
                        resume=str(message.get("id")) in inbox.resume_ids,
                    )
                elif kind in ("end", "abort", "fetch_error"):
                    self._adopt()
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._adopt()
                return
            await inbox.wait(remaining)

    def _check_time(self, running: float, idle: float) -> None:
        if running > self._settings.answer_timeout:
            raise AnswerTimeoutError(
                f"ChatGPT did not finish answering within {self._settings.answer_timeout:.0f}"
                " s (BRIDGE_ANSWER_TIMEOUT). The question was delivered; the answer so far "
                "is kept in the conversation on chatgpt.com."
            )
        if idle > self._settings.idle_timeout:
            raise AnswerTimeoutError(
                f"ChatGPT sent nothing for {self._settings.idle_timeout:.0f} s "
                "(BRIDGE_IDLE_TIMEOUT). The question was delivered; see the conversation on "
                "chatgpt.com."
            )

    def _feed_chunk(self, message: dict[str, Any]) -> None:
        fetch = str(message.get("id"))
        resumed = fetch in self._inbox.resume_ids
        delta = self._inbox.decoder.feed(message.get("text", ""), stream=fetch, resume=resumed)
        if delta and resumed:
            self._record.source = "resume"
        self._emit(delta, message)

    def _feed_socket(self, message: dict[str, Any]) -> None:
        """One WebSocket message (a JSON array of topic items) into the stream inbox."""
        try:
            items = json.loads(str(message.get("text", "")))
        except ValueError:
            return
        delta = ""
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict):
                delta += self._inbox.decoder.feed_ws(item)
        if delta:
            self._record.source = "websocket"
        self._emit(delta, message)

    def _adopt(self) -> None:
        """Take what the stream said about the turn, and its typed events, into the record."""
        decoder = self._inbox.decoder
        self._record.adopt(decoder.state)
        self._record.add_events(decoder.take_events())

    def _emit(self, delta: str, message: dict[str, Any] | None = None) -> None:
        """Hand new text on; while a retry replays what was handed out, only what is new."""
        inbox = self._inbox
        self._adopt()
        if delta and message is not None:
            self._record.page_timings.setdefault("first_text", message.get("t", 0))
            timing.mark("page_first_text", self._record.page_timings["first_text"])
            self._record.page_timings["last_text"] = message.get("t", 0)
        self._record.emit(self._caught_up() if inbox.replaying else delta)

    def _caught_up(self) -> str:
        text, handed_out = self._inbox.decoder.state.text, self._record.text
        if len(text) <= len(handed_out) or not text.startswith(handed_out):
            return ""  # still replaying (a retry that diverges is settled by the read-back)
        self._inbox.replaying = False
        return text[len(handed_out) :]

    def _settle(self) -> None:
        """The stream is over: a stream error fails the turn, otherwise it is finished."""
        state = self._inbox.decoder.state
        self._adopt()
        if state.error is not None and not state.answer_finished:
            raise WebAppError(
                f"ChatGPT reported an error while answering: {state.error}",
                delivered=True if state.user_message_id else None,
            )
        self._record.finish(state.finish_reason or "stop")

    async def _await_pictures(self) -> None:
        """An image turn's stream is over with no answer text: the picture comes later."""
        self._adopt()
        self._record.add_events([Progress("image", "drawing")])
        await self._recover("drawing")

    async def _broken_off(self, last: dict[str, Any]) -> None:
        """The stream ended without its terminal events: recover from the stored answer."""
        self._adopt()
        if not self._record.cancelled:
            logger.warning("the answer stream broke off (%s); reading it back", last.get("kind"))
        await self._recover("the answer stream broke off")

    async def _recover(self, why: str) -> None:
        """Read the stored answer until it is finished, while it or the server moves."""
        record = self._record
        if record.cancelled:
            record.finish("cancelled")
            return
        if record.conversation_id is None:
            raise WebAppError(
                "The answer stream broke off before ChatGPT named the conversation. The question "
                "may have been delivered; it was not sent again. See chatgpt.com.",
                delivered=None,
            )
        seen, last_progress = record.text, time.monotonic()
        give_up = last_progress + self._settings.answer_timeout
        idle = min(RECOVERY_IDLE, self._settings.idle_timeout)
        while time.monotonic() - last_progress < idle and time.monotonic() < give_up:
            stored = await self._read_back()
            if stored is not None:
                if stored.finished:
                    record.source = "read-back"
                    record.replace_text(stored.text)
                    record.finish("stop")
                    return
                if stored.text != seen:
                    seen, last_progress = stored.text, time.monotonic()
            if await self._still_streaming():
                last_progress = time.monotonic()  # the server says it is still writing
            await asyncio.sleep(1.0)
        raise WebAppError(
            f"ChatGPT did not finish the answer ({why}). The question was delivered "
            f"(conversation {record.conversation_id}); it was not sent again.",
            delivered=True,
        )

    async def _still_streaming(self) -> bool:
        conversation = self._record.conversation_id
        if conversation is None:
            return False
        try:
            return await stream_status(self._page, conversation) == "IS_STREAMING"
        except ChallengeError:
            return False

    async def _check_against_read_back(self) -> None:
        """The streamed answer against the stored one: the stored one wins (and is logged)."""
        record = self._record
        if record.finish_reason != "stop":
            return  # a stopped answer is partial on purpose
        stored = await self._read_back()
        if stored is None or not stored.finished or stored.text == record.text:
            return
        if stored.text.startswith(record.text):
            logger.warning(
                "the stream missed the answer's last %d characters; adding them",
                len(stored.text) - len(record.text),
            )
        record.model = stored.model or record.model
        record.replace_text(stored.text)  # logs when the two differ otherwise

    async def _read_back(self) -> StoredAnswer | None:
        record = self._record
        stored = await try_read_back(self._page, record.conversation_id, record.user_message_id)
        self._stored = stored or self._stored
        if stored is not None and stored.message_id:
            record.message_id = stored.message_id  # the stored chat has the last word
        record.note_answered(stored.model if stored is not None else None)
        return stored
