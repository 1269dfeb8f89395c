"""One prompt -> one answer, on one tab, the way a careful person would do it.

`send()` opens the chat (new: `/?model=<slug>`, follow-up: `/c/<id>` and wait for it to
hydrate), checks the page (challenge, logged out, rate-limit dialog) before typing, types the
prompt with `insert_text` and reads it back until it is exactly right, presses Send and
confirms the send happened: the tap saw the page's own request carrying our text, whose
response was accepted. Only then does the prompt count as delivered, and from the moment
Send is pressed it may have been: no error after that point ever lets a caller resend it
blindly (`delivered` is None or True).

The answer is read from the tapped response of *that* request (tied to its user message id,
so a previous answer can never be returned), decoded frame by frame, and handed to the
caller as deltas. Done is the stream's terminal events, never the stop button. When the tap
sees nothing (a web-app change), the DOM is the fallback: the turn after our message, done
when its action bar shows, its Markdown read back from the conversation API or the copy
button.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import diagnostics, faults, selectors
from browser.channel import Channel
from browser.contract import FinishReason
from browser.decoder import StreamDecoder
from browser.errors import (
    AnswerTimeoutError,
    BridgeError,
    ChallengeError,
    LoginRequiredError,
    PromptTooLongError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
)
from browser.page import DomMessage, PageState, control, probe
from browser.pool import BROWSER_CLOSED, TAB_CLOSED, TAB_CRASHED, Tab
from browser.readback import StoredAnswer, conversation_exists, read_back, stream_status
from browser.session import first_line

logger = logging.getLogger(__name__)

PAGE_READY_TIMEOUT = 45.0
"""Seconds for a page to show its composer (and, for a follow-up, its messages)."""
SEND_CONFIRM_TIMEOUT = 20.0
"""Seconds for the page to start its request after Send is pressed."""
TAP_GRACE = 3.0
"""Seconds the tap may lag behind the DOM showing our message before the DOM takes over."""
STOP_WAIT = 15.0
"""Seconds to wait for the stream to end after pressing Stop."""
RECOVERY_IDLE = 15.0
"""Seconds without progress before a broken-off stream is given up on."""
HANDOFF_WAIT = 20.0
"""Seconds for the page to pick a handed-off turn up (WebSocket or resume) before the
read-back takes over."""
HYDRATE_CHECK = 2.0
"""Seconds a follow-up's page may show no messages before the read-back is asked whether
the conversation exists at all (today's page shows nothing for an unknown id)."""
POLL = 0.15

AnswerSource = Literal["stream", "websocket", "resume", "read-back", "dom"]
"""Where a turn's answer came from, for `chatgpt-bridge doctor` and bug reports."""


class TurnSettings(Protocol):
    chatgpt_url: str
    data_dir: Path
    default_model: str
    idle_timeout: float
    answer_timeout: float
    max_prompt_chars: int


class BrowserTurn:
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
    ) -> None:
        self._tab = tab
        self._before_send = before_send
        self._page = tab.page
        self._settings = settings
        self.prompt = prompt
        self._expected = prompt.replace("\r\n", "\n").replace("\r", "\n")
        self._follow_up = conversation_id
        self._requested_model = model
        self.temporary = temporary
        self.conversation_id: str | None = conversation_id
        self.model: str | None = model
        self.title: str | None = None
        self.text = ""
        self.finish_reason: FinishReason | None = None
        self.user_message_id: str | None = None
        self.delivered: bool | None = False
        self.source: AnswerSource | None = None
        """How the answer was read: the tapped stream, the WebSocket topic or the resume
        endpoint a handoff moved it to, the stored conversation after a break-off, or the
        DOM fallback."""
        self.page_timings: dict[str, float] = {}
        """Epoch ms on the page's clock: request, first_text, last_text, end (benchmark)."""
        self._fetch_ids: set[str] = set()
        self._resume_ids: set[str] = set()
        self._ws_ids: set[str] = set()
        """Tap ids of the page's WebSockets that carried our turn."""
        self._inbox: deque[dict[str, Any]] = deque()
        self._ready: deque[dict[str, Any]] = deque()
        self._next_seq: dict[str, int] = {}
        self._held: dict[str, dict[int, dict[str, Any]]] = {}
        self._decoder = StreamDecoder()
        self._attempts: list[str] = []
        """Tap ids of the page's main requests carrying our message (it may retry)."""
        self._attempt: str | None = None
        """The attempt being decoded: the newest one seen."""
        self._replaying = False
        self._out: Channel[str] = Channel()
        self._reader: asyncio.Task[None] | None = None
        self._cancelled = False
        self._error: BridgeError | None = None

    # --- the caller's side ------------------------------------------------------------------

    def __aiter__(self) -> Channel[str]:
        return self._out

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

    async def cancel(self) -> None:
        """Press Stop; the partial answer stays in `text` with finish_reason "cancelled"."""
        if not self.running:
            return
        self._cancelled = True
        deadline = time.monotonic() + 5.0
        with contextlib.suppress(PlaywrightError):
            # The stop button flickers off between batches, and actionability checks time
            # out on a loaded machine: click it in the page whenever it is there.
            while self.running and time.monotonic() < deadline:
                if await self._page.evaluate(_CLICK_JS, selectors.css("stop")):
                    break
                await asyncio.sleep(POLL / 3)
        if self._reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), STOP_WAIT)
            except asyncio.TimeoutError:
                logger.warning("the stream did not end after Stop; leaving the turn")
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
                self._finish("cancelled")

    # --- sending ----------------------------------------------------------------------------

    async def send(self) -> None:
        """Open the chat, type, send, confirm; raises a typed error on any failure."""
        if not self._expected.strip():
            raise WebAppError("The prompt is empty: there is nothing to send.", delivered=False)
        if len(self._expected) > self._settings.max_prompt_chars:
            # Typing it would be cut by the message box or refused half-way: never start.
            raise PromptTooLongError(len(self._expected), self._settings.max_prompt_chars)
        with self._page_errors():
            self._tab.drain()
            await self._open()
            await self._wait_ready()
            if self._follow_up and self._requested_model:
                await self._choose_model(self._requested_model)
            await self._type()
            if self._before_send is not None:
                await self._before_send()  # the pacing shared by all tabs
            before = await probe(self._page)
            self.delivered = None
            self._tab.turns += 1
            await self._press_send()
            await self._confirm(before)
        self._reader = asyncio.create_task(self._read(), name="turn-reader")

    async def _open(self) -> None:
        tab, base = self._tab, self._settings.chatgpt_url
        if self._follow_up:
            shown = selectors.conversation_id_from_url(self._page.url)
            if tab.clean and tab.conversation_id == self._follow_up == shown:
                return  # this tab shows the conversation already, settled
            path = selectors.conversation_path(self._follow_up)
        else:
            model = self._requested_model or self._settings.default_model
            path = selectors.new_chat_path(model, self.temporary)
        tab.clean = False
        tab.conversation_id = self._follow_up
        try:
            await self._page.goto(base + path, wait_until="domcontentloaded", timeout=60_000)
        except PlaywrightError as error:
            if self._page.is_closed() or "closed" in str(error):
                raise
            raise WebAppError(
                f"Could not open {base + path}: {first_line(error)}. Check CHATGPT_URL and "
                "the network.",
                delivered=False,
            ) from None

    async def _wait_ready(self) -> None:
        """Wait for the composer (and a follow-up's messages); fail on a blocking state."""
        started = time.monotonic()
        deadline = started + PAGE_READY_TIMEOUT
        checked_at = started
        state = PageState()
        while time.monotonic() < deadline:
            state = await probe(self._page)
            await self._raise_for_page(state)
            if self._follow_up and state.thread_error and not state.user_ids:
                raise WebAppError(
                    f"ChatGPT could not open conversation {self._follow_up}: "
                    f"{state.thread_error}. Check the id (temporary chats cannot be reopened).",
                    delivered=False,
                )
            # An unrecognised renderer shows no DOM messages: the network carries the turn.
            hydrated = not self._follow_up or bool(state.user_ids) or not state.detection.known
            if state.composer and hydrated and not state.stop:
                return
            if state.composer and time.monotonic() - checked_at > HYDRATE_CHECK:
                checked_at = time.monotonic()
                await self._check_exists()
            await asyncio.sleep(POLL)
        if state.challenge == "weak":
            raise ChallengeError()
        raise WebAppError(
            "The ChatGPT page did not become ready (no message box) in "
            f"{PAGE_READY_TIMEOUT:.0f} s. Look at the bridge's browser window."
            + await diagnostics.explain(self._page, "wait-ready", self._settings.data_dir),
            delivered=False,
        )

    async def _check_exists(self) -> None:
        """A follow-up whose page stays empty: the read-back says whether ChatGPT knows it."""
        assert self._follow_up is not None
        if await conversation_exists(self._page, self._follow_up) is False:
            raise WebAppError(
                f"ChatGPT could not open conversation {self._follow_up}: it does not exist "
                "for this account. Check the id (temporary chats cannot be reopened).",
                delivered=False,
            )

    async def _raise_for_page(self, state: PageState) -> None:
        if state.challenge == "strong":
            raise ChallengeError()
        if state.logged_out:
            raise LoginRequiredError()
        if state.rate_limit:
            await self._dismiss_dialogs()
            raise RateLimitedError(
                state.rate_limit, retry_after=faults.retry_after_from_text(state.rate_limit)
            )

    async def _dismiss_dialogs(self) -> None:
        """Press "Got it" (or the like) on any open dialog, so the tab is usable again."""
        for text in selectors.DISMISS_BUTTON_TEXTS:
            buttons = self._page.locator(selectors.any_of(selectors.DIALOG)).get_by_role(
                "button", name=text, exact=True
            )
            with contextlib.suppress(PlaywrightError):
                for index in range(await buttons.count()):
                    await buttons.nth(index).click(timeout=2_000)

    async def _choose_model(self, slug: str) -> None:
        page = self._page
        switcher = await control(page, "model_trigger")
        item = page.locator(selectors.any_of(selectors.model_item(slug))).first
        try:
            await switcher.click(timeout=10_000)
            await item.click(timeout=5_000)
        except PlaywrightError:
            if page.is_closed():
                raise
            raise WebAppError(
                f"The model {slug!r} is not offered in the model menu of this account."
                + await diagnostics.explain(page, "choose-model", self._settings.data_dir),
                delivered=False,
            ) from None

    async def _type(self) -> None:
        page = self._page
        composer = await control(page, "composer")
        shown: str | None = None
        for _attempt in range(2):
            await composer.click()
            await page.keyboard.press("ControlOrMeta+a")
            await page.keyboard.press("Delete")
            await page.keyboard.insert_text(self._expected)
            shown = (await probe(page)).composer_text
            if shown == self._expected:
                return
            logger.warning(
                "the message box shows %s characters instead of %d; typing again",
                None if shown is None else len(shown),
                len(self._expected),
            )
        raise WebAppError(
            "The prompt could not be typed exactly into ChatGPT's message box (it showed "
            f"{0 if shown is None else len(shown)} of {len(self._expected)} characters). "
            "Nothing was sent." + await diagnostics.explain(page, "type", self._settings.data_dir),
            delivered=False,
        )

    async def _press_send(self) -> None:
        page = self._page
        try:
            await (await control(page, "send")).click(timeout=10_000)
        except PlaywrightError:
            if page.is_closed():
                raise
            logger.info("no usable send button; pressing Enter in the message box")
            await (await control(page, "composer")).press("Enter")

    async def _confirm(self, before: PageState) -> None:
        """Prove the send happened: our request left the page and was accepted."""
        deadline = time.monotonic() + SEND_CONFIRM_TIMEOUT
        seen_in_dom_at: float | None = None
        state = before
        while True:
            self._collect()
            if self._fetch_ids:
                break
            now = time.monotonic()
            if seen_in_dom_at is not None and now - seen_in_dom_at > TAP_GRACE:
                logger.warning("the stream tap saw no request: reading the answer from the DOM")
                return
            if now > deadline:
                if state.composer_text == self._expected:
                    raise WebAppError(
                        "Pressing Send did nothing in ChatGPT's page; nothing was sent.",
                        delivered=False,
                    )
                raise SendUncertainError()
            await self._wait_event(POLL / 2)  # wakes as soon as the tap reports
            if self._fetch_ids:
                break
            state = await probe(self._page)
            self._collect()
            if self._fetch_ids:
                break
            await self._raise_for_page(state)
            new_users = [i for i in state.user_ids if i not in before.user_ids]
            if new_users and seen_in_dom_at is None:
                seen_in_dom_at = time.monotonic()
                self.user_message_id = new_users[-1]
            if state.toast and state.composer_text == self._expected:
                raise WebAppError(f"ChatGPT: {state.toast}", delivered=False)
        await self._accepted()

    def _collect(self) -> None:
        """Take every message the tab has received so far."""
        while not self._tab.events.empty():
            self._take(self._tab.events.get_nowait())

    def _take(self, message: dict[str, Any]) -> None:
        """Queue a tap message; the first request after Send is ours: adopt it."""
        self._inbox.append(message)
        if message.get("kind") != "request" or message.get("endpoint") == "resume":
            return  # a resume continues a stream: never the page posting our message
        body = faults.json_object(message.get("body"))
        prompt, message_id = _user_message(body)
        if self._fetch_ids:
            # The front end may retry its request: an attempt carrying our message is ours.
            if message_id is not None and message_id == self.user_message_id:
                self._fetch_ids.add(message["id"])
                self._attempts.append(message["id"])
            return
        if prompt is not None and prompt.replace("\r\n", "\n") != self._expected:
            logger.warning(
                "the page sent a different text than typed (%d vs %d chars)",
                len(prompt),
                len(self._expected),
            )
        self._fetch_ids.add(message["id"])
        self._attempts.append(message["id"])
        self._attempt = message["id"]
        self.user_message_id = message_id or self.user_message_id
        if message_id:
            self._decoder.expect(message_id)
        self.model = body.get("model") or self.model
        self.conversation_id = body.get("conversation_id") or self.conversation_id
        self.page_timings["request"] = message.get("t", 0)

    async def _accepted(self) -> None:
        """Wait for the response's status: an HTTP error means nothing was delivered."""
        deadline = time.monotonic() + max(60.0, self._settings.idle_timeout)
        while True:
            for message in self._ordered():
                kind = message.get("kind")
                if kind == "fetch_error":
                    if await self._retried(message.get("id")):
                        continue  # the page gave up on that attempt and sent another
                    raise SendUncertainError(
                        "The request to ChatGPT failed on the network "
                        f"({message.get('message')}); the prompt may have arrived. It was not "
                        "sent again; check the conversation on chatgpt.com."
                    )
                if kind == "challenge":
                    self.delivered = False  # Cloudflare answered, not ChatGPT
                    await self._dismiss_dialogs()
                    raise ChallengeError()
                if kind == "response":
                    status = int(message.get("status", 0))
                    if status < 400:
                        self.delivered = True
                        return
                    raise await self._http_error(status, message.get("retryAfter"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SendUncertainError()
            await self._wait_event(remaining)

    async def _http_error(self, status: int, retry_after: str | None) -> BridgeError:
        body = await self._error_body()
        self.delivered = False
        await self._dismiss_dialogs()
        return faults.http_error(status, body, retry_after)

    async def _error_body(self) -> str:
        """The (small) body of an error response, as far as it arrives within 5 s."""
        chunks: list[str] = []
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            for message in self._ordered():
                if message.get("kind") == "chunk":
                    chunks.append(message.get("text", ""))
                elif message.get("kind") in ("end", "abort"):
                    return "".join(chunks)
            await self._wait_event(deadline - time.monotonic())
        return "".join(chunks)

    # --- reading ----------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            if self._fetch_ids:
                await self._read_tap()
            else:
                await self._read_dom()
        except BridgeError as error:
            self._error = error
        except PlaywrightError as error:
            self._error = self._down(error)
        finally:
            if self._error is not None:
                self._out.fail(self._error)
            self._out.close()

    async def _read_tap(self) -> None:
        self.source = "stream"
        started = time.monotonic()
        last_progress = started
        handed_off_at: float | None = None
        while True:
            for message in self._ordered():
                kind = message.get("kind")
                attempt = message.get("id")
                if attempt in self._attempts and attempt != self._attempt:
                    if self._attempts.index(attempt) < self._attempts.index(self._attempt):
                        continue  # an attempt the page gave up on
                    self._follow(attempt)
                state = self._decoder.state
                if kind == "chunk":
                    fetch = str(message.get("id"))
                    delta = self._decoder.feed(
                        message.get("text", ""), stream=fetch, resume=fetch in self._resume_ids
                    )
                    if delta:
                        if fetch in self._resume_ids:
                            self.source = "resume"
                        self.page_timings.setdefault("first_text", message.get("t", 0))
                        self.page_timings["last_text"] = message.get("t", 0)
                    self._emit(self._caught_up() if self._replaying else delta)
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
                    self.page_timings["end"] = message.get("t", 0)
                    delta = self._decoder.close()
                    self._emit(self._caught_up() if self._replaying else delta)
                    if not state.done:
                        resumed = str(attempt) in self._resume_ids
                        if state.handoff and not resumed:
                            handed_off_at = time.monotonic()  # the socket or resume goes on
                            continue
                        if not state.handoff and await self._retried(attempt):
                            continue
                        await self._broken_off(message)
                        return
                if state.done:
                    self._settle()
                    await self._check_against_read_back()
                    return
            now = time.monotonic()
            if handed_off_at is not None and now - handed_off_at > HANDOFF_WAIT:
                await self._broken_off({"kind": "handoff"})  # the page never picked it up
                return
            if now - started > self._settings.answer_timeout:
                raise AnswerTimeoutError(
                    f"ChatGPT did not finish answering within {self._settings.answer_timeout:.0f}"
                    " s (BRIDGE_ANSWER_TIMEOUT). The question was delivered; the answer so far "
                    "is kept in the conversation on chatgpt.com."
                )
            if now - last_progress > self._settings.idle_timeout:
                raise AnswerTimeoutError(
                    f"ChatGPT sent nothing for {self._settings.idle_timeout:.0f} s "
                    "(BRIDGE_IDLE_TIMEOUT). The question was delivered; see the conversation on "
                    "chatgpt.com."
                )
            await self._wait_event(
                min(
                    self._settings.answer_timeout - (now - started),
                    self._settings.idle_timeout - (now - last_progress),
                )
            )

    def _feed_socket(self, message: dict[str, Any]) -> None:
        """One WebSocket message (a JSON array of topic items) into the stream inbox."""
        try:
            items = json.loads(str(message.get("text", "")))
        except ValueError:
            return
        delta = ""
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict):
                delta += self._decoder.feed_ws(item)
        if delta:
            self.source = "websocket"
            self.page_timings.setdefault("first_text", message.get("t", 0))
            self.page_timings["last_text"] = message.get("t", 0)
        self._emit(delta)

    def _follow(self, attempt: str) -> None:
        """A retried request streams the answer again from the start: decode it afresh."""
        logger.info("the page retried its request; following the new attempt")
        self._decoder = StreamDecoder()
        self._replaying = True
        self._attempt = attempt

    def _caught_up(self) -> str:
        """While a retry replays what was handed out already, only what goes beyond it."""
        text = self._decoder.state.text
        if len(text) <= len(self.text) or not text.startswith(self.text):
            return ""  # still replaying (a retry that diverges is settled by the read-back)
        self._replaying = False
        return text[len(self.text) :]

    async def _retried(self, attempt: Any) -> bool:
        """`attempt` broke off: is there, or does the page soon start, a newer one of ours?"""
        deadline = time.monotonic() + TAP_GRACE
        while self._attempts[-1] == attempt and time.monotonic() < deadline:
            await self._wait_event(deadline - time.monotonic())
        return self._attempts[-1] != attempt

    def _settle(self) -> None:
        """The stream is over: a stream error fails the turn, otherwise it is finished."""
        state = self._decoder.state
        self._note_stream()
        if state.error is not None and not state.answer_finished:
            raise WebAppError(
                f"ChatGPT reported an error while answering: {state.error}",
                delivered=True if state.user_message_id else None,
            )
        self._finish(state.finish_reason or "stop")

    async def _broken_off(self, last: dict[str, Any]) -> None:
        """The stream ended without its terminal events: recover from the stored answer."""
        self._note_stream()
        if self._cancelled:
            self._finish("cancelled")
            return
        logger.warning("the answer stream broke off (%s); reading it back", last.get("kind"))
        if self.conversation_id is None:
            raise WebAppError(
                "The answer stream broke off before ChatGPT named the conversation. The question "
                "may have been delivered; it was not sent again. See chatgpt.com.",
                delivered=None,
            )
        seen, last_progress = self.text, time.monotonic()
        give_up = last_progress + self._settings.answer_timeout
        while (
            time.monotonic() - last_progress < min(RECOVERY_IDLE, self._settings.idle_timeout)
            and time.monotonic() < give_up
        ):
            stored = await self._read_back()
            if stored is not None:
                if stored.finished:
                    self.source = "read-back"
                    self._replace_text(stored.text)
                    self._finish("stop")
                    return
                if stored.text != seen:
                    seen, last_progress = stored.text, time.monotonic()
            if await self._still_streaming():
                last_progress = time.monotonic()  # the server says it is still writing
            await asyncio.sleep(1.0)
        raise WebAppError(
            "The answer stream broke off and ChatGPT did not finish the answer. The question "
            f"was delivered (conversation {self.conversation_id}); it was not sent again.",
            delivered=True,
        )

    async def _check_against_read_back(self) -> None:
        """The streamed answer against the stored one: the stored one wins (and is logged)."""
        if self.finish_reason != "stop":
            return  # a stopped answer is partial on purpose
        stored = await self._read_back()
        if stored is None or not stored.finished or stored.text == self.text:
            return
        if stored.text.startswith(self.text):
            logger.warning(
                "the stream missed the answer's last %d characters; adding them",
                len(stored.text) - len(self.text),
            )
        self.model = stored.model or self.model
        self._replace_text(stored.text)  # logs when the two differ otherwise

    async def _still_streaming(self) -> bool:
        if self.conversation_id is None:
            return False
        try:
            return await stream_status(self._page, self.conversation_id) == "IS_STREAMING"
        except ChallengeError:
            return False

    async def _read_back(self) -> StoredAnswer | None:
        """The stored answer to our message, None when it cannot be read (kept as streamed)."""
        if self.conversation_id is None:
            return None
        try:
            return await read_back(self._page, self.conversation_id, self.user_message_id)
        except (LookupError, ChallengeError) as error:
            # Delivered already: a challenged read-back must not turn into a failed turn.
            logger.info("read-back failed: %s", error)
            return None

    async def _read_dom(self) -> None:
        """The fallback when the tap sees nothing: watch the DOM, read the Markdown back."""
        self.source = "dom"
        started = time.monotonic()
        last_progress, last_text = started, None
        while True:
            state = await probe(self._page)
            self.conversation_id = state.conversation_id or self.conversation_id
            answer = _answer_after(state, self.user_message_id)
            if state.stop:
                # `.markdown` may stay empty until the end: a generating page is progress.
                last_progress = time.monotonic()
            if answer is not None:
                self.delivered = True  # ChatGPT is answering it
                self.model = answer.slug or self.model
                if answer.text != last_text:
                    last_text, last_progress = answer.text, time.monotonic()
                if answer.done and not state.stop:
                    self._replace_text(await self._markdown_of(answer.id))
                    self._finish("cancelled" if self._cancelled else "stop")
                    return
            if state.thread_error and (answer is None or not answer.done):
                raise WebAppError(
                    f"ChatGPT showed an error: {state.thread_error}", delivered=self.delivered
                )
            now = time.monotonic()
            if now - started > self._settings.answer_timeout:
                raise AnswerTimeoutError()
            if now - last_progress > self._settings.idle_timeout:
                raise AnswerTimeoutError()
            await asyncio.sleep(POLL * 2)

    async def _markdown_of(self, message_id: str) -> str:
        """The answer's exact Markdown: read back from the server, else via the copy button."""
        stored = await self._read_back()
        if stored is not None and stored.finished:
            self.model = stored.model or self.model
            return stored.text
        self._tab.drain()
        if not await self._page.evaluate(_CLICK_COPY_JS, [message_id, selectors.page_selectors()]):
            raise WebAppError(
                "The answer finished but its text could not be read (no conversation API, no "
                "copy button). See the conversation on chatgpt.com.",
                delivered=True,
            )
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            while not self._tab.events.empty():
                message = self._tab.events.get_nowait()
                if message.get("kind") == "clipboard":
                    return str(message.get("text", ""))
            await asyncio.sleep(POLL)
        raise WebAppError(
            "The answer finished but its text could not be read (neither the conversation API "
            "nor the copy button answered). See the conversation on chatgpt.com.",
            delivered=True,
        )

    # --- plumbing ---------------------------------------------------------------------------

    def _ordered(self) -> Iterator[dict[str, Any]]:
        """Our fetches' messages in page order, one at a time; lifecycle messages raise.

        A caller may stop iterating early: what it did not take stays queued for the next.
        """
        self._collect()
        while self._inbox:
            message = self._inbox.popleft()
            kind = message.get("kind")
            if kind in (BROWSER_CLOSED, TAB_CRASHED, TAB_CLOSED):
                raise self._gone(kind)
            fetch = message.get("id")
            if kind in ("ws", "ws_close") and self._ours_on_socket(message):
                self._ready.append(message)  # one socket's messages arrive in its own order
                continue
            if kind == "request" and self._resumes_us(message):
                if self._decoder.state.handoff:
                    self._fetch_ids.add(fetch)  # the rest of the answer comes this way
                    self._resume_ids.add(str(fetch))
                else:
                    self._ready.append(message)  # the page reconnecting by itself: progress
                    continue
            if fetch not in self._fetch_ids:
                continue
            held = self._held.setdefault(fetch, {})
            held[int(message.get("seq", 0))] = message
            expected = self._next_seq.get(fetch, 0)
            while expected in held:
                self._ready.append(held.pop(expected))
                expected += 1
            self._next_seq[fetch] = expected
        while self._ready:
            yield self._ready.popleft()

    def _ours_on_socket(self, message: dict[str, Any]) -> bool:
        """A WebSocket message about our turn (or the close of a socket that carried it)."""
        socket = str(message.get("id"))
        if message.get("kind") == "ws_close":
            return socket in self._ws_ids
        text = str(message.get("text", ""))
        marks = (self.conversation_id, self.user_message_id)
        if any(mark and mark in text for mark in marks):
            self._ws_ids.add(socket)
            return True
        return False

    def _resumes_us(self, message: dict[str, Any]) -> bool:
        """A resume request of our conversation (after a handoff, or a long silence)."""
        if self.conversation_id is None or "/resume" not in str(message.get("url")):
            return False
        return (
            faults.json_object(message.get("body")).get("conversation_id") == self.conversation_id
        )

    async def _wait_event(self, timeout: float) -> None:
        """Sleep until the tab has a new message (or `timeout`)."""
        if timeout <= 0:
            return
        try:
            message = await asyncio.wait_for(self._tab.events.get(), timeout)
        except asyncio.TimeoutError:
            return
        self._take(message)

    def _emit(self, delta: str) -> None:
        self._note_stream()
        if delta:
            self.text += delta
            self._out.put(delta)

    def _note_stream(self) -> None:
        state = self._decoder.state
        self.conversation_id = state.conversation_id or self.conversation_id
        self.user_message_id = self.user_message_id or state.user_message_id
        self.model = state.model or self.model
        self.title = state.title or self.title
        if state.rewritten:
            self.text = state.text

    def _replace_text(self, text: str) -> None:
        """Adopt the final text; hand the caller whatever it has not seen yet."""
        if text.startswith(self.text):
            self._emit(text[len(self.text) :])
        else:
            logger.warning("the stored answer differs from what streamed; using the stored one")
        self.text = text

    def _finish(self, reason: str) -> None:
        self.finish_reason = "cancelled" if self._cancelled and reason != "stop" else reason

    def _gone(self, kind: str) -> BridgeError:
        if kind == TAB_CRASHED:
            return self._down_error("The tab crashed", faults.NEW_TAB)
        return self._down_error("The browser closed")

    def _down(self, error: PlaywrightError) -> BridgeError:
        if self._page.is_closed() or self._tab.dead or "closed" in str(error).lower():
            return self._down_error("The browser closed")
        return WebAppError(
            f"The ChatGPT page misbehaved: {first_line(error)}",
            delivered=self.delivered,
        )

    def _down_error(self, what: str, after: str = faults.RELAUNCH) -> BridgeError:
        return faults.browser_gone(what, self.delivered, self.conversation_id, after)

    @contextlib.contextmanager
    def _page_errors(self) -> Iterator[None]:
        try:
            yield
        except PlaywrightError as error:
            raise self._down(error) from None

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


def _answer_after(state: PageState, user_message_id: str | None) -> DomMessage | None:
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


_CLICK_JS = """
(selector) => {
  const button = Array.from(document.querySelectorAll(selector))
    .find((el) => el.getClientRects().length > 0 && !el.disabled);
  if (button) button.click();
  return !!button;
}
"""

_CLICK_COPY_JS = """
([id, S]) => {
  const message = document.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
  const turn = message && message.closest(S.turn);
  const copy = turn && turn.querySelector(S.copy);
  if (copy) copy.click();
  return !!copy;
}
"""


def _user_message(body: dict[str, Any]) -> tuple[str | None, str | None]:
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1], dict):
        return None, None
    message = messages[-1]
    parts = (message.get("content") or {}).get("parts") or []
    return "".join(p for p in parts if isinstance(p, str)), message.get("id")
