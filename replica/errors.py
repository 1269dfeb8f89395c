"""The error bodies chatgpt.com answers with, and the replica's one way of sending them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi.responses import HTMLResponse, JSONResponse

RATE_LIMIT_MESSAGE = "You've reached our limit of messages per hour. Please try again later."
FAILURES: dict[int, Any] = {
    401: {
        "message": "Your authentication token has expired. Please try signing in again.",
        "type": "invalid_request_error",
        "param": None,
        "code": "token_expired",
    },
    403: {
        "message": "Unusual activity has been detected from your device. Try again later.",
        "code": "unusual_activity",
    },
    429: {"message": RATE_LIMIT_MESSAGE, "clears_in": 3600},
    500: {"message": "Internal server error", "code": "internal_error"},
}
TOAST_MESSAGE = (
    "Something went wrong. If this issue persists please contact us through our help center "
    "at help.openai.com."
)
NOT_FOUND = {"message": "Conversation not found", "code": "conversation_not_found"}
GIZMO_NOT_FOUND = "Gizmo not found"
"""A GPT's page checks the error for "not found" (a peer extension; the exact text is
(no evidence))."""
BUSY_MESSAGE = (
    "Only one message at a time. Please allow any other responses to complete before "
    "sending another message, or wait one minute."
)
NETWORK_ERROR = "A network error occurred. Please check your connection and try again."
TOO_LARGE = {
    "message": "The message you submitted was too long, please reload the conversation and "
    "submit something shorter.",
    "code": "conversation_too_large",
}
RESUME_FAILURES: dict[int, Any] = {
    404: {"message": NETWORK_ERROR, "code": "tokenless_resume_unavailable"},
    410: {"message": "The final response is persisted.", "code": "persisted_final_available"},
}


class ReplicaError(Exception):
    """Raised by a dependency or a route to answer `{"detail": ...}` with `status`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


class ChallengeError(Exception):
    """An in-page fetch met Cloudflare: 403 with `cf-mitigated: challenge`, an HTML body."""


Found = TypeVar("Found")


def must_find(items: Mapping[str, Found], key: str, detail: Any) -> Found:
    """`items[key]`, or the 404 (with `detail`) the backend answers for an unknown id."""
    item = items.get(key)
    if item is None:
        raise ReplicaError(404, detail)
    return item


def error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def challenge_response(body: str) -> HTMLResponse:
    return HTMLResponse(body, status_code=403, headers={"cf-mitigated": "challenge"})
