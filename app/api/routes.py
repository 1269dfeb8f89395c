"""`/v1/chat/completions`, `/v1/models`, `/v1/models/{id}`: OpenAI's API over ChatGPT."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.completions import CompletionJob
from app.api.errors import APIError
from app.api.generated import Shelf
from app.api.routing import OpenAIRoute
from app.api.schemas import parse_chat_request
from app.api.streaming import KEEPALIVE_INTERVAL, SSE_HEADERS, event_stream
from app.security import request_is_authorized
from app.services import services

FIRST_DELTA_GRACE = 10.0
"""Seconds a stream waits for ChatGPT's first delta before sending its status line, so
that a refused send is still a proper HTTP error rather than an error event."""

logger = logging.getLogger(__name__)

CONVERSATION_HEADER = "X-Conversation-Id"
MODEL_USED_HEADER = "X-ChatGPT-Model-Used"
"""The model slug that answered (`resolved_model_slug`), once the web app named it."""
MODEL_NOTE_HEADER = "X-ChatGPT-Model-Note"
"""Present when ChatGPT answered with another model than asked for (e.g. a downgrade)."""
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:-]{0,99}")


async def require_api_key(request: Request) -> None:
    """`Authorization: Bearer <key>` whenever the bridge has a key (always when exposed)."""
    if not request_is_authorized(request):
        raise APIError(
            401,
            "Incorrect or missing API key. Send the bridge's key as `Authorization: Bearer "
            "<key>` (BRIDGE_API_KEY, or the key `chatgpt-bridge serve` printed at startup).",
            code="invalid_api_key",
        )


router = APIRouter(prefix="/v1", route_class=OpenAIRoute, dependencies=[Depends(require_api_key)])


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    entries = await services(request).models.entries()
    return {"object": "list", "data": [entry.as_dict() for entry in entries]}


@router.get("/models/{model_id}")
async def retrieve_model(model_id: str, request: Request) -> dict[str, Any]:
    entry = await services(request).models.resolve(model_id)
    return entry.as_dict()


@router.post("/chat/completions")
async def create_chat_completion(request: Request) -> Response:
    chat = parse_chat_request(await request.body())
    parts = services(request)
    job = CompletionJob(
        bridge=parts.bridge,
        conversations=parts.conversations,
        request=chat,
        model=await parts.models.resolve(chat.model),
        pinned=_pinned_conversation(request),
        shelf=shelf(request),
    )
    await job.open()
    if job.stream:
        await job.prefetch(FIRST_DELTA_GRACE)
        return StreamingResponse(
            event_stream(job),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **_conversation_header(job), **_model_headers(job)},
        )
    try:
        async for piece in job.pieces(KEEPALIVE_INTERVAL):
            if piece is None and await request.is_disconnected():
                raise APIError(499, "The client closed the request; the answer was stopped.")
        result = await job.finish()
    finally:
        job.close()
    body = job.identity().body(result.content, result.finish_reason, result.usage)
    return JSONResponse(body, headers={**_conversation_header(job), **_model_headers(job)})


@router.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown_url(request: Request, path: str) -> None:
    raise APIError(
        404,
        f"Invalid URL ({request.method} /v1/{path}): the bridge serves POST "
        "/v1/chat/completions, GET /v1/models and GET /v1/models/{model}.",
        code="unknown_url",
    )


def shelf(request: Request) -> Shelf:
    """Where this request's drawn pictures are kept, and the URL they are served under."""
    parts = services(request)
    return Shelf(parts.files, parts.settings.generated_keep_bytes, str(request.base_url))


def _pinned_conversation(request: Request) -> str | None:
    value = request.headers.get(CONVERSATION_HEADER)
    if value is None:
        return None
    if not _CONVERSATION_ID.fullmatch(value):
        raise APIError(
            400,
            f"The {CONVERSATION_HEADER} header must be a ChatGPT conversation id (the value a "
            "previous response returned in that header, or the <id> of chatgpt.com/c/<id>).",
        )
    return value


def _conversation_header(job: CompletionJob) -> dict[str, str]:
    conversation_id = job.conversation_id
    return {CONVERSATION_HEADER: conversation_id} if conversation_id else {}


def _model_headers(job: CompletionJob) -> dict[str, str]:
    """The model that answered, and a note when it is not the one asked for (docs/api.md).

    The body's `model` names it too; a header also reaches clients that keep only the text.
    A streamed answer's headers leave before the answer: they carry what is known by then.
    """
    runner = job.runner
    headers = {MODEL_USED_HEADER: runner.model} if runner.model else {}
    note = runner.model_note
    if note:
        logger.warning("%s: %s", job.id, note)
        headers[MODEL_NOTE_HEADER] = note
    return headers
