"""One response being written, in a task of its own, and the service that starts them.

The answer is read by a task the response owns rather than by the HTTP request, because a
Responses answer outlives its request in two ways: `background: true` returns at once and
the client polls, and `POST /v1/responses/{id}/cancel` stops a response from another
request. The task reads the chat pipeline's `CompletionJob`, turns each piece into events
(`ResponseWriter`), writes them into a log any number of streaming requests follow
(`log.py`), and stores the response at its start and end (with its events, at the end).
Cancelling the task presses Stop in the page (`CompletionJob.close()`), exactly as a client
leaving a chat-completions stream does.

`ResponsesService.create()` is the whole thing without HTTP: a request body in, the Response
object out (or an `APIError`), for callers such as batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from app.api.completions import CompletionJob, Result
from app.api.conversations import ConversationMap
from app.api.errors import APIError, api_error_from
from app.api.inputs import FileInputs
from app.api.models import ModelCatalog
from app.api.responses_api.bodies import ResponseState
from app.api.responses_api.events import ResponseWriter
from app.api.responses_api.items import ChatMessage, new_id
from app.api.responses_api.log import EventLog
from app.api.responses_api.request import ResponseRequest, parse_response_request
from app.api.responses_api.store import ResponseStore
from app.api.streaming import KEEPALIVE_INTERVAL
from app.api.tool_calls import ToolCall
from browser import Bridge
from browser.contract import OnSend

logger = logging.getLogger(__name__)

Disconnected = Callable[[], Awaitable[bool]]


class ResponseRun:
    """One response from its first event to its stored end. `open()`, then `launch()`."""

    def __init__(
        self,
        request: ResponseRequest,
        job: CompletionJob,
        state: ResponseState,
        *,
        history: list[ChatMessage],
        store: ResponseStore,
        runs: dict[str, ResponseRun],
    ) -> None:
        self.request = request
        self.job = job
        self.state = state
        self.events = EventLog()
        """Every event in order; closed after the last one."""
        self.error: APIError | None = None
        self._writer = ResponseWriter(state, self.events.put)
        self._history = history
        self._store = store
        self._runs = runs
        self._opened = False
        self._task: asyncio.Task[None] | None = None
        self._calls: list[ToolCall] = []
        self._ending = False
        """Cancelled, or writing its end: nothing may interrupt it any more."""

    @property
    def id(self) -> str:
        return self.state.id

    async def open(self) -> None:
        """Choose the chat and send the question; raises APIError (nothing is stored then)."""
        await self.job.open()
        self._opened = True

    def launch(self) -> None:
        """Write the response in its own task (which opens it first when `open()` was not)."""
        self._writer.begin()
        self._runs[self.id] = self
        self._task = asyncio.create_task(self._write(), name=f"response-{self.id}")

    async def wait(self, disconnected: Disconnected | None = None) -> dict[str, Any]:
        """The finished Response object; raises its APIError when it failed.

        `disconnected` is asked every keep-alive interval: a client gone cancels the run.
        """
        assert self._task is not None, "launch() first"
        while not self._task.done():
            await asyncio.wait({self._task}, timeout=KEEPALIVE_INTERVAL)
            if not self._task.done() and disconnected is not None and await disconnected():
                await self.stop()
                raise APIError(499, "The client closed the request; the answer was stopped.")
        if self.error is not None:
            raise self.error
        return self.state.body()

    def cancel(self) -> None:
        """Stop writing: the page's Stop is pressed; the partial answer is kept."""
        if self._task is not None and not self._task.done() and not self._ending:
            self._ending = True  # once, and never after the end: it would land in the save
            self._task.cancel()

    async def stop(self) -> None:
        """Cancel, and wait until the response is stored as cancelled."""
        self.cancel()
        if self._task is not None:
            await asyncio.wait({self._task})

    async def _write(self) -> None:
        try:
            await self._save()
            if not self._opened:
                await self.open()
            self._name_model()
            self._writer.start()
            async for piece in self.job.pieces(KEEPALIVE_INTERVAL):
                if isinstance(piece, ToolCall):
                    self._writer.add_function_call(piece.id, piece.name, piece.arguments)
                    self._calls.append(piece)
                elif piece is not None:  # None: silence (readers keep their own time)
                    self._writer.add_text(piece)
            result = await self.job.finish()
            self._name_model()
            self._complete(result)
        except asyncio.CancelledError:
            self._writer.cancel()
        except Exception as error:
            self.error = api_error_from(error)
            logger.info("%s failed: %s", self.id, self.error.code or self.error.type)
            self._writer.fail(self.error)
        finally:
            self._ending = True
            self.job.close()
            self.events.close()
            try:
                await self._save(ended=True)
            finally:
                self._runs.pop(self.id, None)

    def _name_model(self) -> None:
        """The model the web app says answered, once it said (as chat completions do)."""
        self.state.model = self.job.runner.model or self.state.model

    def _complete(self, result: Result) -> None:
        self._writer.complete(
            result.usage, cut_by_limit=result.finish_reason == "length", cited=result.citations
        )

    def transcript(self) -> list[ChatMessage]:
        """What a `previous_response_id` continues: the history, the input, the answer."""
        answer: list[ChatMessage] = []
        if self._calls:
            calls = [call.as_chat() for call in self._calls]
            answer.append(
                {"role": "assistant", "content": self._writer.text or None, "tool_calls": calls}
            )
        elif self.state.status in ("completed", "incomplete", "cancelled"):
            answer.append({"role": "assistant", "content": self._writer.text})
        return [*self._history, *self.request.input.messages, *answer]

    async def _save(self, *, ended: bool = False) -> None:
        if self.request.store:
            await self._store.save(
                self.state.body(),
                self.request.input.items,
                self.transcript(),
                self.events.events if ended else None,
            )


class ResponsesService:
    """Starts responses, knows the running ones (for cancel), and reads the stored ones."""

    def __init__(
        self,
        *,
        bridge: Bridge,
        conversations: ConversationMap,
        models: ModelCatalog,
        store: ResponseStore,
        tool_repair: bool = True,
        inputs: FileInputs,
    ) -> None:
        self._bridge = bridge
        self._tool_repair = tool_repair
        self._inputs = inputs
        self._conversations = conversations
        self._models = models
        self.store = store
        self._runs: dict[str, ResponseRun] = {}

    async def setup(self) -> None:
        await self.store.setup()

    async def prepare(
        self,
        raw: bytes | dict[str, Any],
        *,
        pinned: str | None = None,
        patient: bool = False,
        on_send: OnSend | None = None,
    ) -> ResponseRun:
        """The checked request as a run not yet started. Raises APIError (a 4xx).

        `patient`/`on_send`: as `Bridge.ask()` (a stored batch line waits its turn and is
        marked as being sent)."""
        request = parse_response_request(raw)
        history = await self._history(request.body.previous_response_id)
        chat = request.chat_request(history)
        reasoning = request.body.reasoning.effort if request.body.reasoning else None
        model = await self._models.resolve(request.body.model, reasoning)
        if request.tools.web_search:
            model = replace(model, web_search=True)
        job = CompletionJob(
            bridge=self._bridge,
            conversations=self._conversations,
            request=chat,
            model=model,
            pinned=pinned,
            tool_repair=self._tool_repair,
            inputs=self._inputs,
            patient=patient,
            on_send=on_send,
        )
        state = ResponseState(new_id("resp"), model.target, request.echo())
        if request.body.background:
            state.status = "queued"
        return ResponseRun(request, job, state, history=history, store=self.store, runs=self._runs)

    async def create(
        self,
        raw: bytes | dict[str, Any],
        *,
        patient: bool = False,
        on_send: OnSend | None = None,
    ) -> dict[str, Any]:
        """A request body in, the finished Response object out; raises APIError."""
        run = await self.prepare(raw, patient=patient, on_send=on_send)
        if run.request.body.stream or run.request.body.background:
            raise APIError(400, "'stream' and 'background' have no meaning here.", param="stream")
        return await self.answer(run)

    async def answer(
        self, run: ResponseRun, disconnected: Disconnected | None = None
    ) -> dict[str, Any]:
        """Ask, and wait for the whole answer: the finished Response object."""
        await run.open()
        run.launch()
        return await run.wait(disconnected)

    async def stop(self, response_id: str) -> ResponseRun | None:
        """Stop the response if it is still being written (it is stored as cancelled), and
        return its run; None when it is not running."""
        run = self._runs.get(response_id)
        if run is not None:
            await run.stop()
        return run

    async def events(self, response_id: str) -> EventLog:
        """The response's events (live while it is written); 404 when unknown, 400 when its
        events were not kept (the bridge stopped while it was being written)."""
        run = self._runs.get(response_id)
        if run is not None and run.request.store:
            return run.events
        events = await self.store.events(response_id)
        if events is None:
            await self.body(response_id)  # 404 when there is no such response at all
            raise APIError(
                400,
                f"The events of response '{response_id}' were not kept (the bridge stopped "
                "while it was being written): GET it without 'stream'.",
                param="stream",
            )
        return EventLog(events, closed=True)

    async def body(self, response_id: str) -> dict[str, Any]:
        """The response as it is now (live while it is written); 404 when unknown."""
        run = self._runs.get(response_id)
        if run is not None and run.request.store:
            return run.state.body()
        body = await self.store.body(response_id)
        if body is None:
            raise not_found(response_id)
        return body

    async def _history(self, previous: str | None) -> list[ChatMessage]:
        if previous is None:
            return []
        transcript = await self.store.transcript(previous)
        if transcript is None:
            raise APIError(
                404,
                f"Previous response with id '{previous}' not found. Only responses created "
                "with 'store': true (the default) can be continued, for 30 days.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        return transcript


def not_found(response_id: str) -> APIError:
    return APIError(
        404,
        f"No response with id '{response_id}' found. Responses created with 'store': false "
        "are not kept.",
        param="response_id",
        code="not_found",
    )
