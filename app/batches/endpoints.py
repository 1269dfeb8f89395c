"""What one batch line asks: the code path of the HTTP endpoint it names, without HTTP.

A chat completion line is parsed, checked and answered by the same functions as
`POST /v1/chat/completions` (`parse_chat_request`, `CompletionJob`, `complete`), a Responses
line by `ResponsesService.create()` as `POST /v1/responses` is, so a line answers exactly
what the endpoint would, errors included. The line is stored, so it waits its turn for a tab
(`patient`) and is marked as being sent in the bridge's `on_send` hook.
"""

from __future__ import annotations

from typing import Any

from app.api.completions import CompletionJob, complete
from app.api.conversations import ConversationMap
from app.api.inputs import FileInputs
from app.api.models import ModelCatalog
from app.api.responses_api import ResponsesService
from app.api.schemas import parse_chat_request
from app.api.streaming import KEEPALIVE_INTERVAL
from browser import Bridge
from browser.contract import OnSend

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
ENDPOINTS = (CHAT, RESPONSES)
"""The endpoints a batch may name (OpenAI's other batch endpoints have no ChatGPT twin)."""


class LineAsker:
    """Answers one line's request body for its endpoint; raises APIError like the route."""

    def __init__(
        self,
        bridge: Bridge,
        models: ModelCatalog,
        conversations: ConversationMap,
        responses: ResponsesService,
        inputs: FileInputs,
        *,
        tool_repair: bool,
    ) -> None:
        self._bridge = bridge
        self._inputs = inputs
        self._tool_repair = tool_repair
        self._models = models
        self._conversations = conversations
        self._responses = responses

    async def ask(self, endpoint: str, body: str, on_send: OnSend) -> dict[str, Any]:
        if endpoint == RESPONSES:
            return await self._responses.create(body.encode(), patient=True, on_send=on_send)
        return await self._chat(body, on_send)

    async def _chat(self, body: str, on_send: OnSend) -> dict[str, Any]:
        request = parse_chat_request(body.encode())
        job = CompletionJob(
            bridge=self._bridge,
            conversations=self._conversations,
            request=request,
            model=await self._models.for_chat(request),
            pinned=None,
            inputs=self._inputs,
            tool_repair=self._tool_repair,
            patient=True,
            on_send=on_send,
        )
        await job.open()
        return await complete(job, KEEPALIVE_INTERVAL)
