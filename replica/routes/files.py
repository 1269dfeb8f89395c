"""Uploads as the page makes them: name the file, put its bytes, confirm, process.

The order and the bodies follow public captures (docs/replica.md, "Uploads"). The blob URL
stands in for the signed Azure URL the real create call returns: unauthenticated, signed,
`x-ms-blob-type: BlockBlob`. Refusals (a type the knobs reject, a file past its size limit)
come from the create call, before any byte is sent; `upload_fail_next` fails the blob PUT.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from replica.errors import ReplicaError, must_find
from replica.state import Guarded, Replica, ReplicaDep
from replica.uploads import Upload

router = APIRouter()

FILE_NOT_FOUND = {"message": "File not found.", "code": "file_not_found"}


def _refusal(replica: Replica, mime_type: str, size: int) -> dict[str, str] | None:
    options = replica.options
    rejected = {kind.strip() for kind in options.upload_rejected_types.split(",") if kind.strip()}
    if mime_type in rejected:
        return {
            "message": f"Files of type {mime_type} are not supported.",
            "code": "file_type_not_supported",
        }
    image = mime_type.startswith("image/")
    limit = options.upload_max_image_bytes if image else options.upload_max_bytes
    if size > limit:
        return {
            "message": f"The file is too large: the limit is {limit} bytes.",
            "code": "file_too_large",
        }
    return None


def uploaded(replica: Replica, file_id: str) -> Upload:
    return must_find(replica.store.uploads, file_id, FILE_NOT_FOUND)


@router.post("/backend-api/files")
async def create_file(request: Request, replica: Guarded) -> dict[str, Any]:
    """Name a file: its id and where to put its bytes (a signed, unauthenticated URL)."""
    body = await request.json()
    name, mime_type = str(body.get("file_name") or "file"), str(body.get("mime_type") or "")
    size = int(body.get("file_size") or 0)
    refusal = _refusal(replica, mime_type, size)
    if refusal is not None:
        raise ReplicaError(400, refusal)
    upload = Upload(name, mime_type, size, body.get("width"), body.get("height"))
    replica.store.uploads[upload.id] = upload
    return {
        "status": "success",
        "file_id": upload.id,
        "upload_url": f"{request.base_url}blob/{upload.id}?sig={uuid.uuid4().hex[:16]}",
        "library_file_id": f"lib_{uuid.uuid4().hex}",
    }


@router.put("/blob/{file_id}")
async def put_blob(file_id: str, request: Request, replica: ReplicaDep) -> Response:
    """The blob store: the bytes, as Azure's `Put Blob` takes them (201 Created)."""
    upload = uploaded(replica, file_id)
    if request.headers.get("x-ms-blob-type") != "BlockBlob":
        return Response("x-ms-blob-type must be BlockBlob", status_code=400)
    data = await request.body()
    if replica.take("upload_fail_next"):
        return Response("The server encountered an internal error.", status_code=500)
    upload.data = data
    return Response(status_code=201)


@router.post("/backend-api/files/{file_id}/uploaded")
async def confirm(file_id: str, replica: Guarded) -> dict[str, Any]:
    upload = uploaded(replica, file_id)
    if upload.data is None:
        raise ReplicaError(400, {"message": "The file was not uploaded.", "code": "not_uploaded"})
    upload.confirmed = True
    return {
        "status": "success",
        "file_id": upload.id,
        "download_url": f"/backend-api/estuary/content?id={upload.id}&sig={uuid.uuid4().hex[:16]}",
    }


async def _processing(upload: Upload, step: float) -> AsyncIterator[str]:
    tokens = len(upload.data or b"") // 4
    events: list[dict[str, Any]] = [
        {"file_id": upload.id, "event": "file.processing.started", "progress": 10},
        {
            "file_id": upload.id,
            "event": "file.processing.metadata",
            "progress": 100,
            "extra": {"mime_type": upload.mime_type, "total_tokens": tokens},
        },
        {"file_id": upload.id, "event": "file.processing.completed", "progress": 100},
    ]
    for event in events:
        await asyncio.sleep(step)
        yield json.dumps(event) + "\n"


@router.post("/backend-api/files/process_upload_stream")
async def process_upload_stream(request: Request, replica: Guarded) -> Response:
    """A document's processing, as NDJSON events the page shows as the chip's progress."""
    body = await request.json()
    upload = uploaded(replica, str(body.get("file_id") or ""))
    if not upload.confirmed:
        raise ReplicaError(400, {"message": "The file was not uploaded.", "code": "not_uploaded"})
    step = replica.options.upload_step_ms / 1000
    return StreamingResponse(_processing(upload, step), media_type="application/x-ndjson")


def attachments_of(replica: Replica, message: dict[str, Any]) -> list[Upload]:
    """The uploads a conversation POST's message names; an unknown or unconfirmed one is a 400."""
    named = (message.get("metadata") or {}).get("attachments") or []
    found: list[Upload] = []
    for entry in named:
        upload = replica.store.uploads.get(str(entry.get("id") or ""))
        if upload is None or not upload.confirmed:
            raise ReplicaError(400, FILE_NOT_FOUND)
        found.append(upload)
    return found
