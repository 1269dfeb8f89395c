"""`/v1/batches`: create, retrieve, list and cancel batches, as OpenAI's Batch API.

The work is `app.batches.BatchService`'s; this module owns the HTTP shapes. It imports that
package only for types, so `app.batches` may import the API's own code paths freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict

from app.api.files import list_page
from app.api.routing import openai_router
from app.services import services

if TYPE_CHECKING:
    from app.batches.service import BatchService

router = openai_router()


class CreateBatch(BaseModel):
    """OpenAI's `CreateBatchRequest`; `output_expires_after` is accepted and not applied."""

    model_config = ConfigDict(extra="ignore")

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


def _batches(request: Request) -> BatchService:
    return services(request).batches


@router.post("/batches")
async def create_batch(request: Request, body: CreateBatch) -> dict[str, Any]:
    batch = await _batches(request).create(
        input_file_id=body.input_file_id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
        metadata=body.metadata,
    )
    return batch.as_openai()


@router.get("/batches")
async def list_batches(
    request: Request,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    batches = await _batches(request).list(after=after, limit=limit + 1)
    return list_page([batch.as_openai() for batch in batches[:limit]], len(batches) > limit)


@router.get("/batches/{batch_id}")
async def retrieve_batch(request: Request, batch_id: str) -> dict[str, Any]:
    return (await _batches(request).get(batch_id)).as_openai()


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(request: Request, batch_id: str) -> dict[str, Any]:
    return (await _batches(request).cancel(batch_id)).as_openai()
