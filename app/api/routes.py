"""`/v1/chat/completions`, `/v1/models`, `/v1/models/{id}`: OpenAI's API over ChatGPT."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.completions import CompletionJob, complete
from app.api.generated import Shelf
from app.api.headers import FIRST_DELTA_GRACE, answer_headers, pinned_conversation
from app.api.routing import openai_router
from app.api.schemas import parse_chat_request
from app.api.streaming import KEEPALIVE_INTERVAL, SSE_HEADERS, event_stream
from app.services import services
from browser import timing

router = openai_router()


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    entries = await services(request).models.entries()
    return {"object": "list", "data": [entry.as_dict() for entry in entries]}


@router.get("/models/{model_id:path}")  # `project/<name>` holds a slash
async def retrieve_model(model_id: str, request: Request) -> dict[str, Any]:
    entry = await services(request).models.resolve(model_id)
    return entry.as_dict()


@router.post("/chat/completions")
async def create_chat_completion(request: Request) -> Response:
    timing.begin()
    chat = parse_chat_request(await request.body())
    parts = services(request)
    job = CompletionJob(
        bridge=parts.bridge,
        conversations=parts.conversations,
        request=chat,
        model=await parts.models.for_chat(chat),
        pinned=pinned_conversation(request),
        tool_repair=parts.settings.tool_repair,
        inputs=parts.inputs,
        shelf=shelf(request),
    )
    await job.open()
    if job.stream:
        await job.prefetch(FIRST_DELTA_GRACE)
        return StreamingResponse(
            event_stream(job),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **answer_headers(job)},
        )
    body = await complete(job, KEEPALIVE_INTERVAL, request.is_disconnected)
    return JSONResponse(body, headers=answer_headers(job))


def shelf(request: Request) -> Shelf:
    """Where this request's drawn pictures are kept, and the URL they are served under."""
    parts = services(request)
    return Shelf(parts.files, parts.settings.generated_keep_bytes, str(request.base_url))
