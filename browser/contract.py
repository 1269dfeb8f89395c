"""The one contract between the browser layer and every surface above it.

`app/` (the OpenAI-compatible API, the CLI) and `slackbot/` are written against these
Protocols, never against Playwright: `browser.BrowserBridge` is the implementation that
drives the person's Chrome, and `tests/fakes/bridge.py` is an in-memory one that scripts
answers, delays and failures, the way httpx's `MockTransport` stands in for the network. A
surface that only needs what is written here can be tested in milliseconds.

Everything an implementation raises is a `browser.errors.BridgeError`: each says whether the
prompt may have reached ChatGPT (`delivered`), which is what decides whether a caller may try
again. Importing this module loads no browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal, Protocol

from browser.attachments import Attachment
from browser.events import Quota, TurnEvent
from browser.generated import GeneratedFile
from browser.models import Gizmo, ModelInfo

FinishReason = Literal["stop", "length", "cancelled"]
Rating = Literal["thumbsUp", "thumbsDown"]
"""A person's verdict on one answer, as the web app's thumbs send it (`Bridge.rate`)."""
Update = str | TurnEvent
"""One item of `Turn.updates()`: a Markdown delta (str) or a typed event."""
OnSend = Callable[[], Awaitable[None]]
"""Awaited by `ask()` once a tab is the caller's, just before anything is typed: the moment
the question stops waiting and may start to reach ChatGPT. A caller that stores its
questions marks them there (a question still in line is safe to ask after a restart), and
may raise to withdraw it: nothing is sent and the exception reaches the caller."""


@dataclass(frozen=True)
class AskOptions:
    """How to ask: every choice the web app offers beside the prompt, in one typed value.

    `model` is a slug of the account's list and `effort` one of its `thinking_efforts`
    (`browser.models` parses the `slug@effort` ids surfaces accept). `web_search` turns the
    composer's web search on (True) or off (False); None leaves the page's way. `gpt` (a
    custom GPT's `g-<id>`) starts a new chat in that GPT and keeps a follow-up in it;
    `project` (a project's name) starts a new chat in that project (`BRIDGE_PROJECT` when
    neither is set). One the account does not have fails before sending
    (`GptNotFoundError`, `ProjectNotFoundError`), never as a chat with plain ChatGPT.
    """

    model: str | None = None
    effort: str | None = None
    web_search: bool | None = None
    gpt: str | None = None
    project: str | None = None


def ask_options(model: str | None, options: AskOptions | None) -> AskOptions:
    """One `AskOptions` from `ask()`'s `model=` (kept for callers) and `options=`."""
    if options is None:
        return AskOptions(model=model)
    if model is not None and options.model not in (None, model):
        raise ValueError(f"ask() got model={model!r} and options.model={options.model!r}")
    return options if model is None else AskOptions(**{**options.__dict__, "model": model})


class BridgeState(str, Enum):
    READY = "ready"
    LOGIN_REQUIRED = "login_required"
    CHALLENGE = "challenge"
    RATE_LIMITED = "rate_limited"
    DOWN = "down"
    WRONG_WORKSPACE = "wrong_workspace"
    """CHATGPT_WORKSPACE names no workspace of the login (or the page would not switch)."""


@dataclass(frozen=True)
class BrowserInfo:
    """How the browser runs, for `/health`, `status` and the startup summary."""

    display: str
    """E.g. "with a window", "with a window on the virtual display :1", "headless"."""
    warning: str | None = None
    """Said at startup and in `/health`: e.g. headless, which chatgpt.com challenges."""
    attached: bool = False
    """The person's own Chrome (BROWSER_CDP_URL): never closed or relaunched by the bridge."""
    login_expires: datetime | None = None
    """When the session says it ends, as last read; None before the first read."""
    workspace: str | None = None
    """The workspace asked in, e.g. "Acme (workspace, team)"; None before it is known."""
    workspace_problem: str | None = None
    """Why no workspace is used (CHATGPT_WORKSPACE unknown): said until it is fixed."""


LIST_PAGE = 28
"""Chats per page of the history list, as ChatGPT's sidebar asks for them."""


@dataclass(frozen=True)
class ConversationSummary:
    """One entry of the account's history list."""

    id: str
    title: str | None
    updated: datetime | None
    """When the chat last changed (else when it was created), in UTC; None if unsaid."""


@dataclass(frozen=True)
class StoredMessage:
    """One message of a chat as the person sees it: a prompt they typed or an answer."""

    role: Literal["user", "assistant"]
    text: str
    model: str | None = None
    """The model that wrote an answer (None for prompts, or when the chat does not say)."""


class Turn(Protocol):
    """One question being answered: iterate it for Markdown deltas, in order.

    `delivered` is False while the prompt surely has not reached ChatGPT, None while it may
    have (Send was pressed, nothing confirmed yet) and True once ChatGPT took it.
    """

    conversation_id: str | None
    model: str | None
    """The model of the turn: asked for at first, the one that answered once known."""
    answered_by: str | None
    """The model that answered, as the stream or the stored answer names it (else None)."""
    events: list[TurnEvent]
    """Typed events (progress, title, model used, citations, quotas) in arrival order. It
    grows while the text streams: read it after each delta (`events[seen:]`), or be woken
    by each one with `updates()`."""
    text: str
    finish_reason: FinishReason | None
    delivered: bool | None
    message_id: str | None
    """The answer's own message id in the chat, as the stream, the stored chat or the DOM
    names it (None until known): what `Bridge.rate` rates."""
    files: list[GeneratedFile]
    """What ChatGPT made besides text (the image tool's pictures, the files its code tool
    wrote and the answer links as `sandbox:/mnt/data/…`), already downloaded: set by the
    time the iteration ends. While it draws, `events` has `Progress("image", ...)`."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    def updates(self) -> AsyncIterator[Update]:
        """The deltas and, in their place among them, each new event as it arrives.

        Iterating a turn yields only deltas, so a surface learns of a reasoning step or a
        search before the first delta only from this. Iterate one of the two, once; events
        already in `events` when the turn is handed over are not repeated.
        """
        ...

    async def read(self) -> str:
        """Wait for the whole answer and return it (raises like iteration does)."""
        ...

    async def cancel(self) -> None:
        """Stop the answer; the partial text stays, with finish_reason "cancelled"."""
        ...


class Bridge(Protocol):
    """Ask ChatGPT and read its answer as it streams; report how the browser is."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

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
    ) -> AbstractAsyncContextManager[Turn]:
        """`async with bridge.ask(...) as turn:` returns once the prompt is sent.

        `options` says how to ask (model, effort, ...); `model=` alone is its short form.
        `attachments` go with the prompt, uploaded through the page before Send; one that
        ChatGPT refuses (`AttachmentRejectedError`, `AttachmentTooLargeError`) or whose
        upload fails (`AttachmentUploadError`) is raised with nothing sent. A prompt longer
        than the message box takes is sent as a text attachment itself, never cut.

        A `patient` caller (one that stored its question, like a Slack job) waits in line
        however long it is; others get `BusyError` when the line is full. `on_send`: see
        `OnSend`.
        """
        ...

    async def state(self) -> BridgeState:
        """ready | login_required | challenge | rate_limited | down."""
        ...

    async def models(self) -> list[str]:
        """Model slugs the account offers, as the web app lists them."""
        ...

    async def model_infos(self) -> list[ModelInfo]:
        """The account's models with their titles and effort levels (`/backend-api/models`)."""
        ...

    async def gizmos(self) -> list[Gizmo]:
        """The custom GPTs (pinned, recent) and the projects the account's sidebar lists."""
        ...

    def quotas(self) -> list[Quota]:
        """The account's remaining quotas, as the last answer's `limits_progress` said."""
        ...

    async def conversations(self, limit: int = LIST_PAGE) -> list[ConversationSummary]:
        """The account's most recently changed chats, newest first, as the sidebar lists
        them (temporary chats are never listed)."""
        ...

    async def read_conversation(self, conversation_id: str) -> list[StoredMessage]:
        """One chat's prompts and answers, oldest first (its newest turns when it is long).

        Raises `ConversationNotFoundError` when the account has no such chat."""
        ...

    async def rate(self, conversation_id: str, message_id: str, rating: Rating) -> None:
        """Press the thumbs under answer `message_id` in its chat, as a person would.

        Opens the chat in a tab (no prompt is typed) and returns once the page's own
        feedback request succeeded; rating again replaces the verdict. Raises
        `ConversationNotFoundError`, `MessageNotFoundError` (no such answer in the chat, or
        no thumbs under it) or `FeedbackRefusedError` (ChatGPT refused the rating)."""
        ...

    async def whoami(self) -> str | None:
        """The logged-in person's email (or name); None when logged out."""
        ...

    def stats(self) -> dict[str, int]:
        """How the tabs are used: `tabs_total`, `tabs_busy`, `queue_length`."""
        ...

    def is_busy(self) -> bool:
        """Every tab is taken: a question asked now would wait in line."""
        ...

    def browser_info(self) -> BrowserInfo:
        """How the browser runs (display, warnings, attached) and when the login ends."""
        ...
