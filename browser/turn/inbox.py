"""The turn's side of the tap: which of the page's requests and sockets are ours, in order.

The tab's queue carries everything the page's tap saw (every conversation POST attempt,
resumes, WebSocket messages, the clipboard) plus the pool's lifecycle messages. This keeps
the part that belongs to our turn: the first POST after Send (the page may retry it: an
attempt carrying our user message id is ours too), a resume of our conversation once the
stream handed off, and socket messages naming our conversation or user message. Each
attempt's messages are put back into their `seq` order; the stream decoder reads them.
No Playwright here: it runs on a plain `asyncio.Queue`, so it is unit-tested as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from browser import faults, timing
from browser.decoder import StreamDecoder
from browser.pool import BROWSER_CLOSED, TAB_CLOSED, TAB_CRASHED
from browser.turn.record import TurnRecord

logger = logging.getLogger("browser.turn")

TAP_GRACE = 3.0
"""Seconds the page may take to start a retry after an attempt broke off."""


class TapInbox:
    """Our turn's tap messages, ordered per attempt, and the decoder reading them."""

    def __init__(self, events: asyncio.Queue[dict[str, Any]], record: TurnRecord, expected: str):
        self._events = events
        self._record = record
        self._expected = expected
        self.fetch_ids: set[str] = set()
        """Tap ids of every attempt (and resume) whose messages are ours."""
        self.attempts: list[str] = []
        """Tap ids of the page's main requests carrying our message (it may retry)."""
        self.attempt: str | None = None
        """The attempt being decoded: the newest one seen."""
        self.resume_ids: set[str] = set()
        self.ws_ids: set[str] = set()
        """Tap ids of the page's WebSockets that carried our turn."""
        self.decoder = StreamDecoder()
        self.replaying = False
        """A retry re-streams what was handed out already: hold back until it goes beyond."""
        self._inbox: deque[dict[str, Any]] = deque()
        self._ready: deque[dict[str, Any]] = deque()
        self._next_seq: dict[str, int] = {}
        self._held: dict[str, dict[int, dict[str, Any]]] = {}

    @property
    def adopted(self) -> bool:
        """The page's request carrying our message has been seen."""
        return bool(self.fetch_ids)

    def collect(self) -> None:
        """Take every message the tab has received so far."""
        while not self._events.empty():
            self.take(self._events.get_nowait())

    async def wait(self, timeout: float) -> None:
        """Sleep until the tab has a new message (or `timeout`)."""
        if timeout <= 0:
            return
        try:
            message = await asyncio.wait_for(self._events.get(), timeout)
        except asyncio.TimeoutError:
            return
        self.take(message)

    def take(self, message: dict[str, Any]) -> None:
        """Queue a tap message; the first request after Send is ours: adopt it."""
        self._inbox.append(message)
        if message.get("kind") != "request" or message.get("endpoint") != "conversation":
            return  # a resume continues a stream, a rating is no turn: neither posts ours
        body = faults.json_object(message.get("body"))
        prompt, message_id = user_message(body)
        record = self._record
        if self.fetch_ids:
            # The front end may retry its request: an attempt carrying our message is ours.
            if message_id is not None and message_id == record.user_message_id:
                self.fetch_ids.add(message["id"])
                self.attempts.append(message["id"])
            return
        if prompt is not None and prompt.replace("\r\n", "\n") != self._expected:
            logger.warning(
                "the page sent a different text than typed (%d vs %d chars)",
                len(prompt),
                len(self._expected),
            )
        self.fetch_ids.add(message["id"])
        self.attempts.append(message["id"])
        self.attempt = message["id"]
        record.user_message_id = message_id or record.user_message_id
        if message_id:
            self.decoder.expect(message_id)
        record.model = body.get("model") or record.model
        record.conversation_id = body.get("conversation_id") or record.conversation_id
        record.page_timings["request"] = message.get("t", 0)
        timing.mark("page_request", record.page_timings["request"])
        timing.mark("tapped")

    def ordered(self) -> Iterator[dict[str, Any]]:
        """Our messages in page order, one at a time; lifecycle messages raise.

        Each message is classified only after everything before it was taken: whether a
        resume request is ours depends on the handoff the chunks before it announced.
        A caller may stop iterating early: what it did not take stays queued for the next.
        """
        self.collect()
        while True:
            while self._ready:
                yield self._ready.popleft()
            if not self._inbox:
                return
            self._classify(self._inbox.popleft())

    def _classify(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind in (BROWSER_CLOSED, TAB_CRASHED, TAB_CLOSED):
            raise self._record.gone(str(kind))
        fetch = str(message.get("id"))
        if kind in ("ws", "ws_close") and self._ours_on_socket(message):
            self._ready.append(message)  # one socket's messages arrive in its own order
            return
        if kind == "request" and self._resumes_us(message):
            if not self.decoder.state.handoff:
                self._ready.append(message)  # the page reconnecting by itself: progress
                return
            self.fetch_ids.add(fetch)  # the rest of the answer comes this way
            self.resume_ids.add(fetch)
        if fetch not in self.fetch_ids:
            return
        held = self._held.setdefault(fetch, {})
        held[int(message.get("seq", 0))] = message
        expected = self._next_seq.get(fetch, 0)
        while expected in held:
            self._ready.append(held.pop(expected))
            expected += 1
        self._next_seq[fetch] = expected

    async def retried(self, attempt: Any) -> bool:
        """`attempt` broke off: is there, or does the page soon start, a newer one of ours?"""
        deadline = time.monotonic() + TAP_GRACE
        while self.attempts[-1] == attempt and time.monotonic() < deadline:
            await self.wait(deadline - time.monotonic())
        return self.attempts[-1] != attempt

    def follow(self, attempt: str) -> None:
        """A retried request streams the answer again from the start: decode it afresh."""
        logger.info("the page retried its request; following the new attempt")
        self.decoder = StreamDecoder()
        self.replaying = True
        self.attempt = attempt

    def superseded(self, attempt: Any) -> bool:
        """`attempt` is one the page gave up on (an older attempt than the one followed)."""
        if attempt not in self.attempts or attempt == self.attempt:
            return False
        if self.attempts.index(attempt) < self.attempts.index(self.attempt):
            return True
        self.follow(attempt)
        return False

    def _ours_on_socket(self, message: dict[str, Any]) -> bool:
        """A WebSocket message about our turn (or the close of a socket that carried it)."""
        socket = str(message.get("id"))
        if message.get("kind") == "ws_close":
            return socket in self.ws_ids
        text = str(message.get("text", ""))
        marks = (self._record.conversation_id, self._record.user_message_id)
        if any(mark and mark in text for mark in marks):
            self.ws_ids.add(socket)
            return True
        return False

    def _resumes_us(self, message: dict[str, Any]) -> bool:
        """A resume request of our conversation (after a handoff, or a long silence)."""
        conversation = self._record.conversation_id
        if conversation is None or "/resume" not in str(message.get("url")):
            return False
        return faults.json_object(message.get("body")).get("conversation_id") == conversation


def user_message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The text and id of the user message a conversation POST body carries."""
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1], dict):
        return None, None
    message = messages[-1]
    parts = (message.get("content") or {}).get("parts") or []
    return "".join(p for p in parts if isinstance(p, str)), message.get("id")
