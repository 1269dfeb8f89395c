"""What every `/v1/*` router shares: the API key, a request id on every response, and only
OpenAI-shaped errors.

FastAPI answers validation failures with its own 422 `{"detail": [...]}` and HTTP errors
with `{"detail": "..."}`; OpenAI clients cannot read either. Exception handlers would have
to be installed on the whole app (and would touch the Slack routes too), so the conversion
lives in the route class, which is part of the router and travels with it. Each surface
(chat completions, Responses, ...) makes its router with `openai_router()`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.api.errors import APIError, api_error_from
from app.security import request_is_authorized

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_HTTP_ERROR_CODES = {401: "invalid_api_key", 404: "unknown_url", 405: "method_not_allowed"}


def request_id(request: Request) -> str:
    """The id of this request (`x-request-id`), made on first use."""
    if not hasattr(request.state, "request_id"):
        request.state.request_id = "req_" + uuid.uuid4().hex
    return request.state.request_id


def _as_api_error(error: Exception) -> APIError:
    if isinstance(error, RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "path")]
        return APIError(
            400,
            f"Invalid request: {first.get('msg', 'malformed request')}.",
            param=".".join(location) or None,
        )
    if isinstance(error, HTTPException):
        return APIError(
            error.status_code,
            str(error.detail),
            code=_HTTP_ERROR_CODES.get(error.status_code),
            headers=dict(error.headers or {}),
        )
    # APIError itself, or a bug: never FastAPI's plain-text 500.
    return api_error_from(error)


class OpenAIRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def handle_openai(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception as error:
                api_error = _as_api_error(error)
                logger.info(
                    "%s %s -> %d %s",
                    request.method,
                    request.url.path,
                    api_error.status,
                    api_error.code or api_error.type,
                )
                response = api_error.response()
            response.headers["x-request-id"] = request_id(request)
            return response

        return handle_openai


async def require_api_key(request: Request) -> None:
    """`Authorization: Bearer <key>` whenever the bridge has a key (always when exposed)."""
    if not request_is_authorized(request):
        raise APIError(
            401,
            "Incorrect or missing API key. Send the bridge's key as `Authorization: Bearer "
            "<key>` (BRIDGE_API_KEY, or the key `chatgpt-bridge serve` printed at startup).",
            code="invalid_api_key",
        )


def openai_router() -> APIRouter:
    """A router under `/v1` with the key check and OpenAI's error shapes."""
    return APIRouter(prefix="/v1", route_class=OpenAIRoute, dependencies=[Depends(require_api_key)])
