"""One prompt -> one answer, on one tab, the way a careful person would do it.

A turn is four jobs, one module each:
- `sending`: open the chat (`navigation`: the app's own route change where it is safe),
  check the page, type, press Send, prove the page's own request carried our message;
- `inbox`: which of the tab's tapped requests and sockets are ours, in order (pure);
- `stream_reading`: the answer from the network: the HTTP stream, the WebSocket or resume
  after a handoff, the read-back after a break-off (`browser/readback.py`);
- `dom_reading`: the DOM, only when the tap saw nothing.
`record.TurnRecord` is what they learn and what the caller reads; `BrowserTurn` glues them
and is the caller's side: iterate it for Markdown deltas, `cancel()` it, `close()` it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import selectors
from browser.attachments import Attachment
from browser.contract import AskOptions
from browser.errors import BridgeError, WebAppError
from browser.page import stop_conversation
from browser.pool import Tab
from browser.turn.dom_reading import DomReader
from browser.turn.inbox import TapInbox
from browser.turn.record import AnswerSource, TurnRecord
from browser.turn.sending import POLL, Sender
from browser.turn.stream_reading import StreamReader

__all__ = ["AnswerSource", "BrowserTurn", "TurnSettings"]

logger = logging.getLogger(__name__)

STOP_WAIT = 15.0
"""Seconds to wait for the stream to end after pressing Stop."""
STOP_BUTTON_WAIT = 1.5
"""Seconds to look for a Stop button before asking the server to stop (a label-less or
translated button the selectors miss must not leave the answer running)."""


class TurnSettings(Protocol):
    chatgpt_url: str
    data_dir: Path
    default_model: str
    idle_timeout: float
    answer_timeout: float


class BrowserTurn(TurnRecord):
    """A running turn. Iterate it for Markdown deltas; see the attributes for the rest."""

    def __init__(
        self,
        tab: Tab,
        settings: TurnSettings,
        prompt: str,
        conversation_id: str | None = None,
        model: str | None = None,
        *,
        temporary: bool = False,
        before_send: Callable[[], Awaitable[None]] | None = None,
        options: AskOptions | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        super().__init__(prompt, conversation_id, model, temporary, options)
        self._tab = tab
        self._page = tab.page
        self._settings = settings
        self._expected = prompt.replace("\r\n", "\n").replace("\r", "\n")
        self._requested_model = model
        self._inbox = TapInbox(tab.events, self, self._expected)
        self._sender = Sender(
            tab,
            settings,
            self,
            self._inbox,
            self._expected,
            follow_up=conversation_id,
            requested_model=model,
            before_send=before_send,
            attachments=attachments,
        )
        self._reader: asyncio.Task[None] | None = None
        self._error: BridgeError | None = None

    # --- the caller's side ------------------------------------------------------------------

    async def read(self) -> str:
        """Wait for the whole answer and return it (raises like iteration does)."""
        async for _ in self:
            pass
        return self.text

    @property
    def page(self) -> Page:
        """The tab's page this turn runs in (the doctor watches its controls)."""
        return self._page

    @property
    def running(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def send(self) -> None:
        """Open the chat, type, send, confirm; raises a typed error on any failure."""
        if not self._expected.strip():
            raise WebAppError("The prompt is empty: there is nothing to send.", delivered=False)
        with self._page_errors():
            await self._sender.send()
        self._reader = asyncio.create_task(self._read(), name="turn-reader")

    async def cancel(self) -> None:
        """Press Stop; the partial answer stays in `text` with finish_reason "cancelled"."""
        if not self.running:
            return
        self.cancelled = True
        with contextlib.suppress(PlaywrightError):
            await self._press_stop()
        if self._reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), STOP_WAIT)
            except asyncio.TimeoutError:
                logger.warning("the stream did not end after Stop; leaving the turn")
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
                self.finish("cancelled")

    async def _press_stop(self) -> None:
        """The Stop button as a person would press it, else the page's own stop request."""
        started = time.monotonic()
        # The stop button flickers off between batches, and actionability checks time out
        # on a loaded machine: click it in the page whenever it is there.
        while self.running and time.monotonic() - started < STOP_BUTTON_WAIT:
            if await self._page.evaluate(_CLICK_JS, selectors.css("stop")):
                return
            await asyncio.sleep(POLL / 3)
        if self.running and self.conversation_id:
            logger.info("no Stop button found; asking ChatGPT to stop the answer")
            await stop_conversation(self._page, self.conversation_id)

    async def close(self) -> None:
        """End of the caller's block: stop a running answer, leave the tab reusable."""
        if self.running:
            with contextlib.suppress(BridgeError):
                await self.cancel()
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._error is not None and self.delivered and not self._page.is_closed():
            # A stalled or failed answer may still be generating: stop it, so the
            # conversation accepts its next message.
            with contextlib.suppress(PlaywrightError):
                await self._page.evaluate(_CLICK_JS, selectors.css("stop"))
        tab = self._tab
        tab.conversation_id = self.conversation_id
        tab.clean = (
            self._error is None
            and self.finish_reason in ("stop", "length")
            and not self._page.is_closed()
        )

    # --- reading ----------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            if self._inbox.adopted:
                await StreamReader(self._tab, self._settings, self, self._inbox).read()
            else:
                await DomReader(self._tab, self._settings, self).read()
        except BridgeError as error:
            self._error = error
        except PlaywrightError as error:
            self._error = self._down(error)
        finally:
            if self._error is not None:
                self.out.fail(self._error)
            self.out.close()

    def _down(self, error: PlaywrightError) -> BridgeError:
        return self.misbehaved(error, self._page.is_closed() or self._tab.dead)

    @contextlib.contextmanager
    def _page_errors(self) -> Iterator[None]:
        try:
            yield
        except PlaywrightError as error:
            raise self._down(error) from None


_CLICK_JS = """
(selector) => {
  const button = Array.from(document.querySelectorAll(selector))
    .find((el) => el.getClientRects().length > 0 && !el.disabled);
  if (button) button.click();
  return !!button;
}
"""
