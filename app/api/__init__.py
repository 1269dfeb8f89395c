"""The OpenAI-compatible HTTP API: `app.include_router(router)` serves `/v1/*`."""

from app.api.routes import router

__all__ = ["router"]
