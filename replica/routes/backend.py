"""Backend reads: models, history, the paginated read-back, the old tree, stream status,
sentinel preflights, the WebSocket address and generated pictures."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from replica import pictures
from replica.catalog import models_payload
from replica.errors import NOT_FOUND, ReplicaError, must_find
from replica.state import Guarded, Replica, ReplicaDep
from replica.store import Conversation

router = APIRouter(prefix="/backend-api")

EXPIRED = (
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
    "<Message>Signature not valid in the specified time frame</Message></Error>"
)
"""What an expired or forged link meets (the blob store's refusal; wording (no evidence))."""


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


def _download(replica: Replica, file_id: str) -> dict[str, str]:
    if _stored(replica, file_id) is None:
        raise ReplicaError(404, NOT_FOUND)
    ttl = replica.options.image_link_ttl_ms / 1000
    return {"status": "success", "download_url": pictures.signed_path(file_id, ttl)}


@router.get("/files/download/{file_id}")
async def file_download(replica: Guarded, file_id: str, conversation_id: str = "") -> dict:
    """The signed link of a stored file (what the page's `<img>` and a download use)."""
    return _download(replica, file_id)


@router.get("/conversation/{conversation_id}/attachment/{file_id}/download")
async def attachment_download(replica: Guarded, conversation_id: str, file_id: str) -> dict:
    """The same link by the conversation's path, which `sediment://` pointers also use."""
    found(replica, conversation_id)
    return _download(replica, file_id)


@router.get("/estuary/content")
async def estuary_content(replica: ReplicaDep, id: str, ts: int = 0, sig: str = "") -> Response:
    """The bytes (an uploaded file's, or the picture an image turn drew), without a Bearer
    token, while the link's signature holds and it has not expired; afterwards 403, as an
    expired signed link is (ask for a new one)."""
    found = _stored(replica, id)
    if found is None or not pictures.link_valid(id, ts, sig):
        return Response(EXPIRED, status_code=403, media_type="application/xml")
    data, mime_type = found
    return Response(data, media_type=mime_type)


def _stored(replica: Replica, file_id: str) -> tuple[bytes, str] | None:
    upload = replica.store.uploads.get(file_id)
    if upload is not None and upload.data is not None:
        return upload.data, upload.mime_type
    data = replica.store.picture(file_id)
    return (data, "image/png") if data is not None else None
