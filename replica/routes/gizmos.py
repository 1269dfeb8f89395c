"""Custom GPTs and projects: their pages and the endpoints their sidebar and pages read.

`/g/<gpt>` (also `/g/<gpt>-<name>`) starts a chat with a GPT, `/g/<project>/project` one in a
project, and their chats live at `/g/<gizmo>/c/<id>`: all the one app page, which reads
`GET /backend-api/gizmos/<id>` for what it shows. The sidebar lists the GPTs from
`gizmos/bootstrap` and the projects from `gizmos/snorlax/sidebar` (docs/replica.md,
"Custom GPTs and projects").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from replica import gizmos
from replica.errors import GIZMO_NOT_FOUND, ReplicaError
from replica.pages import index_page
from replica.routes.site import page_response
from replica.state import Guarded, ReplicaDep, page_knobs

router = APIRouter()


@router.get("/g/{gizmo}")
@router.get("/g/{gizmo}/project")
@router.get("/g/{gizmo}/c/{conversation_id}")
async def gizmo_page(request: Request, replica: ReplicaDep) -> Response:
    return page_response(request, replica, index_page(page_knobs(replica.options)))


@router.get("/backend-api/gizmos/bootstrap")
async def bootstrap(replica: Guarded) -> dict[str, Any]:
    return gizmos.bootstrap()


@router.get("/backend-api/gizmos/snorlax/sidebar")
async def sidebar(replica: Guarded) -> dict[str, Any]:
    return gizmos.sidebar()


@router.get("/backend-api/gizmos/{gizmo_id}")
async def gizmo(gizmo_id: str, replica: Guarded) -> dict[str, Any]:
    found = gizmos.find(gizmo_id)
    if found is None:
        raise ReplicaError(404, GIZMO_NOT_FOUND)
    return found.resource()


@router.get("/backend-api/gizmos/{gizmo_id}/conversations")
async def gizmo_conversations(gizmo_id: str, replica: Guarded, limit: int = 50) -> dict[str, Any]:
    """A project's chats, newest first, as its page lists them."""
    if gizmos.find(gizmo_id) is None:
        raise ReplicaError(404, GIZMO_NOT_FOUND)
    chats = [c for c in replica.store.listed() if c.gizmo_id == gizmo_id][:limit]
    return {"items": [{"id": c.id, "title": c.title} for c in chats], "cursor": None}
