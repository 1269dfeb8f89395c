"""`/v1/files`: upload, list, retrieve, download and delete files, as OpenAI's Files API.

A thin translation onto `app.files.FileStore`: the store owns the bytes, the metadata and
the size cap; this module owns the HTTP shapes and the errors in OpenAI's envelope.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from app.api.errors import APIError, invalid_request
from app.api.routing import openai_router
from app.files import UPLOAD_PURPOSES, FileStore, FileTooLargeError, StoredFile, UnknownFileError
from app.services import services

router = openai_router()


def _store(request: Request) -> FileStore:
    return services(request).files


def file_not_found(error: UnknownFileError, param: str = "file_id") -> APIError:
    return APIError(404, str(error), param=param)


async def stored(store: FileStore, file_id: str, param: str = "file_id") -> StoredFile:
    """The file's record, or OpenAI's 404 naming it."""
    try:
        return await store.get(file_id)
    except UnknownFileError as error:
        raise file_not_found(error, param) from None


def list_page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """OpenAI's cursor page: the SDKs ask for the next one `after` the last id."""
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


@router.post("/files")
async def upload_file(
    request: Request, file: Annotated[UploadFile, File()], purpose: Annotated[str, Form()]
) -> dict[str, Any]:
    if purpose not in UPLOAD_PURPOSES:
        raise invalid_request(
            f"purpose '{purpose}' is not accepted here; upload with one of "
            f"{', '.join(UPLOAD_PURPOSES)}.",
            "purpose",
        )
    store = _store(request)
    if file.size is not None and file.size > store.max_bytes:
        raise _too_large(FileTooLargeError(file.size, store.max_bytes))
    data = await file.read()
    try:
        record = await store.put(data, file.filename or "file", purpose, file.content_type)
    except FileTooLargeError as error:
        raise _too_large(error) from None
    return record.as_openai()


def _too_large(error: FileTooLargeError) -> APIError:
    return APIError(413, str(error), param="file", code="file_too_large")


@router.get("/files")
async def list_files(
    request: Request,
    purpose: str | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
    order: Literal["asc", "desc"] = "desc",
) -> dict[str, Any]:
    records = await _store(request).list(purpose=purpose, after=after, limit=limit + 1, order=order)
    return list_page([record.as_openai() for record in records[:limit]], len(records) > limit)


@router.get("/files/{file_id}")
async def retrieve_file(request: Request, file_id: str) -> dict[str, Any]:
    return (await stored(_store(request), file_id)).as_openai()


@router.get("/files/{file_id}/content")
async def file_content(request: Request, file_id: str) -> FileResponse:
    store = _store(request)
    record = await stored(store, file_id)
    return FileResponse(store.path(record), media_type=record.mime, filename=record.filename)


@router.delete("/files/{file_id}")
async def delete_file(request: Request, file_id: str) -> dict[str, Any]:
    if not await _store(request).delete(file_id):
        raise file_not_found(UnknownFileError(file_id))
    return {"id": file_id, "object": "file", "deleted": True}
