"""One chat completion from request to result: which chat, the turn, shaping, bookkeeping.

Streaming and non-streaming requests run the very same job (the non-streaming response is
the joined stream), so both always return the same content for the same answer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

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
from app.api.models import ModelEntry
from app.api.responses import Completion
from app.api.schemas import ChatCompletionRequest
from app.api.turns import TurnRunner
from app.api.usage import Usage, count_tokens, prompt_tokens
from browser import Bridge
from browser.errors import BridgeError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    content: str
    finish_reason: str
    usage: Usage


class CompletionJob:
    def __init__(
        self,
        *,
        bridge: Bridge,
        conversations: ConversationMap,
        request: ChatCompletionRequest,
        model: ModelEntry,
        pinned: str | None,
        shelf: Shelf | None = None,
    ) -> None:
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
        self._model = model
        self._pinned = pinned
        self._shelf = shelf
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

    async def open(self) -> None:
        """Choose the chat and start the turn. Raises APIError; nothing is sent yet then."""
        try:
            self._plan = await self._conversations.plan(
                self._dialogue,
                self._model.target,
                pinned=self._pinned,
                instruction=self._json_format.instruction() if self._json_format else None,
            )
        except PromptRejectedError as error:
            raise invalid_request(str(error), "messages", error.code) from None
        self._runner = TurnRunner(
            self._bridge,
            self._plan.prompt,
            conversation_id=self._plan.conversation_id,
            options=self._model.options,
            temporary=self._plan.temporary,
        )
        try:
            await self._runner.start(on_done=lambda: self._conversations.release(self.plan))
        except Exception as error:
            raise await self._failed(error) from error

    async def prefetch(self, grace: float) -> None:
        """Wait up to `grace` seconds for the first delta, so that early failures (ChatGPT
        refusing the send, a rate limit) still get a real HTTP status, not a stream error."""
        try:
            self._replay = await self.runner.next(grace)
        except StopAsyncIteration as end:
            self._replay = end
        except Exception as error:
            raise await self._failed(error) from error

    async def pieces(self, tick: float) -> AsyncIterator[str | None]:
        """The answer's text as it may be released; None every `tick` seconds of silence.

        Raises APIError. When `stop` or the token limit cuts the answer, the generation in
        the page is stopped at once.
        """
        while True:
            try:
                delta = await self._next(tick)
            except StopAsyncIteration:
                break
            except Exception as error:
                raise api_error_from(error) from error
            if delta is None:
                yield None
                continue
            released = self._shaper.feed(delta)
            if released:
                yield released
            if self._shaper.cut:
                self.runner.stop()
                return
        pictures = await self._pictures()
        if pictures:
            yield self._shaper.feed(pictures)
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

    async def finish(self) -> Result:
        """The result of a fully read answer; records the chat for a follow-up if it can be."""
        shaper, runner = self._shaper, self.runner
        finish_reason = shaper.cut or ("length" if runner.finish_reason == "length" else "stop")
        content = shaper.content
        conversation_id = self.conversation_id
        # A cut or reformatted answer differs from what the web chat holds: not continuable.
        if (
            conversation_id
            and not shaper.cut
            and self._json_format is None
            and runner.finish_reason == "stop"
        ):
            await self._conversations.remember(
                self._dialogue,
                self._model.target,
                content,
                conversation_id,
                temporary=self.plan.temporary,
            )
        usage = Usage(self.prompt_tokens, count_tokens(content))
        logger.info(
            "%s: %s chat %s, %s, %d+%d tokens",
            self.id,
            self.plan.how,
            conversation_id,
            finish_reason,
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        return Result(content, finish_reason, usage)

    def close(self) -> None:
        """Stop the turn if it still runs (synchronous: safe in a cancelled context)."""
        if self._runner is not None:
            self._runner.stop()

    async def _pictures(self) -> str:
        """What ChatGPT drew, kept and written as Markdown images after the text (not in a
        JSON answer: they would break its format)."""
        files = self.runner.files
        if not files or self._shelf is None or self._json_format is not None:
            return ""
        kept = await self._shelf.keep(files)
        return self._shelf.markdown(kept, after_text=bool(self.runner.text.strip()))

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
