"""The OpenAI-compatible HTTP API: `app.include_router(router)` serves `/v1/*`.

Each surface has a router of its own (`routing.openai_router()`); they are joined here, and
the catch-all that answers unknown URLs in OpenAI's shape comes after all of them.
"""

from fastapi import APIRouter, Request

from app.api.batches import router as batches_router
from app.api.errors import APIError
from app.api.files import router as files_router
from app.api.images import router as images_router
from app.api.responses_api import router as responses_router
from app.api.routes import router as chat_router
from app.api.routing import openai_router

_fallback = openai_router()


@_fallback.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown_url(request: Request, path: str) -> None:
    raise APIError(
        404,
        f"Invalid URL ({request.method} /v1/{path}): the bridge serves POST "
        "/v1/chat/completions, POST /v1/responses (and GET/DELETE /v1/responses/{id}), "
        "GET /v1/models and GET /v1/models/{model}, /v1/files and /v1/batches.",
        code="unknown_url",
    )


router = APIRouter()
for _surface in (
    chat_router,
    responses_router,
    files_router,
    images_router,
    batches_router,
    _fallback,
):
    router.include_router(_surface)

__all__ = ["router"]
