"""OpenAI's error envelope, and the mapping from the browser layer's failures to HTTP.

Clients branch on the status and on `error.code`, and the official SDKs retry 408/409/429/5xx
on their own. A prompt that may already sit in the user's ChatGPT must never be typed a
second time, so every error that could follow a delivery says `x-should-retry: false`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from browser.errors import (
    AnswerTimeoutError,
    AttachmentRejectedError,
    AttachmentTooLargeError,
    AttachmentUploadError,
    BridgeError,
    BrowserDownError,
    BusyError,
    ChallengeError,
    ConversationNotFoundError,
    GizmoNotFoundError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
    WorkspaceError,
)

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_RETRY_AFTER = 60
"""Seconds to announce when ChatGPT says "too many messages" without saying for how long."""


class APIError(Exception):
    """An error response in OpenAI's shape: `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def unsupported(param: str, message: str) -> APIError:
    return APIError(400, message, param=param, code="unsupported_parameter")


def _no_retry(status: int, message: str, *, code: str, type: str = "server_error") -> APIError:
    return APIError(status, message, type=type, code=code, headers={"x-should-retry": "false"})


def api_error_from(error: BaseException) -> APIError:
    """The HTTP error for any failure of a turn. Unknown failures count as maybe delivered."""
    if isinstance(error, APIError):
        return error
    if not isinstance(error, BridgeError):
        logger.exception("unexpected failure while answering", exc_info=error)
        return _no_retry(
            500,
            f"The bridge failed unexpectedly ({type(error).__name__}); see its log. The "
            "prompt may have reached ChatGPT, so it was not sent again.",
            code="bridge_error",
        )
    api_error = _bridge_error(error)
    if error.delivered is not False:
        api_error.headers["x-should-retry"] = "false"
    return api_error


@dataclass(frozen=True)
class HttpMapping:
    """How one kind of browser failure is answered over HTTP."""

    status: int
    code: str
    type: str = "server_error"
    person_must_act: bool = False
    """`x-should-retry: false` whatever `delivered` says: only a person can fix it."""
    retry_after: bool = False
    """Announce the error's `retry_after` (or a default) in a `Retry-After` header."""


BRIDGE_ERRORS: dict[type[BridgeError], HttpMapping] = {
    BusyError: HttpMapping(429, "rate_limit_exceeded", type="requests", retry_after=True),
    RateLimitedError: HttpMapping(429, "rate_limit_exceeded", type="requests", retry_after=True),
    AttachmentRejectedError: HttpMapping(
        400, "unsupported_file", type="invalid_request_error", person_must_act=True
    ),
    AttachmentTooLargeError: HttpMapping(
        400, "file_too_large", type="invalid_request_error", person_must_act=True
    ),
    AttachmentUploadError: HttpMapping(502, "upload_failed"),
    LoginRequiredError: HttpMapping(503, "login_required", person_must_act=True),
    ChallengeError: HttpMapping(503, "challenge_required", person_must_act=True),
    BrowserDownError: HttpMapping(503, "browser_unavailable"),
    WorkspaceError: HttpMapping(503, "workspace_not_found", person_must_act=True),
    AnswerTimeoutError: HttpMapping(504, "answer_timeout"),
    SendUncertainError: HttpMapping(502, "send_uncertain"),
    WebAppError: HttpMapping(502, "chatgpt_error"),
    ConversationNotFoundError: HttpMapping(
        404, "conversation_not_found", type="invalid_request_error", person_must_act=True
    ),
    GizmoNotFoundError: HttpMapping(
        404, "model_not_found", type="invalid_request_error", person_must_act=True
    ),
    BridgeError: HttpMapping(500, "bridge_error"),
}
"""Each `browser.errors` type -> its HTTP answer; a subclass without a row takes its base's."""


def _bridge_error(error: BridgeError) -> APIError:
    mapping = next(BRIDGE_ERRORS[kind] for kind in type(error).__mro__ if kind in BRIDGE_ERRORS)
    headers = {"x-should-retry": "false"} if mapping.person_must_act else {}
    if mapping.retry_after:
        headers["Retry-After"] = _retry_after(error)
    return APIError(
        mapping.status, str(error), type=mapping.type, code=mapping.code, headers=headers
    )


def _retry_after(error: BridgeError) -> str:
    seconds = error.retry_after if isinstance(error, BusyError | RateLimitedError) else None
    return str(max(1, math.ceil(seconds or DEFAULT_RATE_LIMIT_RETRY_AFTER)))
