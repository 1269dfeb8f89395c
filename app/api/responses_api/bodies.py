"""The Response object and its output items, in OpenAI's exact shape.

One `ResponseState` is the response while it is written and after: the stream events carry
snapshots of it (`response.created` ... `response.completed`), `GET /v1/responses/{id}`
returns it, and the store keeps its last snapshot. Every body is built here and nowhere
else, and the tests validate each against the official JSON Schemas (`urn:openai-more`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.api.citations import UrlCitation
from app.api.errors import APIError
from app.api.usage import Usage

Status = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
ItemStatus = Literal["in_progress", "completed", "incomplete"]


def message_item(
    item_id: str, text: str | None, status: ItemStatus, annotations: Sequence[UrlCitation] = ()
) -> dict[str, Any]:
    """The assistant's message; `text` None: not begun (its content part comes next)."""
    content = [] if text is None else [text_part(text, annotations)]
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": content,
    }


def text_part(text: str, annotations: Sequence[UrlCitation] = ()) -> dict[str, Any]:
    return {
        "type": "output_text",
        "text": text,
        "annotations": [annotation.as_response() for annotation in annotations],
        "logprobs": [],
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: ItemStatus
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def response_error(error: APIError) -> dict[str, str]:
    """A failure as `Response.error`, whose `code` is one of OpenAI's few response codes.

    The bridge's own code (`send_uncertain`, `login_required`, ...) leads the message, so
    the reason stays visible to a person reading a stored or streamed failure.
    """
    if error.status == 429:
        code = "rate_limit_exceeded"
    elif error.status == 400:
        code = "invalid_prompt"
    else:
        code = "server_error"
    prefix = f"[{error.code}] " if error.code and error.code != code else ""
    return {"code": code, "message": prefix + error.message}


@dataclass
class ResponseState:
    """One response: the request's echo, then what the answer made of it."""

    id: str
    model: str
    echo: dict[str, Any]
    created_at: int = field(default_factory=lambda: int(time.time()))
    status: Status = "in_progress"
    output: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    error: dict[str, str] | None = None
    incomplete_reason: str | None = None
    completed_at: int | None = None

    def end(self, status: Status) -> None:
        self.status = status
        if status == "completed":
            self.completed_at = int(time.time())

    def body(self) -> dict[str, Any]:
        """The Response object now (`usage` only once known: the schema has no null)."""
        body = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "completed_at": self.completed_at,
            "error": self.error,
            "incomplete_details": (
                {"reason": self.incomplete_reason} if self.incomplete_reason else None
            ),
            "model": self.model,
            "output": copy.deepcopy(self.output),
            **copy.deepcopy(self.echo),
        }
        if self.usage is not None:
            body["usage"] = usage_body(self.usage)
        return body
