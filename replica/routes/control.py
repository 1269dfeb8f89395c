"""The `/_replica/*` test controls: knobs, reset, the store's view. Never called by the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from replica.errors import error
from replica.options import ReplicaOptions
from replica.state import ReplicaDep

router = APIRouter(prefix="/_replica")


@router.post("/control")
async def control(request: Request, replica: ReplicaDep) -> Response:
    knobs = await request.json()
    try:
        replica.options = ReplicaOptions.model_validate({**replica.options.model_dump(), **knobs})
    except ValidationError as invalid:
        return JSONResponse({"detail": invalid.errors(include_url=False)}, status_code=422)
    return JSONResponse(replica.options.model_dump())


@router.post("/tells")
async def report_tells(request: Request, replica: ReplicaDep) -> dict[str, Any]:
    """Where the bot check's page script reports what it saw (see `replica.bot_check`)."""
    verdict = await request.json()
    replica.tells.append({"source": "page", "tells": list(verdict.get("tells") or [])})
    return {"ok": True}


@router.get("/tells")
async def tells(replica: ReplicaDep) -> list[dict[str, Any]]:
    return replica.tells


@router.get("/options")
async def current_options(replica: ReplicaDep) -> dict[str, Any]:
    return replica.options.model_dump()


@router.post("/reset")
async def reset(request: Request, replica: ReplicaDep) -> dict[str, Any]:
    """Knobs back to the start-up options; `?conversations=false` keeps the store."""
    replica.reset(request.query_params.get("conversations", "true") != "false")
    return replica.options.model_dump()


@router.get("/conversations/{conversation_id}")
async def test_conversation(conversation_id: str, replica: ReplicaDep) -> Response:
    found = replica.store.conversations.get(conversation_id)
    if found is None:
        return error(404, "no such conversation")
    return JSONResponse(found.to_test_view())


@router.get("/sends")
async def sends(replica: ReplicaDep) -> list[dict[str, Any]]:
    return replica.store.sends
