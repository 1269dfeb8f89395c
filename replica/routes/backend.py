"""Backend reads: models, history, the paginated read-back, the old tree, stream status,
sentinel preflights, the WebSocket address and generated pictures."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from replica.catalog import models_payload
from replica.errors import NOT_FOUND, must_find
from replica.state import Guarded, Replica, ReplicaDep
from replica.store import Conversation

router = APIRouter(prefix="/backend-api")

PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG: the "picture" an image turn makes."""


def found(replica: Replica, conversation_id: str) -> Conversation:
    return must_find(replica.store.conversations, conversation_id, NOT_FOUND)


@router.get("/models")
async def models(replica: Guarded) -> dict[str, Any]:
    return models_payload()


@router.get("/conversations")
async def conversations(replica: Guarded, offset: int = 0, limit: int = 28) -> dict[str, Any]:
    """The sidebar's history list: last changed first, times as ISO strings (docs/replica.md,
    "History list")."""
    listed = replica.store.listed()
    items = [
        {
            "id": c.id,
            "title": c.title,
            "create_time": _iso(c.create_time),
            "update_time": _iso(c.update_time),
        }
        for c in listed[offset : offset + limit]
    ]
    return {
        "items": items,
        "total": len(listed),
        "limit": limit,
        "offset": offset,
        "has_missing_conversations": False,
    }


def _iso(seconds: float) -> str:
    """`2023-04-06T19:55:21.620368` as the list writes times: UTC, without a zone."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None).isoformat()


@router.get("/conversations/{conversation_id}")
async def read_back(replica: Guarded, conversation_id: str, num_turns: int = 10) -> dict:
    """The page's read-back: the newest `num_turns` turns as `messages[]` + `page_info`."""
    return found(replica, conversation_id).page(num_turns, None)


@router.get("/conversations/{conversation_id}/messages")
async def older_messages(
    replica: Guarded, conversation_id: str, before: str, num_turns: int = 10
) -> dict[str, Any]:
    return found(replica, conversation_id).page(num_turns, before)


@router.get("/conversation/{conversation_id}")
async def tree(replica: Guarded, conversation_id: str) -> dict[str, Any]:
    """The older read-back: the whole `mapping` tree, which still answers."""
    return found(replica, conversation_id).to_api()


@router.get("/conversation/{conversation_id}/stream_status")
async def stream_status(replica: Guarded, conversation_id: str) -> dict[str, str]:
    return {"status": found(replica, conversation_id).stream_status()}


@router.post("/sentinel/chat-requirements/prepare")
async def sentinel_prepare(replica: Guarded) -> dict[str, str]:
    return {"persona": "chatgpt-paid", "prepare_token": uuid.uuid4().hex}


@router.post("/sentinel/chat-requirements/finalize")
async def sentinel_finalize(replica: Guarded) -> dict[str, str]:
    return {"persona": "chatgpt-paid", "token": "gAAAAA" + uuid.uuid4().hex}


@router.get("/celsius/ws/user")
async def websocket_address(request: Request, replica: Guarded) -> dict[str, str]:
    """Where the page opens its WebSocket (the real one is `wss://ws.chatgpt.com/...`)."""
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return {"websocket_url": f"{scheme}://{request.url.netloc}/ws/user?verify={uuid.uuid4().hex}"}


@router.get("/files/download/{file_id}")
async def file_download(replica: Guarded, file_id: str) -> dict[str, str]:
    sig = uuid.uuid4().hex[:16]
    return {
        "status": "success",
        "download_url": f"/backend-api/estuary/content?id={file_id}&sig={sig}",
    }


@router.get("/estuary/content")
async def estuary_content(replica: ReplicaDep, id: str, sig: str = "") -> Response:
    """Signed like the real links, so an `<img>` loads it without a Bearer token: an
    uploaded file's own bytes, else the picture an image turn made."""
    upload = replica.store.uploads.get(id)
    if upload is not None and upload.data is not None:
        return Response(upload.data, media_type=upload.mime_type)
    return Response(PIXEL_PNG, media_type="image/png")
