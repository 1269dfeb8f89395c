"""What went wrong, as the typed error a person can act on.

The page and its HTTP responses report faults in many shapes (a JSON `detail` string or
object, `clears_in`, a `Retry-After` header, a dialog's text); this module turns each into
one `browser.errors` type with the right `delivered`, so the turn's code only decides *when*
something failed, never how to phrase it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from browser.errors import (
    BridgeError,
    BrowserDownError,
    ChallengeError,
    LoginRequiredError,
    RateLimitedError,
    SendUncertainError,
    WebAppError,
)

RELAUNCH = "The browser is relaunched on the next request."
NEW_TAB = "A new tab is opened for the next request."

_DURATION = re.compile(r"(\d+)\s*(second|sec|minute|min|hour|hr)s?\b", re.IGNORECASE)


def http_error(status: int, body: str, retry_after: str | None) -> BridgeError:
    """The conversation endpoint refused the message: nothing was delivered."""
    detail = _detail(body)
    if status == 401:
        return LoginRequiredError(
            f"ChatGPT says the login expired ({detail or 'HTTP 401'}). Run "
            "`chatgpt-bridge login`, log in in the window that opens, then try again."
        )
    if status == 403:
        return ChallengeError(
            f"ChatGPT refused the message ({detail or 'HTTP 403'}). Open the bridge's "
            "browser window (`chatgpt-bridge login`), check the account and complete any "
            "verification, then try again."
        )
    if status == 429:
        seconds = _clears_in(body) or _number(retry_after)
        return RateLimitedError(detail or None, retry_after=seconds)
    return WebAppError(
        f"ChatGPT failed to take the message (HTTP {status}: {detail or 'no detail'}). "
        "Nothing was delivered; it is safe to try again.",
        delivered=False,
    )


def browser_gone(
    what: str, delivered: bool | None, conversation_id: str | None, after: str = RELAUNCH
) -> BridgeError:
    """The tab or browser died; how bad that is depends on how far the send had got."""
    if delivered is None:
        return SendUncertainError(
            f"{what} right after the prompt was sent: it may have reached ChatGPT. It was "
            f"not sent again; check chatgpt.com. {after}"
        )
    if delivered:
        where = f" (conversation {conversation_id})" if conversation_id else ""
        return BrowserDownError(
            f"{what} while ChatGPT was answering. The question was delivered{where}; its "
            f"answer is on chatgpt.com. {after}",
            delivered=True,
        )
    return BrowserDownError(
        f"{what} before the prompt was sent. Nothing was delivered; try again. {after}",
        delivered=False,
    )


def retry_after_from_text(text: str) -> float | None:
    """Seconds from a page's "try again in 20 minutes" (None when it does not say)."""
    match = _DURATION.search(text)
    if not match:
        return None
    unit = match.group(2).lower()
    scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
    return int(match.group(1)) * scale


def json_object(text: Any) -> dict[str, Any]:
    """`text` parsed as a JSON object, or {} for anything else."""
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _detail(body: str) -> str:
    data = json_object(body)
    detail = data.get("detail", data.get("error", data))
    if isinstance(detail, dict):
        detail = detail.get("message") or detail.get("code") or ""
    return str(detail or "").strip()[:300]


def _clears_in(body: str) -> float | None:
    detail = json_object(body).get("detail")
    return _number(detail.get("clears_in")) if isinstance(detail, dict) else None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
