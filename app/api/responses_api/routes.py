"""`/v1/responses`: create (plain, streamed, in the background), retrieve, list input
items, delete, cancel. The HTTP side only; the work is `run.py`'s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.errors import APIError
from app.api.headers import FIRST_DELTA_GRACE, answer_headers, pinned_conversation
from app.api.responses_api.events import frame
from app.api.responses_api.log import EventLog
from app.api.responses_api.run import ResponseRun, ResponsesService, not_found
from app.api.routing import openai_router
from app.api.streaming import KEEPALIVE, KEEPALIVE_INTERVAL, SSE_HEADERS
from app.services import services

router = openai_router()


def _service(request: Request) -> ResponsesService:
    return services(request).responses


@router.post("/responses")
async def create_response(request: Request) -> Response:
    service = _service(request)
    run = await service.prepare(await request.body(), pinned=pinned_conversation(request))
    body = run.request.body
    if body.background:
        run.launch()
        return _stream(run) if body.stream else JSONResponse(run.state.body())
    if not body.stream:
        result = await service.answer(run, disconnected=request.is_disconnected)
        return JSONResponse(result, headers=answer_headers(run.job))
    await run.open()
    await run.job.prefetch(FIRST_DELTA_GRACE)
    run.launch()
    return _stream(run, headers=answer_headers(run.job))


def _stream(run: ResponseRun, headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(
        _events(run),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **(headers or {})},
    )


async def _events(run: ResponseRun) -> AsyncIterator[bytes]:
    """The run's events as SSE. A client leaving stops the answer, unless it runs in the
    background (which outlives every request by design)."""
    try:
        async for chunk in _frames(run.events, -1):
            yield chunk
    finally:
        if not run.request.body.background:
            run.cancel()


async def _frames(log: EventLog, after: int) -> AsyncIterator[bytes]:
    async for event in log.follow(after, KEEPALIVE_INTERVAL):
        yield KEEPALIVE if event is None else frame(event)


@router.get("/responses/{response_id}", response_model=None)
async def retrieve_response(
    response_id: str,
    request: Request,
    stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any] | StreamingResponse:
    """The response; with `stream`, its events again (after `starting_after`), followed
    live to the end while it is still being written. Leaving such a replay stops nothing."""
    service = _service(request)
    if not stream:
        return await service.body(response_id)
    log = await service.events(response_id)
    after = -1 if starting_after is None else starting_after
    return StreamingResponse(
        _frames(log, after), media_type="text/event-stream", headers=SSE_HEADERS
    )


@router.delete("/responses/{response_id}")
async def delete_response(response_id: str, request: Request) -> dict[str, Any]:
    service = _service(request)
    run = await service.stop(response_id)
    if not await service.store.delete(response_id) and run is None:
        raise not_found(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@router.post("/responses/{response_id}/cancel")
async def cancel_response(response_id: str, request: Request) -> dict[str, Any]:
    service = _service(request)
    run = await service.stop(response_id)
    if run is not None:
        return run.state.body()
    body = await service.body(response_id)
    if body["status"] != "cancelled":
        raise APIError(
            400,
            f"Response '{response_id}' is {body['status']}: only a response still being "
            "written can be cancelled.",
            param="response_id",
        )
    return body


@router.get("/responses/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> dict[str, Any]:
    items = await _service(request).store.input_items(response_id)
    if items is None:
        raise not_found(response_id)
    if order == "desc":
        items = items[::-1]
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise APIError(400, f"No input item '{after}' in this response.", param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else "",
        "last_id": page[-1]["id"] if page else "",
        "has_more": len(items) > limit,
    }
