"""A batch's output and error lines, in OpenAI's shape (the Batch API's request output).

Each line answers one input line by its `custom_id`: `response` holds what the endpoint
answered (`status_code`, `request_id`, `body`) and `error` a failure that never got an HTTP
answer (the window expired, the batch was cancelled, the delivery is uncertain).
Succeeded lines go to the output file, the rest to the error file, as OpenAI splits them.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.api.errors import APIError

UNCERTAIN = (
    "delivery_uncertain",
    "The bridge stopped while this request was being sent to ChatGPT, so it may have "
    "reached ChatGPT; it was not asked again, to avoid asking twice. Look for it in your "
    "ChatGPT history, or send it again in a new batch.",
)
CANCELLED = ("batch_cancelled", "The batch was cancelled before this request was asked.")
EXPIRED = (
    "batch_expired",
    "This request could not be executed before the completion window expired.",
)


def _line(custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None) -> dict:
    return {
        "id": "batch_req_" + uuid.uuid4().hex,
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }


def answered(custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return _line(custom_id, _response(200, body), None)


def refused(custom_id: str, error: APIError) -> dict[str, Any]:
    """The endpoint's own error answer (what the HTTP request would have returned)."""
    return _line(custom_id, _response(error.status, error.body()), None)


def not_asked(custom_id: str, reason: tuple[str, str]) -> dict[str, Any]:
    code, message = reason
    return _line(custom_id, None, {"code": code, "message": message})


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"status_code": status, "request_id": "req_" + uuid.uuid4().hex, "body": body}
