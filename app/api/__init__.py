"""The OpenAI-compatible HTTP API: `app.include_router(router)` serves `/v1/*`."""

from fastapi import APIRouter

from app.api import files, images, routes

router = APIRouter()
router.include_router(files.router)
router.include_router(images.router)
router.include_router(routes.router)  # last: its catch-all answers every unknown /v1 URL

__all__ = ["router"]
