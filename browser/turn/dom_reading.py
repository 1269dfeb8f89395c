"""The last resort: reading the answer from the DOM when the tap saw no request.

That only happens when the web app changed its network layer. The renderer adapter gives
the assistant message after our user message (never an older one); it is done when its
finished marker shows (the action bar) and the stop control is gone, and its Markdown is
then read back from the server, or, failing that, copied with the page's Copy button.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

from browser import selectors
from browser.errors import AnswerTimeoutError, WebAppError
from browser.page import DomMessage, PageState, probe
from browser.pool import Tab
from browser.readback import try_read_back
from browser.turn.record import TurnRecord

POLL = 0.3
COPY_WAIT = 5.0
"""Seconds for the clipboard tap to report what the Copy button copied."""


class DomSettings(Protocol):
    data_dir: Path
    idle_timeout: float
    answer_timeout: float


class DomReader:
    """Watches the answer after our user message until its finished marker shows."""

    def __init__(self, tab: Tab, settings: DomSettings, record: TurnRecord) -> None:
        self._tab = tab
        self._page = tab.page
        self._settings = settings
        self._record = record

    async def read(self) -> None:
        record = self._record
        record.source = "dom"
        started = time.monotonic()
        last_progress, last_text = started, None
        while True:
            state = await probe(self._page)
            record.conversation_id = state.conversation_id or record.conversation_id
            answer = answer_after(state, record.user_message_id)
            if state.stop:
                # `.markdown` may stay empty until the end: a generating page is progress.
                last_progress = time.monotonic()
            if answer is not None:
                record.delivered = True  # ChatGPT is answering it
                record.message_id = answer.id
                record.model = answer.slug or record.model
                if answer.text != last_text:
                    last_text, last_progress = answer.text, time.monotonic()
                if answer.done and not state.stop:
                    record.replace_text(await self._markdown_of(answer.id))
                    record.finish("cancelled" if record.cancelled else "stop")
                    return
            if state.thread_error and (answer is None or not answer.done):
                raise WebAppError(
                    f"ChatGPT showed an error: {state.thread_error}", delivered=record.delivered
                )
            now = time.monotonic()
            if now - started > self._settings.answer_timeout:
                raise AnswerTimeoutError()
            if now - last_progress > self._settings.idle_timeout:
                raise AnswerTimeoutError()
            await asyncio.sleep(POLL)

    async def _markdown_of(self, message_id: str) -> str:
        """The answer's exact Markdown: read back from the server, else via the copy button."""
        record = self._record
        stored = await try_read_back(self._page, record.conversation_id, record.user_message_id)
        if stored is not None and stored.finished:
            record.model = stored.model or record.model
            record.note_answered(stored.model)
            return stored.text
        self._tab.drain()
        if not await self._page.evaluate(_CLICK_COPY_JS, [message_id, selectors.page_selectors()]):
            raise WebAppError(
                "The answer finished but its text could not be read (no conversation API, no "
                "copy button). See the conversation on chatgpt.com.",
                delivered=True,
            )
        deadline = time.monotonic() + COPY_WAIT
        while time.monotonic() < deadline:
            while not self._tab.events.empty():
                message = self._tab.events.get_nowait()
                if message.get("kind") == "clipboard":
                    return str(message.get("text", ""))
            await asyncio.sleep(POLL / 2)
        raise WebAppError(
            "The answer finished but its text could not be read (neither the conversation API "
            "nor the copy button answered). See the conversation on chatgpt.com.",
            delivered=True,
        )


def answer_after(state: PageState, user_message_id: str | None) -> DomMessage | None:
    """The DOM's assistant message that follows our user message (never an older one)."""
    found = user_message_id is None
    answer = None
    for message in state.messages:
        if message.id == user_message_id:
            found = True
            answer = None
        elif found and message.role == "user":
            break
        elif found and message.role == "assistant":
            answer = message
    return answer if found else None


_CLICK_COPY_JS = """
([id, S]) => {
  const message = document.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
  const turn = message && message.closest(S.turn);
  const copy = turn && turn.querySelector(S.copy);
  if (copy) copy.click();
  return !!copy;
}
"""
