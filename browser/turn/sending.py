"""Sending a prompt: open the chat, check the page, type, press Send, prove it was sent.

Every step before Send fails with `delivered=False` (nothing reached ChatGPT). From the moment
Send is pressed the prompt may have arrived: the send counts as confirmed only when the tap
saw the page's own request carrying our message and its response was accepted, and no
error after that point lets a caller resend it blindly (`delivered` is None or True).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError

from browser import diagnostics, faults, gizmos, modes, picker, selectors, timing
from browser.attachments import Attachment
from browser.errors import (
    BridgeError,
    ChallengeError,
    GptNotFoundError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
)
from browser.page import PageState, control, fetch_json, press, probe
from browser.pool import Tab
from browser.readback import conversation_exists
from browser.session import first_line
from browser.turn.attaching import attach
from browser.turn.inbox import TAP_GRACE, TapInbox
from browser.turn.navigation import on_origin, open_chat
from browser.turn.record import TurnRecord

logger = logging.getLogger("browser.turn")

PAGE_READY_TIMEOUT = 45.0
"""Seconds for a page to show its composer (and, for a follow-up, its messages)."""
SEND_CONFIRM_TIMEOUT = 20.0
"""Seconds for the page to start its request after Send is pressed."""
HYDRATE_CHECK = 2.0
"""Seconds a follow-up's page may show no messages before the read-back is asked whether
the conversation exists at all (today's page shows nothing for an unknown id)."""
POLL = 0.15


class SendSettings(Protocol):
    chatgpt_url: str
    data_dir: Path
    default_model: str
    idle_timeout: float


class Sender:
    """One send of one prompt on one tab."""

    def __init__(
        self,
        tab: Tab,
        settings: SendSettings,
        record: TurnRecord,
        inbox: TapInbox,
        expected: str,
        *,
        follow_up: str | None,
        requested_model: str | None,
        before_send: Callable[[], Awaitable[None]] | None,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        self._tab = tab
        self._page = tab.page
        self._settings = settings
        self._record = record
        self._inbox = inbox
        self._expected = expected
        self._follow_up = follow_up
        self._requested_model = requested_model
        self._before_send = before_send
        self._attachments = attachments

    async def send(self) -> None:
        """Open the chat, type, send, confirm; raises a typed error on any failure."""
        self._tab.drain()
        model = self._requested_model or self._settings.default_model
        gizmo = await self._gizmo()
        await open_chat(
            self._tab,
            self._settings.chatgpt_url,
            self._follow_up,
            model,
            self._record.temporary,
            gizmo,
        )
        timing.mark("opened")
        ready = await self._wait_ready()
        if gizmo is not None:
            self._check_in(gizmo)
        timing.mark("ready")
        await picker.choose(
            self._page,
            self._record.options,
            follow_up=bool(self._follow_up),
            data_dir=self._settings.data_dir,
        )
        await modes.choose_search(
            self._page, self._record.options.web_search, self._settings.data_dir
        )
        await attach(self._page, self._attachments, self._settings.data_dir)
        timing.mark("chosen")
        before = await self._type(empty=ready.composer_text == "")
        timing.mark("typed")
        if self._before_send is not None:
            await self._before_send()  # the pacing shared by all tabs
        timing.mark("paced")
        self._record.delivered = None
        self._tab.turns += 1
        await self._press_send()
        timing.mark("clicked")
        await self._confirm(before)

    async def _gizmo(self) -> str | None:
        """The custom GPT or project this turn runs in, checked with the account first."""
        options = self._record.options
        if self._follow_up:
            # A GPT's chat goes on under the GPT; any other chat opens where it lives.
            if options.gpt is None:
                return None
            gizmo = gizmos.gpt_id(options.gpt)
            if gizmo is None:
                raise GptNotFoundError(options.gpt)
            return gizmo
        if options.gpt is None and options.project is None:
            return None
        await on_origin(self._tab, self._settings.chatgpt_url)
        chosen = await gizmos.chosen(self._page, options)
        return None if chosen is None else chosen.id

    def _check_in(self, gizmo: str) -> None:
        """The page shows the GPT's or project's chat, not plain ChatGPT, before typing."""
        path = urlsplit(self._page.url).path
        if not path.startswith(f"/g/{gizmo}"):
            raise WebAppError(
                f"ChatGPT opened {path} instead of the chat of {gizmo}; nothing was sent. "
                "Look at the bridge's browser window.",
                delivered=False,
            )

    async def _wait_ready(self) -> PageState:
        """Wait for the composer (and a follow-up's messages); fail on a blocking state."""
        started = time.monotonic()
        deadline = started + PAGE_READY_TIMEOUT
        checked_at = started
        state = PageState()
        while time.monotonic() < deadline:
            state = await probe(self._page)
            await self.raise_for_page(state)
            if self._follow_up and state.thread_error and not state.user_ids:
                raise WebAppError(
                    f"ChatGPT could not open conversation {self._follow_up}: "
                    f"{state.thread_error}. Check the id (temporary chats cannot be reopened).",
                    delivered=False,
                )
            # An unrecognised renderer shows no DOM messages: the network carries the turn.
            hydrated = not self._follow_up or bool(state.user_ids) or not state.detection.known
            if state.composer and hydrated and not state.stop:
                return state
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
        if self._follow_up and await conversation_exists(self._page, self._follow_up) is False:
            raise WebAppError(
                f"ChatGPT could not open conversation {self._follow_up}: it does not exist "
                "for this account. Check the id (temporary chats cannot be reopened).",
                delivered=False,
            )

    async def raise_for_page(self, state: PageState) -> None:
        """A page that blocks every send: a challenge, a logout, a rate-limit dialog."""
        if state.challenge == "strong":
            raise ChallengeError()
        if state.logged_out:
            raise LoginRequiredError()
        if state.rate_limit:
            await self.dismiss_dialogs()
            raise RateLimitedError(
                state.rate_limit, retry_after=faults.retry_after_from_text(state.rate_limit)
            )

    async def dismiss_dialogs(self) -> None:
        """Press "Got it" (or the like) on any open dialog, so the tab is usable again."""
        for text in selectors.DISMISS_BUTTON_TEXTS:
            buttons = self._page.locator(selectors.any_of(selectors.DIALOG)).get_by_role(
                "button", name=text, exact=True
            )
            with contextlib.suppress(PlaywrightError):
                for index in range(await buttons.count()):
                    await buttons.nth(index).click(timeout=2_000)

    async def _type(self, *, empty: bool) -> PageState:
        """Insert the prompt in one go and read it back until the composer shows it exactly.

        Returns that read-back: what the page showed just before Send. A composer that was
        `empty` when the page became ready needs no clearing first (two round trips less).
        """
        page = self._page
        shown: str | None = None
        for attempt in range(2):
            # The caret may be in the box already (the app focuses a new chat's composer);
            # the second attempt takes Playwright's waiting click, whatever went wrong.
            if attempt or not await press(page, "composer", unless_focused=True):
                await (await control(page, "composer")).click()
            if not empty:
                await page.keyboard.press("ControlOrMeta+a")
                await page.keyboard.press("Delete")
            await page.keyboard.insert_text(self._expected)
            state = await probe(page)
            shown = state.composer_text
            if shown == self._expected:
                return state
            empty = False  # whatever went wrong, the second attempt clears first
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
        """Send appears only once the composer holds text; Enter is the fallback."""
        page = self._page
        if await press(page, "send"):
            return
        try:
            await (await control(page, "send")).click(timeout=10_000)
        except PlaywrightError:
            if page.is_closed():
                raise
            logger.info("no usable send button; pressing Enter in the message box")
            await (await control(page, "composer")).press("Enter")

    async def _confirm(self, before: PageState) -> None:
        """Prove the send happened: our request left the page and was accepted."""
        inbox, record = self._inbox, self._record
        deadline = time.monotonic() + SEND_CONFIRM_TIMEOUT
        seen_in_dom_at: float | None = None
        state = before
        while True:
            inbox.collect()
            if inbox.adopted:
                break
            now = time.monotonic()
            if seen_in_dom_at is not None and now - seen_in_dom_at > TAP_GRACE:
                await self._site_answers()
                logger.warning("the stream tap saw no request: reading the answer from the DOM")
                return
            if now > deadline:
                if state.composer_text == self._expected:
                    raise WebAppError(
                        "Pressing Send did nothing in ChatGPT's page; nothing was sent.",
                        delivered=False,
                    )
                raise SendUncertainError()
            await inbox.wait(POLL / 2)  # wakes as soon as the tap reports
            if inbox.adopted:
                break
            state = await probe(self._page)
            inbox.collect()
            if inbox.adopted:
                break
            await self.raise_for_page(state)
            new_users = [i for i in state.user_ids if i not in before.user_ids]
            if new_users and seen_in_dom_at is None:
                seen_in_dom_at = time.monotonic()
                record.user_message_id = new_users[-1]
            if state.toast and state.composer_text == self._expected:
                raise WebAppError(f"ChatGPT: {state.toast}", delivered=False)
        await self._accepted()

    async def _site_answers(self) -> None:
        """Before reading an answer the tap never saw from the DOM: is the site there at all?

        A chat opened in the page (no load) learns that chatgpt.com went down only when the
        send's own requests fail, and a send whose first request (`prepare`) fails never
        makes the one the tap watches."""
        try:
            await fetch_json(self._page, selectors.AUTH_SESSION_PATH)
        except PlaywrightError as error:
            if self._page.is_closed():
                raise
            raise SendUncertainError(
                f"chatgpt.com did not answer ({first_line(error)}), and no request of this "
                "send was seen: the prompt most likely did not arrive. It was not sent again; "
                "check the conversation on chatgpt.com."
            ) from None

    async def _accepted(self) -> None:
        """Wait for the response's status: an HTTP error means nothing was delivered."""
        inbox = self._inbox
        deadline = time.monotonic() + max(60.0, self._settings.idle_timeout)
        while True:
            for message in inbox.ordered():
                kind = message.get("kind")
                if kind == "fetch_error":
                    if await inbox.retried(message.get("id")):
                        continue  # the page gave up on that attempt and sent another
                    raise SendUncertainError(
                        "The request to ChatGPT failed on the network "
                        f"({message.get('message')}); the prompt may have arrived. It was not "
                        "sent again; check the conversation on chatgpt.com."
                    )
                if kind == "challenge":
                    self._record.delivered = False  # Cloudflare answered, not ChatGPT
                    await self.dismiss_dialogs()
                    raise ChallengeError()
                if kind == "response":
                    status = int(message.get("status", 0))
                    if status < 400:
                        self._record.delivered = True
                        timing.mark("accepted")
                        return
                    raise await self._http_error(status, message.get("retryAfter"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SendUncertainError()
            await inbox.wait(remaining)

    async def _http_error(self, status: int, retry_after: str | None) -> BridgeError:
        body = await self._error_body()
        self._record.delivered = False
        await self.dismiss_dialogs()
        return faults.http_error(status, body, retry_after)

    async def _error_body(self) -> str:
        """The (small) body of an error response, as far as it arrives within 5 s."""
        chunks: list[str] = []
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            for message in self._inbox.ordered():
                if message.get("kind") == "chunk":
                    chunks.append(message.get("text", ""))
                elif message.get("kind") in ("end", "abort"):
                    return "".join(chunks)
            await self._inbox.wait(deadline - time.monotonic())
        return "".join(chunks)
