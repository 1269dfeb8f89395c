"""The browser layer's one public object: `BrowserBridge(settings)`, a `contract.Bridge`.

It owns the session (the browser) and the pool (its tabs) and exposes the contract every
other layer uses: `ask()` for a streaming turn, `state()` for health, `models()`, `rate()`
for an answer's thumbs, `whoami()`, `stats()`. Everything it raises is a `browser.errors`
type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import feedback, gizmos, selectors, timing
from browser.account import Account, read_account
from browser.attachments import Attachment, check_sizes, prepare_prompt
from browser.contract import (
    LIST_PAGE,
    AskOptions,
    BridgeState,
    BrowserInfo,
    ConversationSummary,
    OnSend,
    Rating,
    StoredMessage,
    ask_options,
)
from browser.errors import (
    BridgeError,
    BrowserDownError,
    ChallengeError,
    ConversationNotFoundError,
    LoginRequiredError,
    RateLimitedError,
    WebAppError,
    WorkspaceError,
)
from browser.events import Quota
from browser.history import messages_from_payload, summaries_from_payload, with_older_pages
from browser.models import Gizmo, ModelInfo, models_from_payload
from browser.pacing import SendPacer
from browser.page import auth_session, fetch_signed_in, probe, same_origin
from browser.pool import Pool, Tab
from browser.readback import CONVERSATION_PAGE_PATH
from browser.session import Session, SessionSettings, first_line
from browser.turn import BrowserTurn, TurnSettings, navigation
from browser.workspace import Workspace, use_workspace

logger = logging.getLogger(__name__)

UNUSUAL_ACTIVITY = "unusual activity"
"""ChatGPT's words when it flags the account (a 403): every send is held, as after a limit."""

STATE_SETTLE_TIMEOUT = 15.0
"""Seconds a freshly loaded page gets to show its composer or a blocking state."""


class BridgeSettings(SessionSettings, TurnSettings, Protocol):
    max_tabs: int
    max_queue: int
    probe_interval: float
    selectors_file: Path | None
    send_interval_ms: int
    max_prompt_chars: int
    project: str | None
    chatgpt_workspace: str | None


class BrowserBridge:
    """Ask ChatGPT through the person's own logged-in browser."""

    def __init__(self, settings: BridgeSettings, *, headless: bool | None = None) -> None:
        self._settings = settings
        selectors.use_file(settings.selectors_file)  # the person's hot-fix layers come first
        self._session = Session(settings, headless=headless)
        self._pool = Pool(self._session, settings.max_tabs, settings.max_queue)
        self._pacer = SendPacer(settings.send_interval_ms / 1000)
        self._last_state = BridgeState.DOWN
        self._quotas: dict[str, Quota] = {}
        self._account: Account | None = None
        self._workspace: Workspace | None = None
        self._workspace_problem: WorkspaceError | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def pool(self) -> Pool:
        return self._pool

    @property
    def pacer(self) -> SendPacer:
        """The send pacing every tab shares (and its hold after a rate limit)."""
        return self._pacer

    @property
    def session(self) -> Session:
        return self._session

    async def start(self) -> None:
        """Launch the browser and open ChatGPT; a logged-out page is reported, not raised."""
        await self._session.ensure()
        self._pool.start()
        state = await self.state()
        if state is BridgeState.READY:
            await self._start_in_workspace()
        else:
            logger.warning("ChatGPT is not ready in the bridge's browser: %s", state.value)
        if self._settings.probe_interval > 0 and self._watch is None:
            self._watch = asyncio.create_task(self._watch_session(), name="session-probe")

    async def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await self._pool.close()
        await self._session.stop()

    def stats(self) -> dict[str, int]:
        return self._pool.stats()

    async def _start_in_workspace(self) -> None:
        """Before the first question: the workspace CHATGPT_WORKSPACE names, or the page's."""
        try:
            workspace = await self.use_workspace(self._settings.chatgpt_workspace)
        except WorkspaceError as error:
            logger.error("%s", error)
        except BridgeError as error:
            logger.warning("could not read the workspace: %s", error)
        else:
            if workspace is not None:
                logger.info("asking in the ChatGPT workspace %s", workspace.describe())

    async def _ensure_workspace(self) -> None:
        """No question before CHATGPT_WORKSPACE is chosen: one the start could not choose
        (logged out, challenged, browser down then) is chosen now, or the ask fails."""
        if self._workspace_problem is not None:
            raise self._workspace_problem
        wanted = self._settings.chatgpt_workspace
        if wanted is not None and self._workspace is None:
            await self.use_workspace(wanted)

    async def use_workspace(self, wanted: str | None) -> Workspace | None:
        """Run in the workspace `wanted` names (id or name; None: the page's own), in the page.

        An unknown name raises `WorkspaceError` and holds every question with it until a
        later call succeeds: never an answer from another workspace.
        """
        async with self._pool.lease() as tab:
            assert tab is not None
            try:
                workspace, switched = await use_workspace(await self._home(tab), wanted)
            except WorkspaceError as error:
                self._workspace, self._workspace_problem = None, error
                raise
            except PlaywrightError as error:
                raise BrowserDownError(
                    f"Choosing the workspace failed: {first_line(error)}"
                ) from None
        if switched:
            for stale in self._pool.tabs:  # their pages still hold the old workspace's session
                stale.clean, stale.document, stale.routes = False, None, 0
        self._workspace, self._workspace_problem = workspace, None
        return workspace

    def quotas(self) -> list[Quota]:
        """The account's remaining quotas, per feature, as the latest answers reported them."""
        return list(self._quotas.values())

    def ask(
        self,
        prompt: str,
        conversation_id: str | None = None,
        model: str | None = None,
        *,
        options: AskOptions | None = None,
        temporary: bool = False,
        patient: bool = False,
        on_send: OnSend | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> AbstractAsyncContextManager[BrowserTurn]:
        """`async with bridge.ask(...) as turn:` sends, then iterate `turn` for deltas.

        A `patient` caller (one that stores its question, like a Slack job) waits in line
        however long it is; others get `BusyError` when `max_queue` callers already wait.
        `on_send()` is awaited once a tab is the caller's, before anything is typed.
        """
        chosen = ask_options(model, options)
        files = tuple(attachments)
        return self._ask(prompt, conversation_id, chosen, temporary, patient, on_send, files)

    def is_busy(self) -> bool:
        """Every tab is answering or taken: a question asked now would wait in line."""
        return self._pool.is_full()

    @asynccontextmanager
    async def _ask(
        self,
        prompt: str,
        conversation_id: str | None,
        options: AskOptions,
        temporary: bool,
        patient: bool,
        on_send: OnSend | None,
        attachments: tuple[Attachment, ...],
    ) -> AsyncIterator[BrowserTurn]:
        await self._ensure_workspace()
        if conversation_id is None and options.gpt is None and options.project is None:
            options = replace(options, project=self._settings.project)  # BRIDGE_PROJECT
        prompt, attachments = prepare_prompt(prompt, attachments, self._settings.max_prompt_chars)
        check_sizes(attachments)
        self._pacer.check()  # held after a limit signal: tell the caller at once, and when
        model = options.model or self._settings.default_model
        document = None if conversation_id else (model, temporary)
        async with self._pool.lease(conversation_id, patient=patient, document=document) as tab:
            assert tab is not None
            timing.mark("leased")
            if on_send is not None:
                await on_send()  # the caller's last word before the prompt may leave
            turn = BrowserTurn(
                tab,
                self._settings,
                prompt,
                conversation_id,
                options.model,
                temporary=temporary,
                before_send=self._pacer.wait_turn,
                options=options,
                attachments=attachments,
            )
            try:
                try:
                    await turn.send()
                except RateLimitedError as error:
                    self._hold_sends(error.retry_after)
                    raise
                except ChallengeError as error:
                    if UNUSUAL_ACTIVITY in str(error).lower():
                        self._hold_sends(None)  # a flag on the account, not just a check
                    self._last_state = BridgeState.CHALLENGE
                    raise
                except LoginRequiredError:
                    self._last_state = BridgeState.LOGIN_REQUIRED
                    raise
                self._last_state = BridgeState.READY  # ChatGPT took a message: proof enough
                self._pacer.sent()
                self._pacer.release()  # ChatGPT took a message: the limit cleared
                yield turn
            finally:
                await turn.close()
                self._note_quotas(turn)
                navigation.prepare(tab, self._settings.chatgpt_url)

    async def state(self) -> BridgeState:
        """ready | login_required | challenge | rate_limited | down, checked in a free tab."""
        try:
            await self._session.ensure()
        except BridgeError as error:
            logger.warning("browser down: %s", error)
            return BridgeState.DOWN
        if self._workspace_problem is not None:
            return BridgeState.WRONG_WORKSPACE
        if self._pacer.retry_after() is not None:
            return BridgeState.RATE_LIMITED
        try:
            async with self._pool.lease(wait=False) as tab:
                if tab is None:
                    return self._last_state  # every tab is answering: the latest ask told it
                self._last_state = await self._check(tab)
        except ChallengeError:  # the page's own fetch met Cloudflare's check
            self._last_state = BridgeState.CHALLENGE
        except BrowserDownError:
            self._last_state = BridgeState.DOWN
        except PlaywrightError as error:
            logger.warning("state check failed: %s", first_line(error))
            self._last_state = BridgeState.DOWN
        return self._last_state

    async def _check(self, tab: Tab) -> BridgeState:
        """Wait for the page to settle into a recognisable state, then name it."""
        # A page that showed a problem is loaded again: it may have gone away since.
        page = await self._home(tab, fresh=self._last_state is not BridgeState.READY)
        deadline = time.monotonic() + STATE_SETTLE_TIMEOUT
        reloaded = False
        while True:
            state = await probe(page)
            if state.challenge == "strong" or state.logged_out:
                if reloaded or (state.logged_out and not (await self._read_account(page)).who):
                    strong = state.challenge == "strong"
                    return BridgeState.CHALLENGE if strong else BridgeState.LOGIN_REQUIRED
                # Once, never in a loop: a check may pass by itself, and a login made in
                # another tab since this page loaded shows after a reload.
                tab.clean, tab.document, tab.routes, reloaded = False, None, 0, True
                await page.reload(wait_until="domcontentloaded")
                continue
            if state.rate_limit:
                return BridgeState.RATE_LIMITED
            if state.composer or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        if not (await self._read_account(page)).logged_in:
            return BridgeState.LOGIN_REQUIRED
        if not state.composer and state.challenge == "weak":
            return BridgeState.CHALLENGE
        return BridgeState.READY

    async def models(self) -> list[str]:
        """Model slugs the account offers, from the web app's own `/backend-api/models`."""
        return [info.slug for info in await self.model_infos()]

    async def model_infos(self) -> list[ModelInfo]:
        """The account's models with titles and effort levels (`/backend-api/models`)."""
        _, body = await self._get(selectors.MODELS_PATH, "Reading the models")
        return models_from_payload(body)

    async def gizmos(self) -> list[Gizmo]:
        """The custom GPTs and projects the account's sidebar offers."""
        async with self._pool.lease() as tab:
            assert tab is not None
            try:
                page = await self._home(tab)
                return [*await gizmos.gpts(page), *await gizmos.projects(page)]
            except PlaywrightError as error:
                raise BrowserDownError(f"Reading the GPTs failed: {first_line(error)}") from None

    async def conversations(self, limit: int = LIST_PAGE) -> list[ConversationSummary]:
        """The history list as the sidebar reads it, newest first."""
        path = selectors.CONVERSATIONS_LIST_PATH.format(offset=0, limit=limit)
        _, body = await self._get(path, "Reading the chat list")
        return summaries_from_payload(body)[:limit]

    async def read_conversation(self, conversation_id: str) -> list[StoredMessage]:
        """One chat's prompts and answers: the page's paginated read, else the older tree."""
        quoted = quote(conversation_id, safe="")
        paths = (CONVERSATION_PAGE_PATH, selectors.CONVERSATION_READ_PATH)
        statuses = []
        for path in paths:
            status, body = await self._read(path.format(id=quoted))
            messages = messages_from_payload(body) if status == 200 else None
            if messages is not None and path is CONVERSATION_PAGE_PATH:
                return await with_older_pages(self._read, conversation_id, body, messages)
            if messages is not None:
                return messages
            statuses.append(status)
        if all(status == 404 for status in statuses):
            raise ConversationNotFoundError(conversation_id)
        codes = ", then ".join(str(status) for status in statuses)
        raise WebAppError(f"ChatGPT did not give the chat back (HTTP {codes}); try again.")

    async def _read(self, path: str) -> tuple[int, Any]:
        return await self._get(path, "Reading the chat")

    async def _get(self, path: str, what: str) -> tuple[int, Any]:
        """GET a backend path with the page's own session, in a tab (waiting for one)."""
        async with self._pool.lease() as tab:
            assert tab is not None
            try:
                page = await self._home(tab)
                return await fetch_signed_in(page, path)
            except PlaywrightError as error:
                raise BrowserDownError(f"{what} failed: {first_line(error)}") from None

    async def rate(self, conversation_id: str, message_id: str, rating: Rating) -> None:
        """Press the answer's thumb in its chat, in a tab of the pool (`browser.feedback`).

        The chat's lock is held as for a turn: a rating waits for an answer being written."""
        async with self._pool.lease(conversation_id) as tab:
            assert tab is not None
            try:
                await self._home(tab)
                await feedback.rate(
                    tab, self._settings.chatgpt_url, conversation_id, message_id, rating
                )
            except PlaywrightError as error:
                raise BrowserDownError(f"Rating the answer failed: {first_line(error)}") from None

    async def whoami(self) -> str | None:
        """The logged-in person's email (or name), None when logged out."""
        account = await self.account()
        return account.who if account.logged_in else None

    async def account(self) -> Account:
        """The login as the page's own `/api/auth/session` describes it."""
        async with self._pool.lease() as tab:
            assert tab is not None
            try:
                return await self._read_account(await self._home(tab))
            except PlaywrightError as error:
                raise BrowserDownError(f"Reading the session failed: {first_line(error)}") from None

    def browser_info(self) -> BrowserInfo:
        session = self._session
        return BrowserInfo(
            display=session.describe_display(),
            warning=None if session.attached else session.display_plan.warning,
            attached=session.attached,
            login_expires=self._account.expires if self._account else None,
            workspace=self._workspace.describe() if self._workspace else None,
            workspace_problem=str(self._workspace_problem) if self._workspace_problem else None,
        )

    @property
    def last_account(self) -> Account | None:
        """The login as last read (every `BRIDGE_PROBE_INTERVAL` seconds), None before."""
        return self._account

    async def _read_account(self, page: Page) -> Account:
        self._account = read_account(await auth_session(page))
        return self._account

    async def _watch_session(self) -> None:
        """Read the session now and then, so an expired login is noticed before a question.

        Only in a free tab (a busy one is proof enough that the login works), and a
        session that is over moves the bridge to `login_required` at once.
        """
        while True:
            await asyncio.sleep(self._settings.probe_interval)
            try:
                async with self._pool.lease(wait=False) as tab:
                    if tab is None:
                        continue
                    account = await self._read_account(await self._home(tab))
            except (BridgeError, PlaywrightError) as error:
                logger.info("session probe failed: %s", error)
                continue
            if not account.logged_in and self._last_state is not BridgeState.LOGIN_REQUIRED:
                logger.warning("ChatGPT's session is over: %s", account.problem)
                self._last_state = BridgeState.LOGIN_REQUIRED

    async def _home(self, tab: Tab, *, fresh: bool = False) -> Page:
        """The tab's page, on ChatGPT (navigating only when it is elsewhere, or `fresh`)."""
        await navigation.settle(tab)
        page = tab.page
        if fresh or not same_origin(page.url, self._settings.chatgpt_url):
            tab.clean, tab.document, tab.routes = False, None, 0
            await page.goto(self._settings.chatgpt_url, wait_until="domcontentloaded")
        return page

    def _note_quotas(self, turn: BrowserTurn) -> None:
        for event in turn.events:
            if isinstance(event, Quota):
                self._quotas[event.feature] = event

    def _hold_sends(self, retry_after: float | None) -> None:
        """The first limit signal holds every tab's sends for the page's own wait."""
        held = self._pacer.retry_after() is not None
        seconds = self._pacer.hold(retry_after)
        if not held:
            logger.warning("ChatGPT rate-limited a send: every send is held for %.0f s", seconds)
