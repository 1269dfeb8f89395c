"""One chat completion from request to result: which chat, the turn, shaping, bookkeeping.

Streaming and non-streaming requests run the very same job (the non-streaming response is
the joined stream), so both always return the same content for the same answer. With
function tools the answer is read for calls first (`app/api/tool_calls.py`); an answer that
calls them wrongly gets at most one repair message in the same chat.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.api.citations import UrlCitation, url_citations
from app.api.conversations import (
    ChatPlan,
    ConversationMap,
    Dialogue,
    PromptRejectedError,
    normalise,
)
from app.api.emulation import OutputFormatError, OutputShaper
from app.api.errors import APIError, api_error_from, invalid_request
from app.api.generated import Shelf
from app.api.inputs import FileInputs
from app.api.models import ModelEntry
from app.api.responses import Completion
from app.api.sandbox_links import SandboxLinkHold
from app.api.schemas import ChatCompletionRequest, ChatMessage
from app.api.tool_calls import CallStream, Piece, ToolCall, ToolCallError, repair_message
from app.api.turns import TurnRunner
from app.api.usage import Usage, count_tokens, prompt_tokens
from browser import Bridge, timing
from browser.attachments import Attachment
from browser.contract import OnSend
from browser.errors import BridgeError
from browser.events import Citation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    content: str
    finish_reason: str
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = field(default=())
    citations: tuple[Citation, ...] = field(default=())
    """The sources ChatGPT cited (a searched answer): `annotations` places them."""

    @property
    def annotations(self) -> tuple[UrlCitation, ...]:
        """The cited links of `content`, as the caller gets it."""
        return url_citations(self.content, self.citations)


class CompletionJob:
    def __init__(
        self,
        *,
        bridge: Bridge,
        conversations: ConversationMap,
        request: ChatCompletionRequest,
        model: ModelEntry,
        pinned: str | None,
        inputs: FileInputs,
        tool_repair: bool = True,
        patient: bool = False,
        on_send: OnSend | None = None,
        shelf: Shelf | None = None,
    ) -> None:
        """`patient`/`on_send`: as `Bridge.ask()` (a batch line is stored: it waits its turn
        and is marked as being sent)."""
        messages = normalise(request.messages)
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self.stream = bool(request.stream)
        self.include_usage = bool(request.stream_options and request.stream_options.include_usage)
        self.prompt_tokens = prompt_tokens((m.role, m.text, m.name) for m in messages)
        self._bridge = bridge
        self._conversations = conversations
        self._dialogue = Dialogue.of(messages)
        self._json_format = request.json_format
        self._shaper = OutputShaper(request.stop or (), request.token_limit, self._json_format)
        toolset = request.toolset
        self._toolset = toolset if toolset and toolset.active else None
        if toolset:  # OpenAI counts the tool definitions as prompt tokens too
            self.prompt_tokens += sum(count_tokens(tool.as_json()) for tool in toolset.tools)
        self._calls: CallStream | None = self._toolset.stream() if self._toolset else None
        self._tool_calls: list[ToolCall] = []
        self._tool_repair = tool_repair
        self._repairs_left = 1 if tool_repair else 0
        self._model = model
        self._pinned = pinned
        self._inputs = inputs
        self._patient = patient
        self._on_send = on_send
        self._shelf = shelf
        self._links = SandboxLinkHold()
        self._plan: ChatPlan | None = None
        self._runner: TurnRunner | None = None
        self._replay: str | StopAsyncIteration | None = None

    @property
    def plan(self) -> ChatPlan:
        assert self._plan is not None, "open() first"
        return self._plan

    @property
    def runner(self) -> TurnRunner:
        assert self._runner is not None, "open() first"
        return self._runner

    @property
    def conversation_id(self) -> str | None:
        return self.plan.conversation_id or self.runner.conversation_id

    def identity(self) -> Completion:
        """`id`/`created`/`model` of every body: the model the web app reports, once known."""
        return Completion(
            self.id, self.created, self.runner.model or self._model.target, self.include_usage
        )

    def _instruction(self) -> str | None:
        """What is typed after the messages: the tool instruction, the JSON format's."""
        after_results = any(message.role == "tool" for message in self._dialogue.trailing)
        parts = [
            self._toolset.instruction(after_results=after_results) if self._toolset else None,
            self._json_format.instruction() if self._json_format else None,
        ]
        return "\n\n".join(part for part in parts if part) or None

    async def open(self) -> None:
        """Choose the chat and start the turn. Raises APIError; nothing is sent yet then."""
        try:
            self._plan = await self._conversations.plan(
                self._dialogue,
                self._model.target,
                pinned=self._pinned,
                instruction=self._instruction(),
            )
        except PromptRejectedError as error:
            raise invalid_request(str(error), "messages") from None
        timing.mark("planned")
        try:
            attachments = await self._inputs.attachments(self._plan.files)
        except APIError:
            self._conversations.release(self._plan)  # nothing was sent: the chat stays as it was
            await self._conversations.restore(self._plan)
            raise
        self._runner = self._turn(
            self._plan.prompt, self._plan.conversation_id, self._on_send, attachments
        )
        try:
            await self._runner.start(on_done=lambda: self._conversations.release(self.plan))
        except Exception as error:
            raise await self._failed(error) from error

    def _turn(
        self,
        prompt: str,
        conversation_id: str | None,
        on_send: OnSend | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> TurnRunner:
        return TurnRunner(
            self._bridge,
            prompt,
            conversation_id=conversation_id,
            options=self._model.options,
            temporary=self.plan.temporary,
            patient=self._patient,
            on_send=on_send,
            attachments=attachments,
        )

    async def prefetch(self, grace: float) -> None:
        """Wait up to `grace` seconds for the first delta, so that early failures (ChatGPT
        refusing the send, a rate limit) still get a real HTTP status, not a stream error."""
        try:
            self._replay = await self.runner.next(grace)
        except StopAsyncIteration as end:
            self._replay = end
        except Exception as error:
            raise await self._failed(error) from error

    async def pieces(self, tick: float) -> AsyncIterator[Piece | None]:
        """The answer as it may be released, text and tool calls in order; None every
        `tick` seconds of silence.

        Raises APIError. When `stop` or the token limit cuts the answer, the generation in
        the page is stopped at once.
        """
        while True:
            problem: ToolCallError | None = None
            async for piece in self._answer(tick):
                if isinstance(piece, ToolCallError):
                    problem = piece  # always the last piece of a turn
                elif piece is None or piece:
                    yield piece
                if self._shaper.cut:
                    self.runner.stop()
                    return
            if problem is None:
                break
            await self._repair(problem)
        if self._tool_calls and self._json_format is not None:
            return  # the answer is calls, not the JSON the format describes
        generated = await self._generated()
        if generated:
            yield self._shaper.feed(generated)
        try:
            tail = self._shaper.close()
        except OutputFormatError as error:
            raise APIError(
                500,
                f"{error}. The prompt was delivered; ask again, or relax the format.",
                type="server_error",
                code="invalid_response_format",
                headers={"x-should-retry": "false"},
            ) from None
        if tail:
            yield tail

    async def _answer(self, tick: float) -> AsyncIterator[Piece | ToolCallError | None]:
        """One turn's answer read for calls and shaped. A wrong call is yielded as its error
        once the rest of the turn was read (so the chat is idle again for a repair)."""
        calls, problem = self._calls, None
        while True:
            try:
                delta = await self._next(tick)
            except StopAsyncIteration:
                break
            except Exception as error:
                raise api_error_from(error) from error
            if delta is None:
                yield None
            elif calls is None:
                yield self._shaper.feed(self._links.feed(delta))
            elif problem is None:
                try:
                    for piece in calls.feed(delta):
                        yield self._shape(piece)
                except ToolCallError as error:
                    problem = error
        if calls is not None and problem is None:
            try:
                for piece in calls.close():
                    yield self._shape(piece)
            except ToolCallError as error:
                problem = error
        if problem is not None:
            yield problem

    def _shape(self, piece: Piece) -> Piece:
        if isinstance(piece, ToolCall):
            self._tool_calls.append(piece)
            return piece
        return self._shaper.feed(piece)

    async def _repair(self, problem: ToolCallError) -> None:
        """Ask once more in the same chat, or raise the APIError that says what went wrong."""
        conversation_id = self.conversation_id
        if not self._repairs_left or conversation_id is None or self._toolset is None:
            repaired = "" if self._repairs_left else " even after a repair message"
            if not self._tool_repair:
                repaired = " (BRIDGE_TOOL_REPAIR is off)"
            raise APIError(
                500,
                f"ChatGPT did not call the tools correctly{repaired}: {problem}. The prompt "
                "was delivered; ask again, or simplify the tools.",
                type="server_error",
                code="invalid_tool_call",
                headers={"x-should-retry": "false"},
            ) from None
        self._repairs_left -= 1
        logger.info("%s: repairing a tool call in chat %s: %s", self.id, conversation_id, problem)
        self._calls = self._toolset.stream()
        self._tool_calls.clear()
        self._runner = self._turn(repair_message(problem), conversation_id)
        try:
            await self._runner.start(on_done=lambda: None)
        except Exception as error:
            api_error = api_error_from(error)
            api_error.headers["x-should-retry"] = "false"  # the first prompt was delivered
            raise api_error from error

    async def finish(self) -> Result:
        """The result of a fully read answer; records the chat for a follow-up if it can be."""
        shaper, runner, calls = self._shaper, self.runner, tuple(self._tool_calls)
        finish_reason = shaper.cut or ("length" if runner.finish_reason == "length" else "stop")
        if calls and not shaper.cut:
            finish_reason = "tool_calls"
        content = shaper.content
        conversation_id = self.conversation_id
        # A cut or reformatted answer differs from what the web chat holds: not continuable.
        # Calls are what the chat holds, as the client will send them back.
        if (
            conversation_id
            and not shaper.cut
            and (self._json_format is None or calls)
            and runner.finish_reason == "stop"
        ):
            await self._conversations.remember(
                self._dialogue,
                self._model.target,
                _as_sent_back(content, calls) if calls else content,
                conversation_id,
                temporary=self.plan.temporary,
            )
        arguments = "".join(call.arguments for call in calls)
        usage = Usage(self.prompt_tokens, count_tokens(content) + count_tokens(arguments))
        logger.info(
            "%s: %s chat %s, %s, %d+%d tokens",
            self.id,
            self.plan.how,
            conversation_id,
            finish_reason,
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        return Result(content, finish_reason, usage, calls, tuple(runner.citations))

    def close(self) -> None:
        """Stop the turn if it still runs (synchronous: safe in a cancelled context)."""
        if self._runner is not None:
            self._runner.stop()

    async def _generated(self) -> str:
        """The answer's held-back end with its `sandbox:` links rewritten, then what ChatGPT
        drew as Markdown images (not in a JSON answer: they would break its format)."""
        files = self.runner.files
        if not files or self._shelf is None or self._json_format is not None:
            return self._links.close({})
        kept = await self._shelf.keep(files)
        text = self._links.close(self._shelf.links(kept))
        return text + self._shelf.markdown(kept, after_text=bool(self.runner.text.strip()))

    async def _next(self, tick: float) -> str | None:
        replay, self._replay = self._replay, None
        if isinstance(replay, StopAsyncIteration):
            raise replay
        if replay is not None:
            return replay
        return await self.runner.next(tick)

    async def _failed(self, error: BaseException) -> APIError:
        """The APIError for a failure before the response started."""
        self.close()
        if isinstance(error, BridgeError) and error.delivered is False:
            await self._conversations.restore(self.plan)
        return api_error_from(error)


def _as_sent_back(content: str, calls: tuple[ToolCall, ...]) -> str:
    """The text of this reply once a client sends it back as an assistant message."""
    message = ChatMessage.model_validate(
        {
            "role": "assistant",
            "content": content or None,
            "tool_calls": [call.as_chat() for call in calls],
        }
    )
    [sent_back] = normalise([message])
    return sent_back.text


async def complete(
    job: CompletionJob, tick: float, gone: Callable[[], Awaitable[bool]] | None = None
) -> dict[str, Any]:
    """Read an opened job's whole answer into its non-streaming response body.

    The HTTP route and batch lines both end here, so a batch line answers exactly what the
    endpoint would. `gone()` is asked after each `tick` seconds of silence: True (the client
    left) stops the answer.
    """
    try:
        async for piece in job.pieces(tick):
            if piece is None and gone is not None and await gone():
                raise APIError(499, "The client closed the request; the answer was stopped.")
        result = await job.finish()
    finally:
        job.close()
    return job.identity().body(
        result.content, result.finish_reason, result.usage, result.tool_calls, result.annotations
    )
