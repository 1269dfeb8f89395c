"""An in-memory `browser.contract.Bridge`: the layers above the browser, tested without one.

In the spirit of httpx's `MockTransport` and llm's `MockModel`: a `FakeBridge` answers every
`ask()` from a script, so a test of the API or the Slack layer states exactly what ChatGPT
"does" and checks only its own layer's behaviour, in milliseconds.

    bridge = FakeBridge()                              # echoes: "You said: <prompt>"
    bridge.script(Answer("Hello", "there"))            # the next ask gets these deltas
    bridge.script(Answer(error=RateLimitedError(retry_after=60)))   # refused at send
    bridge.script(Answer("Half", fail=SendUncertainError()))        # breaks off mid-answer
    bridge = FakeBridge(lambda ask: Answer(ask.prompt.upper()))     # or a handler

Chats live in `chats` (id -> messages, newest last): every ask that is not temporary adds its
prompt and answer, as ChatGPT's history does, and a test may add its own; `conversations()`
lists them newest first and `read_conversation()` reads one (`history_error` makes both fail).
An event among the deltas (`Answer(Progress("reasoning", "Thinking"), "Hi")`) joins the
turn's `events` when it is reached, and `updates()` yields it in its place.
`Answer(files=(GeneratedFile(...),))` is what ChatGPT drew: the turn's `files` once the
deltas are read. `models()` answers `model_slugs` (`model_infos()` adds `model_efforts`);
`models_error` and `models_delay` make it fail or slow. `Answer(model=...)` answers with
another model than asked (a downgrade: the turn's `events` carry its `ModelUsed`),
`Answer(events=...)` adds typed events, and `quota_values` is what `quotas()` reports.
`Answer(error=AttachmentRejectedError(...))` scripts a refused file once; `rejected_types`
and `failed_uploads` refuse every matching attachment (the ask is recorded, nothing "sent").
Each turn's answer has a `message_id` (`fake-msg-<n>`); `rate()` presses its thumbs: a
rating of an answer of one of the fake's chats joins `ratings` (the latest per answer is in
`rating_of`), others raise as the real bridge does, and `rate_error` makes every rating fail.
Every ask is recorded in `bridge.asks` (prompt, conversation, model, flags, attachments), so
a test can prove what was typed, and how often: a prompt "sent" twice is a bug the fake
makes visible.
Tabs and the waiting line behave like the pool's: `tabs` turns at once, `patient` callers
wait however long, others get `BusyError` when `max_queue` already wait.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field

from browser.attachments import Attachment, check_sizes
from browser.contract import (
    LIST_PAGE,
    AskOptions,
    BridgeState,
    BrowserInfo,
    ConversationSummary,
    FinishReason,
    OnSend,
    Rating,
    StoredMessage,
    Update,
    ask_options,
)
from browser.errors import (
    AttachmentRejectedError,
    AttachmentUploadError,
    BridgeError,
    BusyError,
    ConversationNotFoundError,
    GptNotFoundError,
    MessageNotFoundError,
    ProjectNotFoundError,
)
from browser.events import ModelUsed, Quota, TurnEvent
from browser.generated import GeneratedFile
from browser.models import Gizmo, ModelInfo


@dataclass(frozen=True)
class Ask:
    """One call of `ask()`, as the surface made it."""

    prompt: str
    conversation_id: str | None
    model: str | None
    temporary: bool
    patient: bool
    options: AskOptions = field(default_factory=AskOptions)
    """Everything the surface chose (`model` above is `options.model`)."""
    attachments: tuple[Attachment, ...] = ()
    """The files sent with the prompt, as the surface built them."""


class Answer:
    """What ChatGPT does with one prompt.

    `deltas`: the text pieces, in order, with any typed events that arrive between them.
    `error`: raised by `ask()` itself, before the turn is handed over (a refused send; its
    `delivered` says whether the prompt got through).
    `fail`: raised from the iteration after the deltas (an answer that breaks off).
    `delay`: seconds before each delta; `hang`: after the deltas, wait until cancelled.
    """

    def __init__(
        self,
        *deltas: Update,
        error: BridgeError | None = None,
        fail: BridgeError | None = None,
        delay: float = 0.0,
        hang: bool = False,
        finish_reason: FinishReason = "stop",
        conversation_id: str | None = None,
        model: str | None = None,
        events: tuple[TurnEvent, ...] = (),
        files: tuple[GeneratedFile, ...] = (),
    ) -> None:
        self.deltas = deltas
        self.events = events
        self.files = files
        self.error = error
        self.fail = fail
        self.delay = delay
        self.hang = hang
        self.finish_reason: FinishReason = finish_reason
        self.conversation_id = conversation_id
        self.model = model


Handler = Callable[[Ask], Answer]


def echo(ask: Ask) -> Answer:
    """The default: quote the prompt, in a few deltas, like the replica does."""
    words = f"You said: {ask.prompt}".split(" ")
    return Answer(*(word if i == 0 else f" {word}" for i, word in enumerate(words)))


class FakeTurn:
    """A `browser.contract.Turn` playing one `Answer`."""

    def __init__(
        self,
        answer: Answer,
        conversation_id: str,
        model: str | None,
        asked: str | None = None,
        message_id: str | None = None,
    ) -> None:
        self._answer = answer
        self.conversation_id: str | None = conversation_id
        self.message_id: str | None = message_id
        self.model = model
        self.answered_by: str | None = model
        requested = asked if asked and asked != model else None
        self.events: list[TurnEvent] = [*answer.events]
        if model is not None:
            self.events.insert(0, ModelUsed(model, requested))
        self.text = ""
        self.finish_reason: FinishReason | None = None
        self.delivered: bool | None = True
        self.files: list[GeneratedFile] = []
        self.cancelled = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for item in self.updates():
            if isinstance(item, str):
                yield item

    async def updates(self) -> AsyncIterator[Update]:
        for item in self._answer.deltas:
            if await self._wait(self._answer.delay):
                return
            if isinstance(item, str):
                self.text += item
            else:
                self.events.append(item)
            yield item
        if self._answer.fail is not None:
            raise self._answer.fail
        if self._answer.hang and await self._wait(None):
            return
        self.files = list(self._answer.files)
        self.finish_reason = self._answer.finish_reason

    async def read(self) -> str:
        async for _ in self:
            pass
        return self.text

    async def cancel(self) -> None:
        self.cancelled.set()

    async def _wait(self, seconds: float | None) -> bool:
        """Sleep (forever when None) unless cancelled; True when the turn was cancelled."""
        if not self.cancelled.is_set() and seconds != 0:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.cancelled.wait(), seconds)
        if self.cancelled.is_set():
            self.finish_reason = "cancelled"
            return True
        return False


@dataclass
class FakeBridge:
    """A scripted `browser.contract.Bridge`. See the module docstring."""

    handler: Handler = echo
    tabs: int = 3
    max_queue: int = 10
    state_value: BridgeState = BridgeState.READY
    model_slugs: list[str] = field(default_factory=lambda: ["auto", "gpt-5", "gpt-5-thinking"])
    who: str | None = "you@example.com"
    asks: list[Ask] = field(default_factory=list)
    turns: list[FakeTurn] = field(default_factory=list)
    started: bool = False
    info: BrowserInfo = field(default_factory=lambda: BrowserInfo(display="in memory"))
    release_delay: float = 0.0
    """Seconds the end of an `ask()` takes, as the real tab release does (`released` counts)."""
    released: int = 0
    models_error: BridgeError | None = None
    """Raised by `models()` while set (a busy pool, a logged-out page)."""
    models_delay: float = 0.0
    """Seconds `models()` takes, like waiting for a free tab."""
    models_reads: int = 0
    """How often `models()` was called."""
    model_efforts: dict[str, list[str]] = field(default_factory=dict)
    """The `thinking_efforts` of a slug of `model_slugs` (`model_infos()`)."""
    quota_values: list[Quota] = field(default_factory=list)
    """What `quotas()` reports."""
    chats: dict[str, list[StoredMessage]] = field(default_factory=dict)
    """The account's history: chat id -> its messages (insertion order: oldest chat first)."""
    history_error: BridgeError | None = None
    """Raised by `conversations()` and `read_conversation()` while set."""
    rejected_types: set[str] = field(default_factory=set)
    """MIME types the "page" refuses: an ask with such a file raises
    `AttachmentRejectedError` (nothing sent), as the real page's refusal does."""
    failed_uploads: set[str] = field(default_factory=set)
    """File names whose "upload" fails: `AttachmentUploadError`, nothing sent."""
    gizmo_list: list[Gizmo] = field(default_factory=list)
    """The account's custom GPTs and projects (`gizmos()`); an ask in another one raises
    `GptNotFoundError` / `ProjectNotFoundError` with nothing sent, as the real check does."""
    ratings: list[tuple[str, str, Rating]] = field(default_factory=list)
    """Every rating passed on: (conversation id, answer's message id, rating), in order."""
    rate_error: BridgeError | None = None
    """Raised by `rate()` while set (a logged-out page, ChatGPT refusing the rating)."""

    def __post_init__(self) -> None:
        self._scripted: deque[Answer] = deque()
        self._busy = 0
        self._waiting = 0
        self._free = asyncio.Condition()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    def script(self, *answers: Answer) -> None:
        """The next asks get these answers, in order; then the handler again."""
        self._scripted.extend(answers)

    @property
    def prompts(self) -> list[str]:
        return [ask.prompt for ask in self.asks]

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

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
    ) -> AbstractAsyncContextManager[FakeTurn]:
        chosen = ask_options(model, options)
        files = tuple(attachments)
        ask = Ask(prompt, conversation_id, chosen.model, temporary, patient, chosen, files)
        return self._ask(ask, on_send)

    @asynccontextmanager
    async def _ask(self, ask: Ask, on_send: OnSend | None) -> AsyncIterator[FakeTurn]:
        check_sizes(ask.attachments)  # the real bridge's own refusal, before a tab
        await self._take_tab(ask.patient)
        try:
            if on_send is not None:
                await on_send()
            self._check_gizmo(ask.options)
            answer = self._scripted.popleft() if self._scripted else self.handler(ask)
            self.asks.append(ask)
            rejected = self._rejected(ask.attachments)
            if rejected is not None:
                raise rejected
            if answer.error is not None:
                raise answer.error
            conversation_id = (
                answer.conversation_id or ask.conversation_id or f"fake-{next(self._ids)}"
            )
            model = answer.model or ask.model or "auto"
            message_id = f"fake-msg-{next(self._message_ids)}"
            turn = FakeTurn(answer, conversation_id, model, ask.model, message_id)
            self.turns.append(turn)
            yield turn
            if not ask.temporary:
                self._remember(conversation_id, ask.prompt, turn)
        finally:
            if self.release_delay:
                await asyncio.sleep(self.release_delay)  # the real one saves and frees the tab
            async with self._free:
                self._busy -= 1
                self._free.notify()
            self.released += 1

    def _check_gizmo(self, options: AskOptions) -> None:
        if options.gpt is not None and options.gpt not in {g.id for g in self.gizmo_list}:
            raise GptNotFoundError(options.gpt)
        projects = [g.name for g in self.gizmo_list if g.kind == "project"]
        known = {name.casefold() for name in projects}
        if options.project is not None and options.project.casefold() not in known:
            raise ProjectNotFoundError(options.project, projects)

    def _remember(self, conversation_id: str, prompt: str, turn: FakeTurn) -> None:
        """The exchange joins its chat, which becomes the newest, as in ChatGPT's sidebar."""
        messages = self.chats.pop(conversation_id, [])
        answer = StoredMessage("assistant", turn.text, turn.answered_by)
        self.chats[conversation_id] = [*messages, StoredMessage("user", prompt), answer]

    def _rejected(self, attachments: tuple[Attachment, ...]) -> BridgeError | None:
        for attachment in attachments:
            if attachment.mime_type in self.rejected_types:
                return AttachmentRejectedError(attachment.name, attachment.mime_type)
            if attachment.name in self.failed_uploads:
                return AttachmentUploadError(attachment.name, "the upload service said no")
        return None

    async def _take_tab(self, patient: bool) -> None:
        async with self._free:
            if self._busy >= self.tabs and not patient and self._waiting >= self.max_queue:
                raise BusyError()
            self._waiting += 1
            try:
                await self._free.wait_for(lambda: self._busy < self.tabs)
            finally:
                self._waiting -= 1
            self._busy += 1

    async def state(self) -> BridgeState:
        return self.state_value

    async def models(self) -> list[str]:
        self.models_reads += 1
        if self.models_delay:
            await asyncio.sleep(self.models_delay)
        if self.models_error is not None:
            raise self.models_error
        return list(self.model_slugs)

    async def model_infos(self) -> list[ModelInfo]:
        slugs = await self.models()
        return [ModelInfo(slug, slug, tuple(self.model_efforts.get(slug, ()))) for slug in slugs]

    async def gizmos(self) -> list[Gizmo]:
        return list(self.gizmo_list)

    def quotas(self) -> list[Quota]:
        return list(self.quota_values)

    async def conversations(self, limit: int = LIST_PAGE) -> list[ConversationSummary]:
        if self.history_error is not None:
            raise self.history_error
        newest = list(self.chats.items())[::-1][:limit]
        return [ConversationSummary(cid, _title(messages), None) for cid, messages in newest]

    async def read_conversation(self, conversation_id: str) -> list[StoredMessage]:
        if self.history_error is not None:
            raise self.history_error
        if conversation_id not in self.chats:
            raise ConversationNotFoundError(conversation_id)
        return list(self.chats[conversation_id])

    async def rate(self, conversation_id: str, message_id: str, rating: Rating) -> None:
        if self.rate_error is not None:
            raise self.rate_error
        if conversation_id not in self.chats:
            raise ConversationNotFoundError(conversation_id)
        answers = {
            turn.message_id for turn in self.turns if turn.conversation_id == conversation_id
        }
        if message_id not in answers:
            raise MessageNotFoundError(conversation_id, message_id)
        self.ratings.append((conversation_id, message_id, rating))

    def rating_of(self, message_id: str) -> Rating | None:
        """The latest rating of one answer (a second click replaces the first)."""
        found = [rating for _, rated, rating in self.ratings if rated == message_id]
        return found[-1] if found else None

    async def whoami(self) -> str | None:
        return self.who

    def stats(self) -> dict[str, int]:
        return {"tabs_total": self.tabs, "tabs_busy": self._busy, "queue_length": self._waiting}

    def is_busy(self) -> bool:
        return self._busy >= self.tabs

    def browser_info(self) -> BrowserInfo:
        return self.info


def _title(messages: list[StoredMessage]) -> str | None:
    """A title as ChatGPT would make one: here, the start of the first prompt."""
    return messages[0].text[:40] if messages else None
